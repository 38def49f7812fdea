//! Stress tests of the rendezvous MPMC channel (`mpmc::channel(0)`): every
//! way to send and to receive at once (blocking, timed, async with random
//! cancellation, permits, selects on both sides, selects paired with
//! selects), closes mid-stream, and an exactly-once ledger.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use nimsync_channel::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, mpmc};
use nimsync_select::select;

use super::inject::{Driven, ThreadWaker, drive};
use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("rendezvous-every-way", 600, every_way),
        Test::new("rendezvous-close-races", 600, close_races),
    ]
}

/// How a sender offers one message.
#[derive(Debug, Clone, Copy)]
enum SendWay {
    Blocking,
    Timed,
    /// `send_async`, driven with random cancellation (a dropped pending
    /// future drops its value unsent).
    Async,
    Permit,
    /// `try_send`, retried.
    Try,
    /// A select with an idle second send arm.
    Select,
}

/// How a receiver takes one message.
#[derive(Debug, Clone, Copy)]
enum RecvWay {
    Blocking,
    Timed,
    /// `recv_async`, driven with random cancellation.
    Async,
    Try,
    /// A select with an idle second receive arm.
    Select,
}

const SEND_WAYS: [SendWay; 6] = [
    SendWay::Blocking,
    SendWay::Timed,
    SendWay::Async,
    SendWay::Permit,
    SendWay::Try,
    SendWay::Select,
];
const RECV_WAYS: [RecvWay; 5] = [
    RecvWay::Blocking,
    RecvWay::Timed,
    RecvWay::Async,
    RecvWay::Try,
    RecvWay::Select,
];

/// What became of one send.
enum Sent {
    /// Handed over.
    Delivered,
    /// Handed back (timeout, close, cancel); the caller records it.
    Back(Tracked),
    /// A dropped pending future dropped it unsent.
    DroppedUnsent,
    /// The channel is closed: this and every later message stay unsent.
    Closed(Tracked),
}

/// Sends `v` one way. The idle channel's receiver is kept by the caller,
/// so its select arm never becomes ready.
fn send_one(
    tx: &mpmc::Sender<Tracked>,
    idle: &mpmc::Sender<Tracked>,
    way: SendWay,
    v: Tracked,
    tw: &Arc<ThreadWaker>,
    rng: &mut Rng,
) -> Sent {
    let closed_or_back = |v: Tracked, tx: &mpmc::Sender<Tracked>| {
        if tx.is_closed() {
            Sent::Closed(v)
        } else {
            Sent::Back(v)
        }
    };
    match way {
        SendWay::Blocking => match tx.send(v) {
            Ok(()) => Sent::Delivered,
            Err(e) => Sent::Closed(e.into_inner()),
        },
        SendWay::Timed => match tx.send_timeout(v, Duration::from_micros(rng.range(1, 200) as u64))
        {
            Ok(()) => Sent::Delivered,
            Err(SendTimeoutError::Timeout(v)) => Sent::Back(v),
            Err(SendTimeoutError::Closed(v)) => Sent::Closed(v),
        },
        SendWay::Async => {
            let mut fut = pin!(tx.send_async(v));
            match drive(fut.as_mut(), tw, rng, 100) {
                Driven::Ready(Ok(())) => Sent::Delivered,
                Driven::Ready(Err(e)) => Sent::Closed(e.into_inner()),
                Driven::Cancelled { .. } => {
                    // Half are cancelled (the value comes back), half dropped.
                    if rng.below(2) == 0 {
                        match fut.as_mut().get_mut().cancel() {
                            Some(v) => closed_or_back(v, tx),
                            None => unreachable!("a pending send still holds its value"),
                        }
                    } else {
                        Sent::DroppedUnsent
                    }
                }
                Driven::Panicked => unreachable!("this waker does not panic"),
            }
        }
        SendWay::Permit => match block_on(tx.reserve()) {
            Ok(permit) => match permit.send(v) {
                Ok(()) => Sent::Delivered,
                Err(e) => Sent::Closed(e.into_inner()),
            },
            Err(_) => Sent::Closed(v),
        },
        SendWay::Try => {
            let mut v = v;
            let start = Instant::now();
            loop {
                match tx.try_send(v) {
                    Ok(()) => return Sent::Delivered,
                    Err(TrySendError::Closed(b)) => return Sent::Closed(b),
                    Err(TrySendError::Full(b)) => v = b,
                }
                if start.elapsed() > Duration::from_micros(300) {
                    return closed_or_back(v, tx);
                }
                thread::yield_now();
            }
        }
        SendWay::Select => {
            let mut slot = Some(v);
            let res = select! {
                send(tx, slot.take().expect("once")) -> res => res,
                send(idle, never_sent()) -> _ => unreachable!("nobody receives on the idle channel"),
                default(Duration::from_micros(rng.range(1, 300) as u64)) => {
                    return closed_or_back(slot.take().expect("unsent"), tx)
                }
            };
            match res {
                Ok(()) => Sent::Delivered,
                Err(e) => Sent::Closed(e.into_inner()),
            }
        }
    }
}

