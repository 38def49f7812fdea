//! Producers on threads, one consumer, every policy: each item is
//! delivered, dropped, handed back or left undelivered exactly once, with
//! the consumer going away at arbitrary points.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;

use futures_lite::StreamExt;
use nimsync_stream::{Builder, Overflow, RecvError, SendError};

const PRODUCERS: usize = 4;
const PER_PRODUCER: usize = if cfg!(miri) { 50 } else { 20_000 };

/// How many times each item was accounted for.
struct Ledger(Vec<AtomicU8>);

impl Ledger {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Self((0..n).map(|_| AtomicU8::new(0)).collect()))
    }

    fn settle(&self, items: &[u32]) {
        for &id in items {
            self.0[id as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn assert_each_once(&self) {
        for (id, n) in self.0.iter().enumerate() {
            assert_eq!(
                n.load(Ordering::Relaxed),
                1,
                "item {id} accounted for {n:?} times"
            );
        }
    }
}

fn overflows() -> Vec<Overflow<Vec<u32>>> {
    vec![
        Overflow::Block,
        Overflow::DropOldest,
        Overflow::DropNewest,
        Overflow::DropBuffer,
        Overflow::Fail,
        Overflow::conflate(|newest: &mut Vec<u32>, new| newest.extend(new)),
    ]
}

/// Runs producers against a consumer that takes `take` items (or all)
/// then drops the receiver.
fn run(overflow: Overflow<Vec<u32>>, take: Option<usize>, async_side: bool) {
    let total = PRODUCERS * PER_PRODUCER;
    let ledger = Ledger::new(total);
    let (tx, mut rx) = Builder::new(16, overflow.clone())
        .on_drop({
            let ledger = ledger.clone();
            move |item: Vec<u32>, _| ledger.settle(&item)
        })
        .on_undelivered({
            let ledger = ledger.clone();
            move |item| ledger.settle(&item)
        })
        .build();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            let ledger = ledger.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let item = vec![(p * PER_PRODUCER + i) as u32];
                    let sent = if async_side {
                        futures_lite::future::block_on(tx.send_async(item))
                    } else {
                        tx.send(item)
                    };
                    if let Err(e) = sent {
                        let closed = matches!(e, SendError::Closed(_));
                        ledger.settle(&e.into_inner());
                        if closed {
                            // Every later send would be refused the same way.
                            for j in i + 1..PER_PRODUCER {
                                ledger.settle(&[(p * PER_PRODUCER + j) as u32]);
                            }
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut taken = 0;
    let limit = take.unwrap_or(usize::MAX);
    let end = loop {
        if taken == limit {
            break None;
        }
        let next = if async_side {
            futures_lite::future::block_on(rx.recv_async())
        } else {
            rx.recv()
        };
        match next {
            Ok(item) => {
                ledger.settle(&item);
                taken += 1;
            }
            Err(e) => break Some(e),
        }
    };
    let metrics_before_drop = rx.metrics();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    ledger.assert_each_once();
    if take.is_none() {
        assert_eq!(metrics_before_drop.delivered, taken as u64);
        match overflow {
            Overflow::Fail => assert!(end.is_some()),
            Overflow::Block => {
                assert_eq!(end, Some(RecvError::Closed));
                assert_eq!(taken, total, "Block never drops");
                assert_eq!(metrics_before_drop.dropped(), 0);
            }
            _ => assert_eq!(end, Some(RecvError::Closed)),
        }
    }
}

#[test]
fn every_policy_accounts_for_every_item_when_drained() {
    for overflow in overflows() {
        run(overflow.clone(), None, false);
        run(overflow, None, true);
    }
}

#[test]
fn every_policy_accounts_for_every_item_when_the_consumer_leaves_early() {
    for (i, overflow) in overflows().into_iter().enumerate() {
        for take in [0, 1, 17, 500 + 997 * i] {
            run(overflow.clone(), Some(take), take % 2 == 1);
        }
    }
}

#[test]
fn fail_ends_the_stream_after_the_items_held() {
    let (tx, mut rx) = Builder::new(4, Overflow::Fail).build();
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    assert_eq!(tx.send(4), Err(SendError::Overflowed(4)));
    assert_eq!(tx.send(5), Err(SendError::Closed(5)));
    let got: Vec<i32> = futures_lite::future::block_on((&mut rx).collect());
    assert_eq!(got, [0, 1, 2, 3]);
    assert_eq!(rx.recv(), Err(RecvError::Overflowed));
    let m = rx.metrics();
    assert_eq!((m.offered, m.delivered, m.rejected), (5, 4, 1));
}

#[test]
fn a_blocked_async_send_is_woken_by_the_consumer_and_can_be_cancelled() {
    let (tx, mut rx) = Builder::new(1, Overflow::Block).build();
    tx.send(1).unwrap();
    let mut fut = tx.send_async(2);
    let waited = futures_lite::future::block_on(futures_lite::future::poll_once(&mut fut));
    assert!(waited.is_none());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(futures_lite::future::block_on(&mut fut), Ok(()));
    assert_eq!(fut.cancel(), None);
    let mut fut = tx.send_async(3);
    assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut fut)).is_none());
    assert_eq!(fut.cancel(), Some(3));
    drop(fut);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.metrics().offered, 2);
}

#[test]
fn a_conflated_item_wakes_a_waiting_consumer() {
    // The consumer waits on an empty stage; a producer fills it and spills
    // one item; every item arrives, folded or not.
    for _ in 0..200 {
        let (tx, mut rx) = Builder::new(1, Overflow::conflate(|a: &mut u64, b| *a += b)).build();
        let producer = thread::spawn(move || {
            for i in 1..=100u64 {
                tx.send(i).unwrap();
            }
        });
        let mut sum = 0;
        while let Ok(v) = rx.recv() {
            sum += v;
        }
        producer.join().unwrap();
        assert_eq!(sum, 5050);
    }
}
