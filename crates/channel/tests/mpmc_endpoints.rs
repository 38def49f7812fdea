//! The MPMC endpoint extras: batch and owned permits, drop-oldest sends,
//! capacity queries, endpoint counts and weak endpoints; and SPSC's
//! capacity queries.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use common::scale;
use futures_lite::future::{block_on, poll_once};
use nimsync_channel::{SendError, TryRecvError, TrySendError, mpmc, spsc};

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---- batch permits ----------------------------------------------------------

#[test]
fn try_reserve_many_is_all_or_nothing() {
    let (tx, rx) = mpmc::channel(4);
    tx.send(0).unwrap();
    assert!(tx.try_reserve_many(4).unwrap_err().is_full());
    assert_eq!(tx.free_capacity(), 3, "a refused batch holds nothing");
    let permits = tx.try_reserve_many(3).unwrap();
    assert_eq!(permits.len(), 3);
    assert!(tx.is_full());
    assert!(tx.try_send(9).unwrap_err().is_full());
    for (i, p) in permits.enumerate() {
        p.send(i + 1).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
}

#[test]
fn try_reserve_many_above_capacity_fails_at_once() {
    let (tx, _rx) = mpmc::channel::<u8>(2);
    assert!(tx.try_reserve_many(3).unwrap_err().is_full());
    assert_eq!(tx.free_capacity(), 2);
}

#[test]
fn try_reserve_many_above_the_permit_count_fails_at_once() {
    let (tx, _rx) = mpmc::channel::<u8>(70_000);
    assert!(tx.try_reserve_many(65_536).unwrap_err().is_full());
    let permits = tx.try_reserve_many(65_535).unwrap();
    assert_eq!(tx.free_capacity(), 70_000 - 65_535);
    // The count is at its limit: one more permit is refused, not wrapped.
    assert!(tx.try_reserve().unwrap_err().is_full());
    drop(permits);
    assert_eq!(tx.free_capacity(), 70_000);
}

#[test]
fn try_reserve_many_zero_and_closed() {
    let (tx, rx) = mpmc::channel::<u8>(2);
    assert_eq!(tx.try_reserve_many(0).unwrap().len(), 0);
    rx.close();
    assert!(tx.try_reserve_many(0).unwrap_err().is_closed());
    assert!(tx.try_reserve_many(1).unwrap_err().is_closed());
}

#[test]
fn dropping_a_partly_used_batch_gives_the_rest_back() {
    let (tx, rx) = mpmc::channel(5);
    let mut permits = tx.try_reserve_many(4).unwrap();
    let first = permits.next().unwrap();
    drop(permits);
    assert_eq!(
        tx.free_capacity(),
        4,
        "only the permit taken out holds room"
    );
    first.send(1).unwrap();
    assert_eq!(tx.free_capacity(), 4);
    assert_eq!(rx.recv(), Ok(1));
}

#[test]
fn a_released_batch_wakes_waiting_senders() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    let permits = tx.try_reserve_many(2).unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || tx.send(i))
        })
        .collect();
    drop(permits);
    for w in waiters {
        w.join().unwrap().unwrap();
    }
    let mut got = rx.try_iter().collect::<Vec<_>>();
    got.sort_unstable();
    assert_eq!(got, [0, 1]);
}

#[test]
fn reserve_many_gathers_permits_as_room_frees() {
    let (tx, rx) = mpmc::channel(3);
    tx.send_iter([1, 2, 3]).unwrap();
    let mut fut = tx.reserve_many(2);
    assert!(block_on(poll_once(&mut fut)).is_none());
    assert_eq!(rx.recv(), Ok(1));
    assert!(
        block_on(poll_once(&mut fut)).is_none(),
        "one of two gathered"
    );
    assert_eq!(tx.free_capacity(), 0, "the gathered permit is held");
    assert_eq!(rx.recv(), Ok(2));
    let permits = block_on(fut).unwrap();
    assert_eq!(permits.len(), 2);
    for (i, p) in permits.enumerate() {
        p.send(10 + i).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3, 10, 11]);
}

#[test]
fn reserve_many_dropped_gives_back_what_it_gathered() {
    let (tx, rx) = mpmc::channel(2);
    tx.send_iter([1, 2]).unwrap();
    let mut fut = tx.reserve_many(2);
    assert!(block_on(poll_once(&mut fut)).is_none());
    rx.recv().unwrap();
    assert!(block_on(poll_once(&mut fut)).is_none());
    assert_eq!(tx.free_capacity(), 0);
    drop(fut);
    assert_eq!(tx.free_capacity(), 1);
    // The turn was given back too: another batch can gather.
    rx.recv().unwrap();
    assert_eq!(block_on(tx.reserve_many(2)).unwrap().len(), 2);
}

