//! Loom models of every atomic protocol in this crate.
//!
//! Run with `cargo xtask loom` (RUSTFLAGS="--cfg loom"). Each model uses at
//! most 3 threads and capacities of 1 or 2, and asserts afterwards that the
//! interleavings it exists for were actually explored.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use crate::select::{RecvHandle, SelectHandle, SendHandle, Token};
use crate::waiter::{PARKS, Selected, WaitQueue, Waiter, block_thread};
use crate::{TryRecvError, TrySendError, mpmc, oneshot, spsc};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// A value that counts its drops in a loom atomic.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn loom_waitqueue_no_lost_wakeup() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let queue = Arc::new(WaitQueue::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (q2, f2) = (queue.clone(), flag.clone());
        let t = thread::spawn(move || {
            f2.store(true, Ordering::Release);
            q2.notify_one();
        });
        // Loses a wake-up iff this blocks forever: loom reports a deadlock.
        let got = block_thread(&queue, None, || flag.load(Ordering::Acquire).then_some(()));
        assert_eq!(got, Some(()));
        t.join().unwrap();
    });
    assert!(
        PARKS.load(Relaxed) > parks_before,
        "the parking path was never explored"
    );
}

#[test]
fn loom_spsc_send_recv_close() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(1);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            // Dropping closes: the receiver drains, then sees Closed.
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert!(rx.recv().is_err());
        t.join().unwrap();
    });
    assert!(PARKS.load(Relaxed) > parks_before, "no side ever parked");
}

#[test]
fn loom_spsc_receiver_close_drops_once() {
    static SAW_CLOSED: StdAtomicUsize = StdAtomicUsize::new(0);
    static SAW_SENT: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, rx) = spsc::channel::<Counted>(2);
        let d2 = drops.clone();
        let t = thread::spawn(move || match tx.try_send(Counted(d2)) {
            Ok(()) => SAW_SENT.fetch_add(1, Relaxed),
            Err(TrySendError::Closed(v)) => {
                drop(v);
                SAW_CLOSED.fetch_add(1, Relaxed)
            }
            Err(TrySendError::Full(_)) => unreachable!("capacity 2 holds one value"),
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(SAW_CLOSED.load(Relaxed) > 0 && SAW_SENT.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_two_threads_capacity_one() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert!(rx.recv().is_err());
        t.join().unwrap();
    });
    assert!(PARKS.load(Relaxed) > parks_before, "no side ever parked");
}

#[test]
fn loom_mpmc_two_producers_try_ops() {
    static SAW_FULL: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let tx2 = tx.clone();
        let t = thread::spawn(move || {
            for v in [10, 11] {
                match tx2.try_send(v) {
                    Ok(()) => {}
                    Err(e) => {
                        assert!(e.is_full());
                        SAW_FULL.fetch_add(1, Relaxed);
                    }
                }
            }
        });
        let mut got = Vec::new();
        if tx.try_send(20).is_err() {
            SAW_FULL.fetch_add(1, Relaxed);
        }
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        t.join().unwrap();
        drop((tx, rx.clone()));
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        // Per-producer order holds and nothing was duplicated.
        let p2: Vec<_> = got.iter().copied().filter(|v| *v < 20).collect();
        assert!(p2.windows(2).all(|w| w[0] < w[1]));
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len());
        assert!(got.len() <= 3);
    });
    assert!(
        SAW_FULL.load(Relaxed) > 0,
        "the full path was never explored"
    );
}

#[test]
fn loom_mpmc_permit_holds_room() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let tx2 = tx.clone();
        let t = thread::spawn(move || {
            if let Ok(p) = tx2.try_reserve() {
                p.send(1).unwrap();
            }
        });
        let sent_plain = tx.try_send(2).is_ok();
        t.join().unwrap();
        let mut got = Vec::new();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        // Capacity 1: exactly one of the two got in, never both.
        assert_eq!(got.len(), 1);
        assert_eq!(sent_plain, got == [2]);
    });
}

#[test]
fn loom_oneshot_send_vs_receiver_drop() {
    static RETURNED: StdAtomicUsize = StdAtomicUsize::new(0);
    static DELIVERED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel::<Counted>();
        let d2 = drops.clone();
        let t = thread::spawn(move || match tx.send(Counted(d2)) {
            Ok(()) => DELIVERED.fetch_add(1, Relaxed),
            Err(v) => {
                drop(v);
                RETURNED.fetch_add(1, Relaxed)
            }
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(RETURNED.load(Relaxed) > 0 && DELIVERED.load(Relaxed) > 0);
}

#[test]
fn loom_oneshot_blocking_recv() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = oneshot::channel::<usize>();
        let t = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv(), Ok(7));
        t.join().unwrap();
    });
    assert!(PARKS.load(Relaxed) > parks_before);
}

