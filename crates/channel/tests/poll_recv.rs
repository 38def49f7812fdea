//! `mpmc::Receiver::poll_recv` and `poll_recv_many`, tokio's polling
//! receives for hand-written futures and streams: pending until a value
//! may be there (and then woken), `None` / 0 once closed and drained, and
//! a receiver dropped while registered passes its wake-up on.

mod common;

use std::task::{Context, Poll};
use std::time::Duration;

use common::counting_waker as counting;
use nimsync_channel::mpmc;

#[test]
fn pending_until_a_send_wakes_it_on_every_flavor() {
    for (tx, mut rx) in [mpmc::channel::<u32>(2), mpmc::unbounded()] {
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
        assert_eq!(count.count(), 0);
        tx.send(4).unwrap();
        assert!(count.count() >= 1, "the send woke the poller");
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(4)));
        tx.send(5).unwrap();
        drop(tx);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(5)), "drained first");
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None), "and stays closed");
    }
}

#[test]
fn a_rendezvous_sender_waiting_is_taken_by_a_poll() {
    let (tx, mut rx) = mpmc::channel::<u32>(0);
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    let t = std::thread::spawn(move || tx.send(9));
    // The sender waits for a receiver: the poller's registration is one,
    // and it is woken for the offer.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiting sender never woke the poller"
        );
        std::thread::yield_now();
    }
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(9)));
    assert_eq!(t.join().unwrap(), Ok(()));
}

#[test]
fn poll_recv_many_takes_up_to_the_limit_and_ends_with_zero() {
    let (tx, mut rx) = mpmc::channel::<u32>(8);
    let (_count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut buf = vec![0];
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Pending);
    tx.send_iter(1..=5).unwrap();
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(4));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 0), Poll::Ready(0));
    drop(tx);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(1));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(0));
    assert_eq!(buf, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_receiver_dropped_while_registered_passes_its_wake_up_on() {
    let (tx, mut rx) = mpmc::channel::<u32>(4);
    let rx2 = rx.clone();
    let (_count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    let blocked = std::thread::spawn(move || rx2.recv_timeout(Duration::from_secs(30)));
    // The send may claim the polled receiver's registration; dropping it
    // must hand that wake-up to the blocked thread, or the thread would
    // sleep out its timeout with the value buffered.
    tx.send(3).unwrap();
    drop(rx);
    assert_eq!(blocked.join().unwrap(), Ok(3));
}

#[test]
fn the_last_waker_polled_is_the_one_woken() {
    let (tx, mut rx) = mpmc::channel::<u32>(1);
    let (first, w1) = counting();
    let (second, w2) = counting();
    assert_eq!(rx.poll_recv(&mut Context::from_waker(&w1)), Poll::Pending);
    assert_eq!(rx.poll_recv(&mut Context::from_waker(&w2)), Poll::Pending);
    tx.send(1).unwrap();
    assert_eq!(second.count(), 1);
    assert_eq!(first.count(), 0);
}
