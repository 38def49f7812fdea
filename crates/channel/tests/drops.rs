//! "Nothing is lost": every value is received once, handed back once, or
//! dropped once with the channel, on every path, including when a value's
//! `Drop` panics.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

use common::{Item, Tracker, counting_waker, poll_with, scale};
use futures_lite::future::{block_on, poll_once};
use nimsync_channel::{
    SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc, oneshot, spsc,
};

const SHORT: Duration = Duration::from_millis(1);

/// Which endpoint goes first when a test drops both.
#[derive(Debug, Clone, Copy)]
enum First {
    Sender,
    Receiver,
}

// ---- spsc -------------------------------------------------------------------

#[test]
fn spsc_received_values_are_dropped_once_by_the_receiver() {
    let n = scale(20, 1_000);
    let t = Tracker::new(n);
    let (mut tx, mut rx) = spsc::channel(4);
    let producer = {
        let t = t.clone();
        thread::spawn(move || {
            for i in 0..n {
                assert!(tx.send(t.item(i)).is_ok());
            }
        })
    };
    for i in 0..n {
        let item = rx.recv().unwrap();
        assert_eq!(item.id, i);
        assert_eq!(
            t.drops(i),
            0,
            "the channel must not drop a value it handed out"
        );
    }
    producer.join().unwrap();
    t.assert_once(0..n);
}

#[test]
fn spsc_values_handed_back_in_errors_are_dropped_once() {
    let t = Tracker::new(6);
    let (mut tx, mut rx) = spsc::channel(1);
    tx.try_send(t.item(0)).unwrap();
    let TrySendError::Full(back) = tx.try_send(t.item(1)).unwrap_err() else {
        panic!()
    };
    assert_eq!((back.id, t.drops(1)), (1, 0));
    drop(back);
    let err = tx.send_timeout(t.item(2), SHORT).unwrap_err();
    assert!(err.is_timeout());
    t.assert_alive([2]);
    drop(err);
    rx.close();
    let err = tx.try_send(t.item(3)).unwrap_err();
    assert!(err.is_closed());
    t.assert_alive([3]);
    drop(err);
    let SendError(back) = tx.send(t.item(4)).unwrap_err();
    t.assert_alive([4]);
    drop(back);
    let err = tx.send_timeout(t.item(5), SHORT).unwrap_err();
    assert!(matches!(err, SendTimeoutError::Closed(_)));
    drop(err);
    t.assert_once(1..6);
    t.assert_alive([0]);
    drop(rx.try_recv().unwrap());
    t.assert_once([0]);
    drop((tx, rx));
    t.assert_once(0..6);
}

fn spsc_buffered_values_dropped_with_the_channel(first: First, wrap: bool) {
    let cap = 4;
    let t = Tracker::new(2 * cap);
    let (mut tx, mut rx) = spsc::channel(cap);
    let mut buffered = Vec::new();
    if wrap {
        // Leave the buffered run wrapping around the end of the ring.
        for i in 0..cap {
            tx.try_send(t.item(i)).unwrap();
        }
        for _ in 0..3 {
            drop(rx.try_recv().unwrap());
        }
        buffered.push(3);
        for i in cap..cap + 3 {
            tx.try_send(t.item(i)).unwrap();
            buffered.push(i);
        }
    } else {
        for i in 0..cap - 1 {
            tx.try_send(t.item(i)).unwrap();
            buffered.push(i);
        }
    }
    t.assert_alive(buffered.iter().copied());
    match first {
        First::Sender => {
            drop(tx);
            t.assert_alive(buffered.iter().copied());
            drop(rx);
        }
        First::Receiver => {
            drop(rx);
            // "Dropping all receivers ... what was buffered is dropped."
            t.assert_once(buffered.iter().copied());
            drop(tx);
        }
    }
    t.assert_once(buffered.iter().copied());
}

