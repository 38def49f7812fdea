//! `mpmc::Receiver::recv_many_async`, tokio's `recv_many`, on every MPMC
//! flavor: it waits for the first value, takes what is buffered up to the
//! limit, ends with an error once closed and drained, and loses nothing
//! when dropped while waiting.

use std::time::Duration;

use futures_core::FusedFuture;
use futures_lite::future::{block_on, poll_once};
use nimsync_channel::mpmc;

#[test]
fn waits_for_the_first_value_then_takes_up_to_the_limit() {
    for (tx, rx) in [mpmc::channel::<u32>(8), mpmc::unbounded()] {
        let mut buf = vec![100];
        block_on(async {
            let mut fut = rx.recv_many_async(&mut buf, 3);
            assert!(poll_once(&mut fut).await.is_none(), "empty: pending");
            assert!(!fut.is_terminated());
            let t = std::thread::spawn({
                let tx = tx.clone();
                move || tx.send_iter(0..5).unwrap()
            });
            let n = fut.await.unwrap();
            t.join().unwrap();
            assert!((1..=3).contains(&n), "took {n}");
        });
        let first = buf.len() - 1;
        assert_eq!(buf[0], 100, "appends, never clears");
        let mut rest = Vec::new();
        while rest.len() + first < 5 {
            block_on(rx.recv_many_async(&mut rest, 3)).unwrap();
        }
        buf.extend(rest);
        assert_eq!(buf, [100, 0, 1, 2, 3, 4], "in order, each once");
        assert_eq!(block_on(rx.recv_many_async(&mut buf, 0)), Ok(0));
        drop(tx);
        assert!(block_on(rx.recv_many_async(&mut buf, 3)).is_err());
        assert_eq!(buf.len(), 6, "a closed channel adds nothing");
    }
}

#[test]
fn values_sent_before_the_close_are_received_first() {
    let (tx, rx) = mpmc::channel(4);
    tx.send_iter([7, 8]).unwrap();
    tx.close();
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many_async(&mut buf, 10)), Ok(2));
    assert_eq!(buf, [7, 8]);
    assert!(block_on(rx.recv_many_async(&mut buf, 10)).is_err());
}

#[test]
fn dropping_a_waiting_future_loses_nothing_and_passes_the_wake_on() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let rx2 = rx.clone();
    let waiter = std::thread::spawn(move || rx2.recv_timeout(Duration::from_secs(30)));
    let mut buf = Vec::new();
    block_on(async {
        let mut fut = rx.recv_many_async(&mut buf, 4);
        assert!(poll_once(&mut fut).await.is_none());
        // Registered; a send may wake it, and dropping it must hand the
        // wake-up to the blocked thread rather than swallow it.
        tx.send(1).unwrap();
        drop(fut);
    });
    // The value can only reach the blocked thread: if the dropped future
    // swallowed the wake-up, the thread sleeps out its timeout instead.
    assert_eq!(waiter.join().unwrap(), Ok(1));
    assert!(buf.is_empty(), "a dropped future moved nothing");
    assert!(rx.is_empty());
}

#[test]
fn takes_a_waiting_senders_value_on_a_rendezvous_channel() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let t = std::thread::spawn(move || tx.send(5));
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many_async(&mut buf, 4)), Ok(1));
    assert_eq!(buf, [5]);
    assert_eq!(t.join().unwrap(), Ok(()));
    assert!(block_on(rx.recv_many_async(&mut buf, 4)).is_err());
}
