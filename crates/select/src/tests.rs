//! Unit tests of the paths next to the channels' `unsafe` code: reservations
//! and their commits on every flavour, wake-ups between threads and tasks,
//! and the timer operations. Small and quick, so that they also run under
//! Miri (`cargo xtask miri`), which checks the reads and writes of every
//! claimed slot and reports any value leaked or dropped twice.

use core::future::Future;
use core::pin::pin;
use core::task::{Context as TaskContext, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;
use std::time::{Duration, Instant};

use nimsync_channel::{TryRecvError, mpmc, oneshot, spsc};

use crate::{Select, SelectTimeoutError, TrySelectError, after, at, never, tick};

/// A waker that counts how often it was woken.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    /// A waker for a fresh counter, and the counter.
    fn new() -> (Arc<Self>, Waker) {
        let counter = Arc::new(Self::default());
        (Arc::clone(&counter), Waker::from(counter))
    }

    /// How often it was woken so far.
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whichever flavour holds a message wins, and only it is consumed; a
/// closed oneshot is ready and completes with its error.
#[test]
fn select_over_spsc_mpmc_and_oneshot() {
    let (mtx, mrx) = mpmc::channel::<String>(2);
    let (mut stx, mut srx) = spsc::channel::<String>(2);
    let (otx, mut orx) = oneshot::channel::<String>();

    stx.send("spsc".to_owned()).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.recv(&mrx);
        sel.recv(&mut srx);
        sel.recv(&mut orx);
        sel.select()
    };
    assert_eq!(op.index(), 1);
    assert_eq!(op.recv(&srx).as_deref(), Ok("spsc"));

    otx.send("oneshot".to_owned()).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.recv(&mrx);
        sel.recv(&mut srx);
        sel.recv(&mut orx);
        sel.select()
    };
    assert_eq!(op.index(), 2);
    assert_eq!(op.recv(&orx).as_deref(), Ok("oneshot"));

    mtx.send("mpmc".to_owned()).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.recv(&mrx);
        sel.recv(&mut srx);
        sel.select()
    };
    assert_eq!(op.index(), 0);
    assert_eq!(op.recv(&mrx).as_deref(), Ok("mpmc"));

    // The oneshot delivered its value: from now on it is closed, and a
    // closed receive is ready.
    let op = {
        let mut sel = Select::new();
        sel.recv(&mut orx);
        sel.select()
    };
    assert!(op.recv(&orx).is_err());
    assert_eq!(mrx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(srx.try_recv(), Err(TryRecvError::Empty));
}

/// A send arm reserves room and takes its value only at the commit; the
/// full channel is left alone.
#[test]
fn send_arms_commit_into_the_reserved_slot() {
    let (mtx, mrx) = mpmc::channel::<Box<u32>>(1);
    let (mut stx, mut srx) = spsc::channel::<Box<u32>>(1);
    stx.send(Box::new(1)).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.send(&mtx);
        sel.send(&mut stx);
        sel.select()
    };
    assert_eq!(op.index(), 0, "the spsc channel is full");
    op.send(&mtx, Box::new(2)).unwrap();
    assert_eq!(mrx.try_recv(), Ok(Box::new(2)));
    assert_eq!(srx.try_recv(), Ok(Box::new(1)));

    // Now the spsc channel has room and the mpmc one is filled.
    mtx.send(Box::new(3)).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.send(&mtx);
        sel.send(&mut stx);
        sel.select()
    };
    assert_eq!(op.index(), 1);
    op.send(&stx, Box::new(4)).unwrap();
    assert_eq!(srx.try_recv(), Ok(Box::new(4)));
    // Left in the channel: its drop must free it.
    drop((mtx, mrx));
}

/// mpmc reservations are claimed slots: receive and send commits go round
/// a capacity-1 ring several times, and each value arrives once.
#[test]
fn mpmc_claims_complete_over_several_laps() {
    let (tx, rx) = mpmc::channel::<String>(1);
    for lap in 0..3 {
        let op = {
            let mut sel = Select::new();
            sel.send(&tx);
            sel.select()
        };
        op.send(&tx, format!("lap {lap}")).unwrap();
        assert!(tx.is_full());
        let op = {
            let mut sel = Select::new();
            sel.recv(&rx);
            sel.select()
        };
        assert_eq!(op.recv(&rx), Ok(format!("lap {lap}")));
        assert!(rx.is_empty());
    }
    // A closed channel completes a pending send arm with the value back.
    drop(rx);
    let mut sel = Select::new();
    sel.send(&tx);
    let op = sel.select();
    assert_eq!(op.send(&tx, "late".to_owned()).unwrap_err().0, "late");
}

/// Operations past the inline ones live on the heap and still win.
#[test]
fn operations_past_the_inline_ones() {
    let channels: Vec<_> = (0..10).map(|_| mpmc::channel::<u32>(1)).collect();
    channels[9].0.send(9).unwrap();
    let mut sel = Select::new();
    for (_, rx) in &channels {
        sel.recv(rx);
    }
    let op = sel.select();
    assert_eq!(op.index(), 9);
    assert_eq!(op.recv(&channels[9].1), Ok(9));
    assert_eq!(sel.try_select().map(|op| op.index()), Err(TrySelectError));
}

