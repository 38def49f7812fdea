//! loom models of the select protocol as [`Select`] runs it: try, register,
//! retry, park, unregister, and pass a wake-up on when the select completes
//! another operation than the one that woke it (see
//! `nimsync_channel::__select`).
//!
//! Run with `cargo xtask loom` (RUSTFLAGS="--cfg loom"). The models drive
//! the real blocking `select()` and `select_async()` over channels of
//! capacity 1 (mpmc, and spsc in one model), with at most 3 threads. A lost
//! wake-up shows as a loom deadlock; a message taken twice or lost fails
//! the final count; an operation reserved and never committed panics. Each
//! model asserts afterwards that the paths it exists for were explored.
//!
//! The senders stay alive until the select has returned: a close wakes
//! every waiter and would hide a lost `notify_one`.
//!
//! Two more models race a select against a timer's own receive for one
//! due message (an `after`'s, a tick): it is delivered exactly once.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context as TaskContext, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};
use std::task::Wake;
use std::time::{Duration, Instant};

use loom::thread;
use nimsync_channel::{TryRecvError, mpmc, spsc};

use crate::probes::{PARKS, PASSED_ON, count};
use crate::timer::tick_due_now;
use crate::{Select, at};

/// Runs `f` under loom, with the preemption bound of
/// `LOOM_MAX_PREEMPTIONS` (2 when unset).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Selects over receives on `a` (index 0) and `b` (index 1) with the
/// blocking select; returns the winner's index and its message.
fn select_recv(a: &mpmc::Receiver<u32>, b: &mpmc::Receiver<u32>) -> (usize, u32) {
    let mut sel = Select::new();
    let ia = sel.recv(a);
    let ib = sel.recv(b);
    let op = sel.select();
    let index = op.index();
    let got = if index == ia {
        op.recv(a)
    } else {
        assert_eq!(index, ib, "an index the select handed out");
        op.recv(b)
    };
    (
        index,
        got.expect("the senders are alive, so the channel is open"),
    )
}

/// Everything still buffered in `rx`, without waiting.
fn drain(rx: &mpmc::Receiver<u32>) -> Vec<u32> {
    let mut left = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(v) => left.push(v),
            Err(TryRecvError::Empty) => return left,
            Err(TryRecvError::Closed) => panic!("the senders are alive"),
        }
    }
}

/// Sorts a multiset of messages for comparison.
fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// One sender on the second of two watched channels: the select takes that
/// message, whether it finds it on a try or is woken by the send.
#[test]
fn loom_select_woken_by_a_send() {
    let parks_before = count(&PARKS);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx_b.send(2).unwrap();
            tx_b
        });
        let (index, got) = select_recv(&rx_a, &rx_b);
        let tx_b = sender.join().unwrap();
        assert_eq!(
            (index, got),
            (1, 2),
            "the message of the channel that had one"
        );
        assert!(drain(&rx_a).is_empty() && drain(&rx_b).is_empty());
        drop((tx_a, tx_b));
    });
    assert!(count(&PARKS) > parks_before, "the select never parked");
}

/// Two senders, one per watched channel (3 threads), and `select` taking
/// one message from `a` (index 0) or `b` (index 1): exactly one commit,
/// from the channel its index names; the other message stays buffered.
/// Counts each index's wins in `won`; asserts afterwards that the select
/// parked in some execution and each channel won in some.
fn two_senders_one_commit(
    select: fn(&mpmc::Receiver<u32>, &mpmc::Receiver<u32>) -> (usize, u32),
    won: &'static [StdAtomicUsize; 2],
) {
    let parks_before = count(&PARKS);
    model(move || {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let sender_a = thread::spawn(move || {
            tx_a.send(1).unwrap();
            tx_a
        });
        let sender_b = thread::spawn(move || {
            tx_b.send(2).unwrap();
            tx_b
        });
        let (index, got) = select(&rx_a, &rx_b);
        won[index].fetch_add(1, Relaxed);
        let senders = (sender_a.join().unwrap(), sender_b.join().unwrap());
        assert_eq!(got, [1, 2][index], "the message of the channel selected");
        let mut all = vec![got];
        all.extend(drain(&rx_a));
        all.extend(drain(&rx_b));
        assert_eq!(sorted(all), [1, 2], "nothing lost, nothing taken twice");
        drop(senders);
    });
    assert!(count(&PARKS) > parks_before, "the select never parked");
    assert!(
        won[0].load(Relaxed) > 0 && won[1].load(Relaxed) > 0,
        "each channel won in some execution"
    );
}

