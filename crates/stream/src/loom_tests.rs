//! loom models of the stream channel's conflation spill: its item handed
//! to a consumer that waits on an empty ring, and its close against a
//! conflating send. Run with `cargo xtask loom`.

use std::sync::atomic::{AtomicU32, Ordering};

use loom::sync::Arc;
use loom::thread;

use crate::{Builder, Overflow, SendError};

/// A producer fills a capacity-1 stage (one item in the ring, the next
/// spilled, the last folded) while the consumer waits asynchronously:
/// every value reaches the consumer, folded or not, and the wait ends.
#[test]
fn loom_spilled_item_wakes_the_waiting_consumer() {
    loom::model(|| {
        let (tx, mut rx) = Builder::new(1, Overflow::conflate(|a: &mut u32, b| *a += b)).build();
        let producer = thread::spawn(move || {
            for v in [1, 2, 4] {
                tx.send(v).unwrap();
            }
        });
        let mut got = Vec::new();
        let end = loom::future::block_on(async {
            loop {
                match rx.recv_async().await {
                    Ok(v) => got.push(v),
                    Err(e) => break e,
                }
            }
        });
        producer.join().unwrap();
        assert_eq!(
            got.iter().sum::<u32>(),
            7,
            "{got:?} {end:?} {:?}",
            rx.metrics()
        );
    });
}

/// The consumer goes away while a producer conflates: each value is
/// delivered, folded into one that is, handed to `on_undelivered`, or
/// handed back to the producer; none is counted twice.
#[test]
fn loom_receiver_drop_races_a_conflating_send() {
    loom::model(|| {
        let left = Arc::new(AtomicU32::new(0));
        let (tx, mut rx) = Builder::new(1, Overflow::conflate(|a: &mut u32, b| *a += b))
            .on_undelivered({
                let left = left.clone();
                move |v| {
                    left.fetch_add(v, Ordering::Relaxed);
                }
            })
            .build();
        tx.send(1).unwrap();
        tx.send(2).unwrap(); // spilled
        let producer = thread::spawn(move || match tx.send(4) {
            Ok(()) => 0,
            Err(SendError::Closed(v)) => v,
            Err(SendError::Overflowed(_)) => unreachable!("Conflate never fails"),
        });
        let got = rx.try_recv().unwrap_or(0);
        drop(rx);
        let back = producer.join().unwrap();
        assert_eq!(got + back + left.load(Ordering::Relaxed), 7);
    });
}

/// Two producers feed two merged stream channels while the merge waits:
/// each sub-stream's wake queues it once, and the merge sees both items
/// and both ends.
#[test]
fn loom_merge_sees_every_wake_of_its_streams() {
    loom::model(|| {
        let (tx1, rx1) = Builder::new(1, Overflow::Block).build();
        let (tx2, rx2) = Builder::new(1, Overflow::Block).build();
        let mut merged = crate::merge([rx1, rx2]);
        let t1 = thread::spawn(move || tx1.send(1u32).unwrap());
        let t2 = thread::spawn(move || tx2.send(2u32).unwrap());
        let mut sum = 0;
        loom::future::block_on(async {
            use futures_core::Stream;
            while let Some(v) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut merged).poll_next(cx)).await
            {
                sum += v;
            }
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sum, 3);
    });
}

/// A `Block` subscriber copies two items out of a full ring of two, then
/// hands them out without the lock while a send waits for room: the read
/// of the first must wake the send (the subscriber's fence and flag check
/// against the send's flag and fence).
#[test]
fn loom_broadcast_prefetched_read_wakes_a_waiting_send() {
    loom::model(|| {
        let publisher = crate::broadcast::<u32>(2);
        let mut all = publisher.subscribe(crate::Lagging::Block);
        publisher.try_send(1).unwrap();
        publisher.try_send(2).unwrap();
        let t = thread::spawn(move || {
            loom::future::block_on(publisher.send_async(3)).unwrap();
        });
        loom::future::block_on(async {
            for want in 1..=3 {
                assert_eq!(all.recv_async().await, Ok(want));
            }
            assert_eq!(all.recv_async().await, Err(crate::BroadcastError::Closed));
        });
        t.join().unwrap();
    });
}

/// A publisher sends two items through a ring of one to a `Block` and a
/// `DropOldest` subscriber: the first gets both (the second send waits for
/// it), the second gets or counts both.
#[test]
fn loom_broadcast_block_paces_and_drop_oldest_counts() {
    loom::model(|| {
        let publisher = crate::broadcast::<u32>(1);
        let mut all = publisher.subscribe(crate::Lagging::Block);
        let mut recent = publisher.subscribe(crate::Lagging::DropOldest);
        let t = thread::spawn(move || {
            loom::future::block_on(async {
                publisher.send_async(1).await.unwrap();
                publisher.send_async(2).await.unwrap();
            });
        });
        loom::future::block_on(async {
            assert_eq!(all.recv_async().await, Ok(1));
            assert_eq!(all.recv_async().await, Ok(2));
        });
        t.join().unwrap();
        let mut got = 0;
        while let Some(Ok(_)) = recent.try_recv() {
            got += 1;
        }
        assert_eq!(got + recent.lagged(), 2);
    });
}
