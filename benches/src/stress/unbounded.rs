//! Stress tests of the unbounded MPMC flavor (`mpmc::unbounded`): every
//! message received, handed back or dropped exactly once, with blocking,
//! async and select endpoints, closes from either side mid-stream, and the
//! last receiver dropped with values buffered.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

use nimsync_channel::{SendError, mpmc};
use nimsync_select::select;

use super::inject::{Driven, ThreadWaker, drive};
use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("unbounded-4p4c-mixed", 240, mixed),
        Test::new("unbounded-close-races", 240, close_races),
    ]
}

/// How a consumer receives.
#[derive(Debug, Clone, Copy)]
enum Way {
    Blocking,
    Async,
    Select,
    /// `recv_many_async` batches of up to 16, some given up pending.
    AsyncBatch,
}

/// Receives with `way` until the channel reports closed (or `stop` says
/// so), recording each message; returns how many it received.
fn consume(
    rx: &mpmc::Receiver<Tracked>,
    ledger: &Ledger,
    way: Way,
    seed: u64,
    stop: impl Fn(usize) -> bool,
) -> usize {
    let tw = ThreadWaker::new();
    let mut rng = Rng::new(seed);
    let mut n = 0;
    loop {
        let got = match way {
            Way::Blocking => rx.recv().ok(),
            // Some waits are given up, pending or right after a wake-up.
            Way::Async => match drive(pin!(rx.recv_async()), &tw, &mut rng, 200) {
                Driven::Ready(r) => r.ok(),
                Driven::Cancelled { .. } => continue,
                Driven::Panicked => unreachable!("this waker does not panic"),
            },
            Way::Select => select! {
                recv(rx) -> m => m.ok(),
            },
            Way::AsyncBatch => {
                let mut buf = Vec::new();
                let driven = drive(pin!(rx.recv_many_async(&mut buf, 16)), &tw, &mut rng, 200);
                match driven {
                    Driven::Ready(Ok(k)) => assert_eq!(k, buf.len(), "the count is what moved"),
                    Driven::Ready(Err(_)) => return n,
                    Driven::Cancelled { .. } => {
                        assert!(buf.is_empty(), "a batch receive given up moved values");
                        continue;
                    }
                    Driven::Panicked => unreachable!("this waker does not panic"),
                }
                // Each message counts, for `stop` too; the last one goes
                // through the common path below unless `stop` said so.
                let last = buf.pop();
                let mut stopped = false;
                for msg in buf {
                    ledger.take(msg);
                    n += 1;
                    stopped |= stop(n);
                }
                if stopped {
                    if let Some(msg) = last {
                        ledger.take(msg);
                        n += 1;
                    }
                    return n;
                }
                last
            }
        };
        let Some(msg) = got else { return n };
        ledger.take(msg);
        n += 1;
        if stop(n) {
            return n;
        }
    }
}

/// Four producers (blocking, async, select and batch sends) and four
/// consumers (blocking, async with cancellation, select, async batches
/// with cancellation) on one unbounded
/// channel: every message arrives exactly once.
fn mixed(size: Size) -> String {
    let per = size.pick(300_000, 5_000_000);
    let producers = 4;
    let total = producers * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::unbounded::<Tracked>();
    let start = Instant::now();
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            thread::spawn(move || {
                let ids = p * per..(p + 1) * per;
                match p {
                    0 => ids.for_each(|id| tx.send(ledger.make(id)).unwrap()),
                    1 => ids.for_each(|id| {
                        futures_lite::future::block_on(tx.send_async(ledger.make(id))).unwrap()
                    }),
                    2 => ids.for_each(|id| {
                        select! {
                            send(tx, ledger.make(id)) -> r => r.unwrap(),
                        }
                    }),
                    _ => {
                        let mut it = ids.map(|id| ledger.make(id)).peekable();
                        while it.peek().is_some() {
                            let chunk: Vec<_> = it.by_ref().take(64).collect();
                            assert!(tx.send_iter(chunk).is_ok());
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let cs: Vec<_> = [Way::Blocking, Way::Async, Way::Select, Way::AsyncBatch]
        .into_iter()
        .enumerate()
        .map(|(i, way)| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            thread::spawn(move || consume(&rx, &ledger, way, i as u64 + 5, |_| false))
        })
        .collect();
    drop(rx);
    ps.into_iter().for_each(|p| p.join().unwrap());
    let counts: Vec<usize> = cs.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    format!(
        "{total} msgs exactly once, per consumer (blocking, async, select, async batch) {counts:?}, {}",
        rate(total, elapsed)
    )
}

/// How a round of [`close_races`] ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    ReceiverCloses,
    SenderCloses,
    /// The receivers stop and are dropped with values buffered.
    ReceiversDrop,
}

/// Rounds of three producers and two consumers (of random ways) ended
/// mid-stream by a close from either side or by the receivers' drop:
/// every message is received, handed back in an error, or dropped in the
/// buffer, exactly once.
fn close_races(size: Size) -> String {
    let rounds = size.pick(2_000, 30_000);
    let (producers, per) = (3, 300);
    let (mut rec, mut ret, mut buf) = (0, 0, 0);
    let start = Instant::now();
    for round in 0..rounds {
        let mut rng = Rng::new(round as u64 ^ 0x5eed);
        let ending = [
            Ending::ReceiverCloses,
            Ending::SenderCloses,
            Ending::ReceiversDrop,
        ][round % 3];
        let total = producers * per;
        let ledger = Ledger::new(total);
        let (tx, rx) = mpmc::unbounded::<Tracked>();
        let cut = rng.below(total as u64) as usize;
        let ps: Vec<_> = (0..producers)
            .map(|p| {
                let (tx, ledger) = (tx.clone(), ledger.clone());
                let how = rng.below(3);
                thread::spawn(move || {
                    for i in 0..per {
                        let v = ledger.make(p * per + i);
                        let back = match how {
                            0 => tx.send(v).err().map(|SendError(v)| v),
                            1 => tx.try_send(v).err().map(|e| e.into_inner()),
                            _ => futures_lite::future::block_on(tx.send_async(v))
                                .err()
                                .map(|SendError(v)| v),
                        };
                        if let Some(v) = back {
                            ledger.give_back(v);
                        }
                    }
                })
            })
            .collect();
        let received = Arc::new(AtomicUsize::new(0));
        let closer = {
            let tx = matches!(ending, Ending::SenderCloses).then(|| tx.clone());
            let (rx, received) = (rx.clone(), received.clone());
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
            .map(|c| {
                let (rx, ledger, received) = (rx.clone(), ledger.clone(), received.clone());
                let way = [Way::Blocking, Way::Async, Way::Select, Way::AsyncBatch]
                    [rng.below(4) as usize];
                let seed = rng.below(u64::MAX);
                thread::spawn(move || {
                    let drops = matches!(ending, Ending::ReceiversDrop);
                    consume(&rx, &ledger, way, seed ^ c, |_| {
                        let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                        drops && n >= cut / 2
                    })
                })
            })
            .collect();
        drop(rx);
        closer.join().unwrap();
        cs.into_iter().for_each(|c| {
            c.join().unwrap();
        });
        ps.into_iter().for_each(|p| p.join().unwrap());
        let (a, b, c) = ledger.assert_conserved(total);
        rec += a;
        ret += b;
        buf += c;
    }
    format!(
        "{rounds} rounds: received {rec} + returned {ret} + dropped in buffer {buf} = sent {}, each dropped once; {}",
        rec + ret + buf,
        rate(rec + ret + buf, start.elapsed())
    )
}