#[test]
fn reserve_many_one_batch_gathers_at_a_time() {
    let (tx, rx) = mpmc::channel(2);
    tx.send_iter([1, 2]).unwrap();
    let mut first = tx.reserve_many(2);
    let mut second = tx.reserve_many(2);
    assert!(block_on(poll_once(&mut first)).is_none());
    assert!(block_on(poll_once(&mut second)).is_none());
    rx.recv().unwrap();
    assert!(
        block_on(poll_once(&mut second)).is_none(),
        "waits for the turn"
    );
    assert!(block_on(poll_once(&mut first)).is_none());
    rx.recv().unwrap();
    let a = block_on(first).unwrap();
    assert!(block_on(poll_once(&mut second)).is_none());
    drop(a);
    assert_eq!(block_on(second).unwrap().len(), 2);
}

#[test]
fn reserve_many_errors() {
    let (tx, rx) = mpmc::channel::<u8>(2);
    assert!(block_on(tx.reserve_many(3)).is_err(), "above the capacity");
    assert_eq!(block_on(tx.reserve_many(0)).unwrap().len(), 0);
    tx.send_iter([1, 2]).unwrap();
    let mut waiting = tx.reserve_many(2);
    assert!(block_on(poll_once(&mut waiting)).is_none());
    rx.recv().unwrap();
    assert!(block_on(poll_once(&mut waiting)).is_none());
    let mut behind = tx.reserve_many(1);
    assert!(block_on(poll_once(&mut behind)).is_none());
    rx.close();
    // The close reaches a batch waiting for the turn, even before the
    // batch that holds it gives it back.
    assert!(block_on(behind).is_err());
    assert!(block_on(waiting).is_err());
    assert_eq!(tx.free_capacity(), 1, "the gathered permit was given back");
}

#[test]
fn reserve_many_batches_and_single_senders_all_complete() {
    let per = scale(20, 2_000);
    let (tx, rx) = mpmc::channel::<usize>(3);
    let batchers: Vec<_> = (0..2)
        .map(|b| {
            let tx = tx.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..per {
                        for (k, p) in tx.reserve_many(3).await.unwrap().enumerate() {
                            p.send(b * 3 * per + i * 3 + k).unwrap();
                        }
                    }
                })
            })
        })
        .collect();
    let singles: Vec<_> = (0..2)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.send(6 * per + s * per + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let got: Vec<_> = rx.iter().collect();
    for t in batchers.into_iter().chain(singles) {
        t.join().unwrap();
    }
    assert_eq!(got.len(), 8 * per);
    assert_eq!(got.into_iter().collect::<HashSet<_>>().len(), 8 * per);
}

// ---- owned permits ----------------------------------------------------------

#[test]
fn owned_permit_moves_to_another_thread_and_returns_the_sender() {
    let (tx, rx) = mpmc::channel(1);
    let permit = tx.try_reserve_owned().unwrap();
    let t = thread::spawn(move || permit.send(5).unwrap());
    let tx = t.join().unwrap();
    assert_eq!(rx.recv(), Ok(5));
    assert_eq!(tx.sender_count(), 1);
}

#[test]
fn owned_permit_holds_room_and_releases_it() {
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let other = tx.clone();
    let permit = tx.try_reserve_owned().unwrap();
    assert!(other.try_send(1).unwrap_err().is_full());
    let tx = permit.release();
    assert!(other.try_send(1).is_ok());
    // Full: the sender comes back in the error.
    let tx = tx.try_reserve_owned().unwrap_err();
    assert!(tx.is_full());
    let tx = tx.into_inner();
    drop(tx.try_reserve_owned());
}

#[test]
fn dropped_owned_permit_gives_room_back() {
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let other = tx.clone();
    drop(tx.try_reserve_owned().unwrap());
    assert!(other.try_send(1).is_ok());
}

#[test]
fn owned_permit_send_after_close_hands_the_value_back() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let permit = tx.try_reserve_owned().unwrap();
    rx.close();
    assert_eq!(permit.send(3).unwrap_err(), SendError(3));
}

#[test]
fn reserve_owned_waits_for_room() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    let mut fut = tx.clone().reserve_owned();
    assert!(block_on(poll_once(&mut fut)).is_none());
    assert_eq!(rx.recv(), Ok(1));
    let permit = block_on(fut).unwrap();
    permit.send(2).unwrap();
    assert_eq!(rx.recv(), Ok(2));
    drop(rx);
    assert!(block_on(tx.reserve_owned()).is_err());
}