#[test]
fn spsc_buffered_values_are_dropped_once_sender_first() {
    spsc_buffered_values_dropped_with_the_channel(First::Sender, false);
    spsc_buffered_values_dropped_with_the_channel(First::Sender, true);
}

#[test]
fn spsc_buffered_values_are_dropped_once_receiver_first() {
    spsc_buffered_values_dropped_with_the_channel(First::Receiver, false);
    spsc_buffered_values_dropped_with_the_channel(First::Receiver, true);
}

#[test]
fn spsc_value_in_a_dropped_send_future_is_dropped_once() {
    let t = Tracker::new(3);
    let (mut tx, rx) = spsc::channel(1);
    tx.try_send(t.item(0)).unwrap();
    let mut fut = tx.send_async(t.item(1));
    assert!(block_on(poll_once(&mut fut)).is_none());
    drop(fut);
    t.assert_once([1]);
    let mut fut = tx.send_async(t.item(2));
    assert!(block_on(poll_once(&mut fut)).is_none());
    let back = fut.cancel().unwrap();
    drop(fut);
    t.assert_alive([2]);
    drop(back);
    t.assert_once([2]);
    t.assert_alive([0]);
    drop((tx, rx));
    t.assert_once(0..3);
}

#[test]
fn spsc_batches_drop_each_value_once() {
    let t = Tracker::new(10);
    let (mut tx, mut rx) = spsc::channel(4);
    let mut items = (0..10).map(|i| t.item(i)).collect::<Vec<_>>().into_iter();
    assert_eq!(tx.try_send_iter(&mut items), Ok(4));
    t.assert_alive(0..10);
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    drop(buf);
    t.assert_once(0..3);
    rx.close();
    let SendError(rest) = tx.send_iter(items).unwrap_err();
    t.assert_alive(3..10);
    drop(rest);
    t.assert_once(4..10);
    t.assert_alive([3]);
    drop(rx);
    t.assert_once(0..10);
}

#[test]
fn spsc_panicking_drop_while_draining_drops_every_other_value_once() {
    for first in [First::Sender, First::Receiver] {
        let n = 6;
        let t = Tracker::with_panics(n, &[2]);
        let (mut tx, rx) = spsc::channel(n);
        for i in 0..n {
            tx.try_send(t.item(i)).unwrap();
        }
        match first {
            First::Sender => {
                drop(tx);
                let res = catch_unwind(AssertUnwindSafe(move || drop(rx)));
                assert!(res.is_err(), "the drop of value 2 panics");
            }
            First::Receiver => {
                let res = catch_unwind(AssertUnwindSafe(move || drop(rx)));
                assert!(res.is_err(), "the drop of value 2 panics");
                assert!(tx.is_closed(), "the channel closed before the panic");
                drop(tx);
            }
        }
        t.assert_once(0..n);
    }
}

#[test]
fn spsc_channel_stays_usable_after_a_received_value_panics_on_drop() {
    let t = Tracker::with_panics(8, &[1]);
    let (mut tx, mut rx) = spsc::channel(4);
    tx.send_iter((0..4).map(|i| t.item(i))).unwrap();
    drop(rx.recv().unwrap());
    let res = catch_unwind(AssertUnwindSafe(|| drop(rx.recv().unwrap())));
    assert!(res.is_err());
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 8), Ok(2));
    tx.send_iter((4..8).map(|i| t.item(i))).unwrap();
    assert_eq!(rx.len(), 4);
    for i in 4..8 {
        assert_eq!(rx.recv().unwrap().id, i);
    }
    drop(buf);
    assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Empty));
    drop((tx, rx));
    t.assert_once(0..8);
}