/// The value of the idle send arm, which never wins.
fn never_sent() -> Tracked {
    unreachable!("nobody receives on the idle channel")
}

/// What one receive got.
enum Got {
    Value(Tracked),
    Nothing,
    Closed,
}

fn recv_one(
    rx: &mpmc::Receiver<Tracked>,
    idle: &mpmc::Receiver<Tracked>,
    way: RecvWay,
    tw: &Arc<ThreadWaker>,
    rng: &mut Rng,
) -> Got {
    let wait = Duration::from_micros(rng.range(1, 300) as u64);
    match way {
        RecvWay::Blocking => rx.recv().map_or(Got::Closed, Got::Value),
        RecvWay::Timed => match rx.recv_timeout(wait) {
            Ok(v) => Got::Value(v),
            Err(RecvTimeoutError::Timeout) => Got::Nothing,
            Err(RecvTimeoutError::Closed) => Got::Closed,
        },
        RecvWay::Async => match drive(pin!(rx.recv_async()), tw, rng, 100) {
            Driven::Ready(Ok(v)) => Got::Value(v),
            Driven::Ready(Err(_)) => Got::Closed,
            Driven::Cancelled { .. } => Got::Nothing,
            Driven::Panicked => unreachable!("this waker does not panic"),
        },
        RecvWay::Try => match rx.try_recv() {
            Ok(v) => Got::Value(v),
            Err(TryRecvError::Empty) => {
                thread::yield_now();
                Got::Nothing
            }
            Err(TryRecvError::Closed) => Got::Closed,
        },
        RecvWay::Select => select! {
            recv(rx) -> v => v.map_or(Got::Closed, Got::Value),
            recv(idle) -> _ => unreachable!("nobody sends on the idle channel"),
            default(wait) => Got::Nothing,
        },
    }
}