#[test]
fn loom_oneshot_sender_dropped() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<usize>();
        let t = thread::spawn(move || drop(tx));
        let r = rx.try_recv();
        assert!(matches!(
            r,
            Err(TryRecvError::Empty) | Err(TryRecvError::Closed)
        ));
        t.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn loom_select_register_notify_unregister() {
    static WOKEN_BY_SECOND: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<usize>(1);
        let (tx_b, rx_b) = mpmc::channel::<usize>(1);
        let t = thread::spawn(move || {
            tx_b.send(5).unwrap();
            drop(tx_b);
        });
        let handles: [&dyn SelectHandle; 2] = [&rx_a, &rx_b];
        let mut token = Token::new();
        let winner = loop {
            if let Some(i) = (0..2).find(|&i| handles[i].try_reserve(&mut token)) {
                break i;
            }
            let cx = Waiter::for_current_thread();
            for (i, h) in handles.iter().enumerate() {
                h.register(&cx, i);
            }
            if let Some(i) = (0..2).find(|&i| handles[i].try_reserve(&mut token)) {
                let aborted = cx.try_abort();
                for h in &handles {
                    h.unregister(&cx);
                }
                if let Selected::Operation(sel) = aborted {
                    if sel != i {
                        handles[sel].pass_on();
                    }
                }
                break i;
            }
            let sel = cx.wait_until(None);
            for h in &handles {
                h.unregister(&cx);
            }
            if sel == Selected::Operation(1) {
                WOKEN_BY_SECOND.fetch_add(1, Relaxed);
            }
        };
        // Exactly one commit, on the channel that had a value.
        assert_eq!(winner, 1);
        assert_eq!(rx_b.commit_recv(&mut token), Ok(5));
        assert!(rx_a.try_recv().is_err());
        drop(tx_a);
        t.join().unwrap();
    });
    assert!(
        WOKEN_BY_SECOND.load(Relaxed) > 0,
        "the select never parked and got woken"
    );
}

/// A sender reserves a position through the select protocol and gives it
/// up, while a second sender sends and a receiver blocks for a value: the
/// receiver gets the real value (never the skipped position), nothing
/// hangs, and the slot is reusable afterwards.
#[test]
fn loom_mpmc_abandoned_send_is_skipped() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let tx2 = tx.clone();
        let abandoner = thread::spawn(move || {
            let mut token = Token::new();
            if SelectHandle::try_reserve(&tx, &mut token) {
                SendHandle::abandon_send(&tx, &mut token);
            }
            tx
        });
        let sender = thread::spawn(move || {
            tx2.send(9).unwrap();
            tx2
        });
        assert_eq!(rx.recv(), Ok(9), "the value, not the skipped position");
        let (tx, _tx2) = (abandoner.join().unwrap(), sender.join().unwrap());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
    });
    assert!(
        PARKS.load(Relaxed) > parks_before,
        "the receiver never parked"
    );
}

#[test]
fn loom_async_recv_dropped_after_wake_passes_on() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context as TaskContext, Poll};
    static PASSED_ON: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let rx2 = rx.clone();
        // A second receiver blocks on its thread; the first receiver's
        // future registers, may be woken, and is dropped without taking the
        // value. The value must still reach the second receiver.
        let t = thread::spawn(move || rx2.recv());
        {
            let waker = futures_noop_waker();
            let mut cx = TaskContext::from_waker(&waker);
            let mut fut = pin!(rx.recv_async());
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                // Took nothing the other could have had: nothing was sent.
                panic!("received {v:?} before any send");
            }
            tx.try_send(1).unwrap();
            // Dropped here, possibly holding the wake-up.
        }
        let got = t.join().unwrap();
        if got.is_ok() {
            PASSED_ON.fetch_add(1, Relaxed);
        }
        assert_eq!(got, Ok(1));
    });
    assert!(PASSED_ON.load(Relaxed) > 0);
}

fn futures_noop_waker() -> core::task::Waker {
    core::task::Waker::noop().clone()
}