/// The race of `two_senders_one_commit` through the `Select` builder.
#[test]
fn loom_select_two_senders_one_commit() {
    static WON: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    two_senders_one_commit(select_recv, &WON);
}

/// The same race through the `select!` macro: its direct attempts on the
/// arms, then the `Select` it falls back to when neither is ready.
#[test]
fn loom_macro_select_two_senders_one_commit() {
    static WON: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    two_senders_one_commit(
        |rx_a, rx_b| {
            let (index, got) = crate::select! {
                recv(rx_a) -> m => (0, m),
                recv(rx_b) -> m => (1, m),
            };
            (
                index,
                got.expect("the senders are alive, so the channel is open"),
            )
        },
        &WON,
    );
}

/// Two senders again, one on an spsc channel (taken by `&mut`, its queue
/// notified by a read-modify-write in symmetric fence mode) and one on an
/// mpmc channel: exactly one commit, nothing lost.
#[test]
fn loom_select_spsc_and_mpmc_senders() {
    static WON: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    model(|| {
        let (mut tx_a, mut rx_a) = spsc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let sender_a = thread::spawn(move || {
            tx_a.send(1).unwrap();
            tx_a
        });
        let sender_b = thread::spawn(move || {
            tx_b.send(2).unwrap();
            tx_b
        });
        let op = {
            let mut sel = Select::new();
            sel.recv(&mut rx_a);
            sel.recv(&rx_b);
            sel.select()
        };
        let index = op.index();
        WON[index].fetch_add(1, Relaxed);
        let got = if index == 0 {
            op.recv(&rx_a)
        } else {
            op.recv(&rx_b)
        };
        assert_eq!(
            got,
            Ok([1, 2][index]),
            "the message of the channel selected"
        );
        let senders = (sender_a.join().unwrap(), sender_b.join().unwrap());
        let mut all = vec![got.unwrap()];
        while let Ok(v) = rx_a.try_recv() {
            all.push(v);
        }
        all.extend(drain(&rx_b));
        assert_eq!(sorted(all), [1, 2], "nothing lost, nothing taken twice");
        drop(senders);
    });
    assert!(
        WON[0].load(Relaxed) > 0 && WON[1].load(Relaxed) > 0,
        "each channel won in some execution"
    );
}

/// The select and a plain blocking `recv` race for a message on channel
/// `a`, while the select also watches channel `b`, which gets a message
/// too (3 threads). A wake-up the select takes from `a` and does not use
/// must reach the plain receiver: each message is received exactly once
/// and nobody hangs.
///
/// If the select wins `a`'s message, it sends a second one on `a` for the
/// plain receiver, so that receiver always ends with exactly one message
/// and no close is needed to wake it.
#[test]
fn loom_select_races_a_plain_receiver() {
    let passed_before = count(&PASSED_ON);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let (rx_a2, tx_a2) = (rx_a.clone(), tx_a.clone());
        let plain = thread::spawn(move || rx_a2.recv().unwrap());
        let sender = thread::spawn(move || {
            tx_a2.send(1).unwrap();
            tx_b.send(2).unwrap();
            tx_b
        });
        let (index, got) = select_recv(&rx_a, &rx_b);
        let mut all = vec![got];
        if index == 0 {
            tx_a.send(3).unwrap();
        }
        all.push(plain.join().unwrap());
        let tx_b = sender.join().unwrap();
        all.extend(drain(&rx_a));
        all.extend(drain(&rx_b));
        let sent = if index == 0 {
            vec![1, 2, 3]
        } else {
            vec![1, 2]
        };
        assert_eq!(sorted(all), sent, "nothing lost, nothing taken twice");
        drop((tx_a, tx_b));
    });
    assert!(
        count(&PASSED_ON) > passed_before,
        "the select never passed a wake-up on"
    );
}