/// One round: `producers` senders and `consumers` receivers, each mixing
/// every way at random; the channel closes when the senders are done, or
/// earlier (`cut`), by a receiver's close or by every receiver leaving.
/// Returns (received, handed back or dropped unsent).
fn round(seed: u64, producers: usize, consumers: usize, per: usize, ending: u64) -> (usize, usize) {
    let total = producers * per;
    let ledger = Ledger::new(total);
    let (tx, rx) = mpmc::channel::<Tracked>(0);
    // Idle channels for the selects' second arms: one nobody receives
    // from, one nobody sends on (one channel for both would pair them).
    let (idle_tx, _idle_tx_peer) = mpmc::channel::<Tracked>(0);
    let (_idle_rx_peer, idle_rx) = mpmc::channel::<Tracked>(0);
    let mut rng = Rng::new(seed);
    let cut = rng.range(1, total);
    let received = Arc::new(AtomicUsize::new(0));
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, idle, ledger) = (tx.clone(), idle_tx.clone(), ledger.clone());
            let mut rng = rng.fork();
            thread::spawn(move || {
                let tw = ThreadWaker::new();
                let mut unsent = 0;
                let mut ids = (p * per..(p + 1) * per).peekable();
                while let Some(id) = ids.next() {
                    let mut v = ledger.make(id);
                    loop {
                        let way = rng.pick(&SEND_WAYS);
                        match send_one(&tx, &idle, way, v, &tw, &mut rng) {
                            Sent::Delivered => break,
                            Sent::DroppedUnsent => {
                                unsent += 1;
                                break;
                            }
                            Sent::Back(b) => {
                                // Offered again, or given up now and then.
                                if rng.below(4) == 0 {
                                    ledger.give_back(b);
                                    unsent += 1;
                                    break;
                                }
                                v = b;
                            }
                            Sent::Closed(b) => {
                                ledger.give_back(b);
                                unsent += 1;
                                for id in ids.by_ref() {
                                    ledger.give_back(ledger.make(id));
                                    unsent += 1;
                                }
                                break;
                            }
                        }
                    }
                }
                unsent
            })
        })
        .collect();
    drop(tx);
    drop(idle_tx);
    let cs: Vec<_> = (0..consumers)
        .map(|_| {
            let (rx, idle, ledger, received) = (
                rx.clone(),
                idle_rx.clone(),
                ledger.clone(),
                received.clone(),
            );
            let mut rng = rng.fork();
            thread::spawn(move || {
                let tw = ThreadWaker::new();
                loop {
                    let way = rng.pick(&RECV_WAYS);
                    match recv_one(&rx, &idle, way, &tw, &mut rng) {
                        Got::Value(v) => {
                            ledger.take(v);
                            let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == cut && ending == 0 {
                                rx.close();
                            }
                        }
                        Got::Nothing => {}
                        Got::Closed => return,
                    }
                    if ending == 1 && received.load(Ordering::Relaxed) >= cut {
                        // Every receiver leaves: the last one's drop closes.
                        return;
                    }
                }
            })
        })
        .collect();
    drop(rx);
    let unsent: usize = ps.into_iter().map(|p| p.join().unwrap()).sum();
    cs.into_iter().for_each(|c| c.join().unwrap());
    let (rec, back, left) = ledger.assert_conserved(total);
    assert_eq!(rec, received.load(Ordering::Relaxed));
    // What was neither received nor handed back was dropped unsent by a
    // cancelled future or, once every receiver left, by the channel; each
    // exactly once (checked above). Run to the end, the channel drops
    // nothing: what it was handed reached a receiver.
    assert!(back <= unsent, "handed back {back} of {unsent} unsent");
    if ending == 2 {
        assert_eq!(
            rec + unsent,
            total,
            "a handed-over message was not received"
        );
    }
    (rec, back + left)
}

/// Many rounds that run to the end (every message delivered or handed
/// back by a timeout or cancel, and offered again until it is delivered
/// or given up).
fn every_way(size: Size) -> String {
    let rounds = size.pick(80, 3_400);
    let per = size.pick(300, 1_000);
    let start = Instant::now();
    let (mut rec, mut back) = (0, 0);
    for r in 0..rounds {
        let (a, b) = round(r as u64, 3, 3, per, 2);
        rec += a;
        back += b;
    }
    format!(
        "{rounds} rounds, 3 senders x 3 receivers mixing every way: received {rec}, handed back or dropped unsent {back}, each dropped once; {}",
        rate(rec, start.elapsed())
    )
}

/// Rounds closed mid-stream, by a receiver's close or by every receiver
/// leaving.
fn close_races(size: Size) -> String {
    let rounds = size.pick(300, 34_000);
    let start = Instant::now();
    let (mut rec, mut back) = (0, 0);
    for r in 0..rounds {
        let (a, b) = round(1_000_000 + r as u64, 3, 2, 100, r as u64 % 2);
        rec += a;
        back += b;
    }
    format!(
        "{rounds} rounds closed mid-stream: received {rec}, handed back or dropped {back}, each dropped once; {}",
        rate(rec + back, start.elapsed())
    )
}
