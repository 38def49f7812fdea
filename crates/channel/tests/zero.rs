//! The rendezvous MPMC channel (`mpmc::channel(0)`): every operation, the
//! hand-off between blocking, async and permit sends and receives, close
//! and timeouts, and drop accounting.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{Tracker, counting_waker, poll_with, scale, signal_pending};
use futures_lite::future::block_on;
use nimsync_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
};

/// How long a test may wait for another thread before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// Retries `try_send` until a receiver is waiting to take the value.
fn send_when_received<T>(tx: &mpmc::Sender<T>, mut value: T) {
    let start = Instant::now();
    loop {
        match tx.try_send(value) {
            Ok(()) => return,
            Err(TrySendError::Full(v)) => value = v,
            Err(TrySendError::Closed(_)) => panic!("closed"),
        }
        assert!(start.elapsed() < PATIENCE, "no receiver came");
        thread::yield_now();
    }
}

/// Retries `try_recv` until a sender offers a value.
fn recv_when_offered<T>(rx: &mpmc::Receiver<T>) -> Result<T, TryRecvError> {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => return other,
        }
        assert!(start.elapsed() < PATIENCE, "no sender came");
        thread::yield_now();
    }
}

#[test]
fn nothing_is_buffered() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    assert_eq!(tx.try_send(7), Err(TrySendError::Full(7)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!((tx.len(), rx.len()), (0, 0));
    assert_eq!((tx.capacity(), rx.capacity()), (0, 0));
    assert!(tx.is_empty() && rx.is_empty());
    assert!(tx.is_full() && rx.is_full());
    assert!(
        tx.send_timeout(1, Duration::from_millis(1))
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(tx.try_reserve().unwrap_err().is_full());
    assert!(format!("{tx:?}").contains("capacity: 0"));
}

#[test]
fn send_completes_when_a_receiver_takes_the_value() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let sent = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&sent);
    let t = thread::spawn(move || {
        tx.send(5).unwrap();
        s.store(true, Ordering::SeqCst);
    });
    // The value is offered, not taken: the sender waits.
    let v = recv_when_offered(&rx).unwrap();
    assert_eq!(v, 5);
    t.join().unwrap();
    assert!(sent.load(Ordering::SeqCst));
    assert_eq!(rx.recv(), Err(RecvError), "the sender is gone");
}

#[test]
fn try_send_succeeds_only_while_a_receiver_waits() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let t = thread::spawn(move || rx.recv());
    send_when_received(&tx, 9);
    assert_eq!(t.join().unwrap(), Ok(9));
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
}

#[test]
fn a_blocked_sender_gets_its_value_back_on_close() {
    let tracker = Tracker::new(1);
    let (tx, rx) = mpmc::channel(0);
    let (ready_tx, ready_rx) = mpsc::channel();
    let tx2 = tx.clone();
    let item = tracker.item(0);
    let t = thread::spawn(move || {
        ready_tx.send(()).unwrap();
        tx2.send(item)
    });
    ready_rx.recv().unwrap();
    // Wait until the sender has offered (its offer makes the receive arm
    // ready), then close instead of receiving.
    let start = Instant::now();
    while !receive_ready(&rx) {
        assert!(start.elapsed() < PATIENCE);
        thread::yield_now();
    }
    assert!(rx.close());
    let back = t.join().unwrap().unwrap_err().0;
    assert_eq!(back.id, 0);
    tracker.assert_alive([0]);
    assert!(rx.try_recv().unwrap_err().is_closed());
    drop(back);
    tracker.assert_once([0]);
}

/// True if a select on `rx` alone would be ready now.
fn receive_ready<T>(rx: &mpmc::Receiver<T>) -> bool {
    use nimsync_channel::__select::SelectHandle;
    rx.is_ready()
}

#[test]
fn dropping_the_last_receiver_hands_a_waiting_senders_value_back() {
    let tracker = Tracker::new(1);
    let (tx, rx) = mpmc::channel(0);
    let item = tracker.item(0);
    let t = thread::spawn(move || tx.send(item));
    let start = Instant::now();
    while !receive_ready(&rx) {
        assert!(start.elapsed() < PATIENCE);
        thread::yield_now();
    }
    drop(rx);
    let SendError(back) = t.join().unwrap().unwrap_err();
    tracker.assert_alive([0]);
    drop(back);
    tracker.assert_once([0]);
}

#[test]
fn a_timed_out_sender_gets_its_value_back_and_nothing_is_left_behind() {
    let tracker = Tracker::new(1);
    let (tx, rx) = mpmc::channel(0);
    match tx.send_timeout(tracker.item(0), Duration::from_millis(5)) {
        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v.id, 0),
        other => panic!("expected a timeout, got {other:?}"),
    }
    tracker.assert_once([0]);
    assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Empty));
    drop(rx);
    drop(tx);
}