#[test]
fn spsc_iterator_that_panics_mid_batch_leaves_the_channel_consistent() {
    let t = Tracker::new(4);
    let (mut tx, mut rx) = spsc::channel(8);
    let res = catch_unwind(AssertUnwindSafe(|| {
        let mut items = (0..4).map(|i| {
            if i == 2 {
                panic!("iterator fails")
            } else {
                t.item(i)
            }
        });
        let _ = tx.try_send_iter(&mut items);
    }));
    assert!(res.is_err());
    // What was written before the panic is published and received once.
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(0));
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(1));
    assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Empty));
    tx.try_send(t.item(3)).unwrap();
    assert_eq!(rx.recv().map(|v| v.id), Ok(3));
    t.assert_once([0, 1, 3]);
    t.assert_alive([2]);
}

#[test]
fn spsc_panicking_drops_in_the_receivers_drain_drop_every_value_at_once() {
    // The last receiver's drop drains the buffer while the sender lives.
    // Values 1 and 3 panic in their drop: the drain goes on past both,
    // drops every value exactly once before the receiver's drop returns,
    // and raises the first panic (a second one while unwinding would abort
    // the process). The sender's drop then has nothing left to drop.
    let n = 6;
    let t = Tracker::with_panics(n, &[1, 3]);
    let (mut tx, rx) = spsc::channel(n);
    for i in 0..n {
        tx.try_send(t.item(i)).unwrap();
    }
    assert!(catch_unwind(AssertUnwindSafe(move || drop(rx))).is_err());
    assert_eq!(
        t.all(),
        vec![1; n],
        "every value dropped once by the receiver's drop"
    );
    assert!(tx.is_closed());
    drop(tx);
    assert_eq!(t.all(), vec![1; n], "nothing dropped twice");
}

// ---- mpmc -------------------------------------------------------------------