/// Send arms: both channels are full and a receiver frees the second. The
/// select reserves that slot and commits its value there; the first
/// channel is left as it was.
#[test]
fn loom_select_send_arm_woken_by_a_receive() {
    let parks_before = count(&PARKS);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        tx_a.try_send(1).unwrap();
        tx_b.try_send(2).unwrap();
        let receiver = thread::spawn(move || {
            let got = rx_b.recv().unwrap();
            (got, rx_b)
        });
        let op = {
            let mut sel = Select::new();
            sel.send(&tx_a);
            sel.send(&tx_b);
            sel.select()
        };
        assert_eq!(op.index(), 1, "only the second channel gets room");
        op.send(&tx_b, 3).unwrap();
        let (got, rx_b) = receiver.join().unwrap();
        assert_eq!(got, 2);
        assert_eq!((drain(&rx_a), drain(&rx_b)), (vec![1], vec![3]));
    });
    assert!(count(&PARKS) > parks_before, "the select never parked");
}

/// The async select parks its task (loom's `block_on`) and a send on the
/// second channel wakes it; the re-poll takes back the claimed
/// registration and selects that channel.
#[test]
fn loom_select_async_woken_by_a_send() {
    static REPOLLED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx_b.send(2).unwrap();
            tx_b
        });
        let op = {
            let mut sel = Select::new();
            sel.recv(&rx_a);
            sel.recv(&rx_b);
            let mut fut = pin!(sel.select_async());
            let mut polls = 0;
            let op = loom::future::block_on(poll_fn(|task| {
                polls += 1;
                fut.as_mut().poll(task)
            }));
            if polls > 1 {
                REPOLLED.fetch_add(1, Relaxed);
            }
            op
        };
        assert_eq!(op.index(), 1);
        assert_eq!(op.recv(&rx_b), Ok(2));
        let tx_b = sender.join().unwrap();
        assert!(drain(&rx_a).is_empty() && drain(&rx_b).is_empty());
        drop((tx_a, tx_b));
    });
    assert!(
        REPOLLED.load(Relaxed) > 0,
        "the select never returned Pending and got woken"
    );
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(StdAtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, Relaxed);
    }
}

/// An async select registers on two channels and is dropped, maybe after
/// a send on the first woke it, without taking anything. A plain receiver
/// blocked on that channel must still get the message: the dropped select
/// passes the wake-up on.
#[test]
fn loom_select_async_dropped_after_wake_passes_on() {
    static WOKEN_THEN_DROPPED: StdAtomicUsize = StdAtomicUsize::new(0);
    let passed_before = count(&PASSED_ON);
    model(|| {
        let (tx_a, rx_a) = mpmc::channel::<u32>(1);
        let (tx_b, rx_b) = mpmc::channel::<u32>(1);
        let rx_a2 = rx_a.clone();
        let plain = thread::spawn(move || rx_a2.recv());
        let wakes = std::sync::Arc::new(CountingWaker::default());
        {
            let waker = Waker::from(wakes.clone());
            let mut task = TaskContext::from_waker(&waker);
            let mut sel = Select::new();
            sel.recv(&rx_a);
            sel.recv(&rx_b);
            let mut fut = pin!(sel.select_async());
            if let Poll::Ready(op) = fut.as_mut().poll(&mut task) {
                panic!("operation {} ready before any send", op.index());
            }
            tx_a.try_send(1).unwrap();
            if wakes.0.load(Relaxed) > 0 {
                WOKEN_THEN_DROPPED.fetch_add(1, Relaxed);
            }
            // Dropped here, possibly holding the send's wake-up.
        }
        assert_eq!(plain.join().unwrap(), Ok(1));
        assert!(drain(&rx_a).is_empty() && drain(&rx_b).is_empty());
        drop((tx_a, tx_b));
    });
    assert!(
        WOKEN_THEN_DROPPED.load(Relaxed) > 0,
        "the send never woke the select"
    );
    assert!(
        count(&PASSED_ON) > passed_before,
        "the dropped select never passed a wake-up on"
    );
}

/// A blocking select and a plain blocking receiver share one channel that
/// receives two messages while its sender stays alive. Whichever of them
/// takes a message in its re-check after registering, with its waiter
/// claimed for the other message meanwhile, passes that claim on: the
/// other one is woken for the message left (a lost claim is a deadlock).
#[test]
fn loom_select_and_receiver_share_two_messages() {
    let passed_before = count(&PASSED_ON);
    model(|| {
        let (tx, rx) = mpmc::channel::<u32>(2);
        let rx2 = rx.clone();
        let selecting = thread::spawn(move || {
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.select();
            op.recv(&rx).unwrap()
        });
        let receiving = thread::spawn(move || rx2.recv().unwrap());
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let got = sorted(vec![selecting.join().unwrap(), receiving.join().unwrap()]);
        assert_eq!(got, [1, 2]);
        drop(tx);
    });
    assert!(
        count(&PASSED_ON) > passed_before,
        "no select ever passed a claim on"
    );
}

