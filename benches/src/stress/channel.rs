//! Stress tests of nimsync-channel.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use nimsync_channel::{SendError, TrySendError, mpmc, spsc};

use super::inject::{Driven, ThreadWaker, drive};
use super::rng::Rng;
use super::{Ledger, Size, Test, rate};

pub(super) fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("mpmc-thrash-5p3c", 240, mpmc_thrash),
        t("spsc-blocking-1p1c", 120, spsc_blocking),
        t("backpressure-avalanche", 240, backpressure_avalanche),
        t("spsc-backpressure-batches", 120, spsc_backpressure),
        t("close-races-mpmc", 240, close_races_mpmc),
        t("close-races-spsc", 240, close_races_spsc),
        t("async-cancel-storm", 240, async_cancel_storm),
    ]
}

/// Receives until closed, checking that each producer's messages arrive in
/// order (`per` ids per producer), and records every id.
fn consume_ordered(
    rx: &mpmc::Receiver<usize>,
    ledger: &Ledger,
    per: usize,
    producers: usize,
) -> usize {
    let mut last = vec![None::<usize>; producers];
    let mut n = 0;
    for id in rx.iter() {
        let p = id / per;
        if let Some(prev) = last[p] {
            assert!(id > prev, "producer {p}: message {id} arrived after {prev}");
        }
        last[p] = Some(id);
        ledger.received(id);
        n += 1;
    }
    n
}

fn mpmc_thrash(size: Size) -> String {
    let (producers, consumers) = (5, 3);
    let per = size.pick(60_000, 2_000_000);
    let total = producers * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel(64);
    let start = Instant::now();
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.send(p * per + i).expect("receivers outlive producers");
                }
            })
        })
        .collect();
    drop(tx);
    let cs: Vec<_> = (0..consumers)
        .map(|_| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            thread::spawn(move || consume_ordered(&rx, &ledger, per, producers))
        })
        .collect();
    drop(rx);
    ps.into_iter().for_each(|p| p.join().unwrap());
    let counts: Vec<usize> = cs.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    format!(
        "{total} msgs exactly once, per consumer {counts:?}, {}",
        rate(total, elapsed)
    )
}

fn spsc_blocking(size: Size) -> String {
    let total = size.pick(300_000, 10_000_000);
    let ledger = Ledger::new(total);
    let (mut tx, mut rx) = spsc::channel(64);
    let start = Instant::now();
    let p = thread::spawn(move || {
        for id in 0..total {
            tx.send(id).unwrap();
        }
    });
    let mut expect = 0;
    while let Ok(id) = rx.recv() {
        assert_eq!(id, expect, "spsc order");
        ledger.received(id);
        expect += 1;
    }
    p.join().unwrap();
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    format!(
        "{total} msgs exactly once and in order, {}",
        rate(total, elapsed)
    )
}

fn backpressure_avalanche(size: Size) -> String {
    let producers = 4;
    let bursts = size.pick(2, 250);
    let burst = 10_000;
    let per = bursts * burst;
    let total = producers * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel(16);
    let start = Instant::now();
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut full = 0usize;
                for b in 0..bursts {
                    for i in 0..burst {
                        let id = p * per + b * burst + i;
                        if p % 2 == 0 {
                            tx.send(id).unwrap();
                        } else {
                            // try_send with retry: the value comes back on Full.
                            let mut v = id;
                            loop {
                                match tx.try_send(v) {
                                    Ok(()) => break,
                                    Err(TrySendError::Full(back)) => {
                                        full += 1;
                                        v = back;
                                        thread::yield_now();
                                    }
                                    Err(TrySendError::Closed(_)) => panic!("closed while sending"),
                                }
                            }
                        }
                    }
                    // Between bursts, wait for the consumers to drain.
                    while !tx.is_empty() {
                        thread::yield_now();
                    }
                }
                full
            })
        })
        .collect();
    drop(tx);
    let cs: Vec<_> = (0..2)
        .map(|_| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            thread::spawn(move || consume_ordered(&rx, &ledger, per, producers))
        })
        .collect();
    drop(rx);
    let fulls: usize = ps.into_iter().map(|p| p.join().unwrap()).sum();
    cs.into_iter().for_each(|c| {
        c.join().unwrap();
    });
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    assert!(fulls > 0, "the 16-slot channel never pushed back");
    format!(
        "{total} msgs exactly once in bursts of {burst}, {fulls} Full retries, {}",
        rate(total, elapsed)
    )
}

