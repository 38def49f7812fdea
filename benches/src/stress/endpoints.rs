//! Stress tests of the MPMC endpoint extras: drop-oldest sends under
//! overload, weak upgrades racing the last drop, owned permits moved
//! across threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use nimsync_channel::{SendError, mpmc};

use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("force-send-overload", 240, force_send_overload),
        t(
            "weak-upgrade-races-last-drop",
            240,
            weak_upgrade_races_last_drop,
        ),
        t(
            "owned-permits-across-threads",
            240,
            owned_permits_across_threads,
        ),
        t("reserve-many-batches", 240, reserve_many_batches),
    ]
}

/// Four producers force-send into a channel of 2 to 4 slots faster than
/// one consumer drains it, while a fifth holds a permit now and then; some
/// rounds end with the receiver closing midway. Every value is received
/// once, evicted (handed back by `force_send`) once, refused by the close
/// once, or dropped in the buffer once.
fn force_send_overload(size: Size) -> String {
    let rounds = size.pick(150, 4_000);
    let (producers, per) = (4, 5_000);
    let total = producers * per;
    let (mut rec, mut ret, mut buf) = (0, 0, 0);
    let start = Instant::now();
    for round in 0..rounds {
        let mut rng = Rng::new(7_000 + round as u64);
        let ledger = Ledger::new(total);
        let (tx, rx) = mpmc::channel(2 + rng.below(3) as usize);
        let close_at = (round % 3 == 2).then(|| rng.below(total as u64 / 4) as usize);
        let go = Arc::new(Barrier::new(producers + 2));
        let done = Arc::new(AtomicBool::new(false));
        let ps: Vec<_> = (0..producers)
            .map(|p| {
                let (tx, ledger, go) = (tx.clone(), ledger.clone(), go.clone());
                thread::spawn(move || {
                    go.wait();
                    for i in 0..per {
                        match tx.force_send(ledger.make(p * per + i)) {
                            Ok(None) => {}
                            Ok(Some(old)) => ledger.give_back(old),
                            Err(SendError(v)) => ledger.give_back(v),
                        }
                    }
                })
            })
            .collect();
        let holder = {
            let (tx, done) = (tx.clone(), done.clone());
            thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if let Ok(permit) = tx.try_reserve() {
                        thread::yield_now();
                        drop(permit);
                    }
                    thread::yield_now();
                }
            })
        };
        drop(tx);
        let consumer = {
            let (ledger, go) = (ledger.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                let mut n = 0;
                while let Ok(v) = rx.recv() {
                    ledger.take(v);
                    n += 1;
                    if close_at == Some(n) {
                        rx.close();
                    }
                }
                n
            })
        };
        go.wait();
        ps.into_iter().for_each(|p| p.join().unwrap());
        done.store(true, Ordering::Relaxed);
        holder.join().unwrap();
        consumer.join().unwrap();
        let (a, b, c) = ledger.assert_conserved(total);
        rec += a;
        ret += b;
        buf += c;
    }
    let sent = rec + ret + buf;
    format!(
        "{rounds} rounds: received {rec} + evicted or refused {ret} + dropped in buffer {buf} = sent {sent}, each once, {}",
        rate(sent, start.elapsed())
    )
}

/// Rounds of a weak sender upgrading while the last strong sender is
/// dropped on another thread: an upgrade that wins sends a value, which is
/// received; one that loses finds the channel closed for good.
fn weak_upgrade_races_last_drop(size: Size) -> String {
    let rounds = size.pick(3_000, 200_000);
    let ledger = Ledger::new(rounds);
    let (mut won, mut lost) = (0, 0);
    for round in 0..rounds {
        let (tx, rx) = mpmc::channel(1);
        let weak = tx.downgrade();
        let go = Arc::new(Barrier::new(2));
        let dropper = {
            let go = go.clone();
            thread::spawn(move || {
                go.wait();
                drop(tx);
            })
        };
        go.wait();
        let up = weak.upgrade();
        let upgraded = up.is_some();
        if let Some(tx) = up {
            tx.send(ledger.make(round)).expect("the receiver is alive");
        }
        dropper.join().unwrap();
        if upgraded {
            assert!(weak.upgrade().is_none(), "round {round}: resurrected");
            ledger.take(rx.recv().expect("the upgraded sender's value"));
            won += 1;
        } else {
            assert!(rx.is_closed(), "round {round}: open with no sender");
            assert!(weak.upgrade().is_none());
            ledger.take(ledger.make(round));
            lost += 1;
        }
        assert!(rx.recv().is_err(), "round {round}: closed for good");
    }
    ledger.assert_all_received_once(rounds);
    format!("{rounds} rounds: upgrade won {won}, lost {lost}; never resurrected")
}