/// A selected send dropped without being completed (its value could not
/// be made) while a receiver blocks on the channel and another sender
/// sends: the reservation is given up and the receiver gets the value.
#[test]
fn loom_select_dropped_send_reservation_is_given_up() {
    model(|| {
        let (tx, rx) = mpmc::channel::<u32>(1);
        let tx2 = tx.clone();
        let selecting = thread::spawn(move || {
            let mut sel = Select::new();
            sel.send(&tx);
            if let Ok(op) = sel.try_select() {
                drop(op);
            }
        });
        let receiving = thread::spawn(move || rx.recv());
        tx2.send(5).unwrap();
        selecting.join().unwrap();
        assert_eq!(receiving.join().unwrap(), Ok(5));
        drop(tx2);
    });
}

/// Tries a select over `timer` alone; returns what its completion yields.
fn try_select_timer<R: crate::RecvEndpoint<Item = Instant>>(timer: &R) -> Option<Instant>
where
    for<'a> &'a R: crate::RecvOperand<'a>,
{
    let mut sel = Select::new();
    sel.recv(timer);
    let op = sel.try_select().ok()?;
    Some(op.recv(timer).expect("a timer never closes"))
}

/// A due `after` raced by a select and the timer's own `try_recv`: the
/// message is delivered to exactly one of them, with the deadline.
#[test]
fn loom_after_delivered_once_to_a_select_or_a_receive() {
    model(|| {
        let timer = Arc::new(at(Instant::now()));
        let selecting = {
            let timer = Arc::clone(&timer);
            thread::spawn(move || try_select_timer(&*timer))
        };
        let received = timer.try_recv().ok();
        let selected = selecting.join().unwrap();
        assert!(
            received.is_some() ^ selected.is_some(),
            "received {received:?}, selected {selected:?}"
        );
        assert_eq!(received.or(selected), Some(timer.deadline()));
        assert!(timer.try_recv().is_err(), "one message only");
    });
}

/// A due tick (the next a period away) raced by a select and a receive
/// that waited for it (the in-time claim of `recv`): exactly one takes it.
#[test]
fn loom_tick_delivered_once_to_a_select_or_a_waiting_receive() {
    model(|| {
        let ticker = Arc::new(tick_due_now(Duration::from_secs(3600)));
        let due = ticker.next_deadline();
        let selecting = {
            let ticker = Arc::clone(&ticker);
            thread::spawn(move || try_select_timer(&*ticker))
        };
        let mut awaited = Some(0);
        let received = ticker.claim(Instant::now(), &mut awaited).ok();
        let selected = selecting.join().unwrap();
        assert!(
            received.is_some() ^ selected.is_some(),
            "received {received:?}, selected {selected:?}"
        );
        assert_eq!(received.or(selected), Some(due));
        assert!(ticker.try_recv().is_err(), "the next tick is a period away");
    });
}

/// Two real selects on opposite sides of a rendezvous channel, each with a
/// second operation that never becomes ready: the send's reservation claims
/// the waiter of the select registered for the receive, the commit hands
/// the value over, and each select completes its rendezvous operation once.
#[test]
fn loom_select_send_pairs_with_another_threads_select_receive() {
    let parks_before = count(&PARKS);
    model(|| {
        let (tx, rx) = mpmc::channel::<u32>(0);
        let (_idle_tx, idle_rx) = mpmc::channel::<u32>(0);
        let (idle_tx2, _idle_rx2) = mpmc::channel::<u32>(0);
        let receiver = thread::spawn(move || {
            let mut sel = Select::new();
            let i = sel.recv(&rx);
            sel.recv(&idle_rx);
            let op = sel.select();
            assert_eq!(op.index(), i);
            op.recv(&rx)
        });
        let op = {
            let mut sel = Select::new();
            sel.send(&idle_tx2);
            sel.send(&tx);
            sel.select()
        };
        assert_eq!(op.index(), 1, "only the rendezvous has a receiver");
        op.send(&tx, 7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
    assert!(count(&PARKS) > parks_before, "no select ever parked");
}
