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

// ---- mpmc list (unbounded) -------------------------------------------------
// Under loom a block holds 3 slots, so four values cross a block boundary.

#[test]
fn loom_list_two_senders_cross_a_block() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let b = thread::spawn(move || {
            tx2.send(11).unwrap();
            tx2.send(12).unwrap();
        });
        let got: Vec<usize> = (0..4).map(|_| rx.recv().unwrap()).collect();
        a.join().unwrap();
        b.join().unwrap();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 11, 12]);
        let pos = |v| got.iter().position(|&g| g == v).unwrap();
        assert!(
            pos(1) < pos(2) && pos(11) < pos(12),
            "one sender's order: {got:?}"
        );
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Closed),
            "both senders are gone"
        );
    });
}

#[test]
fn loom_list_slot_given_back_to_a_slow_sender_keeps_its_order() {
    static GIVEN_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        // Under loom a receiver gives a claimed, unwritten slot back at
        // once; the sender sends its value again, still before its next.
        let mut got = Vec::new();
        while got.len() < 2 {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => {
                    if rx.len() > 0 {
                        GIVEN_BACK.fetch_add(1, Relaxed);
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Closed) => panic!("closed before both values"),
            }
        }
        assert_eq!(got, [1, 2]);
        t.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
    assert!(
        GIVEN_BACK.load(Relaxed) > 0,
        "no receiver found a claimed slot unwritten"
    );
}

#[test]
fn loom_list_close_races_a_send_and_the_drain() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let rx2 = rx.clone();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let sender = thread::spawn(move || {
            let sent = tx.send(7).is_ok();
            done2.store(true, Ordering::Release);
            sent
        });
        let closer = thread::spawn(move || {
            rx2.close();
        });
        let mut got = Vec::new();
        let mut closed = false;
        loop {
            match rx.try_recv() {
                Ok(v) => {
                    assert!(!closed, "a value after Closed");
                    got.push(v);
                }
                Err(TryRecvError::Closed) => {
                    closed = true;
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = sender.join().unwrap();
        closer.join().unwrap();
        assert_eq!(
            got.len(),
            usize::from(sent),
            "a send that returned Ok is received"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn loom_list_last_receiver_drop_races_sends_drops_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::unbounded::<Counted>();
        let d = drops.clone();
        let sender = thread::spawn(move || {
            for _ in 0..2 {
                // Handed back in the error if closed, and dropped here.
                let _ = tx.send(Counted(d.clone()));
            }
        });
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each value dropped once");
    });
}

#[test]
fn loom_list_select_send_reserved_before_a_close_is_received() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let rx2 = rx.clone();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let selector = thread::spawn(move || {
            let mut token = Token::new();
            assert!(SelectHandle::try_reserve(&tx, &mut token), "always ready");
            let sent = SendHandle::commit_send(&tx, &mut token, 5).is_ok();
            done2.store(true, Ordering::Release);
            sent
        });
        let closer = thread::spawn(move || {
            rx2.close();
        });
        let mut got = 0;
        loop {
            match rx.try_recv() {
                Ok(5) => got += 1,
                Ok(v) => panic!("unexpected {v}"),
                Err(TryRecvError::Closed) => {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = selector.join().unwrap();
        closer.join().unwrap();
        assert_eq!(got, usize::from(sent), "a committed send is received");
    });
}

/// Drains what `rx` holds now into `out`; the error it stopped on.
fn drain_into(rx: &mpmc::Receiver<usize>, out: &mut Vec<usize>) -> TryRecvError {
    loop {
        match rx.try_recv() {
            Ok(v) => out.push(v),
            Err(e) => return e,
        }
    }
}

#[test]
fn loom_mpmc_force_send_races_a_receive_for_the_last_slot() {
    static EVICTED: StdAtomicUsize = StdAtomicUsize::new(0);
    static RECEIVED_OLD: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let t = thread::spawn(move || tx.force_send(2).unwrap());
        let first = rx.try_recv();
        let evicted = t.join().unwrap();
        let mut got: Vec<usize> = first.iter().copied().collect();
        drain_into(&rx, &mut got);
        match evicted {
            // The force-send took the oldest: the receive got the new one
            // (now or after the join), never the old one.
            Some(old) => {
                assert_eq!(old, 1);
                assert_eq!(got, [2]);
                EVICTED.fetch_add(1, Relaxed);
            }
            // The receive took the oldest first; the force-send used the
            // slot it freed without evicting.
            None => {
                assert_eq!(got, [1, 2]);
                RECEIVED_OLD.fetch_add(1, Relaxed);
            }
        }
    });
    assert!(EVICTED.load(Relaxed) > 0 && RECEIVED_OLD.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_two_force_sends_on_a_full_channel_of_capacity_one() {
    static ORDERS: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.force_send(2).unwrap());
        let mine = tx.force_send(3).unwrap();
        let theirs = t.join().unwrap();
        let mut all: Vec<usize> = mine.into_iter().chain(theirs).collect();
        let mut left = Vec::new();
        drain_into(&rx, &mut left);
        // Exactly one value stays, the last one written; the other two
        // came back, each once.
        assert_eq!(left.len(), 1);
        assert_eq!(all.len(), 2);
        if left == [2] {
            ORDERS.fetch_or(1, Relaxed);
        } else {
            ORDERS.fetch_or(2, Relaxed);
        }
        all.extend(left);
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3]);
    });
    assert_eq!(ORDERS.load(Relaxed), 3, "both orders explored");
}

