//! Every public operation of `mpmc`, each error path, permits, clones,
//! blocking and async wake-ups across threads, per-producer order and
//! cancel safety.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{counting_waker, poll_with, scale, signal_pending};
use futures_lite::future::{block_on, poll_once};
use futures_lite::{Stream, StreamExt};
use nimsync_channel::{
    MAX_CAPACITY, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError, mpmc,
};

const SHORT: Duration = Duration::from_millis(2);

// ---- construction ---------------------------------------------------------

#[test]
fn capacity_zero_is_a_rendezvous_channel() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    assert_eq!((tx.capacity(), rx.capacity()), (0, 0));
    assert!(tx.try_send(1).unwrap_err().is_full());
}

#[test]
#[should_panic(expected = "exceeds MAX_CAPACITY")]
fn capacity_above_max_panics() {
    let _ = mpmc::channel::<u8>(MAX_CAPACITY + 1);
}

#[test]
#[cfg(target_pointer_width = "64")]
#[should_panic(expected = "overflow")]
fn capacity_whose_layout_overflows_panics() {
    let _ = mpmc::channel::<[u8; 1 << 33]>(MAX_CAPACITY);
}

#[test]
fn capacity_reports_exactly_what_was_asked() {
    for cap in [1, 2, 3, 7, 8, 100] {
        let (tx, rx) = mpmc::channel::<u8>(cap);
        assert_eq!(tx.capacity(), cap);
        assert_eq!(rx.capacity(), cap);
        assert_eq!(rx.clone().capacity(), cap);
    }
}

// ---- try_send / try_recv ----------------------------------------------------

#[test]
fn try_send_and_try_recv_round_trip() {
    let (tx, rx) = mpmc::channel(2);
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
fn exact_capacity_and_wrap_around_over_many_laps() {
    let laps = scale(4, 300);
    for cap in [1usize, 2, 3, 7] {
        let (tx, rx) = mpmc::channel(cap);
        let mut next = 0usize;
        for lap in 0..laps {
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
            assert_eq!((tx.len(), rx.len()), (cap, cap));
            assert!(tx.is_full() && rx.is_full());
            for i in 0..cap {
                assert_eq!(rx.try_recv(), Ok(next + i));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            assert!(tx.is_empty() && rx.is_empty());
            next += cap;
        }
    }
}

#[test]
fn wrap_around_across_threads_with_small_capacities() {
    let n = scale(40, 20_000) as u64;
    for cap in [1, 2, 3, 7] {
        let (tx, rx) = mpmc::channel(cap);
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

#[test]
fn try_send_after_every_receiver_dropped_hands_value_back() {
    let (tx, rx) = mpmc::channel(4);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "one receiver is left");
    assert_eq!(tx.try_send(1), Ok(()));
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
}

#[test]
fn receivers_drain_then_see_closed_after_every_sender_dropped() {
    let (tx, rx) = mpmc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is left");
    tx2.try_send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.clone().try_recv(), Err(TryRecvError::Closed));
}

// ---- close ------------------------------------------------------------------

#[test]
fn close_from_sender() {
    let (tx, rx) = mpmc::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!tx2.close());
    assert!(!rx.close());
    assert!(tx.is_closed() && tx2.is_closed() && rx.is_closed());
    assert_eq!(tx2.try_send(2), Err(TrySendError::Closed(2)));
    assert_eq!(tx2.send(3), Err(SendError(3)));
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn close_from_receiver_stops_every_kind_of_send() {
    let (tx, rx) = mpmc::channel(4);
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
    let mut rest = (8..10).peekable();
    assert_eq!(tx.try_send_iter(&mut rest), Err(TrySendError::Closed(())));
    assert_eq!(
        rest.collect::<Vec<_>>(),
        [8, 9],
        "nothing is taken from the iterator"
    );
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn closed_is_final_when_receiver_closes_during_sends() {
    // As the spsc test of the same name: after `Closed`, nothing arrives.
    // The race needs both threads running at once; on a loaded machine
    // (other tests run in parallel) it takes more rounds to show.
    let rounds = scale(10, 20_000);
    let (job_tx, job_rx) = mpsc::channel::<mpmc::Sender<u32>>();
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let producer = thread::spawn(move || {
        for tx in job_rx {
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
        let (tx, rx) = mpmc::channel::<u32>(1);
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
                // A send that claimed its slot before the close and has
                // not written it yet: `Empty` is true for now (a
                // non-blocking receive waits for it only a bounded time,
                // docs/semantics.md#cancel-safety), and `Closed` cannot come
                // before the value does.
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = done_rx.recv().unwrap();
        let late = rx.try_recv();
        if sent != received || late != Err(TryRecvError::Closed) {
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
        "{} violations, first: {:?}",
        violations.len(),
        violations.first()
    );
}

// ---- blocking ---------------------------------------------------------------

#[test]
fn blocking_send_and_recv_across_threads() {
    let n = scale(100, 100_000) as u64;
    let (tx, rx) = mpmc::channel(2);
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
fn blocked_sender_is_released_when_last_receiver_drops() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    let sender = thread::spawn(move || tx.send(2));
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(SendError(2)));
}

#[test]
fn blocked_receivers_are_released_when_last_sender_drops() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.recv())
        })
        .collect();
    drop(tx);
    for r in receivers {
        assert_eq!(r.join().unwrap(), Err(RecvError));
    }
}

#[test]
fn each_producer_is_received_in_order() {
    let producers = scale(2, 3) as u32;
    let consumers = scale(1, 2);
    let per = scale(30, 20_000) as u32;
    let (tx, rx) = mpmc::channel(4);
    let sends: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.send((p, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let recvs: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                // Each consumer takes positions in ring order, so per producer
                // the values it sees must increase.
                let mut last: HashMap<u32, u32> = HashMap::new();
                let mut count = 0usize;
                for (p, i) in &rx {
                    if let Some(&prev) = last.get(&p) {
                        assert!(i > prev, "producer {p}: {i} after {prev}");
                    }
                    last.insert(p, i);
                    count += 1;
                }
                count
            })
        })
        .collect();
    drop(rx);
    for s in sends {
        s.join().unwrap();
    }
    let total: usize = recvs.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(total, (producers * per) as usize);
}

