//! nimsync-stream under nimsync's runtime and under tokio: producers and a
//! consumer as tasks, the consumer's stream dropped at random points;
//! delivered + dropped (counted) + handed back + left undelivered = sent,
//! for every policy.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_lite::StreamExt;
use nimsync_stream::{Builder, Overflow, SendError, StageExt};

/// The counts of one run.
#[derive(Default)]
struct Tally {
    delivered: AtomicU64,
    dropped: AtomicU64,
    handed_back: AtomicU64,
    undelivered: AtomicU64,
}

impl Tally {
    fn total(&self) -> u64 {
        [
            &self.delivered,
            &self.dropped,
            &self.handed_back,
            &self.undelivered,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

fn overflows() -> Vec<Overflow<Vec<u64>>> {
    vec![
        Overflow::Block,
        Overflow::DropOldest,
        Overflow::DropNewest,
        Overflow::DropBuffer,
        Overflow::Fail,
        Overflow::conflate(|a: &mut Vec<u64>, b| a.extend(b)),
    ]
}

const PRODUCERS: u64 = 3;
const PER: u64 = 2_000;

/// One run: producer tasks spawned with `spawn`, the consumer awaited by
/// the caller; the consumer stops after `take` items (it passes them
/// through a `buffer` stage for half the runs) and drops its stream.
async fn run<J: Future<Output = ()>>(
    overflow: Overflow<Vec<u64>>,
    take: usize,
    through_buffer: bool,
    spawn: impl Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> J,
) {
    let tally = Arc::new(Tally::default());
    let (tx, rx) = Builder::new(8, overflow)
        .on_drop({
            let t = tally.clone();
            move |item: Vec<u64>, _| {
                t.dropped.fetch_add(item.len() as u64, Ordering::Relaxed);
            }
        })
        .on_undelivered({
            let t = tally.clone();
            move |item| {
                t.undelivered
                    .fetch_add(item.len() as u64, Ordering::Relaxed);
            }
        })
        .build();
    let mut joins = Vec::new();
    for _ in 0..PRODUCERS {
        let (tx, t) = (tx.clone(), tally.clone());
        joins.push(spawn(Box::pin(async move {
            for i in 0..PER {
                match tx.send_async(vec![i]).await {
                    Ok(()) => {}
                    Err(SendError::Overflowed(v)) => {
                        t.handed_back.fetch_add(v.len() as u64, Ordering::Relaxed);
                    }
                    Err(SendError::Closed(v)) => {
                        t.handed_back
                            .fetch_add(v.len() as u64 + PER - 1 - i, Ordering::Relaxed);
                        return;
                    }
                }
                if i % 64 == 0 {
                    futures_lite::future::yield_now().await;
                }
            }
        })));
    }
    drop(tx);
    let count = |items: &mut u64, item: Vec<u64>| *items += item.len() as u64;
    let mut items = 0;
    if through_buffer {
        // The buffer's own undelivered items go to the same tally.
        let t = tally.clone();
        let mut s = rx
            .buffer(4, Overflow::Block)
            .on_undelivered(move |item: Vec<u64>| {
                t.undelivered
                    .fetch_add(item.len() as u64, Ordering::Relaxed);
            })
            .take(take);
        while let Some(item) = s.next().await {
            count(&mut items, item);
        }
    } else {
        let mut s = rx.take(take);
        while let Some(item) = s.next().await {
            count(&mut items, item);
        }
    }
    tally.delivered.fetch_add(items, Ordering::Relaxed);
    for j in joins {
        j.await;
    }
    assert_eq!(
        tally.total(),
        PRODUCERS * PER,
        "take {take}, buffer {through_buffer}"
    );
}

/// Where the consumer stops: a fixed spread over 0 .. 3,000 items (more
/// than any policy but `Block` delivers), with and without the buffer.
fn takes() -> impl Iterator<Item = (usize, bool)> {
    (0..12u64)
        .map(|i| ((i * 7919 + 13) % 3_000) as usize)
        .zip([true, false].into_iter().cycle())
}

#[test]
fn every_policy_accounts_for_every_item_under_nimsync() {
    let rt = nimsync_scheduler::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for overflow in overflows() {
        for (take, buffer) in takes() {
            rt.block_on(run(overflow.clone(), take, buffer, |f| {
                let h = nimsync_scheduler::spawn(f);
                async move { h.await.unwrap() }
            }));
        }
    }
}

#[test]
fn every_policy_accounts_for_every_item_under_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for overflow in overflows() {
        for (take, buffer) in takes() {
            rt.block_on(run(overflow.clone(), take, buffer, |f| {
                let h = tokio::spawn(f);
                async move { h.await.unwrap() }
            }));
        }
    }
}