#[test]
fn loom_mpmc_force_send_races_a_close() {
    static SENT: StdAtomicUsize = StdAtomicUsize::new(0);
    static REFUSED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let t = thread::spawn(move || tx.force_send(2));
        rx.close();
        let mut got = Vec::new();
        let stop = drain_into(&rx, &mut got);
        let res = t.join().unwrap();
        let after_closed = got.len();
        let again = drain_into(&rx, &mut got);
        assert_eq!(again, TryRecvError::Closed);
        if stop == TryRecvError::Closed {
            // Once `Closed`, always `Closed`.
            assert_eq!(got.len(), after_closed);
        }
        let mut all = got;
        match res {
            Ok(evicted) => {
                all.extend(evicted);
                SENT.fetch_add(1, Relaxed);
            }
            Err(e) => {
                all.push(e.into_inner());
                REFUSED.fetch_add(1, Relaxed);
            }
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2], "each value received or handed back once");
    });
    assert!(SENT.load(Relaxed) > 0 && REFUSED.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_weak_upgrade_races_the_last_drop() {
    static UPGRADED: StdAtomicUsize = StdAtomicUsize::new(0);
    static TOO_LATE: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let weak = tx.downgrade();
        let t = thread::spawn(move || drop(tx));
        let up = weak.upgrade();
        t.join().unwrap();
        match up {
            Some(tx) => {
                // The upgrade came first: the channel stayed open.
                assert!(!rx.is_closed());
                tx.try_send(7).unwrap();
                drop(tx);
                assert_eq!(rx.try_recv(), Ok(7));
                UPGRADED.fetch_add(1, Relaxed);
            }
            None => {
                TOO_LATE.fetch_add(1, Relaxed);
            }
        }
        // Either way the last sender is gone now: closed, and for good.
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(weak.upgrade().is_none());
    });
    assert!(UPGRADED.load(Relaxed) > 0 && TOO_LATE.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_no_permit_while_a_force_send_replaces_in_place() {
    model(|| {
        // Capacity 2: with one slot the window below looks full anyway.
        let (tx, rx) = mpmc::channel::<usize>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.force_send(3).unwrap());
        // Between the force-send's head claim and its tail claim the ring
        // looks one short of full; a permit granted then would promise
        // room that is not there.
        let tx3 = tx.clone();
        let r = thread::spawn(move || tx3.try_reserve().map(drop));
        let permit = r.join().unwrap();
        assert_eq!(t.join().unwrap(), Some(1));
        assert!(permit.unwrap_err().is_full());
        let mut got = Vec::new();
        drain_into(&rx, &mut got);
        assert_eq!(got, [2, 3]);
        assert_eq!(tx.free_capacity(), 2);
    });
}

/// Two batches, one slot: the first to take the batch turn gathers its
/// permit when the receiver frees the slot, then hands the turn to the
/// other. Neither is lost; loom reports a deadlock if a wake-up is.
#[test]
fn loom_mpmc_two_batches_take_turns() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let batches: Vec<_> = [10, 20]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut permits = poll_until_ready(tx.reserve_many(1)).unwrap();
                    permits.next().unwrap().send(v).unwrap();
                })
            })
            .collect();
        drop(tx);
        let mut got: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
        for b in batches {
            b.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 10, 20]);
    });
}

/// A batch of two gathers its permits one at a time as the receiver frees
/// slots, holding the first while it waits for the second.
#[test]
fn loom_mpmc_batch_gathers_across_wakeups() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let t = thread::spawn(move || {
            let permits = poll_until_ready(tx.reserve_many(2)).unwrap();
            for (p, v) in permits.zip([10, 11]) {
                p.send(v).unwrap();
            }
        });
        let got: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
        t.join().unwrap();
        assert_eq!(got, [1, 2, 10, 11]);
    });
}

// ---- the rendezvous flavor (mpmc::channel(0), `mpmc/zero/`) --------------

