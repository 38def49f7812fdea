//! Every public operation of `oneshot` and each error path.

mod common;

use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{counting_waker, poll_with, signal_pending};
use futures_lite::future::{block_on, poll_once};
use nimsync_channel::{RecvError, RecvTimeoutError, SendError, TryRecvError, oneshot};

#[test]
fn send_then_blocking_recv() {
    let (tx, rx) = oneshot::channel();
    assert_eq!(tx.send(String::from("hi")), Ok(()));
    assert_eq!(rx.recv().as_deref(), Ok("hi"));
}

#[test]
fn send_then_await() {
    let (tx, rx) = oneshot::channel();
    tx.send(5u8).unwrap();
    assert_eq!(block_on(rx), Ok(5));
}

#[test]
fn try_recv_empty_then_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_terminated());
    tx.send(1).unwrap();
    assert!(!rx.is_terminated(), "the value is waiting");
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn blocking_recv_across_threads() {
    let (tx, rx) = oneshot::channel();
    let sender = thread::spawn(move || tx.send(vec![1, 2, 3]));
    assert_eq!(rx.recv(), Ok(vec![1, 2, 3]));
    assert_eq!(sender.join().unwrap(), Ok(()));
}

#[test]
fn blocked_receiver_is_released_when_sender_drops() {
    let (tx, rx) = oneshot::channel::<u8>();
    let receiver = thread::spawn(move || rx.recv());
    drop(tx);
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
}

#[test]
fn sender_dropped_unsent_closes_every_way_of_receiving() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Closed)
    );
    assert_eq!(block_on(rx), Err(RecvError));
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn receiver_dropped_hands_the_value_back() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(
        tx.send(String::from("back")),
        Err(SendError(String::from("back")))
    );
}

#[test]
fn close_then_send_fails() {
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert!(rx.is_terminated());
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    rx.close(); // closing twice is harmless
    assert_eq!(block_on(rx), Err(RecvError));
}

#[test]
fn value_sent_before_close_can_still_be_received() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(4).unwrap();
    rx.close();
    assert!(!rx.is_terminated());
    assert_eq!(rx.try_recv(), Ok(4));
    assert!(rx.is_terminated());
}

#[test]
fn recv_timeout_times_out_never_early_then_succeeds() {
    let (tx, mut rx) = oneshot::channel();
    for timeout in [Duration::from_millis(1), Duration::from_millis(5)] {
        let start = Instant::now();
        assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
        assert!(
            start.elapsed() >= timeout,
            "returned after {:?}",
            start.elapsed()
        );
    }
    assert!(!rx.is_terminated(), "a timeout leaves the receiver usable");
    tx.send(8).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(8));
    assert!(rx.is_terminated());
}

#[test]
fn recv_timeout_receives_a_value_sent_by_another_thread() {
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || tx.send(2).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(2));
    sender.join().unwrap();
}

#[test]
fn receiver_future_is_pending_until_send() {
    let (tx, mut rx) = oneshot::channel();
    let (counter, waker) = counting_waker();
    assert!(poll_with(&mut rx, &waker).is_pending());
    assert!(poll_with(&mut rx, &waker).is_pending());
    assert_eq!(counter.count(), 0);
    tx.send(6).unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_with(&mut rx, &waker), Poll::Ready(Ok(6)));
    assert!(rx.is_terminated());
}