#[test]
fn owned_permits_from_many_threads_each_send_once() {
    let n = scale(20, 2_000);
    let (tx, rx) = mpmc::channel::<usize>(4);
    let consumer = thread::spawn(move || rx.iter().collect::<Vec<_>>());
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for i in 0..n {
                    let permit = block_on(tx.reserve_owned()).unwrap();
                    tx = thread::spawn(move || permit.send(p * n + i).unwrap())
                        .join()
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for p in producers {
        p.join().unwrap();
    }
    let got = consumer.join().unwrap();
    assert_eq!(got.len(), 4 * n);
    assert_eq!(got.into_iter().collect::<HashSet<_>>().len(), 4 * n);
}

// ---- force_send ------------------------------------------------------------

#[test]
fn force_send_evicts_the_oldest_when_full() {
    let (tx, rx) = mpmc::channel(3);
    for i in 0..3 {
        assert_eq!(tx.force_send(i), Ok(None));
    }
    for i in 3..10 {
        assert_eq!(tx.force_send(i), Ok(Some(i - 3)));
        assert_eq!(tx.len(), 3);
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [7, 8, 9]);
}

#[test]
fn force_send_capacity_one() {
    let (tx, rx) = mpmc::channel(1);
    assert_eq!(tx.force_send('a'), Ok(None));
    assert_eq!(tx.force_send('b'), Ok(Some('a')));
    assert_eq!(rx.try_recv(), Ok('b'));
    assert_eq!(tx.force_send('c'), Ok(None));
    assert_eq!(rx.try_recv(), Ok('c'));
}

#[test]
fn force_send_on_a_closed_channel_hands_the_value_back() {
    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    tx.close();
    assert_eq!(tx.force_send(2), Err(SendError(2)));
    assert_eq!(rx.recv(), Ok(1));
    drop(rx);
    assert_eq!(tx.force_send(3), Err(SendError(3)));
}

#[test]
fn force_send_respects_permits() {
    let (tx, rx) = mpmc::channel(3);
    tx.send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    tx.send(2).unwrap();
    // One value, one permit and one value: full. The oldest goes.
    assert_eq!(tx.force_send(3), Ok(Some(1)));
    assert!(tx.is_full());
    permit.send(4).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2, 3, 4]);
}

#[test]
fn force_send_with_all_room_promised_and_nothing_buffered_hands_itself_back() {
    let (tx, rx) = mpmc::channel(2);
    let permits = tx.try_reserve_many(2).unwrap();
    assert_eq!(tx.force_send(7), Ok(Some(7)));
    assert_eq!(tx.free_capacity(), 0);
    for (i, p) in permits.enumerate() {
        p.send(i).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn force_send_wakes_a_waiting_receiver() {
    let (tx, rx) = mpmc::channel(1);
    let t = thread::spawn(move || rx.recv());
    assert_eq!(tx.force_send(1).unwrap(), None);
    assert_eq!(t.join().unwrap(), Ok(1));
}

#[test]
fn force_send_drops_nothing_itself() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(2);
    let mut evicted = Vec::new();
    for _ in 0..5 {
        if let Some(old) = tx.force_send(Counted(drops.clone())).unwrap() {
            evicted.push(old);
        }
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(evicted.len(), 3);
    drop(evicted);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn force_send_under_contention_is_exactly_once() {
    let per = scale(50, 20_000);
    let producers = 3;
    let (tx, rx) = mpmc::channel::<usize>(2);
    let start = Arc::new(Barrier::new(producers + 2));
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, start) = (tx.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut evicted = Vec::new();
                for i in 0..per {
                    if let Some(old) = tx.force_send(p * per + i).unwrap() {
                        evicted.push(old);
                    }
                }
                evicted
            })
        })
        .collect();
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let (rx, start) = (rx.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut got = Vec::new();
                while let Ok(v) = rx.recv() {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop((tx, rx));
    let mut seen = Vec::new();
    for s in senders {
        seen.extend(s.join().unwrap());
    }
    for r in receivers {
        let got = r.join().unwrap();
        // One producer's values arrive in order at each receiver.
        for p in 0..producers {
            let mine: Vec<_> = got.iter().filter(|v| **v / per == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        seen.extend(got);
    }
    assert_eq!(seen.len(), producers * per);
    assert_eq!(
        seen.into_iter().collect::<HashSet<_>>().len(),
        producers * per
    );
}

// ---- capacity queries ------------------------------------------------------

#[test]
fn capacity_is_the_total_and_free_capacity_the_room() {
    let (tx, rx) = mpmc::channel(4);
    assert_eq!(
        (tx.capacity(), tx.max_capacity(), tx.free_capacity()),
        (4, 4, 4)
    );
    tx.send(1).unwrap();
    let _p = tx.try_reserve().unwrap();
    assert_eq!(
        (rx.capacity(), rx.max_capacity(), rx.free_capacity()),
        (4, 4, 2)
    );
}

#[test]
fn spsc_capacity_queries() {
    let (mut tx, mut rx) = spsc::channel(3);
    tx.send(1).unwrap();
    assert_eq!((tx.max_capacity(), tx.free_capacity()), (3, 2));
    assert_eq!((rx.max_capacity(), rx.free_capacity()), (3, 2));
    rx.recv().unwrap();
    assert_eq!(tx.free_capacity(), 3);
}

// ---- counts and weak endpoints ---------------------------------------------

#[test]
fn endpoint_counts() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (tx2, rx2, rx3) = (tx.clone(), rx.clone(), rx.clone());
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 3));
    let (w1, w2, wr) = (tx.downgrade(), tx2.downgrade(), rx.downgrade());
    assert_eq!(tx.weak_sender_count(), 2);
    assert_eq!(rx.weak_receiver_count(), 1);
    assert_eq!(w1.clone().weak_sender_count(), 3);
    drop((w1, w2, wr, tx2, rx2, rx3));
    assert_eq!((rx.sender_count(), rx.receiver_count()), (1, 1));
    assert_eq!((rx.weak_sender_count(), rx.weak_receiver_count()), (0, 0));
}

