//! The concurrency-limited stages: they fill up to the limit, keep order
//! (or not), refuse a limit of 0, and the spawned one runs its futures
//! while the consumer does something else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::future::{block_on, poll_once};
use futures_lite::{StreamExt, stream};
use nimsync_channel::oneshot;
use nimsync_stream::StageExt;

/// `n` futures that finish when their oneshot is sent, and the senders.
fn gated(n: usize) -> (Vec<oneshot::Sender<u32>>, Vec<oneshot::Receiver<u32>>) {
    (0..n).map(|_| oneshot::channel()).unzip()
}

#[test]
fn concurrent_fills_to_its_limit_and_keeps_the_upstream_order() {
    let (txs, rxs) = gated(6);
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let mut s = stream::iter(rxs)
        .map(move |rx| {
            counter.fetch_add(1, Ordering::Relaxed);
            async move { rx.await.unwrap() }
        })
        .concurrent(3);
    block_on(async {
        assert!(poll_once(s.next()).await.is_none());
        assert_eq!(started.load(Ordering::Relaxed), 3, "fills to the limit");
        assert_eq!(s.in_flight(), 3);
        let mut txs = txs.into_iter();
        let (a, b, c) = (
            txs.next().unwrap(),
            txs.next().unwrap(),
            txs.next().unwrap(),
        );
        c.send(3).unwrap();
        b.send(2).unwrap();
        assert!(
            poll_once(s.next()).await.is_none(),
            "the oldest is not done"
        );
        a.send(1).unwrap();
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.next().await, Some(2));
        assert_eq!(s.next().await, Some(3));
        for (i, tx) in txs.enumerate() {
            tx.send(4 + i as u32).unwrap();
        }
        let rest: Vec<u32> = (&mut s).collect().await;
        assert_eq!(rest, [4, 5, 6]);
    });
}

#[test]
fn concurrent_unordered_yields_as_they_finish() {
    let (txs, rxs) = gated(4);
    let mut s = stream::iter(rxs)
        .map(|rx| async move { rx.await.unwrap() })
        .concurrent_unordered(4);
    block_on(async {
        assert!(poll_once(s.next()).await.is_none());
        assert_eq!(s.in_flight(), 4);
        let mut txs: Vec<_> = txs.into_iter().map(Some).collect();
        for i in [2, 0, 3, 1] {
            txs[i].take().unwrap().send(i as u32).unwrap();
            assert_eq!(s.next().await, Some(i as u32));
        }
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn the_spawned_stage_runs_its_futures_while_the_consumer_is_busy() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawn = move |fut: futures_lite::future::Ready<u32>| {
        let done = done_tx.clone();
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            let v = block_on(fut);
            done.send(v).unwrap();
            tx.send(v).ok();
        });
        async move { rx.await.unwrap() }
    };
    let mut s = stream::iter(0..4u32)
        .map(futures_lite::future::ready)
        .concurrent_spawned(4, spawn);
    block_on(async {
        assert_eq!(s.next().await, Some(0));
        // The consumer is busy elsewhere: the other three still finish.
        let mut finished: Vec<u32> = (0..4).map(|_| done_rx.recv().unwrap()).collect();
        finished.sort_unstable();
        assert_eq!(finished, [0, 1, 2, 3]);
        let rest: Vec<u32> = (&mut s).collect().await;
        assert_eq!(rest, [1, 2, 3]);
    });
}

#[test]
fn a_limit_of_zero_panics_with_advice() {
    let msg = |f: fn()| {
        let e = std::panic::catch_unwind(f).unwrap_err();
        e.downcast_ref::<&str>().unwrap().to_string()
    };
    assert!(
        msg(|| drop(stream::iter([futures_lite::future::ready(1)]).concurrent(0)))
            .contains("at least 1")
    );
    assert!(
        msg(|| drop(stream::iter([futures_lite::future::ready(1)]).concurrent_unordered(0)))
            .contains("at least 1")
    );
}

#[test]
fn concurrent_unordered_takes_more_work_after_the_consumer_awaits_elsewhere() {
    // Between items the consumer awaits something that uses up the wake
    // the stage gave itself: the next poll must still take the next
    // future rather than wait for a wake-up nobody will send.
    let mut s = stream::iter(0..20u32)
        .map(futures_lite::future::ready)
        .concurrent_unordered(1);
    let got: Vec<u32> = block_on(async {
        let mut got = Vec::new();
        while let Some(v) = s.next().await {
            got.push(v);
            futures_lite::future::yield_now().await;
        }
        got
    });
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}