#[test]
fn a_receiver_dropped_with_nobody_waiting_drops_nothing() {
    let tracker = Tracker::new(1);
    let (tx, rx) = mpmc::channel(0);
    drop(rx);
    let SendError(v) = tx.send(tracker.item(0)).unwrap_err();
    tracker.assert_alive([0]);
    drop(v);
    tracker.assert_once([0]);
}

#[test]
fn try_recv_takes_a_waiting_senders_value_and_only_then() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let t = thread::spawn(move || tx.send_timeout(3, PATIENCE));
    assert_eq!(recv_when_offered(&rx), Ok(3));
    assert_eq!(t.join().unwrap(), Ok(()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_async_waits_for_a_receiver_and_its_drop_hands_nothing_over() {
    let tracker = Tracker::new(2);
    let (tx, rx) = mpmc::channel(0);
    let (_, waker) = counting_waker();
    // No receiver: the future is pending; dropping it drops the value once.
    let mut fut = tx.send_async(tracker.item(0));
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(fut);
    tracker.assert_once([0]);
    assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Empty));
    // `cancel` hands the value back.
    let mut fut = tx.send_async(tracker.item(1));
    assert!(poll_with(&mut fut, &waker).is_pending());
    assert_eq!(fut.cancel().map(|v| v.id), Some(1));
}

#[test]
fn send_async_is_woken_by_a_receiver_that_waits() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let (pending_tx, pending_rx) = mpsc::channel();
    let t = thread::spawn(move || block_on(signal_pending(tx.send_async(11), pending_tx)));
    pending_rx.recv().unwrap();
    assert_eq!(rx.recv(), Ok(11));
    assert_eq!(t.join().unwrap(), Ok(()));
}

#[test]
fn recv_async_takes_a_blocking_senders_value() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let t = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    let got: Vec<u32> = block_on(async {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_async().await {
            got.push(v);
        }
        got
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    t.join().unwrap();
}

#[test]
fn async_sender_and_async_receiver_meet() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let n = scale(20, 2_000);
    let t = thread::spawn(move || {
        block_on(async {
            for i in 0..n as u32 {
                tx.send_async(i).await.unwrap();
            }
        });
    });
    let sum: u64 = block_on(async {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv_async().await {
            sum += u64::from(v);
        }
        sum
    });
    t.join().unwrap();
    assert_eq!(sum, (0..n as u64).sum());
}

#[test]
fn a_dropped_recv_future_that_was_handed_a_value_passes_it_on() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let (_, waker) = counting_waker();
    let mut fut = rx.recv_async();
    assert!(poll_with(&mut fut, &waker).is_pending(), "registered");
    // The registered future counts as a waiting receiver: the send is
    // handed to it.
    assert_eq!(tx.try_send(4), Ok(()));
    drop(fut);
    // The value was not lost: the next receive takes it.
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn a_permit_is_a_claimed_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    assert!(tx.try_reserve().unwrap_err().is_full(), "nobody waits");
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv() {
            got.push(v);
        }
        got
    });
    let start = Instant::now();
    let permit = loop {
        if let Ok(p) = tx.try_reserve() {
            break p;
        }
        assert!(start.elapsed() < PATIENCE);
        thread::yield_now();
    };
    // The receiver is claimed, and another send finds nobody, unless the
    // claim landed before the receiver parked: it then registers again and
    // takes this value (a known gap: the claim does not hold it then).
    let extra = tx.try_send(0);
    assert!(extra.is_ok() || extra.unwrap_err().is_full());
    // A dropped permit releases it, and it waits again.
    drop(permit);
    let permit = block_on(tx.reserve()).unwrap();
    permit.send(1).unwrap();
    let permit = block_on(tx.reserve()).unwrap();
    permit.send(2).unwrap();
    drop(tx);
    let got = t.join().unwrap();
    let want: Vec<u32> = if extra.is_ok() {
        vec![0, 1, 2]
    } else {
        vec![1, 2]
    };
    assert_eq!(got, want, "each value received once, in order");
}

#[test]
fn a_permit_send_after_close_hands_the_value_back() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let rx2 = rx.clone();
    let t = thread::spawn(move || rx2.recv());
    let permit = block_on(tx.reserve()).unwrap();
    rx.close();
    assert_eq!(
        t.join().unwrap(),
        Err(RecvError),
        "the claimed receiver saw the close"
    );
    assert_eq!(permit.send(3), Err(SendError(3)));
}