fn spsc_backpressure(size: Size) -> String {
    let bursts = size.pick(3, 1_000);
    let burst = 10_000;
    let total = bursts * burst;
    let ledger = Ledger::new(total);
    let (mut tx, mut rx) = spsc::channel(16);
    let start = Instant::now();
    let p = thread::spawn(move || {
        let mut fulls = 0usize;
        for b in 0..bursts {
            let ids = b * burst..(b + 1) * burst;
            if b % 2 == 0 {
                tx.send_iter(ids).map_err(|_| "closed").unwrap();
            } else {
                let mut it = ids;
                while !it.is_empty() {
                    match tx.try_send_iter(&mut it) {
                        Ok(_) => {}
                        Err(TrySendError::Full(())) => {
                            fulls += 1;
                            thread::yield_now();
                        }
                        Err(TrySendError::Closed(())) => panic!("closed while sending"),
                    }
                }
            }
        }
        fulls
    });
    let mut buf = Vec::with_capacity(16);
    let mut expect = 0;
    while rx.recv_many(&mut buf, 16).is_ok() {
        for id in buf.drain(..) {
            assert_eq!(id, expect, "spsc batch order");
            ledger.received(id);
            expect += 1;
        }
    }
    let fulls = p.join().unwrap();
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    format!(
        "{total} msgs exactly once in batches, {fulls} Full retries, {}",
        rate(total, elapsed)
    )
}

/// How a close-race round ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// A receiver calls `close()` mid-flight; receivers drain.
    ReceiverCloses,
    /// Every receiver is dropped mid-flight; the buffer is dropped.
    ReceiversDrop,
    /// A sender calls `close()` mid-flight.
    SenderCloses,
}

