//! Every public operation of `spsc`, each error path, blocking and async
//! wake-ups across threads, and cancel safety.

mod common;

use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{counting_waker, poll_with, scale, signal_pending};
use futures_lite::future::{block_on, poll_once};
use futures_lite::{Stream, StreamExt};
use nimsync_channel::{
    MAX_CAPACITY, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError, spsc,
};

const SHORT: Duration = Duration::from_millis(2);

// ---- construction ---------------------------------------------------------

#[test]
#[should_panic(
    expected = "rendezvous (zero-capacity) channel use nimsync_channel::mpmc::channel(0)"
)]
fn capacity_zero_panics_and_points_to_mpmc_rendezvous() {
    let _ = spsc::channel::<u32>(0);
}

#[test]
#[should_panic(expected = "exceeds MAX_CAPACITY")]
fn capacity_above_max_panics() {
    let _ = spsc::channel::<u8>(MAX_CAPACITY + 1);
}

#[test]
#[cfg(target_pointer_width = "64")]
#[should_panic(expected = "overflow")]
fn capacity_whose_layout_overflows_panics() {
    // 2^30 slots of 8 GiB each: checked before anything is allocated.
    let _ = spsc::channel::<[u8; 1 << 33]>(MAX_CAPACITY);
}

#[test]
fn capacity_reports_exactly_what_was_asked() {
    for cap in [1, 2, 3, 7, 64] {
        let (tx, rx) = spsc::channel::<u8>(cap);
        assert_eq!(tx.capacity(), cap);
        assert_eq!(rx.capacity(), cap);
    }
}

// ---- try_send / try_recv ----------------------------------------------------

