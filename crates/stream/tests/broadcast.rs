//! The broadcast under threads: each subscriber's policy holds, and every
//! item is either received or counted as missed, by every subscriber.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use nimsync_stream::{BroadcastError, Lagging, broadcast};

const N: u64 = 20_000;

#[test]
fn every_policy_receives_or_counts_every_item() {
    let publisher = broadcast::<u64>(16);
    let policies = [
        Lagging::Block,
        Lagging::DropOldest,
        Lagging::Conflate,
        Lagging::Disconnect(50),
    ];
    let subs: Vec<_> = policies
        .iter()
        .map(|&lagging| {
            let mut sub = publisher.subscribe(lagging);
            thread::spawn(move || {
                let mut got = Vec::new();
                let end = loop {
                    match sub.recv() {
                        Ok(v) => got.push(v),
                        Err(e) => break e,
                    }
                    if got.len() % 1000 == 0 {
                        thread::yield_now();
                    }
                };
                (lagging, got, sub.lagged(), end)
            })
        })
        .collect();
    for i in 0..N {
        publisher.send(i).unwrap();
    }
    drop(publisher);
    for s in subs {
        let (lagging, got, lagged, end) = s.join().unwrap();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{lagging:?}: in order");
        match lagging {
            Lagging::Block => {
                assert_eq!(got, (0..N).collect::<Vec<_>>());
                assert_eq!((lagged, end), (0, BroadcastError::Closed));
            }
            Lagging::DropOldest | Lagging::Conflate => {
                assert_eq!(got.len() as u64 + lagged, N, "{lagging:?}");
                assert_eq!(
                    got.last(),
                    Some(&(N - 1)),
                    "{lagging:?}: the newest arrives"
                );
                assert_eq!(end, BroadcastError::Closed);
            }
            Lagging::Disconnect(limit) => match end {
                BroadcastError::Closed => {
                    assert!(lagged <= limit);
                    assert_eq!(got.len() as u64 + lagged, N);
                }
                BroadcastError::Disconnected { lagged: l } => {
                    assert_eq!(l, lagged);
                    assert!(lagged > limit);
                }
            },
        }
    }
}

#[test]
fn a_block_subscriber_paces_the_publisher_and_its_drop_releases_it() {
    let publisher = broadcast::<u32>(2);
    let slow = publisher.subscribe(Lagging::Block);
    publisher.try_send(1).unwrap();
    publisher.try_send(2).unwrap();
    assert_eq!(publisher.try_send(3), Err(3));
    let waiting = {
        let publisher = publisher.clone();
        thread::spawn(move || publisher.send(3))
    };
    drop(slow);
    assert_eq!(waiting.join().unwrap(), Ok(()));
}

/// A waker that counts its wake-ups.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn each_read_of_a_block_subscriber_frees_its_slot_at_once() {
    // The subscriber copies items out of the ring in batches, yet a send
    // sees every single read: the ring never holds back more than its
    // capacity, and never less.
    let publisher = broadcast::<u32>(2);
    let mut sub = publisher.subscribe(Lagging::Block);
    publisher.try_send(1).unwrap();
    publisher.try_send(2).unwrap();
    assert_eq!(publisher.try_send(3), Err(3));
    assert_eq!(sub.try_recv(), Some(Ok(1)));
    assert_eq!(publisher.try_send(3), Ok(()));
    assert_eq!(publisher.try_send(4), Err(4));
    assert_eq!(sub.try_recv(), Some(Ok(2)));
    assert_eq!(publisher.try_send(4), Ok(()));
    assert_eq!(sub.try_recv(), Some(Ok(3)));
    assert_eq!(sub.try_recv(), Some(Ok(4)));
    assert_eq!(sub.try_recv(), None);
    drop(publisher);
    assert_eq!(sub.try_recv(), Some(Err(BroadcastError::Closed)));
}

#[test]
fn a_waiting_send_is_woken_by_a_read_of_a_prefetched_item() {
    let publisher = broadcast::<u32>(3);
    let mut sub = publisher.subscribe(Lagging::Block);
    for i in 0..3 {
        publisher.try_send(i).unwrap();
    }
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(publisher.send_async(3));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
    // The first read copies all three items out; the send waits for the
    // first to be read, and that read wakes it.
    assert_eq!(sub.try_recv(), Some(Ok(0)));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    // A send that waits again is woken again.
    let mut send = pin!(publisher.send_async(4));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(sub.try_recv(), Some(Ok(1)));
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    let rest: Vec<u32> = std::iter::from_fn(|| sub.try_recv()?.ok()).collect();
    assert_eq!(rest, [2, 3, 4]);
}

#[test]
fn a_disconnecting_subscriber_ends_past_its_limit() {
    let publisher = broadcast::<u32>(2);
    let mut sub = publisher.subscribe(Lagging::Disconnect(3));
    for i in 0..10 {
        publisher.send(i).unwrap();
    }
    assert_eq!(sub.recv(), Err(BroadcastError::Disconnected { lagged: 8 }));
    assert_eq!(sub.recv(), Err(BroadcastError::Disconnected { lagged: 8 }));
}

#[test]
fn zero_capacity_panics_with_advice() {
    let e = std::panic::catch_unwind(|| broadcast::<u8>(0)).unwrap_err();
    assert!(e.downcast_ref::<&str>().unwrap().contains("at least 1"));
}