#[test]
fn every_value_is_received_exactly_once_with_many_endpoints() {
    let threads = scale(2, 4) as u64;
    let consumers = scale(1, 4);
    let per = scale(25, 10_000) as u64;
    let (tx, rx) = mpmc::channel(3);
    let sends: Vec<_> = (0..threads)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || tx.send_iter((0..per).map(|i| p * per + i)).is_ok())
        })
        .collect();
    drop(tx);
    let recvs: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                while rx.recv_many(&mut buf, 4).is_ok() {}
                buf
            })
        })
        .collect();
    drop(rx);
    for s in sends {
        assert!(s.join().unwrap());
    }
    let mut all: Vec<u64> = recvs.into_iter().flat_map(|r| r.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..threads * per).collect::<Vec<_>>());
}

// ---- timeouts ---------------------------------------------------------------

#[test]
fn recv_timeout_on_empty_channel_times_out_never_early() {
    let (_tx, rx) = mpmc::channel::<u8>(1);
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
    let (tx, rx) = mpmc::channel(1);
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
    let (tx, rx) = mpmc::channel(1);
    let producer = thread::spawn(move || tx.send(3).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(3));
    producer.join().unwrap();
}

#[test]
fn recv_deadline_times_out_at_the_deadline() {
    let (tx, rx) = mpmc::channel(1);
    let deadline = Instant::now() + Duration::from_millis(3);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
    tx.send(4).unwrap();
    assert_eq!(
        rx.recv_deadline(Instant::now() - Duration::from_millis(1)),
        Ok(4)
    );
    drop(tx);
    assert_eq!(
        rx.recv_deadline(Instant::now() + SHORT),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn send_timeout_on_full_channel_hands_value_back_never_early() {
    let (tx, rx) = mpmc::channel(1);
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
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    let consumer = thread::spawn(move || (rx.recv(), rx.recv()));
    assert_eq!(tx.send_timeout(2, Duration::from_secs(60)), Ok(()));
    assert_eq!(consumer.join().unwrap(), (Ok(1), Ok(2)));
}

#[test]
fn send_deadline_times_out_at_the_deadline() {
    let (tx, _rx) = mpmc::channel(1);
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
    let (tx, rx) = mpmc::channel(2);
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
    let (tx, rx) = mpmc::channel(2);
    drop(rx);
    assert_eq!(block_on(tx.send_async(vec![1])), Err(SendError(vec![1])));
}

#[test]
fn pending_send_future_cancel_returns_the_value() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    let mut fut = tx.send_async(2);
    assert!(
        block_on(poll_once(&mut fut)).is_none(),
        "full channel: pending"
    );
    assert_eq!(format!("{fut:?}"), "mpmc::SendFuture { pending: true }");
    assert_eq!(fut.cancel(), Some(2));
    assert_eq!(fut.cancel(), None);
    assert_eq!(format!("{fut:?}"), "mpmc::SendFuture { pending: false }");
    drop(fut);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn send_future_cancel_after_completion_returns_none() {
    let (tx, rx) = mpmc::channel(1);
    let mut fut = tx.send_async(5);
    assert_eq!(block_on(poll_once(&mut fut)), Some(Ok(())));
    assert_eq!(fut.cancel(), None);
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn send_future_polled_after_completion_panics() {
    let (tx, _rx) = mpmc::channel(1);
    let mut fut = tx.send_async(5);
    assert_eq!(block_on(poll_once(&mut fut)), Some(Ok(())));
    let _ = block_on(poll_once(&mut fut));
}

#[test]
fn recv_async_wakes_when_another_thread_sends() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (signal, pending) = mpsc::channel();
    let receiver = thread::spawn(move || block_on(signal_pending(rx.recv_async(), signal)));
    pending.recv().unwrap();
    tx.send(42).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(42));
}

#[test]
fn send_async_wakes_when_another_thread_receives() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let (signal, pending) = mpsc::channel();
    let tx2 = tx.clone();
    let sender = thread::spawn(move || block_on(signal_pending(tx2.send_async(2), signal)));
    pending.recv().unwrap();
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(sender.join().unwrap(), Ok(()));
    assert_eq!(rx.recv(), Ok(2));
}