#[test]
fn mpmc_values_are_dropped_once_with_many_threads() {
    let per = scale(15, 2_000);
    let threads = scale(2, 3);
    let consumers = scale(1, 3);
    let t = Tracker::new(per * threads);
    let (tx, rx) = mpmc::channel(3);
    let producers: Vec<_> = (0..threads)
        .map(|p| {
            let (tx, t) = (tx.clone(), t.clone());
            thread::spawn(move || {
                for i in 0..per {
                    assert!(tx.send(t.item(p * per + i)).is_ok());
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().count())
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let received: usize = receivers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(received, per * threads);
    t.assert_once(0..per * threads);
}

#[test]
fn mpmc_values_handed_back_in_errors_are_dropped_once() {
    let t = Tracker::new(7);
    let (tx, rx) = mpmc::channel(1);
    tx.try_send(t.item(0)).unwrap();
    let err = tx.try_send(t.item(1)).unwrap_err();
    assert!(err.is_full());
    drop(err);
    let err = tx.send_timeout(t.item(2), SHORT).unwrap_err();
    assert!(err.is_timeout());
    drop(err);
    rx.close();
    drop(tx.try_send(t.item(3)).unwrap_err());
    drop(tx.send(t.item(4)).unwrap_err());
    drop(tx.send_timeout(t.item(5), SHORT).unwrap_err());
    assert!(block_on(tx.send_async(t.item(6))).is_err());
    t.assert_once(1..7);
    t.assert_alive([0]);
    drop((tx, rx));
    t.assert_once(0..7);
}

fn mpmc_buffered_values_dropped_with_the_channel(first: First, wrap: bool) {
    let cap = 4;
    let t = Tracker::new(2 * cap);
    let (tx, rx) = mpmc::channel(cap);
    let mut buffered = Vec::new();
    if wrap {
        for i in 0..cap {
            tx.try_send(t.item(i)).unwrap();
        }
        for _ in 0..3 {
            drop(rx.try_recv().unwrap());
        }
        buffered.push(3);
        for i in cap..cap + 3 {
            tx.try_send(t.item(i)).unwrap();
            buffered.push(i);
        }
    } else {
        for i in 0..cap - 1 {
            tx.try_send(t.item(i)).unwrap();
            buffered.push(i);
        }
    }
    let (tx2, rx2) = (tx.clone(), rx.clone());
    match first {
        First::Sender => {
            drop((tx, tx2));
            t.assert_alive(buffered.iter().copied());
            drop(rx);
            t.assert_alive(buffered.iter().copied());
            drop(rx2);
        }
        First::Receiver => {
            drop(rx);
            t.assert_alive(buffered.iter().copied());
            drop(rx2);
            // The last receiver is gone while senders live: dropped now.
            t.assert_once(buffered.iter().copied());
            drop((tx, tx2));
        }
    }
    t.assert_once(buffered.iter().copied());
}

#[test]
fn mpmc_buffered_values_are_dropped_once_sender_first() {
    mpmc_buffered_values_dropped_with_the_channel(First::Sender, false);
    mpmc_buffered_values_dropped_with_the_channel(First::Sender, true);
}

#[test]
fn mpmc_buffered_values_are_dropped_once_receiver_first() {
    mpmc_buffered_values_dropped_with_the_channel(First::Receiver, false);
    mpmc_buffered_values_dropped_with_the_channel(First::Receiver, true);
}

#[test]
fn mpmc_value_in_a_dropped_send_future_is_dropped_once() {
    let t = Tracker::new(3);
    let (tx, rx) = mpmc::channel(1);
    tx.try_send(t.item(0)).unwrap();
    let (_, waker) = counting_waker();
    let mut fut = tx.send_async(t.item(1));
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(fut);
    t.assert_once([1]);
    let mut fut = tx.send_async(t.item(2));
    assert!(poll_with(&mut fut, &waker).is_pending());
    let back = fut.cancel();
    drop(fut);
    t.assert_alive([2]);
    drop(back);
    t.assert_once([2]);
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(0));
    t.assert_once(0..3);
}

#[test]
fn mpmc_batches_and_permits_drop_each_value_once() {
    let t = Tracker::new(10);
    let (tx, rx) = mpmc::channel(4);
    let mut items = (0..10)
        .map(|i| t.item(i))
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    assert_eq!(tx.try_send_iter(&mut items), Ok(4));
    t.assert_alive(0..10);
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    drop(buf);
    t.assert_once(0..3);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let SendError(back) = permit.send(items.next().unwrap()).unwrap_err();
    assert_eq!(back.id, 4);
    drop(back);
    let SendError(rest) = tx.send_iter(items).unwrap_err();
    t.assert_alive(5..10);
    drop(rest);
    t.assert_once(4..10);
    t.assert_alive([3]);
    drop(rx);
    t.assert_once(0..10);
}

#[test]
fn mpmc_panicking_drop_while_draining_drops_every_other_value_once() {
    for first in [First::Sender, First::Receiver] {
        let n = 6;
        let t = Tracker::with_panics(n, &[2]);
        let (tx, rx) = mpmc::channel(n);
        for i in 0..n {
            tx.try_send(t.item(i)).unwrap();
        }
        match first {
            First::Sender => {
                drop(tx);
                let res = catch_unwind(AssertUnwindSafe(move || drop(rx)));
                assert!(res.is_err(), "the drop of value 2 panics");
            }
            First::Receiver => {
                let res = catch_unwind(AssertUnwindSafe(move || drop(rx)));
                assert!(res.is_err(), "the drop of value 2 panics");
                assert!(tx.is_closed(), "the channel closed before the panic");
                drop(tx);
            }
        }
        t.assert_once(0..n);
    }
}

#[test]
fn mpmc_channel_stays_usable_after_a_received_value_panics_on_drop() {
    let t = Tracker::with_panics(7, &[1]);
    let (tx, rx) = mpmc::channel(4);
    tx.send_iter((0..4).map(|i| t.item(i))).unwrap();
    drop(rx.recv().unwrap());
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 2), Ok(2));
    // Dropping the batch panics on value 1; value 2 is still dropped.
    let res = catch_unwind(AssertUnwindSafe(move || drop(buf)));
    assert!(res.is_err());
    t.assert_once(0..3);
    tx.send_iter((4..7).map(|i| t.item(i))).unwrap();
    assert!(tx.is_full());
    let ids: Vec<usize> = rx.try_iter().map(|v| v.id).collect();
    assert_eq!(ids, [3, 4, 5, 6]);
    assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Empty));
    t.assert_once(0..7);
}