#[test]
fn try_send_and_try_recv_round_trip() {
    let (mut tx, mut rx) = spsc::channel(2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.try_send(4), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn exact_capacity_over_many_laps() {
    let laps = scale(3, 50);
    for cap in [1usize, 2, 3, 7] {
        let (mut tx, mut rx) = spsc::channel(cap);
        let mut next = 0usize;
        for lap in 0..laps {
            // Shift the ring offset by a different amount each lap.
            let shift = lap % cap;
            for _ in 0..shift {
                tx.try_send(usize::MAX).unwrap();
                assert_eq!(rx.try_recv(), Ok(usize::MAX));
            }
            for i in 0..cap {
                assert_eq!(
                    tx.try_send(next + i),
                    Ok(()),
                    "cap {cap}, lap {lap}, send {i}"
                );
            }
            assert_eq!(
                tx.try_send(999),
                Err(TrySendError::Full(999)),
                "cap {cap}, lap {lap}"
            );
            assert_eq!(tx.len(), cap);
            assert!(tx.is_full() && rx.is_full());
            for i in 0..cap {
                assert_eq!(rx.try_recv(), Ok(next + i));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            assert!(rx.is_empty() && tx.is_empty());
            next += cap;
        }
    }
}

#[test]
fn try_send_after_receiver_dropped_hands_value_back() {
    let (mut tx, rx) = spsc::channel(4);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(
        tx.try_send(String::from("v")),
        Err(TrySendError::Closed(String::from("v")))
    );
}

#[test]
fn try_send_on_full_and_closed_channel_reports_closed() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.try_send(1).unwrap();
    rx.close();
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
}

#[test]
fn receiver_drains_then_sees_closed_after_sender_dropped() {
    let (mut tx, mut rx) = spsc::channel(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv(), Err(RecvError));
}

// ---- close ------------------------------------------------------------------

#[test]
fn close_from_sender() {
    let (mut tx, mut rx) = spsc::channel(4);
    tx.send(1).unwrap();
    assert!(!tx.is_closed());
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!rx.close());
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_from_receiver_stops_every_kind_of_send() {
    let (mut tx, mut rx) = spsc::channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(rx.close());
    assert!(!rx.close());
    assert!(!tx.close());
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(tx.send(4), Err(SendError(4)));
    assert_eq!(tx.send_timeout(5, SHORT), Err(SendTimeoutError::Closed(5)));
    assert_eq!(
        tx.send_deadline(6, Instant::now() + SHORT),
        Err(SendTimeoutError::Closed(6))
    );
    assert_eq!(block_on(tx.send_async(7)), Err(SendError(7)));
    assert!(tx.try_reserve().unwrap_err().is_closed());
    assert_eq!(block_on(tx.reserve()).err(), Some(SendError(())));
    let mut rest = 8..10;
    assert_eq!(tx.try_send_iter(&mut rest), Err(TrySendError::Closed(())));
    assert_eq!(rest, 8..10, "nothing is taken from the iterator");
    // What was buffered before the close still drains.
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

// ---- blocking ---------------------------------------------------------------

#[test]
fn blocking_send_and_recv_across_threads_keep_order() {
    let n = scale(100, 100_000) as u64;
    let (mut tx, mut rx) = spsc::channel(2);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    for i in 0..n {
        assert_eq!(rx.recv(), Ok(i));
    }
    assert_eq!(rx.recv(), Err(RecvError));
    producer.join().unwrap();
}

#[test]
fn blocked_sender_is_released_when_receiver_drops() {
    let (mut tx, rx) = spsc::channel(1);
    tx.send(1).unwrap();
    let sender = thread::spawn(move || tx.send(2));
    drop(rx);
    // Released either way: usually with the value handed back; if the send
    // got past its closed check before the drop, it lands in the room the
    // drop's drain made and is dropped with the buffer.
    let res = sender.join().unwrap();
    assert!(matches!(res, Err(SendError(2)) | Ok(())), "{res:?}");
}

#[test]
fn blocked_receiver_is_released_when_sender_drops() {
    let (tx, mut rx) = spsc::channel::<u8>(1);
    let receiver = thread::spawn(move || rx.recv());
    drop(tx);
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
}

#[test]
fn wrap_around_across_threads_with_small_capacities() {
    let n = scale(60, 20_000) as u64;
    for cap in [1, 2, 3, 7] {
        let (mut tx, mut rx) = spsc::channel(cap);
        let producer = thread::spawn(move || {
            for i in 0..n {
                tx.send(i).unwrap();
            }
        });
        let got: Vec<u64> = rx.iter().collect();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "cap {cap}");
        producer.join().unwrap();
    }
}

// ---- timeouts ---------------------------------------------------------------

#[test]
fn recv_timeout_on_empty_channel_times_out_never_early() {
    let (_tx, mut rx) = spsc::channel::<u8>(1);
    for timeout in [Duration::from_millis(1), Duration::from_millis(5)] {
        let start = Instant::now();
        assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
        assert!(
            start.elapsed() >= timeout,
            "returned after {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn recv_timeout_returns_buffered_value_and_closed() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.send(9).unwrap();
    assert_eq!(rx.recv_timeout(SHORT), Ok(9));
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn recv_timeout_receives_a_value_sent_by_another_thread() {
    let (mut tx, mut rx) = spsc::channel(1);
    let producer = thread::spawn(move || tx.send(3).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(3));
    producer.join().unwrap();
}

#[test]
fn recv_deadline_times_out_at_the_deadline() {
    let (mut tx, mut rx) = spsc::channel(1);
    let deadline = Instant::now() + Duration::from_millis(3);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
    // A deadline in the past still takes what is buffered.
    tx.send(4).unwrap();
    assert_eq!(
        rx.recv_deadline(Instant::now() - Duration::from_millis(1)),
        Ok(4)
    );
    assert_eq!(
        rx.recv_deadline(Instant::now() - Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    drop(tx);
    assert_eq!(
        rx.recv_deadline(Instant::now() + SHORT),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn send_timeout_on_full_channel_hands_value_back_never_early() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.send(String::from("a")).unwrap();
    for timeout in [Duration::from_millis(1), Duration::from_millis(5)] {
        let start = Instant::now();
        let err = tx.send_timeout(String::from("b"), timeout).unwrap_err();
        assert!(
            start.elapsed() >= timeout,
            "returned after {:?}",
            start.elapsed()
        );
        assert!(err.is_timeout());
        assert_eq!(err.into_inner(), "b");
    }
    assert_eq!(rx.try_recv().as_deref(), Ok("a"));
    assert_eq!(tx.send_timeout(String::from("c"), SHORT), Ok(()));
    drop(rx);
    assert_eq!(
        tx.send_timeout(String::from("d"), SHORT),
        Err(SendTimeoutError::Closed(String::from("d")))
    );
}

#[test]
fn send_timeout_succeeds_when_receiver_makes_room() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.send(1).unwrap();
    let consumer = thread::spawn(move || (rx.recv(), rx.recv()));
    assert_eq!(tx.send_timeout(2, Duration::from_secs(60)), Ok(()));
    assert_eq!(consumer.join().unwrap(), (Ok(1), Ok(2)));
}

#[test]
fn send_deadline_times_out_at_the_deadline() {
    let (mut tx, _rx) = spsc::channel(1);
    // Room is used even when the deadline has passed.
    assert_eq!(
        tx.send_deadline(1, Instant::now() - Duration::from_millis(1)),
        Ok(())
    );
    let deadline = Instant::now() + Duration::from_millis(3);
    assert_eq!(
        tx.send_deadline(2, deadline),
        Err(SendTimeoutError::Timeout(2))
    );
    assert!(Instant::now() >= deadline);
}

// ---- async ------------------------------------------------------------------

#[test]
fn send_async_and_recv_async_when_ready() {
    let (mut tx, mut rx) = spsc::channel(2);
    block_on(async {
        tx.send_async(1).await.unwrap();
        tx.send_async(2).await.unwrap();
        assert_eq!(rx.recv_async().await, Ok(1));
        assert_eq!(rx.recv_async().await, Ok(2));
        drop(tx);
        assert_eq!(rx.recv_async().await, Err(RecvError));
    });
}

#[test]
fn send_async_on_closed_channel_hands_value_back() {
    let (mut tx, rx) = spsc::channel(2);
    drop(rx);
    assert_eq!(block_on(tx.send_async(vec![1])), Err(SendError(vec![1])));
}

#[test]
fn pending_send_future_cancel_returns_the_value() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.send(1).unwrap();
    {
        let mut fut = tx.send_async(2);
        assert!(
            block_on(poll_once(&mut fut)).is_none(),
            "full channel: pending"
        );
        assert!(format!("{fut:?}").contains("pending: true"));
        assert_eq!(fut.cancel(), Some(2));
        assert_eq!(fut.cancel(), None, "the value is handed back only once");
    }
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "the cancelled value was not sent"
    );
}

#[test]
fn send_future_cancel_after_completion_returns_none() {
    let (mut tx, mut rx) = spsc::channel(1);
    let mut fut = tx.send_async(5);
    assert_eq!(block_on(poll_once(&mut fut)), Some(Ok(())));
    assert_eq!(fut.cancel(), None);
    drop(fut);
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn send_future_polled_after_completion_panics() {
    let (mut tx, _rx) = spsc::channel(1);
    let mut fut = tx.send_async(5);
    assert_eq!(block_on(poll_once(&mut fut)), Some(Ok(())));
    let _ = block_on(poll_once(&mut fut));
}

#[test]
fn recv_async_wakes_when_another_thread_sends() {
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    let (signal, pending) = mpsc::channel();
    let receiver = thread::spawn(move || block_on(signal_pending(rx.recv_async(), signal)));
    pending.recv().unwrap(); // the receiver is registered and waiting
    tx.send(42).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(42));
}

#[test]
fn send_async_wakes_when_another_thread_receives() {
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    tx.send(1).unwrap();
    let (signal, pending) = mpsc::channel();
    let sender = thread::spawn(move || block_on(signal_pending(tx.send_async(2), signal)));
    pending.recv().unwrap(); // the sender found the channel full and waits
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(sender.join().unwrap(), Ok(()));
    assert_eq!(rx.recv(), Ok(2));
}

#[test]
fn recv_async_wakes_on_close_by_sender() {
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    let (signal, pending) = mpsc::channel();
    let fut = signal_pending(rx.recv_async(), signal);
    let res = thread::scope(|s| {
        let h = s.spawn(move || block_on(fut));
        pending.recv().unwrap();
        assert!(tx.close());
        h.join().unwrap()
    });
    assert_eq!(res, Err(RecvError));
}

#[test]
fn recv_future_dropped_after_wake_leaves_the_message() {
    let (mut tx, mut rx) = spsc::channel(2);
    let (counter, waker) = counting_waker();
    {
        let mut fut = rx.recv_async();
        assert!(poll_with(&mut fut, &waker).is_pending());
        tx.send(7).unwrap();
        assert_eq!(counter.count(), 1, "the send woke the pending receiver");
        // Dropped without being polled again.
    }
    assert_eq!(block_on(rx.recv_async()), Ok(7));
    // A fresh future registers again and is woken again.
    let mut fut = rx.recv_async();
    assert!(poll_with(&mut fut, &waker).is_pending());
    tx.send(8).unwrap();
    assert_eq!(counter.count(), 2);
    assert_eq!(poll_with(&mut fut, &waker), Poll::Ready(Ok(8)));
}

#[test]
fn recv_future_repolled_with_new_waker_wakes_the_new_one() {
    let (mut tx, mut rx) = spsc::channel(1);
    let (old, old_waker) = counting_waker();
    let (new, new_waker) = counting_waker();
    let mut fut = rx.recv_async();
    assert!(poll_with(&mut fut, &old_waker).is_pending());
    assert!(poll_with(&mut fut, &new_waker).is_pending());
    tx.send(1).unwrap();
    assert_eq!((old.count(), new.count()), (0, 1));
    assert_eq!(poll_with(&mut fut, &new_waker), Poll::Ready(Ok(1)));
}

// ---- reserve / permits ------------------------------------------------------

#[test]
fn try_reserve_and_permit_send() {
    let (mut tx, mut rx) = spsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(format!("{permit:?}"), "spsc::Permit");
    permit.send(1).unwrap();
    tx.try_reserve().unwrap().send(2).unwrap();
    assert_eq!(tx.try_reserve().err(), Some(TrySendError::Full(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn dropped_permit_sends_nothing_and_keeps_the_room() {
    let (mut tx, mut rx) = spsc::channel(1);
    {
        let _permit = tx.try_reserve().unwrap();
    } // dropped unused
    assert_eq!(tx.len(), 0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn permit_send_after_close_hands_value_back() {
    let (mut tx, mut rx) = spsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert_eq!(permit.send(3), Err(SendError(3)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn reserve_future_waits_for_room() {
    let (mut tx, mut rx) = spsc::channel(1);
    tx.send(1).unwrap();
    let (counter, waker) = counting_waker();
    {
        let mut fut = tx.reserve();
        assert_eq!(format!("{fut:?}"), "spsc::ReserveFuture");
        assert!(poll_with(&mut fut, &waker).is_pending());
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(counter.count(), 1, "the receive woke the reserve");
        let Poll::Ready(Ok(permit)) = poll_with(&mut fut, &waker) else {
            panic!("reserve should be ready once there is room");
        };
        permit.send(2).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn reserve_future_fails_when_closed() {
    let (mut tx, rx) = spsc::channel::<u8>(1);
    tx.send(1).unwrap();
    let (counter, waker) = counting_waker();
    let mut fut = tx.reserve();
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.count(), 1);
    assert!(matches!(
        poll_with(&mut fut, &waker),
        Poll::Ready(Err(SendError(())))
    ));
}

// ---- batches ----------------------------------------------------------------

#[test]
fn try_send_iter_fills_free_slots_and_leaves_the_rest() {
    let (mut tx, mut rx) = spsc::channel(3);
    let mut values = 0..5;
    assert_eq!(tx.try_send_iter(&mut values), Ok(3));
    assert_eq!(values, 3..5, "what did not fit stays in the iterator");
    assert_eq!(tx.try_send_iter(&mut values), Err(TrySendError::Full(())));
    assert_eq!(values, 3..5, "a full channel takes nothing");
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(tx.try_send_iter(&mut values), Ok(1));
    assert_eq!(values, 4..5);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    let mut empty = std::iter::empty();
    assert_eq!(tx.try_send_iter(&mut empty), Ok(0));
}

#[test]
fn try_send_slice_copies_what_fits_across_the_wrap() {
    let (mut tx, mut rx) = spsc::channel::<u64>(5);
    assert_eq!(tx.try_send_slice(&[]), Ok(0));
    assert_eq!(tx.try_send_slice(&[0, 1, 2]), Ok(3));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    // The tail is at slot 3: two values before the end, two after the wrap.
    assert_eq!(tx.try_send_slice(&[3, 4, 5, 6, 7, 8]), Ok(4));
    assert_eq!(tx.try_send_slice(&[9]), Err(TrySendError::Full(())));
    assert_eq!(tx.try_send_slice(&[]), Err(TrySendError::Full(())));
    assert_eq!(rx.len(), 5);
    let got: Vec<u64> = rx.drain(usize::MAX).collect();
    assert_eq!(got, [2, 3, 4, 5, 6]);
    rx.close();
    assert_eq!(tx.try_send_slice(&[1]), Err(TrySendError::Closed(())));
}

#[test]
fn send_slice_blocks_for_room_and_reports_what_it_sent_before_a_close() {
    let (mut tx, mut rx) = spsc::channel::<u32>(3);
    let values: Vec<u32> = (0..1000).collect();
    let t = thread::spawn(move || {
        let r = tx.send_slice(&values);
        (r, tx)
    });
    let got: Vec<u32> = rx.iter().take(1000).collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    let (r, mut tx) = t.join().unwrap();
    assert_eq!(r, Ok(()));
    // A full channel closed under a waiting (or about to wait) send: it
    // sent none of its values, and says so.
    assert_eq!(tx.try_send_slice(&[1, 2, 3]), Ok(3));
    let t = thread::spawn(move || tx.send_slice(&[4, 5, 6]));
    rx.close();
    assert_eq!(t.join().unwrap(), Err(SendError(0)));
    let rest: Vec<u32> = rx.try_iter().collect();
    assert_eq!(rest, [1, 2, 3]);
}

#[test]
fn try_send_iter_uses_every_free_slot() {
    // Sequentially, with nothing racing: all free slots must be filled.
    let (mut tx, mut rx) = spsc::channel(4);
    assert_eq!(tx.try_send_iter(&mut (0..2)), Ok(2));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.len(), 0);
    let mut values = 2..10;
    assert_eq!(
        tx.try_send_iter(&mut values),
        Ok(4),
        "4 of 4 slots are free"
    );
    assert_eq!(values, 6..10);
}

#[test]
fn try_recv_many_moves_up_to_limit() {
    let (mut tx, mut rx) = spsc::channel(8);
    tx.send_iter(0..5).unwrap();
    let mut buf = vec![100];
    assert_eq!(rx.try_recv_many(&mut buf, 0), Ok(0));
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    assert_eq!(buf, [100, 0, 1, 2], "values are appended");
    assert_eq!(rx.try_recv_many(&mut buf, 10), Ok(2));
    assert_eq!(buf, [100, 0, 1, 2, 3, 4]);
    assert_eq!(rx.try_recv_many(&mut buf, 10), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv_many(&mut buf, 10), Err(TryRecvError::Closed));
    assert_eq!(buf.len(), 6);
}

#[test]
fn try_recv_many_takes_everything_buffered_up_to_limit() {
    // Sequentially, with nothing racing: a batch must take all it may.
    let (mut tx, mut rx) = spsc::channel(8);
    tx.send(0).unwrap();
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(0));
    tx.send_iter(2..5).unwrap();
    assert_eq!(rx.len(), 4);
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 10), Ok(4));
    assert_eq!(buf, [1, 2, 3, 4]);
}

#[test]
fn recv_many_blocks_until_values_arrive() {
    let n = scale(50, 20_000) as u64;
    let (mut tx, mut rx) = spsc::channel(4);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let mut buf = Vec::new();
    while let Ok(k) = rx.recv_many(&mut buf, 3) {
        assert!((1..=3).contains(&k), "received {k}");
    }
    assert_eq!(buf, (0..n).collect::<Vec<_>>());
    assert_eq!(rx.recv_many(&mut buf, 0), Ok(0));
    assert_eq!(rx.recv_many(&mut buf, 1), Err(RecvError));
    producer.join().unwrap();
}

#[test]
fn send_iter_moves_everything_across_threads() {
    let n = scale(100, 50_000) as u64;
    let (mut tx, rx) = spsc::channel(3);
    let producer = thread::spawn(move || tx.send_iter(0..n).is_ok());
    let got: Vec<u64> = rx.into_iter().collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    assert!(producer.join().unwrap());
}

#[test]
fn send_iter_on_closed_channel_returns_the_whole_iterator() {
    let (mut tx, mut rx) = spsc::channel(2);
    rx.close();
    let SendError(rest) = tx.send_iter(vec![1, 2, 3]).unwrap_err();
    assert_eq!(rest.collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn send_iter_returns_what_was_not_sent_when_closed_midway() {
    let (mut tx, mut rx) = spsc::channel(2);
    let producer = thread::spawn(move || match tx.send_iter(0..10u32) {
        Ok(()) => Vec::new(),
        Err(SendError(rest)) => rest.collect::<Vec<_>>(),
    });
    let mut received = vec![rx.recv().unwrap()];
    rx.close();
    let rest = producer.join().unwrap();
    received.extend(rx.try_iter());
    assert!(
        !rest.is_empty(),
        "at most 1 + 2 values fit before the close"
    );
    let mut all = received.clone();
    all.extend(&rest);
    assert_eq!(
        all,
        (0..10).collect::<Vec<_>>(),
        "received {received:?}, rest {rest:?}"
    );
}

// ---- iterators and streams ----------------------------------------------------

#[test]
fn iter_try_iter_and_into_iter() {
    let (mut tx, mut rx) = spsc::channel(8);
    tx.send_iter([1, 2, 3]).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(rx.try_iter().next(), None, "try_iter stops when empty");
    tx.send_iter([4, 5]).unwrap();
    {
        let mut it = rx.iter();
        assert_eq!(it.next(), Some(4));
        assert!(format!("{it:?}").starts_with("Iter"));
    }
    let mut seen = Vec::new();
    tx.send(6).unwrap();
    drop(tx);
    for x in &mut rx {
        seen.push(x);
    }
    assert_eq!(seen, [5, 6]);
    assert_eq!(rx.iter().next(), None);
    let (mut tx, rx) = spsc::channel(2);
    tx.send(7).unwrap();
    drop(tx);
    let mut owned = rx.into_iter();
    assert_eq!(owned.next(), Some(7));
    assert_eq!(owned.next(), None);
}

#[test]
fn iter_blocks_until_the_sender_is_done() {
    let n = scale(50, 10_000) as u32;
    let (mut tx, mut rx) = spsc::channel(2);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let mut expected = 0;
    for x in &mut rx {
        assert_eq!(x, expected);
        expected += 1;
    }
    assert_eq!(expected, n);
    producer.join().unwrap();
}

#[test]
fn into_stream_yields_until_closed() {
    let (mut tx, rx) = spsc::channel(4);
    tx.send_iter([1, 2, 3]).unwrap();
    let stream = rx.into_stream();
    assert_eq!(stream.size_hint(), (3, None));
    assert!(format!("{stream:?}").starts_with("spsc::RecvStream { rx: spsc::Receiver"));
    drop(tx);
    assert_eq!(block_on(stream.collect::<Vec<_>>()), [1, 2, 3]);
}

#[test]
fn into_stream_wakes_across_threads() {
    let n = scale(30, 5_000) as u32;
    let (mut tx, rx) = spsc::channel(2);
    let consumer = thread::spawn(move || block_on(rx.into_stream().collect::<Vec<u32>>()));
    for i in 0..n {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), (0..n).collect::<Vec<_>>());
}

#[test]
fn recv_stream_into_inner_gives_the_receiver_back() {
    let (mut tx, rx) = spsc::channel(4);
    let mut stream = rx.into_stream();
    let (_, waker) = counting_waker();
    assert!(poll_with(&mut stream.next(), &waker).is_pending());
    tx.send(1).unwrap();
    assert_eq!(block_on(stream.next()), Some(1));
    tx.send(2).unwrap();
    let mut rx = stream.into_inner();
    assert!(rx.same_channel(&tx));
    assert_eq!(rx.try_recv(), Ok(2));
    tx.send(3).unwrap();
    assert_eq!(rx.recv(), Ok(3));
}

#[test]
fn recv_stream_into_inner_releases_the_waker() {
    // After `into_inner`, nothing may keep the waker of the last poll alive:
    // its registration is over, so holding it is a leak.
    let (_tx, rx) = spsc::channel::<u8>(4);
    let mut stream = rx.into_stream();
    let (counter, waker) = counting_waker();
    assert!(poll_with(&mut stream.next(), &waker).is_pending());
    drop(waker);
    let rx = stream.into_inner();
    assert_eq!(
        std::sync::Arc::strong_count(&counter),
        1,
        "RecvStream::into_inner leaked the registered waker"
    );
    drop(rx);
}

// ---- closed() -----------------------------------------------------------------

#[test]
fn closed_future_resolves_when_receiver_drops() {
    let (mut tx, rx) = spsc::channel::<u8>(1);
    let (counter, waker) = counting_waker();
    let mut fut = tx.closed();
    assert_eq!(format!("{fut:?}"), "spsc::ClosedFuture");
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut fut, &waker).is_ready());
}

#[test]
fn closed_future_resolves_on_close_from_either_side() {
    let (mut tx, mut rx) = spsc::channel::<u8>(1);
    let (counter, waker) = counting_waker();
    {
        let mut fut = tx.closed();
        assert!(poll_with(&mut fut, &waker).is_pending());
        assert!(rx.close());
        assert_eq!(counter.count(), 1);
        assert!(poll_with(&mut fut, &waker).is_ready());
    }
    let (mut tx, _rx) = spsc::channel::<u8>(1);
    tx.close();
    assert!(
        block_on(poll_once(tx.closed())).is_some(),
        "already closed: ready at once"
    );
}

#[test]
fn closed_future_wakes_across_threads() {
    let (mut tx, rx) = spsc::channel::<u8>(1);
    let (signal, pending) = mpsc::channel();
    let fut = signal_pending(tx.closed(), signal);
    thread::scope(|s| {
        let h = s.spawn(move || block_on(fut));
        pending.recv().unwrap();
        drop(rx);
        h.join().unwrap();
    });
    assert!(tx.is_closed());
}

// ---- inspection ---------------------------------------------------------------

#[test]
fn len_is_empty_is_full_on_both_ends() {
    let (mut tx, mut rx) = spsc::channel(3);
    assert_eq!((tx.len(), rx.len()), (0, 0));
    assert!(tx.is_empty() && rx.is_empty());
    assert!(!tx.is_full() && !rx.is_full());
    tx.send(1).unwrap();
    assert_eq!((tx.len(), rx.len()), (1, 1));
    assert!(!tx.is_empty() && !rx.is_empty());
    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert_eq!((tx.len(), rx.len()), (3, 3));
    assert!(tx.is_full() && rx.is_full());
    rx.recv().unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(!tx.is_full());
    assert!(!tx.is_closed() && !rx.is_closed());
}

#[test]
fn same_channel_tells_channels_apart() {
    let (tx1, rx1) = spsc::channel::<u8>(1);
    let (tx2, rx2) = spsc::channel::<u8>(1);
    assert!(tx1.same_channel(&rx1) && rx1.same_channel(&tx1));
    assert!(tx2.same_channel(&rx2) && rx2.same_channel(&tx2));
    assert!(!tx1.same_channel(&rx2) && !rx1.same_channel(&tx2));
}

#[test]
fn debug_output_of_endpoints_and_futures() {
    let (mut tx, mut rx) = spsc::channel::<u8>(2);
    tx.send(1).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        "spsc::Sender { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "spsc::Receiver { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(format!("{:?}", rx.recv_async()), "spsc::RecvFuture");
    assert_eq!(
        format!("{:?}", tx.send_async(2)),
        "spsc::SendFuture { pending: true }"
    );
    rx.close();
    assert_eq!(
        format!("{tx:?}"),
        "spsc::Sender { len: 1, capacity: 2, closed: true }"
    );
    assert!(format!("{:?}", rx.try_iter()).starts_with("TryIter"));
}

#[test]
fn endpoints_move_to_other_threads() {
    let (tx, rx) = spsc::channel::<String>(1);
    let (mut tx, mut rx) = thread::spawn(move || (tx, rx)).join().unwrap();
    tx.send(String::from("moved")).unwrap();
    assert_eq!(rx.recv().as_deref(), Ok("moved"));
}

// ---- close is final -------------------------------------------------------------

#[test]
fn closed_is_final_when_receiver_closes_during_sends() {
    // Once `try_recv` reported `Closed`, it keeps reporting `Closed`: no
    // value shows up later. A send that raced with the close may still have
    // returned `Ok`; its value is dropped with the buffer, so on this
    // capacity-1 channel at most one value is sent but not received.
    // The race needs both threads running at once; on a loaded machine
    // (other tests run in parallel) it takes more rounds to show.
    let rounds = scale(10, 20_000);
    let (job_tx, job_rx) = mpsc::channel::<spsc::Sender<u32>>();
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let producer = thread::spawn(move || {
        for mut tx in job_rx {
            let mut sent = 0u32;
            let mut spins = 0u32;
            loop {
                match tx.try_send(sent) {
                    Ok(()) => sent += 1,
                    // Stay hot (the race needs a send in flight at the
                    // close), but let the receiver run on a busy machine.
                    Err(TrySendError::Full(_)) => {
                        spins += 1;
                        if spins % 128 == 0 {
                            thread::yield_now();
                        } else {
                            std::hint::spin_loop();
                        }
                    }
                    Err(TrySendError::Closed(_)) => break,
                }
            }
            done_tx.send(sent).unwrap();
        }
    });
    let mut violations = Vec::new();
    for round in 0..rounds {
        let (tx, mut rx) = spsc::channel::<u32>(1);
        job_tx.send(tx).unwrap();
        let mut received = 0u32;
        while received == 0 {
            if rx.try_recv().is_ok() {
                received += 1;
            } else {
                thread::yield_now();
            }
        }
        rx.close();
        loop {
            match rx.try_recv() {
                Ok(_) => received += 1,
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => panic!("Empty after close"),
            }
        }
        let sent = done_rx.recv().unwrap();
        let late = rx.try_recv();
        if received > sent || sent - received > 1 || late != Err(TryRecvError::Closed) {
            violations.push((round, sent, received, late));
            if violations.len() == 5 {
                break;
            }
        }
    }
    drop(job_tx);
    producer.join().unwrap();
    assert!(
        violations.is_empty(),
        "a value arrived after try_recv reported Closed; (round, sent Ok, \
         received before Closed, try_recv afterwards) of the first violations: {violations:?}"
    );
}

// ---- park / wake round trips ----------------------------------------------------

#[test]
fn ping_pong_blocking_parks_and_wakes_every_round() {
    // Each side waits for the other on every message, so almost every
    // receive parks; a lost wake-up hangs this test.
    let n = scale(30, 20_000) as u32;
    let (mut ping_tx, mut ping_rx) = spsc::channel::<u32>(1);
    let (mut pong_tx, mut pong_rx) = spsc::channel::<u32>(1);
    let echo = thread::spawn(move || {
        while let Ok(v) = ping_rx.recv() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    for i in 0..n {
        ping_tx.send(i).unwrap();
        assert_eq!(pong_rx.recv(), Ok(i + 1));
    }
    drop(ping_tx);
    echo.join().unwrap();
    assert_eq!(pong_rx.recv(), Err(RecvError));
}

#[test]
fn ping_pong_async_wakes_every_round() {
    let n = scale(30, 20_000) as u32;
    let (mut ping_tx, mut ping_rx) = spsc::channel::<u32>(1);
    let (mut pong_tx, mut pong_rx) = spsc::channel::<u32>(1);
    let echo = thread::spawn(move || {
        block_on(async {
            while let Ok(v) = ping_rx.recv_async().await {
                pong_tx.send_async(v + 1).await.unwrap();
            }
        });
    });
    block_on(async {
        for i in 0..n {
            ping_tx.send_async(i).await.unwrap();
            assert_eq!(pong_rx.recv_async().await, Ok(i + 1));
        }
    });
    drop(ping_tx);
    echo.join().unwrap();
}

/// A `Drain` leaked with `mem::forget` has moved values out without
/// publishing the head. The receiver publishes it the first time it finds
/// the ring empty, before any wait, so the sender gets the room back.
#[test]
fn a_leaked_drain_does_not_withhold_room() {
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    tx.send(1).unwrap();
    let mut drain = rx.drain(1);
    assert_eq!(drain.next(), Some(1));
    std::mem::forget(drain);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));

    // The same with the receiver blocked and the sender sending after it.
    tx.send(3).unwrap();
    let mut drain = rx.drain(1);
    assert_eq!(drain.next(), Some(3));
    std::mem::forget(drain);
    let receiver = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(10)));
    assert!(
        tx.send_timeout(4, Duration::from_secs(10)).is_ok(),
        "the room came back"
    );
    assert_eq!(receiver.join().unwrap(), Ok(4));
}