#[test]
fn recv_async_wakes_on_close() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (signal, pending) = mpsc::channel();
    let receiver = thread::spawn(move || block_on(signal_pending(rx.recv_async(), signal)));
    pending.recv().unwrap();
    assert!(tx.close());
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
}

#[test]
fn dropped_recv_future_passes_its_wake_up_to_the_next_receiver() {
    let (tx, rx) = mpmc::channel(2);
    let rx2 = rx.clone();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut first = rx.recv_async();
    let mut second = rx2.recv_async();
    assert!(poll_with(&mut first, &w1).is_pending());
    assert!(poll_with(&mut second, &w2).is_pending());
    tx.send(7).unwrap();
    assert_eq!(
        (c1.count(), c2.count()),
        (1, 0),
        "one send wakes one receiver, the first"
    );
    drop(first); // woken, never polled again
    assert_eq!(
        c2.count(),
        1,
        "the wake-up passed on to the second receiver"
    );
    assert_eq!(poll_with(&mut second, &w2), Poll::Ready(Ok(7)));
}

#[test]
fn dropped_send_future_passes_its_wake_up_to_the_next_sender() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(0).unwrap();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut first = tx.send_async(1);
    let mut second = tx.send_async(2);
    assert!(poll_with(&mut first, &w1).is_pending());
    assert!(poll_with(&mut second, &w2).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((c1.count(), c2.count()), (1, 0));
    assert_eq!(first.cancel(), Some(1));
    assert_eq!(c2.count(), 1, "the wake-up passed on to the second sender");
    assert_eq!(poll_with(&mut second, &w2), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn recv_future_dropped_after_wake_leaves_the_message() {
    let (tx, rx) = mpmc::channel(2);
    let (counter, waker) = counting_waker();
    {
        let mut fut = rx.recv_async();
        assert!(poll_with(&mut fut, &waker).is_pending());
        tx.send(7).unwrap();
        assert_eq!(counter.count(), 1);
    }
    assert_eq!(rx.try_recv(), Ok(7));
}

// ---- reserve / permits ------------------------------------------------------

#[test]
fn held_permit_takes_the_room_of_a_capacity_one_channel() {
    let (tx, rx) = mpmc::channel(1);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(format!("{permit:?}"), "mpmc::Permit");
    assert_eq!(
        tx.try_send(9),
        Err(TrySendError::Full(9)),
        "the room is promised"
    );
    assert!(tx.try_reserve().unwrap_err().is_full());
    assert_eq!(
        tx.send_timeout(8, Duration::from_millis(1)),
        Err(SendTimeoutError::Timeout(8))
    );
    let mut it = [1, 2].into_iter().peekable();
    assert_eq!(tx.try_send_iter(&mut it), Err(TrySendError::Full(())));
    drop(permit);
    assert_eq!(
        tx.try_send(10),
        Ok(()),
        "dropping the permit frees the room"
    );
    assert_eq!(rx.try_recv(), Ok(10));
}

#[test]
fn permits_and_values_never_exceed_capacity() {
    let (tx, rx) = mpmc::channel(3);
    tx.send(1).unwrap();
    let p1 = tx.try_reserve().unwrap();
    let p2 = tx.try_reserve().unwrap();
    assert!(tx.try_reserve().unwrap_err().is_full());
    assert_eq!(tx.try_send(5), Err(TrySendError::Full(5)));
    p2.send(2).unwrap();
    assert_eq!(
        tx.try_send(6),
        Err(TrySendError::Full(6)),
        "p1 still holds a slot"
    );
    p1.send(3).unwrap();
    assert!(tx.is_full());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn permit_send_after_close_hands_value_back_and_frees_the_permit() {
    let (tx, rx) = mpmc::channel(1);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert_eq!(permit.send(3), Err(SendError(3)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn reserve_future_waits_for_room() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    let (counter, waker) = counting_waker();
    let mut fut = tx.reserve();
    assert_eq!(format!("{fut:?}"), "mpmc::ReserveFuture");
    assert!(poll_with(&mut fut, &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(counter.count(), 1, "the receive woke the reserve");
    let Poll::Ready(Ok(permit)) = poll_with(&mut fut, &waker) else {
        panic!("reserve should be ready once there is room");
    };
    assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
    permit.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn reserve_future_wakes_when_a_permit_is_dropped() {
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    let (counter, waker) = counting_waker();
    let mut fut = tx.reserve();
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(permit);
    assert_eq!(counter.count(), 1);
    assert!(matches!(poll_with(&mut fut, &waker), Poll::Ready(Ok(_))));
}

#[test]
fn reserve_future_fails_when_closed() {
    let (tx, rx) = mpmc::channel::<u8>(1);
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

#[test]
fn reserve_across_threads() {
    let n = scale(30, 5_000) as u32;
    let (tx, rx) = mpmc::channel(1);
    let producer = thread::spawn(move || {
        block_on(async {
            for i in 0..n {
                tx.reserve().await.unwrap().send(i).unwrap();
            }
        });
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
    producer.join().unwrap();
}

// ---- batches ----------------------------------------------------------------

#[test]
fn try_send_iter_fills_free_slots_and_leaves_the_rest() {
    let (tx, rx) = mpmc::channel(3);
    let mut values = (0..5).peekable();
    assert_eq!(tx.try_send_iter(&mut values), Ok(3));
    assert_eq!(
        values.peek(),
        Some(&3),
        "what did not fit stays in the iterator"
    );
    assert_eq!(tx.try_send_iter(&mut values), Err(TrySendError::Full(())));
    assert_eq!(values.peek(), Some(&3));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(tx.try_send_iter(&mut values), Ok(1));
    assert_eq!(values.collect::<Vec<_>>(), [4]);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(tx.try_send_iter(&mut std::iter::empty().peekable()), Ok(0));
}

#[test]
fn try_send_iter_uses_every_free_slot_after_wrap() {
    let (tx, rx) = mpmc::channel(4);
    assert_eq!(tx.try_send_iter(&mut (0..2).peekable()), Ok(2));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    let mut values = (2..10).peekable();
    assert_eq!(tx.try_send_iter(&mut values), Ok(4));
    assert_eq!(values.collect::<Vec<_>>(), [6, 7, 8, 9]);
}

#[test]
fn try_recv_many_moves_up_to_limit() {
    let (tx, rx) = mpmc::channel(8);
    tx.send_iter(0..5).unwrap();
    let mut buf = vec![100];
    assert_eq!(rx.try_recv_many(&mut buf, 0), Ok(0));
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    assert_eq!(buf, [100, 0, 1, 2], "values are appended");
    assert_eq!(rx.try_recv_many(&mut buf, 10), Ok(2));
    assert_eq!(rx.try_recv_many(&mut buf, 10), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv_many(&mut buf, 10), Err(TryRecvError::Closed));
    assert_eq!(buf, [100, 0, 1, 2, 3, 4]);
}

#[test]
fn try_recv_many_wakes_blocked_senders() {
    let (tx, rx) = mpmc::channel(2);
    tx.send(0).unwrap();
    tx.send(1).unwrap();
    let senders: Vec<_> = (2..4)
        .map(|v| {
            let tx = tx.clone();
            thread::spawn(move || tx.send(v))
        })
        .collect();
    let mut buf = Vec::new();
    while buf.len() < 4 {
        match rx.recv_many(&mut buf, 2) {
            Ok(k) => assert!(k >= 1),
            Err(e) => panic!("{e}"),
        }
    }
    for s in senders {
        assert_eq!(s.join().unwrap(), Ok(()));
    }
    buf.sort_unstable();
    assert_eq!(buf, [0, 1, 2, 3]);
    assert_eq!(rx.recv_many(&mut buf, 0), Ok(0));
    drop(tx);
    assert_eq!(rx.recv_many(&mut buf, 1), Err(RecvError));
}

#[test]
fn send_iter_on_closed_channel_returns_the_whole_iterator() {
    let (tx, rx) = mpmc::channel(2);
    rx.close();
    let SendError(rest) = tx.send_iter(vec![1, 2, 3]).unwrap_err();
    assert_eq!(rest.collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn send_iter_returns_what_was_not_sent_when_closed_midway() {
    let (tx, rx) = mpmc::channel(2);
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
    let (tx, rx) = mpmc::channel(8);
    tx.send_iter([1, 2, 3]).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(rx.try_iter().next(), None);
    tx.send_iter([4, 5]).unwrap();
    assert_eq!(rx.iter().next(), Some(4));
    tx.send(6).unwrap();
    drop(tx);
    let mut seen = Vec::new();
    for x in &rx {
        seen.push(x);
    }
    assert_eq!(seen, [5, 6]);
    let (tx, rx) = mpmc::channel(2);
    tx.send(7).unwrap();
    drop(tx);
    let mut owned = rx.into_iter();
    assert_eq!(owned.next(), Some(7));
    assert_eq!(owned.next(), None);
    assert!(format!("{owned:?}").starts_with("IntoIter"));
}

#[test]
fn into_stream_yields_until_closed() {
    let (tx, rx) = mpmc::channel(4);
    tx.send_iter([1, 2, 3]).unwrap();
    let stream = rx.into_stream();
    assert_eq!(stream.size_hint(), (3, None));
    assert!(format!("{stream:?}").starts_with("mpmc::RecvStream { rx: mpmc::Receiver"));
    drop(tx);
    assert_eq!(block_on(stream.collect::<Vec<_>>()), [1, 2, 3]);
}

#[test]
fn streams_of_cloned_receivers_share_the_messages() {
    let n = scale(40, 5_000) as u32;
    let (tx, rx) = mpmc::channel(2);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || block_on(rx.into_stream().collect::<Vec<u32>>()))
        })
        .collect();
    drop(rx);
    for i in 0..n {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut all: Vec<u32> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
}

#[test]
fn recv_stream_into_inner_gives_the_receiver_back() {
    let (tx, rx) = mpmc::channel(4);
    let mut stream = rx.into_stream();
    let (_, waker) = counting_waker();
    assert!(poll_with(&mut stream.next(), &waker).is_pending());
    tx.send(1).unwrap();
    assert_eq!(block_on(stream.next()), Some(1));
    tx.send(2).unwrap();
    let rx = stream.into_inner();
    assert!(rx.same_channel_as_sender(&tx));
    assert!(!rx.is_closed(), "into_inner keeps the channel open");
    assert_eq!(rx.try_recv(), Ok(2));
    tx.send(3).unwrap();
    assert_eq!(rx.recv(), Ok(3));
    drop(rx);
    assert!(tx.is_closed(), "the returned receiver was the last one");
}

#[test]
fn recv_stream_into_inner_releases_the_waker() {
    let (_tx, rx) = mpmc::channel::<u8>(4);
    let mut stream = rx.into_stream();
    let (counter, waker) = counting_waker();
    assert!(poll_with(&mut stream.next(), &waker).is_pending());
    drop(waker);
    let rx = stream.into_inner();
    assert_eq!(
        std::sync::Arc::strong_count(&counter),
        1,
        "into_inner leaked the waker"
    );
    drop(rx);
}

// ---- closed() -----------------------------------------------------------------

#[test]
fn closed_future_resolves_when_last_receiver_drops() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let rx2 = rx.clone();
    let (counter, waker) = counting_waker();
    let mut fut = tx.closed();
    assert_eq!(format!("{fut:?}"), "mpmc::ClosedFuture");
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(rx);
    assert!(
        poll_with(&mut fut, &waker).is_pending(),
        "a receiver is left"
    );
    drop(rx2);
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut fut, &waker).is_ready());
}

#[test]
fn closed_future_resolves_on_close_from_either_side() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (counter, waker) = counting_waker();
    let mut fut = tx.closed();
    assert!(poll_with(&mut fut, &waker).is_pending());
    assert!(rx.close());
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut fut, &waker).is_ready());
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let tx2 = tx.clone();
    assert!(tx2.close());
    assert!(block_on(poll_once(tx.closed())).is_some());
}

#[test]
fn closed_future_wakes_across_threads() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (signal, pending) = mpsc::channel();
    let tx2 = tx.clone();
    let waiter = thread::spawn(move || block_on(signal_pending(tx2.closed(), signal)));
    pending.recv().unwrap();
    drop(rx);
    waiter.join().unwrap();
    assert!(tx.is_closed());
}

// ---- inspection ---------------------------------------------------------------

#[test]
fn len_is_empty_is_full_on_every_endpoint() {
    let (tx, rx) = mpmc::channel(3);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    assert_eq!((tx.len(), rx.len(), tx2.len(), rx2.len()), (0, 0, 0, 0));
    assert!(tx.is_empty() && rx.is_empty());
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    assert_eq!((tx.len(), rx2.len()), (2, 2));
    assert!(!tx.is_empty() && !rx.is_full());
    tx.send(3).unwrap();
    assert!(tx.is_full() && rx.is_full() && tx2.is_full() && rx2.is_full());
    assert_eq!(rx2.recv(), Ok(1));
    assert_eq!(rx.len(), 2);
    tx.close();
    assert_eq!(rx.len(), 2, "len is unaffected by the close");
    assert!(!rx.is_full() && !rx.is_empty());
}

#[test]
fn same_channel_tells_channels_apart() {
    let (tx1, rx1) = mpmc::channel::<u8>(1);
    let (tx2, rx2) = mpmc::channel::<u8>(1);
    assert!(tx1.same_channel(&tx1.clone()));
    assert!(rx1.same_channel(&rx1.clone()));
    assert!(!tx1.same_channel(&tx2));
    assert!(!rx1.same_channel(&rx2));
    assert!(rx1.same_channel_as_sender(&tx1));
    assert!(!rx1.same_channel_as_sender(&tx2));
    assert!(rx2.same_channel_as_sender(&tx2.clone()));
}

#[test]
fn debug_output_of_endpoints_and_futures() {
    let (tx, rx) = mpmc::channel::<u8>(2);
    tx.send(1).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        "mpmc::Sender { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "mpmc::Receiver { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(format!("{:?}", rx.recv_async()), "mpmc::RecvFuture");
    rx.close();
    assert_eq!(
        format!("{rx:?}"),
        "mpmc::Receiver { len: 1, capacity: 2, closed: true }"
    );
    assert!(format!("{:?}", rx.iter()).starts_with("Iter"));
    assert!(format!("{:?}", rx.try_iter()).starts_with("TryIter"));
}

#[test]
fn endpoints_are_shared_between_threads_by_reference() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let n = scale(20, 2_000) as u32;
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                tx.send(i).unwrap();
            }
        });
        s.spawn(|| {
            for i in 0..n {
                assert_eq!(rx.recv(), Ok(i));
            }
        });
    });
}