#[test]
fn batches_hand_over_one_value_per_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let mut it = (0..3).peekable();
    assert_eq!(tx.try_send_iter(&mut it), Err(TrySendError::Full(())));
    assert_eq!(it.peek(), Some(&0), "nothing was taken");
    let t = thread::spawn(move || {
        let mut buf = Vec::new();
        while rx.recv_many(&mut buf, 8).is_ok() {}
        buf
    });
    tx.send_iter(0..50).unwrap();
    drop(tx);
    assert_eq!(t.join().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn many_senders_and_receivers_deliver_each_value_once() {
    let (tx, rx) = mpmc::channel::<usize>(0);
    let per = scale(20, 5_000);
    let senders: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    let v = p * per + i;
                    match i % 3 {
                        0 => tx.send(v).unwrap(),
                        1 => block_on(tx.send_async(v)).unwrap(),
                        _ => tx.send_timeout(v, PATIENCE).unwrap(),
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let seen = Arc::new(
        (0..3 * per)
            .map(|_| AtomicUsize::new(0))
            .collect::<Vec<_>>(),
    );
    let receivers: Vec<_> = (0..3)
        .map(|r| {
            let rx = rx.clone();
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                let take = |v: usize| seen[v].fetch_add(1, Ordering::SeqCst);
                if r == 0 {
                    while let Ok(v) = rx.recv() {
                        take(v);
                    }
                } else if r == 1 {
                    block_on(async {
                        while let Ok(v) = rx.recv_async().await {
                            take(v);
                        }
                    });
                } else {
                    loop {
                        match rx.recv_timeout(Duration::from_millis(1)) {
                            Ok(v) => {
                                take(v);
                            }
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Closed) => break,
                        }
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for s in senders {
        s.join().unwrap();
    }
    for r in receivers {
        r.join().unwrap();
    }
    for (v, n) in seen.iter().enumerate() {
        assert_eq!(n.load(Ordering::SeqCst), 1, "value {v}");
    }
}

#[test]
fn timed_sends_and_receives_under_contention_lose_and_duplicate_nothing() {
    let tracker = Tracker::new(scale(40, 4_000));
    let n = scale(40, 4_000);
    let (tx, rx) = mpmc::channel(0);
    let back = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..2)
        .map(|p| {
            let (tx, tracker, back) = (tx.clone(), Arc::clone(&tracker), Arc::clone(&back));
            thread::spawn(move || {
                for i in (p..n).step_by(2) {
                    if let Err(e) = tx.send_timeout(tracker.item(i), Duration::from_micros(50)) {
                        back.fetch_add(1, Ordering::SeqCst);
                        drop(e.into_inner());
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut got = 0;
    loop {
        match rx.recv_timeout(Duration::from_micros(50)) {
            Ok(v) => {
                got += 1;
                drop(v);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Closed) => break,
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(got + back.load(Ordering::SeqCst), n);
    tracker.assert_once(0..n);
}

#[test]
fn closed_future_resolves_on_close() {
    let (tx, rx) = mpmc::channel::<u8>(0);
    let t = thread::spawn(move || block_on(tx.closed()));
    drop(rx);
    t.join().unwrap();
}

#[test]
fn waiting_receivers_wake_on_close() {
    let (tx, rx) = mpmc::channel::<u8>(0);
    let rx2 = rx.clone();
    let t = thread::spawn(move || rx2.recv());
    let a = thread::spawn(move || block_on(rx.recv_async()));
    drop(tx);
    assert_eq!(t.join().unwrap(), Err(RecvError));
    assert_eq!(a.join().unwrap(), Err(RecvError));
}

#[test]
fn a_pending_send_future_is_woken_by_close() {
    let (tx, rx) = mpmc::channel::<u8>(0);
    let (_, waker) = counting_waker();
    let mut fut = tx.send_async(1);
    assert!(poll_with(&mut fut, &waker).is_pending());
    rx.close();
    assert_eq!(poll_with(&mut fut, &waker), Poll::Ready(Err(SendError(1))));
}

/// `force_send` on a rendezvous channel: with a receiver waiting the value
/// is handed over; with none, nothing older can be evicted, so the value
/// itself comes back; after a close it is refused.
#[test]
fn force_send_on_a_rendezvous_channel() {
    let (tx, rx) = nimsync_channel::mpmc::channel::<u32>(0);
    assert_eq!(tx.force_send(1), Ok(Some(1)), "no receiver waits");
    assert_eq!(tx.free_capacity(), 0);
    let receiver = std::thread::spawn(move || rx.recv());
    loop {
        match tx.force_send(2) {
            Ok(None) => break,
            Ok(Some(2)) => std::thread::yield_now(),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(receiver.join().unwrap(), Ok(2));
    assert_eq!(tx.force_send(3), Err(nimsync_channel::SendError(3)));
}