#[test]
fn mpmc_panicking_drops_in_the_receivers_drain_drop_every_value_at_once() {
    // The last receiver's drop drains the buffer while the sender lives.
    // Values 1 and 3 panic in their drop: the drain goes on past both,
    // drops every value exactly once before the receiver's drop returns,
    // and raises the first panic (a second one while unwinding would abort
    // the process). The sender's drop then has nothing left to drop.
    let n = 6;
    let t = Tracker::with_panics(n, &[1, 3]);
    let (tx, rx) = mpmc::channel(n);
    for i in 0..n {
        tx.try_send(t.item(i)).unwrap();
    }
    assert!(catch_unwind(AssertUnwindSafe(move || drop(rx))).is_err());
    assert_eq!(
        t.all(),
        vec![1; n],
        "every value dropped once by the receiver's drop"
    );
    assert!(tx.is_closed());
    drop(tx);
    assert_eq!(t.all(), vec![1; n], "nothing dropped twice");
}

// ---- oneshot ----------------------------------------------------------------

#[test]
fn oneshot_received_value_is_dropped_once() {
    let t = Tracker::new(1);
    let (tx, rx) = oneshot::channel();
    tx.send(t.item(0)).unwrap();
    let v = rx.recv().unwrap();
    t.assert_alive([0]);
    drop(v);
    t.assert_once([0]);
}

#[test]
fn oneshot_value_never_received_is_dropped_once() {
    let t = Tracker::new(2);
    let (tx, rx) = oneshot::channel();
    tx.send(t.item(0)).unwrap();
    t.assert_alive([0]);
    drop(rx);
    t.assert_once([0]);
    // The same after a receive attempt that timed out earlier.
    let (tx, mut rx) = oneshot::channel();
    assert!(rx.recv_timeout(SHORT).is_err());
    tx.send(t.item(1)).unwrap();
    drop(rx);
    t.assert_once([1]);
}

#[test]
fn oneshot_send_after_receiver_dropped_hands_value_back() {
    let t = Tracker::new(2);
    let (tx, rx) = oneshot::channel();
    drop(rx);
    let back = tx.send(t.item(0)).unwrap_err();
    t.assert_alive([0]);
    drop(back);
    t.assert_once([0]);
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    let back = tx.send(t.item(1)).unwrap_err();
    drop(rx);
    t.assert_alive([1]);
    drop(back);
    t.assert_once([1]);
}

#[test]
fn oneshot_value_sent_across_threads_is_dropped_once_either_way() {
    let rounds = scale(10, 500);
    let t = Tracker::new(rounds);
    for i in 0..rounds {
        let (tx, rx) = oneshot::channel::<Item>();
        let sender = {
            let t = t.clone();
            thread::spawn(move || tx.send(t.item(i)).err())
        };
        // Race the receiver's drop against the send.
        drop(rx);
        drop(sender.join().unwrap());
        assert_eq!(t.drops(i), 1, "round {i}");
    }
}

#[test]
fn spsc_leaked_drain_never_drops_a_value_twice() {
    let t = Tracker::new(4);
    let (mut tx, mut rx) = spsc::channel(4);
    for i in 0..4 {
        tx.try_send(t.item(i)).unwrap();
    }
    let mut drain = rx.drain(4);
    let first = drain.next().expect("a buffered value");
    std::mem::forget(drain);
    drop(first);
    // The leaked iterator moved value 0 out: the receiver must go on at 1.
    let next = rx.try_recv().expect("value 1 is still buffered");
    assert_eq!(next.id, 1);
    drop(next);
    drop(rx);
    drop(tx);
    t.assert_once(0..4);
}