fn close_races_mpmc(size: Size) -> String {
    let rounds = size.pick(300, 34_000);
    let (producers, per) = (3, 100);
    let (mut rec, mut ret, mut buf) = (0, 0, 0);
    for round in 0..rounds {
        let mut rng = Rng::new(round as u64);
        let ending = [
            Ending::ReceiverCloses,
            Ending::ReceiversDrop,
            Ending::SenderCloses,
        ][round % 3];
        let total = producers * per;
        let ledger = Ledger::new(total);
        let (tx, rx) = mpmc::channel(4);
        let cut = rng.below(total as u64) as usize;
        let ps: Vec<_> = (0..producers)
            .map(|p| {
                let (tx, ledger) = (tx.clone(), ledger.clone());
                let blocking = rng.below(2) == 0;
                thread::spawn(move || {
                    for i in 0..per {
                        let v = ledger.make(p * per + i);
                        let back = if blocking {
                            tx.send(v).err().map(|SendError(v)| v)
                        } else {
                            let mut v = v;
                            loop {
                                match tx.try_send(v) {
                                    Ok(()) => break None,
                                    Err(TrySendError::Full(b)) => {
                                        v = b;
                                        thread::yield_now();
                                    }
                                    Err(TrySendError::Closed(b)) => break Some(b),
                                }
                            }
                        };
                        if let Some(v) = back {
                            ledger.returned(v.id);
                        }
                    }
                })
            })
            .collect();
        // The ending is played by its own thread once `cut / 2` messages
        // were received, so that neither side waits on the other for it.
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let closer = {
            let (tx, rx, received) = (
                matches!(ending, Ending::SenderCloses).then(|| tx.clone()),
                rx.clone(),
                received.clone(),
            );
            thread::spawn(move || {
                if matches!(ending, Ending::ReceiversDrop) {
                    return;
                }
                while received.load(Ordering::Relaxed) < cut / 2 {
                    thread::yield_now();
                }
                match tx {
                    Some(tx) => tx.close(),
                    None => rx.close(),
                };
            })
        };
        drop(tx);
        let cs: Vec<_> = (0..2)
            .map(|_| {
                let (rx, ledger, received) = (rx.clone(), ledger.clone(), received.clone());
                thread::spawn(move || {
                    while let Ok(v) = rx.recv() {
                        ledger.received(v.id);
                        let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                        if matches!(ending, Ending::ReceiversDrop) && n >= cut / 2 {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        closer.join().unwrap();
        cs.into_iter().for_each(|c| c.join().unwrap());
        ps.into_iter().for_each(|p| p.join().unwrap());
        let (a, b, c) = ledger.assert_conserved(total);
        rec += a;
        ret += b;
        buf += c;
    }
    format!(
        "{rounds} rounds: received {rec} + returned {ret} + dropped in buffer {buf} = sent {}, each dropped once",
        rec + ret + buf
    )
}

fn close_races_spsc(size: Size) -> String {
    let rounds = size.pick(500, 50_000);
    let per = 200;
    let (mut rec, mut ret, mut buf) = (0, 0, 0);
    for round in 0..rounds {
        let mut rng = Rng::new(1_000_000 + round as u64);
        let ledger = Ledger::new(per);
        let (mut tx, mut rx) = spsc::channel(1 + rng.below(4) as usize);
        let cut = rng.below(per as u64) as usize;
        let how = rng.below(3);
        let l2 = ledger.clone();
        let p = thread::spawn(move || {
            for i in 0..per {
                if how == 2 && i == cut {
                    tx.close();
                }
                if let Err(SendError(v)) = tx.send(l2.make(i)) {
                    l2.returned(v.id);
                }
            }
        });
        let mut n = 0;
        while let Ok(v) = rx.recv() {
            ledger.received(v.id);
            n += 1;
            if n == cut {
                if how == 0 {
                    rx.close();
                } else if how == 1 {
                    break;
                }
            }
        }
        drop(rx);
        p.join().unwrap();
        let (a, b, c) = ledger.assert_conserved(per);
        rec += a;
        ret += b;
        buf += c;
    }
    format!(
        "{rounds} rounds: received {rec} + returned {ret} + dropped in buffer {buf} = sent {}, each dropped once",
        rec + ret + buf
    )
}

fn async_cancel_storm(size: Size) -> String {
    let total = size.pick(100_000, 10_000_000);
    let receivers = 4;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel(8);
    let start = Instant::now();
    let ps: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for id in (p..total).step_by(2) {
                    tx.send(id).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let cs: Vec<_> = (0..receivers)
        .map(|r| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            thread::spawn(move || {
                let tw = ThreadWaker::new();
                let mut rng = Rng::new(r as u64 + 77);
                let (mut dropped_pending, mut dropped_woken) = (0usize, 0usize);
                loop {
                    // Half the waits are given up: half of those while
                    // registered, half right after a wake-up.
                    match drive(pin!(rx.recv_async()), &tw, &mut rng, 500) {
                        Driven::Ready(Ok(id)) => ledger.received(id),
                        Driven::Ready(Err(_)) => break,
                        Driven::Cancelled { after_wake: false } => dropped_pending += 1,
                        Driven::Cancelled { after_wake: true } => dropped_woken += 1,
                        Driven::Panicked => unreachable!("this waker does not panic"),
                    }
                }
                (dropped_pending, dropped_woken)
            })
        })
        .collect();
    drop(rx);
    ps.into_iter().for_each(|p| p.join().unwrap());
    let (mut pend, mut woke) = (0, 0);
    for c in cs {
        let (a, b) = c.join().unwrap();
        pend += a;
        woke += b;
    }
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    assert!(woke > 0, "no future was dropped right after a wake-up");
    format!(
        "{total} msgs exactly once; futures dropped while pending {pend}, right after wake-up {woke}; {}",
        rate(total, elapsed)
    )
}