#[test]
fn receiver_future_wakes_when_sender_drops() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting_waker();
    assert!(poll_with(&mut rx, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_with(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn receiver_future_wakes_across_threads() {
    let (tx, rx) = oneshot::channel();
    let (signal, pending) = mpsc::channel();
    let receiver = thread::spawn(move || block_on(signal_pending(rx, signal)));
    pending.recv().unwrap();
    tx.send(11).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(11));
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn receiver_polled_after_completion_panics() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(block_on(poll_once(&mut rx)), Some(Ok(1)));
    let _ = block_on(poll_once(&mut rx));
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn receiver_polled_after_error_panics() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(block_on(poll_once(&mut rx)), Some(Err(RecvError)));
    let _ = block_on(poll_once(&mut rx));
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn receiver_polled_after_try_recv_took_the_value_panics() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    let _ = block_on(poll_once(&mut rx));
}

#[test]
fn closed_future_resolves_when_receiver_drops() {
    let (tx, rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting_waker();
    let mut fut = tx.closed();
    assert_eq!(format!("{fut:?}"), "oneshot::ClosedFuture");
    assert!(poll_with(&mut fut, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut fut, &waker).is_ready());
}

#[test]
fn closed_future_resolves_on_close() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting_waker();
    let mut fut = tx.closed();
    assert!(poll_with(&mut fut, &waker).is_pending());
    rx.close();
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut fut, &waker).is_ready());
    drop(fut);
    assert!(
        block_on(poll_once(tx.closed())).is_some(),
        "already closed: ready at once"
    );
}

#[test]
fn closed_future_wakes_across_threads() {
    let (tx, rx) = oneshot::channel::<u8>();
    let (signal, pending) = mpsc::channel();
    let waiter = thread::spawn(move || {
        block_on(signal_pending(tx.closed(), signal));
        tx.is_closed()
    });
    pending.recv().unwrap();
    drop(rx);
    assert!(waiter.join().unwrap());
}

#[test]
fn debug_output() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(format!("{tx:?}"), "oneshot::Sender { closed: false }");
    assert_eq!(format!("{rx:?}"), "oneshot::Receiver { terminated: false }");
    rx.close();
    assert_eq!(format!("{tx:?}"), "oneshot::Sender { closed: true }");
    assert_eq!(format!("{rx:?}"), "oneshot::Receiver { terminated: true }");
}

#[test]
fn endpoints_move_to_other_threads() {
    let (tx, rx) = oneshot::channel::<String>();
    let (tx, rx) = thread::spawn(move || (tx, rx)).join().unwrap();
    tx.send(String::from("moved")).unwrap();
    assert_eq!(rx.recv().as_deref(), Ok("moved"));
}

#[test]
fn request_reply_round_trips_park_and_wake() {
    // A oneshot per request, answered by another thread: the receiver parks
    // (or its task waits) on almost every round.
    let n = if cfg!(miri) { 20 } else { 5_000 };
    let (req_tx, req_rx) = mpsc::channel::<(u32, oneshot::Sender<u32>)>();
    let server = thread::spawn(move || {
        for (v, reply) in req_rx {
            reply.send(v * 2).unwrap();
        }
    });
    for i in 0..n {
        let (reply, answer) = oneshot::channel();
        req_tx.send((i, reply)).unwrap();
        let got = if i % 2 == 0 {
            answer.recv()
        } else {
            block_on(answer)
        };
        assert_eq!(got, Ok(i * 2));
    }
    drop(req_tx);
    server.join().unwrap();
}

/// tokio's `Sender::poll_closed`: pending while the receiver wants the
/// value, woken and ready once it closes or drops.
#[test]
fn poll_closed_is_woken_by_the_receivers_close_or_drop() {
    use std::task::Context;

    for close in [true, false] {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(tx.poll_closed(&mut cx), Poll::Pending);
        assert_eq!(
            tx.poll_closed(&mut cx),
            Poll::Pending,
            "polled again: still pending"
        );
        if close {
            rx.close();
        } else {
            drop(rx);
        }
        assert_eq!(count.count(), 1, "woken once");
        assert_eq!(tx.poll_closed(&mut cx), Poll::Ready(()));
        assert!(tx.is_closed());
    }
    // A sender dropped while registered ends its registration.
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (_count, waker) = counting_waker();
    assert_eq!(
        tx.poll_closed(&mut Context::from_waker(&waker)),
        Poll::Pending
    );
    drop(tx);
    assert!(rx.is_terminated());
}