/// A select blocked on two channels is woken by sends from another
/// thread; every message is taken once, from the channel it was sent on.
#[test]
fn blocking_select_woken_by_another_thread() {
    const ROUNDS: u32 = 4;
    let (tx_a, rx_a) = mpmc::channel::<u32>(1);
    let (mut tx_b, mut rx_b) = spsc::channel::<u32>(1);
    let sender = std::thread::spawn(move || {
        for i in 0..ROUNDS {
            if i % 2 == 0 {
                tx_a.send(i).unwrap();
            } else {
                tx_b.send(i).unwrap();
            }
        }
    });
    let mut got = Vec::new();
    loop {
        let op = {
            let mut sel = Select::new();
            sel.recv(&rx_a);
            sel.recv(&mut rx_b);
            sel.select()
        };
        let (index, value) = match op.index() {
            0 => (0, op.recv(&rx_a)),
            _ => (1, op.recv(&rx_b)),
        };
        match value {
            Ok(v) => {
                assert_eq!(v % 2, index, "message {v} came from the wrong channel");
                got.push(v);
            }
            // One channel is closed and drained: the sender is done.
            Err(_) => break,
        }
    }
    sender.join().unwrap();
    // Whatever is left sits in the other channel.
    got.extend(rx_a.try_iter());
    while let Ok(v) = rx_b.try_recv() {
        got.push(v);
    }
    got.sort_unstable();
    assert_eq!(got, (0..ROUNDS).collect::<Vec<_>>());
}

/// An async select that was woken and then dropped, without taking the
/// message, hands the wake-up to the next waiter of that channel.
#[test]
fn async_select_dropped_after_wake_passes_it_on() {
    let (tx, rx) = mpmc::channel::<String>(1);
    let (_tx2, rx2) = mpmc::channel::<String>(1);
    let (select_wakes, select_waker) = CountingWaker::new();
    let (recv_wakes, recv_waker) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    {
        let mut sel = Select::new();
        sel.recv(&rx2);
        sel.recv(&rx);
        let mut fut = pin!(sel.select_async());
        let mut task = TaskContext::from_waker(&select_waker);
        assert!(fut.as_mut().poll(&mut task).is_pending());
        // The plain receive queues behind the select.
        let mut task = TaskContext::from_waker(&recv_waker);
        assert!(recv.as_mut().poll(&mut task).is_pending());
        tx.send("hello".to_owned()).unwrap();
        assert_eq!(
            (select_wakes.wakes(), recv_wakes.wakes()),
            (1, 0),
            "the first in the queue was woken"
        );
        // Dropped here, holding the wake-up.
    }
    assert_eq!(recv_wakes.wakes(), 1, "the wake-up was passed on");
    let mut task = TaskContext::from_waker(&recv_waker);
    assert_eq!(
        recv.as_mut().poll(&mut task),
        Poll::Ready(Ok("hello".to_owned()))
    );
    assert_eq!(select_wakes.wakes(), 1);
}

/// A pending async select is woken by a send and completes on the next
/// poll; a dropped one that was never woken passes nothing on.
#[test]
fn async_select_completes_after_wake() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (mut stx, mut srx) = spsc::channel::<u32>(1);
    let (wakes, waker) = CountingWaker::new();
    let mut task = TaskContext::from_waker(&waker);
    let op = {
        let mut sel = Select::new();
        sel.recv(&rx);
        sel.recv(&mut srx);
        let mut fut = pin!(sel.select_async());
        assert!(fut.as_mut().poll(&mut task).is_pending());
        // Polled again without a wake: still registered, still pending.
        assert!(fut.as_mut().poll(&mut task).is_pending());
        assert_eq!(wakes.wakes(), 0);
        stx.send(7).unwrap();
        assert_eq!(wakes.wakes(), 1);
        match fut.as_mut().poll(&mut task) {
            Poll::Ready(op) => op,
            Poll::Pending => panic!("a woken select whose message is there completes"),
        }
    };
    assert_eq!(op.index(), 1);
    assert_eq!(op.recv(&srx), Ok(7));

    // Registered, never woken, dropped: a later send wakes nobody here.
    {
        let mut sel = Select::new();
        sel.recv(&rx);
        let mut fut = pin!(sel.select_async());
        assert!(fut.as_mut().poll(&mut task).is_pending());
    }
    tx.send(8).unwrap();
    assert_eq!(wakes.wakes(), 1);
    assert_eq!(rx.try_recv(), Ok(8));
}

/// Timer operations: a passed `at` and a zero `after` are ready at once,
/// a `tick` fires after its period, `never` never does, and a deadline on
/// the whole select gives up.
#[test]
fn timer_operations() {
    let (_tx, rx) = mpmc::channel::<u8>(1);
    let start = Instant::now();

    let past = at(start);
    let mut sel = Select::new();
    sel.recv(&rx);
    let i = sel.recv(&past);
    let op = sel.select();
    assert_eq!(op.index(), i);
    assert_eq!(op.recv(&past), Ok(start));

    let zero = after(Duration::ZERO);
    let mut sel = Select::new();
    sel.recv(never::<u8>());
    let i = sel.recv(&zero);
    let op = sel.select();
    assert_eq!(op.index(), i);
    assert!(op.recv(&zero).is_ok());

    let period = Duration::from_millis(1);
    let ticker = tick(period);
    for _ in 0..2 {
        let mut sel = Select::new();
        sel.recv(&rx);
        sel.recv(never::<u8>());
        let i = sel.recv(&ticker);
        let op = sel.select();
        assert_eq!(op.index(), i);
        let due = op.recv(&ticker).unwrap();
        assert!(due >= start + period, "a tick is never early");
        assert!(Instant::now() >= due);
    }

    let mut sel = Select::new();
    sel.recv(&rx);
    sel.recv(never::<u8>());
    assert_eq!(
        sel.select_timeout(Duration::from_millis(1))
            .map(|op| op.index()),
        Err(SelectTimeoutError)
    );
}
