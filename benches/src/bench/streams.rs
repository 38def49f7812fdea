//! Stream workloads: merging many streams, broadcasting to subscribers,
//! chunking with a timeout, and the backpressure avalanche's producer
//! waits, each against the peers' equivalents on a 2-worker tokio runtime.

use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use nimsync_stream::{Lagging, StageExt};

use super::workloads::{Sample, timed};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a 2-worker tokio runtime")
}

/// Which merge a [`merge8`] run uses.
#[derive(Debug, Clone, Copy)]
pub enum MergeKind {
    /// nimsync-stream's `merge`.
    Nimsync,
    /// tokio-stream's `StreamMap`.
    StreamMap,
    /// futures-util's `select_all`.
    SelectAll,
}

/// 8 producer tasks each send `n / 8` values into their own tokio mpsc
/// channel (capacity 256); one consumer merges the 8 `ReceiverStream`s and
/// counts. Only the merge differs between runs.
pub fn merge8(kind: MergeKind, n: u64) -> Sample {
    let rt = tokio_rt();
    let per = n / 8;
    timed(|| {
        rt.block_on(async {
            let mut streams = Vec::new();
            for p in 0..8u64 {
                let (tx, rx) = tokio::sync::mpsc::channel::<u64>(256);
                tokio::spawn(async move {
                    for i in 0..per {
                        tx.send(p * per + i).await.unwrap();
                    }
                });
                streams.push(tokio_stream::wrappers::ReceiverStream::new(rx));
            }
            let got = match kind {
                MergeKind::Nimsync => nimsync_stream::merge(streams).count().await,
                MergeKind::StreamMap => {
                    let mut map = tokio_stream::StreamMap::new();
                    for (k, s) in streams.into_iter().enumerate() {
                        map.insert(k, s);
                    }
                    map.count().await
                }
                MergeKind::SelectAll => futures_util::stream::select_all(streams).count().await,
            };
            assert_eq!(got as u64, per * 8, "{kind:?}: lost values");
        })
    })
}

/// Which broadcast a [`broadcast4`] run uses.
#[derive(Debug, Clone, Copy)]
pub enum BroadcastKind {
    /// nimsync-stream's `broadcast`, every subscriber `Lagging::Block`.
    Nimsync,
    /// async-broadcast (waits for room when full).
    AsyncBroadcast,
    /// tokio's `broadcast` (lossy: a subscriber that falls behind skips,
    /// and its skipped values count as received here).
    Tokio,
}

/// One publisher task sends `n` values to 4 subscriber tasks through a
/// broadcast of capacity 256; a message is one value sent (each reaches
/// all 4 subscribers, or counts as missed on tokio's).
pub fn broadcast4(kind: BroadcastKind, n: u64) -> Sample {
    let rt = tokio_rt();
    timed(|| {
        rt.block_on(async {
            let mut subs = Vec::new();
            match kind {
                BroadcastKind::Nimsync => {
                    let publisher = nimsync_stream::broadcast::<u64>(256);
                    for _ in 0..4 {
                        let mut sub = publisher.subscribe(Lagging::Block);
                        subs.push(tokio::spawn(async move {
                            let mut seen = 0u64;
                            while sub.recv_async().await.is_ok() {
                                seen += 1;
                            }
                            seen + sub.lagged()
                        }));
                    }
                    tokio::spawn(async move {
                        for i in 0..n {
                            publisher.send_async(i).await.unwrap();
                        }
                    });
                }
                BroadcastKind::AsyncBroadcast => {
                    let (tx, rx) = async_broadcast::broadcast::<u64>(256);
                    for _ in 0..4 {
                        let mut rx = rx.clone();
                        subs.push(tokio::spawn(async move {
                            let mut seen = 0u64;
                            while rx.recv().await.is_ok() {
                                seen += 1;
                            }
                            seen
                        }));
                    }
                    drop(rx);
                    tokio::spawn(async move {
                        for i in 0..n {
                            tx.broadcast(i).await.unwrap();
                        }
                    });
                }
                BroadcastKind::Tokio => {
                    let (tx, _) = tokio::sync::broadcast::channel::<u64>(256);
                    for _ in 0..4 {
                        let mut rx = tx.subscribe();
                        subs.push(tokio::spawn(async move {
                            use tokio::sync::broadcast::error::RecvError;
                            let mut seen = 0u64;
                            loop {
                                match rx.recv().await {
                                    Ok(_) => seen += 1,
                                    Err(RecvError::Lagged(k)) => seen += k,
                                    Err(RecvError::Closed) => break seen,
                                }
                            }
                        }));
                    }
                    tokio::spawn(async move {
                        for i in 0..n {
                            tx.send(i).unwrap();
                            if i % 256 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    });
                }
            }
            for s in subs {
                assert_eq!(s.await.unwrap(), n, "{kind:?}: a subscriber lost values");
            }
        })
    })
}

/// `n` values from a producer task through a tokio mpsc channel
/// (capacity 1024) into `chunks_timeout(64, 10 ms)`; a message is one
/// value. Only the chunking stage differs between runs.
pub fn chunks(nimsync: bool, n: u64) -> Sample {
    let rt = tokio_rt();
    timed(|| {
        rt.block_on(async {
            let (tx, rx) = tokio::sync::mpsc::channel::<u64>(1024);
            tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            let src = tokio_stream::wrappers::ReceiverStream::new(rx);
            let d = Duration::from_millis(10);
            let got: usize = if nimsync {
                StageExt::chunks_timeout(src, 64, d)
                    .map(|c| c.len())
                    .fold(0, |a, b| a + b)
                    .await
            } else {
                let chunks = tokio_stream::StreamExt::chunks_timeout(src, 64, d);
                futures_lite::StreamExt::fold(
                    futures_lite::StreamExt::map(std::pin::pin!(chunks), |c| c.len()),
                    0,
                    |a, b| a + b,
                )
                .await
            };
            assert_eq!(got as u64, n, "chunks: lost values");
        })
    })
}

/// The backpressure avalanche with `Block`: 4 producer threads send `n`
/// values in all into a 16-slot stage faster than one consumer thread
/// drains it; returns each send's wait (the producer's latency), sampled
/// every 16th send.
pub fn avalanche_waits(nimsync: bool, n: u64) -> Vec<Duration> {
    let per = n / 4;
    let handles: Vec<_> = if nimsync {
        let (tx, mut rx) = nimsync_stream::channel::<u64>(16, nimsync_stream::Overflow::Block);
        let ps: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut waits = Vec::new();
                    for i in 0..per {
                        let t = Instant::now();
                        tx.send(i).unwrap();
                        if i % 16 == 0 {
                            waits.push(t.elapsed());
                        }
                    }
                    waits
                })
            })
            .collect();
        drop(tx);
        let c = std::thread::spawn(move || {
            let mut got = 0u64;
            while rx.recv().is_ok() {
                got += 1;
            }
            got
        });
        assert_eq!(c.join().unwrap(), per * 4);
        ps
    } else {
        let (tx, rx) = kanal::bounded::<u64>(16);
        let ps: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut waits = Vec::new();
                    for i in 0..per {
                        let t = Instant::now();
                        tx.send(i).unwrap();
                        if i % 16 == 0 {
                            waits.push(t.elapsed());
                        }
                    }
                    waits
                })
            })
            .collect();
        drop(tx);
        let c = std::thread::spawn(move || {
            let mut got = 0u64;
            while rx.recv().is_ok() {
                got += 1;
            }
            got
        });
        assert_eq!(c.join().unwrap(), per * 4);
        ps
    };
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}