/// Producers take owned permits and hand each, with its sender, to another
/// thread that sends on it and hands the sender back: every value is
/// received once, and no permit's room is lost (the channel drains).
fn owned_permits_across_threads(size: Size) -> String {
    let (producers, per) = (3, size.pick(20_000, 3_000_000));
    let total = producers * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel(4);
    let start = Instant::now();
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            thread::spawn(move || {
                // A courier thread sends on each permit it is handed.
                let (to_courier, permits) =
                    std::sync::mpsc::sync_channel::<(mpmc::OwnedPermit<Tracked>, usize)>(1);
                let (to_producer, senders) = std::sync::mpsc::sync_channel(1);
                let courier = {
                    let ledger = ledger.clone();
                    thread::spawn(move || {
                        for (permit, id) in permits {
                            let tx = permit.send(ledger.make(id)).expect("open");
                            if to_producer.send(tx).is_err() {
                                break;
                            }
                        }
                    })
                };
                let mut tx = tx;
                for i in 0..per {
                    let permit = futures_lite::future::block_on(tx.reserve_owned()).unwrap();
                    to_courier.send((permit, p * per + i)).unwrap();
                    tx = senders.recv().unwrap();
                }
                drop((to_courier, tx));
                courier.join().unwrap();
            })
        })
        .collect();
    drop(tx);
    let consumer = {
        let ledger = ledger.clone();
        thread::spawn(move || {
            let mut n = 0;
            for v in rx.iter() {
                ledger.take(v);
                n += 1;
            }
            n
        })
    };
    ps.into_iter().for_each(|p| p.join().unwrap());
    let n = consumer.join().unwrap();
    ledger.assert_all_received_once(total);
    assert_eq!(n, total);
    format!(
        "{total} msgs through owned permits moved across threads, exactly once, {}",
        rate(total, start.elapsed())
    )
}

/// Two tasks reserve batches of 1 to 4 permits and send on them (leaving
/// some unused), next to two blocking senders and two receivers, on a
/// channel of 4: every value sent is received once, and every batch
/// completes (a lost wake-up or turn would hang the test).
fn reserve_many_batches(size: Size) -> String {
    let per = size.pick(40_000, 2_500_000);
    let total = 4 * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel(4);
    let start = Instant::now();
    let batchers: Vec<_> = (0..2)
        .map(|b| {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(11 + b as u64);
                let mut next = b * per;
                futures_lite::future::block_on(async {
                    while next < (b + 1) * per {
                        let want = 1 + rng.below(4) as usize;
                        let permits = tx.reserve_many(want).await.unwrap();
                        // Sometimes leave the last permit unused.
                        let use_n = want - usize::from(want > 1 && rng.below(4) == 0);
                        for p in permits.take(use_n) {
                            if next == (b + 1) * per {
                                break;
                            }
                            p.send(ledger.make(next)).unwrap();
                            next += 1;
                        }
                    }
                });
            })
        })
        .collect();
    let singles: Vec<_> = (2..4)
        .map(|s| {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            thread::spawn(move || {
                for i in 0..per {
                    tx.send(ledger.make(s * per + i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            thread::spawn(move || {
                let mut n = 0;
                for v in rx.iter() {
                    ledger.take(v);
                    n += 1;
                }
                n
            })
        })
        .collect();
    drop(rx);
    batchers
        .into_iter()
        .chain(singles)
        .for_each(|t| t.join().unwrap());
    let n: usize = receivers.into_iter().map(|r| r.join().unwrap()).sum();
    ledger.assert_all_received_once(total);
    assert_eq!(n, total);
    format!(
        "{total} msgs, half through batches of 1 to 4 permits, exactly once, {}",
        rate(total, start.elapsed())
    )
}
