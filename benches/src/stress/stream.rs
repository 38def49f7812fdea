//! Stress tests of nimsync-stream: the backpressure avalanche of the
//! v0.1.0 report (bursty producers far faster than the consumer, into 16
//! slots) under every overflow policy, and rounds in which the consumer
//! goes away at random points. Each message is received, handed back to
//! its producer, dropped by the policy or left undelivered, exactly once,
//! and the stage's counters agree with the ledger.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

use futures_lite::StreamExt;
use nimsync_stream::{BroadcastError, Builder, Lagging, Metrics, Overflow, SendError, broadcast};

use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("stream-avalanche-block", 240, |s| {
            avalanche(s, Policy::Block)
        }),
        Test::new("stream-avalanche-drop-oldest", 240, |s| {
            avalanche(s, Policy::DropOldest)
        }),
        Test::new("stream-avalanche-drop-newest", 240, |s| {
            avalanche(s, Policy::DropNewest)
        }),
        Test::new("stream-avalanche-drop-buffer", 240, |s| {
            avalanche(s, Policy::DropBuffer)
        }),
        Test::new("stream-avalanche-fail", 240, |s| avalanche(s, Policy::Fail)),
        Test::new("stream-avalanche-conflate", 240, |s| {
            avalanche(s, Policy::Conflate)
        }),
        Test::new("stream-consumer-leaves", 240, consumer_leaves),
        Test::new("stream-broadcast", 240, broadcast_rounds),
    ]
}

/// An item: one tracked message, or several folded by `Conflate`.
type Item = Vec<Tracked>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Block,
    DropOldest,
    DropNewest,
    DropBuffer,
    Fail,
    Conflate,
}

const POLICIES: [Policy; 6] = [
    Policy::Block,
    Policy::DropOldest,
    Policy::DropNewest,
    Policy::DropBuffer,
    Policy::Fail,
    Policy::Conflate,
];

impl Policy {
    fn overflow(self) -> Overflow<Item> {
        match self {
            Policy::Block => Overflow::Block,
            Policy::DropOldest => Overflow::DropOldest,
            Policy::DropNewest => Overflow::DropNewest,
            Policy::DropBuffer => Overflow::DropBuffer,
            Policy::Fail => Overflow::Fail,
            Policy::Conflate => Overflow::conflate(|newest: &mut Item, new| newest.extend(new)),
        }
    }
}

/// What the hooks saw: calls (items) and the messages in them.
#[derive(Debug, Default)]
struct Hooks {
    dropped_items: AtomicUsize,
    dropped_msgs: AtomicUsize,
    undelivered_items: AtomicUsize,
    undelivered_msgs: AtomicUsize,
}