// ---- park / wake round trips ----------------------------------------------------

#[test]
fn ping_pong_blocking_parks_and_wakes_every_round() {
    // Each side waits for the other on every message, so almost every
    // receive parks; a lost wake-up hangs this test.
    let n = scale(30, 20_000) as u32;
    let (ping_tx, ping_rx) = mpmc::channel::<u32>(1);
    let (pong_tx, pong_rx) = mpmc::channel::<u32>(1);
    let echo = thread::spawn(move || {
        for v in &ping_rx {
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
fn ping_pong_async_with_two_echo_tasks() {
    // Two echo threads wait on the same receiver: each message wakes one.
    let n = scale(30, 20_000) as u32;
    let (ping_tx, ping_rx) = mpmc::channel::<u32>(1);
    let (pong_tx, pong_rx) = mpmc::channel::<u32>(1);
    let echoes: Vec<_> = (0..2)
        .map(|_| {
            let (ping_rx, pong_tx) = (ping_rx.clone(), pong_tx.clone());
            thread::spawn(move || {
                block_on(async {
                    while let Ok(v) = ping_rx.recv_async().await {
                        pong_tx.send_async(v + 1).await.unwrap();
                    }
                });
            })
        })
        .collect();
    drop((ping_rx, pong_tx));
    block_on(async {
        for i in 0..n {
            ping_tx.send_async(i).await.unwrap();
            assert_eq!(pong_rx.recv_async().await, Ok(i + 1));
        }
    });
    drop(ping_tx);
    for e in echoes {
        e.join().unwrap();
    }
    assert_eq!(pong_rx.try_recv(), Err(TryRecvError::Closed));
}