/// Takes one item from a counter of available items, if there is one.
fn take_item(items: &AtomicUsize) -> Option<()> {
    let mut n = items.load(Ordering::SeqCst);
    while n != 0 {
        match items.compare_exchange(n, n - 1, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return Some(()),
            Err(now) => n = now,
        }
    }
    None
}

/// Two takers block on `queue` while this thread publishes two items,
/// notifying once for each, and stays alive; both takers must get one.
fn two_takers_two_items(queue: WaitQueue) {
    let queue = Arc::new(queue);
    let items = Arc::new(AtomicUsize::new(0));
    let takers: Vec<_> = (0..2)
        .map(|_| {
            let (queue, items) = (queue.clone(), items.clone());
            thread::spawn(move || block_thread(&queue, None, || take_item(&items)))
        })
        .collect();
    for _ in 0..2 {
        items.fetch_add(1, Ordering::SeqCst);
        queue.notify_one();
    }
    for taker in takers {
        assert_eq!(taker.join().unwrap(), Some(()));
    }
    assert_eq!(items.load(Ordering::SeqCst), 0);
}

/// Two blocked takers on one queue and two items published one after the
/// other, with the publisher alive throughout (no close to wake everyone).
/// A taker whose re-check takes an item while its waiter is claimed for
/// the other item must pass that claim on; if it did not, the other taker
/// would park forever (loom reports the deadlock).
#[test]
fn loom_two_waiters_two_items_every_claim_reaches_a_taker() {
    let parks_before = PARKS.load(Relaxed);
    model(|| two_takers_two_items(WaitQueue::new()));
    assert!(PARKS.load(Relaxed) > parks_before, "no taker ever parked");
}

/// The same on a channel: two blocking receivers, two messages, the
/// sender kept alive until both are received.
#[test]
fn loom_mpmc_two_blocked_receivers_two_messages_sender_alive() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got: Vec<_> = receivers
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        drop(tx);
    });
    assert!(
        PARKS.load(Relaxed) > parks_before,
        "no receiver ever parked"
    );
}

/// Polls `fut` until it is ready, waiting for its waker between polls on
/// a one-permit `loom::sync::Notify`. (loom's own `block_on` parks the
/// thread, and loom lets that unpark wake a thread blocked on a loom mutex,
/// which it then reports as a failure to acquire the lock.) A lost wake-up
/// leaves the thread waiting forever, which loom reports as a deadlock.
fn poll_until_ready<F: core::future::Future>(fut: F) -> F::Output {
    use core::task::{Context as TaskContext, Poll};
    use std::task::Wake;

    struct Woken(loom::sync::Notify);
    impl Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.notify();
        }
    }
    let woken = std::sync::Arc::new(Woken(loom::sync::Notify::new()));
    let waker = core::task::Waker::from(woken.clone());
    let mut fut = core::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut TaskContext::from_waker(&waker)) {
            return v;
        }
        woken.0.wait();
    }
}

/// The oneshot's future waits in its waker cell: a send, or the sender's
/// drop, on another thread always reaches it (a lost wake-up is a
/// deadlock here).
#[test]
fn loom_oneshot_future_woken_by_send_or_sender_drop() {
    for send in [true, false] {
        model(move || {
            let (tx, rx) = oneshot::channel::<usize>();
            let t = thread::spawn(move || {
                if send {
                    tx.send(7).unwrap();
                } else {
                    drop(tx);
                }
            });
            let expected = if send { Ok(7) } else { Err(crate::RecvError) };
            assert_eq!(poll_until_ready(rx), expected);
            t.join().unwrap();
        });
    }
}

/// A oneshot future polled once, then dropped while the sender sends: the
/// value is delivered to nobody and dropped once, or handed back.
#[test]
fn loom_oneshot_future_dropped_while_the_sender_sends() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = oneshot::channel::<Counted>();
        let d2 = drops.clone();
        // Handed back or not, the value is dropped here or with the channel.
        let t = thread::spawn(move || drop(tx.send(Counted(d2))));
        let _ = core::future::Future::poll(
            core::pin::Pin::new(&mut rx),
            &mut core::task::Context::from_waker(core::task::Waker::noop()),
        );
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
}

/// The async form: two receive futures, each polled to completion on its
/// own thread, two messages, the sender alive throughout. A future whose
/// re-check after registering takes a message passes on a claim it got
/// meanwhile.
#[test]
fn loom_mpmc_two_async_receivers_two_messages_sender_alive() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || poll_until_ready(rx.recv_async()))
            })
            .collect();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got: Vec<_> = receivers
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        drop(tx);
    });
}