/// One run: `producers` bursty producers of `per` messages each into a
/// 16-slot stage, and a consumer that spins a little per item, alternates
/// blocking and async receives, and stops after `take` items (all if
/// `None`), closes the stage, and drops it once the producers are done.
/// Checks the ledger against the hooks and the stage's counters; returns
/// the counters read just before the drop.
fn run(policy: Policy, producers: usize, per: usize, take: Option<usize>, seed: u64) -> Metrics {
    let total = producers * per;
    let ledger = Ledger::new(total);
    let hooks = Arc::new(Hooks::default());
    let overflowed = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = Builder::new(16, policy.overflow())
        .on_drop({
            let hooks = hooks.clone();
            move |item: Item, _| {
                hooks.dropped_items.fetch_add(1, Ordering::Relaxed);
                hooks.dropped_msgs.fetch_add(item.len(), Ordering::Relaxed);
            }
        })
        .on_undelivered({
            let hooks = hooks.clone();
            move |item| {
                hooks.undelivered_items.fetch_add(1, Ordering::Relaxed);
                hooks
                    .undelivered_msgs
                    .fetch_add(item.len(), Ordering::Relaxed);
            }
        })
        .build();
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, ledger, overflowed) = (tx.clone(), ledger.clone(), overflowed.clone());
            let mut rng = Rng::new(seed ^ ((p as u64 + 1) * 0x9e37));
            thread::spawn(move || {
                let mut next = p * per;
                let end = (p + 1) * per;
                while next < end {
                    // A burst, sent as fast as the policy lets it, then a
                    // pause of a few yields.
                    let burst = rng.range(1, 512).min(end - next);
                    for id in next..next + burst {
                        let item = vec![ledger.make(id)];
                        let sent = if id % 2 == 0 {
                            tx.send(item)
                        } else {
                            futures_lite::future::block_on(tx.send_async(item))
                        };
                        match sent {
                            Ok(()) => {}
                            Err(SendError::Overflowed(item)) => {
                                overflowed.fetch_add(1, Ordering::Relaxed);
                                item.into_iter().for_each(|m| ledger.give_back(m));
                            }
                            Err(SendError::Closed(item)) => {
                                // Closed for good: the rest is handed back
                                // unsent.
                                item.into_iter().for_each(|m| ledger.give_back(m));
                                for id in id + 1..end {
                                    ledger.give_back(ledger.make(id));
                                }
                                return;
                            }
                        }
                    }
                    next += burst;
                    for _ in 0..rng.range(0, 4) {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let limit = take.unwrap_or(usize::MAX);
    let mut taken = 0u64;
    while taken < limit as u64 {
        let got = if taken % 2 == 0 {
            rx.recv().ok()
        } else {
            futures_lite::future::block_on(rx.next())
        };
        let Some(item) = got else { break };
        for m in item {
            ledger.take(m);
        }
        taken += 1;
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
    rx.close();
    ps.into_iter().for_each(|p| p.join().unwrap());
    // The stage is quiet now: its counters balance exactly.
    let m = rx.metrics();
    drop(rx);
    let (_, _, buf) = ledger.assert_conserved(total);
    let h = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    assert_eq!(
        buf,
        h(&hooks.dropped_msgs) + h(&hooks.undelivered_msgs),
        "{policy:?}: a message neither received nor handed back must have reached a hook"
    );
    assert_eq!(m.delivered, taken, "{policy:?}: delivered");
    assert_eq!(
        m.dropped(),
        h(&hooks.dropped_items) as u64,
        "{policy:?}: drops"
    );
    assert_eq!(
        m.depth,
        h(&hooks.undelivered_items),
        "{policy:?}: undelivered"
    );
    assert_eq!(m.rejected, h(&overflowed) as u64, "{policy:?}: rejected");
    assert_eq!(
        m.offered,
        m.delivered + m.dropped() + m.conflated + m.rejected + m.depth as u64,
        "{policy:?}: {m:?}"
    );
    match policy {
        Policy::Block => assert_eq!(m.dropped(), 0, "Block never drops"),
        Policy::DropOldest => assert_eq!(m.dropped(), m.dropped_oldest),
        Policy::DropNewest => assert_eq!(m.dropped(), m.dropped_newest),
        Policy::DropBuffer => assert_eq!(m.dropped(), m.dropped_buffer),
        Policy::Fail => assert!(m.rejected <= producers as u64 && m.dropped() == 0),
        Policy::Conflate => assert_eq!(m.dropped(), 0),
    }
    let spill = usize::from(policy == Policy::Conflate);
    assert!(
        m.high_water <= 16 + spill,
        "{policy:?}: 16 slots (and one being conflated), high water {}",
        m.high_water
    );
    m
}

/// The avalanche: four bursty producers into 16 slots, a consumer that
/// takes everything it is given.
fn avalanche(size: Size, policy: Policy) -> String {
    let per = size.pick(100_000, 2_500_000);
    let start = Instant::now();
    let m = run(policy, 4, per, None, 0xa1a + policy as u64);
    let elapsed = start.elapsed();
    format!(
        "{} msgs offered, {} delivered, {} dropped, {} conflated, {} rejected, high water {}, {}",
        m.offered,
        m.delivered,
        m.dropped(),
        m.conflated,
        m.rejected,
        m.high_water,
        rate(4 * per, elapsed)
    )
}

/// Rounds of every policy in which the consumer goes away after a random
/// number of items, with producers still sending.
fn consumer_leaves(size: Size) -> String {
    let rounds = size.pick(300, 6_000);
    let mut rng = Rng::new(0x5eed);
    let (mut delivered, mut undelivered) = (0, 0);
    for round in 0..rounds {
        let policy = POLICIES[round % POLICIES.len()];
        let take = rng.range(0, 3_000);
        let m = run(policy, 3, 1_000, Some(take), rng.next_u64());
        delivered += m.delivered;
        undelivered += m.depth as u64;
    }
    format!(
        "{rounds} rounds, every message accounted for: {delivered} delivered, \
         {undelivered} left undelivered in the stage"
    )
}

/// Rounds of a broadcast through a small ring (1 to 16 items) from a
/// publisher thread to three `Block` subscribers (one leaves at a random
/// point) and a `DropOldest` one, each on its own thread: a `Block`
/// subscriber gets every item in order, the one that leaves a prefix in
/// order, and the lossy one, in order, every item it does not count as
/// missed. The publisher never waits for a subscriber that has left.
fn broadcast_rounds(size: Size) -> String {
    let rounds = size.pick(20, 100);
    let n = size.pick(2_000, 10_000) as u64;
    let mut rng = Rng::new(0xb40a);
    let (mut blocked_reads, mut missed) = (0u64, 0u64);
    for _ in 0..rounds {
        let capacity = rng.range(1, 16);
        let leave_after = rng.range(0, n as usize - 1) as u64;
        let publisher = broadcast::<u64>(capacity);
        let stayers: Vec<_> = (0..2)
            .map(|_| {
                let mut sub = publisher.subscribe(Lagging::Block);
                thread::spawn(move || {
                    let mut next = 0;
                    loop {
                        match sub.recv() {
                            Ok(v) => {
                                assert_eq!(v, next, "a Block subscriber got an item out of order");
                                next += 1;
                            }
                            Err(BroadcastError::Closed) => break next,
                            Err(e) => panic!("a Block subscriber ended with {e:?}"),
                        }
                    }
                })
            })
            .collect();
        let mut leaver = publisher.subscribe(Lagging::Block);
        let leaver = thread::spawn(move || {
            for want in 0..leave_after {
                assert_eq!(leaver.recv(), Ok(want), "the leaving subscriber's prefix");
            }
            leave_after
        });
        let mut lossy = publisher.subscribe(Lagging::DropOldest);
        let lossy = thread::spawn(move || {
            let (mut got, mut last) = (0u64, None::<u64>);
            while let Ok(v) = lossy.recv() {
                assert!(last.is_none_or(|l| l < v), "a lossy subscriber went back");
                last = Some(v);
                got += 1;
            }
            (got, lossy.lagged())
        });
        for i in 0..n {
            publisher.send(i).expect("a broadcast send does not fail");
        }
        drop(publisher);
        for s in stayers {
            assert_eq!(
                s.join().expect("subscriber"),
                n,
                "a Block subscriber missed items"
            );
            blocked_reads += n;
        }
        blocked_reads += leaver.join().expect("leaver");
        let (got, lagged) = lossy.join().expect("lossy subscriber");
        assert_eq!(got + lagged, n, "the lossy subscriber's items and misses");
        missed += lagged;
    }
    format!(
        "{rounds} rounds of {n} items: {blocked_reads} read by Block subscribers, \
         every one in order; the DropOldest subscriber counted {missed} missed"
    )
}