/// Runs the select protocol over `handles` (reserve, register, reserve
/// again, park, pass on a claim it did not use) until one operation is
/// reserved in `token`; returns its index.
fn select_over(handles: &[&dyn SelectHandle], token: &mut Token) -> usize {
    let reserve = |token: &mut Token| (0..handles.len()).find(|&i| handles[i].try_reserve(token));
    loop {
        if let Some(i) = reserve(token) {
            return i;
        }
        let cx = Waiter::for_current_thread();
        for (i, h) in handles.iter().enumerate() {
            h.register(&cx, i);
        }
        if let Some(i) = reserve(token) {
            let aborted = cx.try_abort();
            for h in handles {
                h.unregister(&cx);
            }
            if let Selected::Operation(k) = aborted {
                handles[k].pass_on();
            }
            return i;
        }
        cx.wait_until(None);
        for h in handles {
            h.unregister(&cx);
        }
    }
}

/// A blocking send and a blocking receive meet while a third thread closes
/// the channel: either the value is delivered (both `Ok`), or the send hands
/// it back (`Closed` with the value) and the receive reports the close;
/// never one without the other, and the value is dropped exactly once.
#[test]
fn loom_zero_send_recv_race_a_close() {
    static DELIVERED: StdAtomicUsize = StdAtomicUsize::new(0);
    static HANDED_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(0);
        let closer = rx.clone();
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || tx.send(value).map_err(|e| e.into_inner()));
        let closing = thread::spawn(move || {
            closer.close();
        });
        let received = rx.recv();
        let sent = sender.join().unwrap();
        closing.join().unwrap();
        match (sent, received) {
            (Ok(()), Ok(v)) => {
                DELIVERED.fetch_add(1, Relaxed);
                drop(v);
            }
            (Err(v), Err(_)) => {
                HANDED_BACK.fetch_add(1, Relaxed);
                assert_eq!(drops.load(Ordering::Relaxed), 0, "handed back alive");
                drop(v);
            }
            (sent, received) => {
                panic!("send {:?} but receive {:?}", sent.is_ok(), received.is_ok())
            }
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(DELIVERED.load(Relaxed) > 0 && HANDED_BACK.load(Relaxed) > 0);
}

/// Two blocking senders, one receiver taking two values: each value is
/// received once, both sends complete, whatever the order of offers,
/// takes and parks.
#[test]
fn loom_zero_two_senders_one_receiver() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1));
        let b = thread::spawn(move || tx2.send(2));
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(a.join().unwrap(), Ok(()));
        assert_eq!(b.join().unwrap(), Ok(()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
    assert!(
        PARKS.load(Relaxed) > parks_before,
        "no receiver ever parked"
    );
}

/// A sender whose deadline passes races the receiver that takes its offer
/// (and claims its waiter): exactly one of "delivered" (the send is `Ok`
/// and the receive has the value) and "handed back" (`Timeout` with the
/// value, and the receive finds nothing).
#[test]
fn loom_zero_timed_out_sender_races_the_take() {
    static DELIVERED: StdAtomicUsize = StdAtomicUsize::new(0);
    static HANDED_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(0);
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || {
            let sent = tx.send_deadline(value, std::time::Instant::now());
            (sent.map_err(|e| e.into_inner()), tx)
        });
        let taken = rx.try_recv();
        let (sent, _tx) = sender.join().unwrap();
        match (sent, taken) {
            (Ok(()), Ok(v)) => {
                DELIVERED.fetch_add(1, Relaxed);
                drop(v);
            }
            (Err(v), Err(TryRecvError::Empty)) => {
                HANDED_BACK.fetch_add(1, Relaxed);
                drop(v);
            }
            (sent, taken) => panic!("send {:?} but take {:?}", sent.is_ok(), taken.is_ok()),
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(DELIVERED.load(Relaxed) > 0 && HANDED_BACK.load(Relaxed) > 0);
}

/// Both sides select: a select's send reservation claims the waiter of
/// another thread's select registered for a receive on the rendezvous
/// channel, and the commit hands the value over; each select completes
/// once.
#[test]
fn loom_zero_select_send_pairs_with_a_select_receive() {
    static PAIRED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let receiver = thread::spawn(move || {
            let mut token = Token::new();
            let i = select_over(&[&rx], &mut token);
            assert_eq!(i, 0);
            rx.commit_recv(&mut token)
        });
        let mut token = Token::new();
        assert_eq!(select_over(&[&tx], &mut token), 0);
        if token.holds_claim() {
            PAIRED.fetch_add(1, Relaxed);
        }
        tx.commit_send(&mut token, 7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
    assert!(
        PAIRED.load(Relaxed) > 0,
        "the send never claimed a receiver"
    );
}

/// A select's send reservation on a rendezvous channel is given up while
/// the claimed receiver waits and a blocking sender offers: the receiver is
/// released and takes the real value; nothing hangs.
#[test]
fn loom_zero_abandoned_send_reservation_releases_the_receiver() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let tx2 = tx.clone();
        let receiver = thread::spawn(move || rx.recv());
        let mut token = Token::new();
        select_over(&[&tx], &mut token);
        SendHandle::abandon_send(&tx, &mut token);
        tx2.send(3).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(3));
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