/// A queue that starts with asymmetric fences and switches to symmetric
/// ones at its first registration, while a notifier publishes and checks
/// for waiters: whichever mode each side reads, no wake-up is lost. Runs
/// for both notify variants (fence and load; read-modify-write).
#[test]
fn loom_fence_mode_switch_loses_no_wakeup() {
    static SWITCHED: StdAtomicUsize = StdAtomicUsize::new(0);
    for single_notifier in [false, true] {
        crate::sync::model_asymmetric(true, true);
        model(move || {
            let queue = Arc::new(if single_notifier {
                WaitQueue::single_notifier()
            } else {
                WaitQueue::new()
            });
            let flag = Arc::new(AtomicBool::new(false));
            let (q2, f2) = (queue.clone(), flag.clone());
            let notifier = thread::spawn(move || {
                f2.store(true, Ordering::Release);
                q2.notify_one();
            });
            let got = block_thread(&queue, None, || flag.load(Ordering::Acquire).then_some(()));
            assert_eq!(got, Some(()));
            notifier.join().unwrap();
            if queue.is_symmetric() {
                SWITCHED.fetch_add(1, Relaxed);
            }
        });
        crate::sync::model_asymmetric(false, false);
    }
    assert!(SWITCHED.load(Relaxed) > 0, "no queue ever switched modes");
}

/// Two waiters in a queue that switches modes at the first registration:
/// the second registers in symmetric mode (or mid-switch) while the
/// notifier may still be reading the asymmetric mode.
#[test]
fn loom_fence_mode_switch_with_two_waiters() {
    crate::sync::model_asymmetric(true, true);
    model(|| two_takers_two_items(WaitQueue::single_notifier()));
    crate::sync::model_asymmetric(false, false);
}

/// A select's send reservation orphaned (its token dropped without the
/// endpoint) while a receiver blocks and another sender sends: the
/// receiver passes the orphaned position and gets the value.
#[test]
fn loom_orphaned_send_reservation_is_passed_by_the_receiver() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let tx2 = tx.clone();
        let orphaner = thread::spawn(move || {
            let mut token = Token::new();
            if SelectHandle::try_reserve(&tx, &mut token) {
                assert!(!token.give_up(), "a send reservation discards nothing");
            }
        });
        let sender = thread::spawn(move || tx2.send(9).unwrap());
        assert_eq!(rx.recv(), Ok(9));
        orphaner.join().unwrap();
        sender.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// A oneshot receiver shared by two threads (it is `Sync`) through the
/// select hooks, which take `&self`: the value is read by one of them only.
#[test]
fn loom_oneshot_shared_receiver_gives_the_value_once() {
    model(|| {
        let (tx, rx) = oneshot::channel::<usize>();
        let rx = Arc::new(rx);
        let rx2 = rx.clone();
        let take = |rx: &oneshot::Receiver<usize>| {
            let mut token = Token::new();
            if rx.try_reserve(&mut token) {
                rx.commit_recv(&mut token).ok()
            } else {
                None
            }
        };
        let t = thread::spawn(move || take(&rx2));
        tx.send(7).unwrap();
        let mine = take(&rx);
        let theirs = t.join().unwrap();
        let got: Vec<usize> = mine.into_iter().chain(theirs).collect();
        assert!(got.len() <= 1, "the value was taken twice: {got:?}");
        if got.is_empty() {
            assert_eq!(Arc::try_unwrap(rx).ok().unwrap().try_recv(), Ok(7));
        }
    });
}

/// A receiver that reports `Closed` sees what the closing thread wrote
/// before the close, on the array ring and on the list: the close read
/// with a relaxed load is made an acquire.
#[test]
fn loom_mpmc_closed_happens_after_the_closers_writes() {
    for unbounded in [false, true] {
        model(move || {
            let (tx, rx) = if unbounded {
                mpmc::unbounded::<u8>()
            } else {
                mpmc::channel::<u8>(1)
            };
            let note = Arc::new(AtomicUsize::new(0));
            let note2 = note.clone();
            let closer = thread::spawn(move || {
                note2.store(1, Ordering::Relaxed);
                drop(tx);
            });
            if rx.try_recv() == Err(TryRecvError::Closed) {
                assert_eq!(note.load(Ordering::Relaxed), 1);
            }
            closer.join().unwrap();
        });
    }
}

mod list;
mod zero;