#[test]
fn weak_sender_does_not_keep_the_channel_open() {
    let (tx, rx) = mpmc::channel(2);
    let weak = tx.downgrade();
    tx.send(1).unwrap();
    drop(tx);
    assert!(rx.is_closed());
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(weak.sender_count(), 0);
}

#[test]
fn weak_sender_upgrades_while_a_sender_lives() {
    let (tx, rx) = mpmc::channel(2);
    let weak = tx.downgrade();
    let tx2 = weak.upgrade().unwrap();
    assert_eq!(tx.sender_count(), 2);
    drop(tx);
    tx2.send(1).unwrap();
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
}

#[test]
fn weak_sender_upgrades_on_a_closed_channel_while_a_sender_lives() {
    // tokio's rule: the count decides, not the close.
    let (tx, rx) = mpmc::channel::<u8>(1);
    let weak = tx.downgrade();
    rx.close();
    let up = weak.upgrade().unwrap();
    assert!(up.try_send(1).unwrap_err().is_closed());
}

#[test]
fn weak_receiver_does_not_keep_the_channel_open() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(2);
    let weak = rx.downgrade();
    tx.send(Counted(drops.clone())).unwrap();
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the buffer is dropped");
    assert!(weak.upgrade().is_none());
    assert!(matches!(
        tx.try_send(Counted(drops.clone())),
        Err(TrySendError::Closed(_))
    ));
}

#[test]
fn weak_receiver_upgrade_drains() {
    let (tx, rx) = mpmc::channel(2);
    let weak = rx.downgrade();
    tx.send(1).unwrap();
    drop(tx);
    let rx2 = weak.upgrade().unwrap();
    drop(rx);
    assert_eq!(rx2.recv(), Ok(1));
    assert!(rx2.recv().is_err());
}

#[test]
fn weak_upgrade_races_the_last_drop() {
    let rounds = scale(20, 2_000);
    for _ in 0..rounds {
        let (tx, rx) = mpmc::channel::<u8>(1);
        let weak = tx.downgrade();
        let start = Arc::new(Barrier::new(2));
        let s2 = start.clone();
        let t = thread::spawn(move || {
            s2.wait();
            drop(tx);
        });
        start.wait();
        let up = weak.upgrade();
        t.join().unwrap();
        match up {
            Some(tx) => {
                assert!(!rx.is_closed());
                tx.send(1).unwrap();
                drop(tx);
                assert_eq!(rx.recv(), Ok(1));
                assert!(rx.recv().is_err());
            }
            None => {
                assert!(rx.is_closed());
                assert!(weak.upgrade().is_none());
            }
        }
    }
}

#[test]
fn same_channel_on_every_pair() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (tx_b, rx_b) = mpmc::channel::<u8>(1);
    assert!(tx.same_channel_as_receiver(&rx));
    assert!(!tx.same_channel_as_receiver(&rx_b));
    assert!(rx.same_channel_as_sender(&tx));
    assert!(tx.downgrade().same_channel(&tx.clone().downgrade()));
    assert!(!tx.downgrade().same_channel(&tx_b.downgrade()));
    assert!(rx.downgrade().same_channel(&rx.downgrade()));
    assert!(!rx.downgrade().same_channel(&rx_b.downgrade()));
}
