//! One round of producers and consumers over an spsc or MPMC channel,
//! each using a drawn kind of call (blocking, non-blocking with retries,
//! with a timeout, or async polled by hand with wakers that may panic and
//! waits that may be given up), ended by a drawn close point. The fixed
//! fault tests and the soak run it; it accounts for every message.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use nimsync_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
    spsc,
};

use super::inject::{self, Driven, ThreadWaker, drive, quietly};
use super::rng::Rng;
use super::{Ledger, Tracked, join_all, ledger};

/// How a participant calls the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `send` / `recv`.
    Blocking,
    /// `try_send` / `try_recv`, yielding between attempts.
    Try,
    /// `send_timeout` / `recv_timeout` of 1 ms, retried.
    Timeout,
    /// `send_async` / `recv_async` polled by hand: wakers that may panic,
    /// waits that may be given up.
    Async,
}

impl Mode {
    /// Every mode, to draw from.
    pub(super) const ALL: [Mode; 4] = [Mode::Blocking, Mode::Try, Mode::Timeout, Mode::Async];
}

/// How a round ends, besides every producer finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The last sender's drop closes the channel; consumers drain it.
    Drain,
    /// A consumer calls `close()` once `cut` messages were taken.
    ReceiverCloses,
    /// The consumers drop their receivers once `cut` messages were taken.
    ReceiversDrop,
    /// The first producer calls `close()` before its `cut`-th send.
    SenderCloses,
}

impl Ending {
    /// Every ending, to draw from.
    pub(super) const ALL: [Ending; 4] = [
        Ending::Drain,
        Ending::ReceiverCloses,
        Ending::ReceiversDrop,
        Ending::SenderCloses,
    ];
}

/// The parameters of a round.
#[derive(Debug, Clone)]
pub(super) struct Round {
    /// MPMC (any number of participants) or spsc (one of each).
    pub mpmc: bool,
    /// Channel capacity.
    pub cap: usize,
    /// One mode per producer.
    pub producers: Vec<Mode>,
    /// One mode per consumer.
    pub consumers: Vec<Mode>,
    /// Messages per producer.
    pub per: usize,
    /// Per mille of wake-ups of the async participants' wakers that panic.
    pub waker_panics: u32,
    /// Per mille of the async participants' waits given up.
    pub cancels: u32,
    /// Per mille of messages whose drop panics unless received.
    pub bombs: u32,
    /// How the round ends.
    pub ending: Ending,
    /// The close point (a count of messages), see [`Ending`].
    pub cut: usize,
}

/// What the participants of rounds counted.
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Waker panics (counted by the wakers themselves, as they happen).
    pub waker: Arc<AtomicUsize>,
    /// Sends that raised a waker's panic after writing their value.
    pub at_send: AtomicUsize,
    /// Receives that raised a waker's panic: after taking their message
    /// (then the unwinding dropped it), or while passing on a wake-up they
    /// did not use (a wait that lost its race or ended without a message).
    pub at_recv: AtomicUsize,
    /// Messages those receives dropped while unwinding (each one lost).
    pub lost_at_recv: AtomicUsize,
    /// Cancels of a pending send that raised a waker's panic while passing
    /// their wake-up on; the value was dropped unsent with the future
    /// (recorded in the ledger as given back).
    pub lost_at_cancel: AtomicUsize,
    /// Futures whose drop raised a waker's panic (nothing lost).
    pub at_drop: AtomicUsize,
    /// Closes and last-handle drops that raised a panic (a waker's, or a
    /// buffered value's drop).
    pub at_close: AtomicUsize,
    /// Waits given up.
    pub cancelled: AtomicUsize,
    /// Messages received (per [`Ledger::take`]).
    pub received: AtomicUsize,
}

/// Adds one to a counter.
pub(super) fn add(c: &AtomicUsize) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
pub(super) fn get(c: &AtomicUsize) -> usize {
    c.load(Ordering::Relaxed)
}

/// A tracked message that panics when dropped unreceived with `per_mille`
/// chance.
pub(super) fn maybe_bomb(
    ledger: &Arc<Ledger>,
    rng: &mut Rng,
    id: usize,
    per_mille: u32,
) -> Tracked {
    if rng.chance(per_mille) {
        ledger.make_bomb(id)
    } else {
        ledger.make(id)
    }
}

/// What every participant of a round shares.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    /// The messages' ledger.
    pub ledger: &'a Arc<Ledger>,
    /// The round's counters.
    pub counts: &'a Counts,
    /// The round's parameters.
    pub plan: &'a Round,
}

impl Ctx<'_> {
    /// A waker for the calling participant, panicking as the plan says.
    fn waker(&self, rng: &mut Rng) -> Arc<ThreadWaker> {
        ThreadWaker::panicking_into(
            self.plan.waker_panics,
            rng.next_u64(),
            Some(Arc::clone(&self.counts.waker)),
        )
    }
}

/// The sending side of a channel, as a round uses it.
pub(super) trait Tx: Send + 'static {
    /// The future of `send_async`.
    type Fut<'a>: Future<Output = Result<(), SendError<Tracked>>> + Unpin
    where
        Self: 'a;
    fn send(&mut self, v: Tracked) -> Result<(), SendError<Tracked>>;
    fn try_send(&mut self, v: Tracked) -> Result<(), TrySendError<Tracked>>;
    fn send_timeout(&mut self, v: Tracked, t: Duration) -> Result<(), SendTimeoutError<Tracked>>;
    fn send_async(&mut self, v: Tracked) -> Self::Fut<'_>;
    fn cancel(fut: &mut Self::Fut<'_>) -> Option<Tracked>;
    fn close(&mut self);
}

/// The receiving side of a channel, as a round uses it.
pub(super) trait Rx: Send + 'static {
    /// The future of `recv_async`.
    type Fut<'a>: Future<Output = Result<Tracked, RecvError>>
    where
        Self: 'a;
    fn recv(&mut self) -> Result<Tracked, RecvError>;
    fn try_recv(&mut self) -> Result<Tracked, TryRecvError>;
    fn recv_timeout(&mut self, t: Duration) -> Result<Tracked, RecvTimeoutError>;
    fn recv_async(&mut self) -> Self::Fut<'_>;
    fn close(&mut self);
}

/// Implements [`Tx`] and [`Rx`] for a channel flavor's endpoints.
macro_rules! endpoints {
    ($m:ident) => {
        impl Tx for $m::Sender<Tracked> {
            type Fut<'a> = $m::SendFuture<'a, Tracked>;
            fn send(&mut self, v: Tracked) -> Result<(), SendError<Tracked>> {
                $m::Sender::send(self, v)
            }
            fn try_send(&mut self, v: Tracked) -> Result<(), TrySendError<Tracked>> {
                $m::Sender::try_send(self, v)
            }
            fn send_timeout(
                &mut self,
                v: Tracked,
                t: Duration,
            ) -> Result<(), SendTimeoutError<Tracked>> {
                $m::Sender::send_timeout(self, v, t)
            }
            fn send_async(&mut self, v: Tracked) -> Self::Fut<'_> {
                $m::Sender::send_async(self, v)
            }
            fn cancel(fut: &mut Self::Fut<'_>) -> Option<Tracked> {
                fut.cancel()
            }
            fn close(&mut self) {
                $m::Sender::close(self);
            }
        }

        impl Rx for $m::Receiver<Tracked> {
            type Fut<'a> = $m::RecvFuture<'a, Tracked>;
            fn recv(&mut self) -> Result<Tracked, RecvError> {
                $m::Receiver::recv(self)
            }
            fn try_recv(&mut self) -> Result<Tracked, TryRecvError> {
                $m::Receiver::try_recv(self)
            }
            fn recv_timeout(&mut self, t: Duration) -> Result<Tracked, RecvTimeoutError> {
                $m::Receiver::recv_timeout(self, t)
            }
            fn recv_async(&mut self) -> Self::Fut<'_> {
                $m::Receiver::recv_async(self)
            }
            fn close(&mut self) {
                $m::Receiver::close(self);
            }
        }
    };
}

endpoints!(mpmc);
endpoints!(spsc);

/// What a send attempt came to.
enum Sent {
    /// Written (perhaps raising a waker's panic afterwards).
    Done,
    /// Not written yet: try again with this value.
    Again(Tracked),
}

/// Sends `ids` through `tx` in `mode`. A panic out of a send or a poll is
/// a waker's, raised after the value was written; a value the channel
/// hands back (closed) is given back in the ledger, defused.
/// The first producer of a [`Ending::SenderCloses`] round closes the
/// channel before its `close_at`-th send.
pub(super) fn produce<T: Tx>(
    tx: &mut T,
    mode: Mode,
    ids: std::ops::Range<usize>,
    close_at: Option<usize>,
    cx: Ctx<'_>,
    rng: &mut Rng,
) {
    let (ledger, counts, tw) = (cx.ledger, cx.counts, cx.waker(rng));
    for (i, id) in ids.enumerate() {
        if close_at == Some(i) && quietly(|| tx.close()).is_err() {
            add(&counts.at_close);
        }
        let mut v = maybe_bomb(ledger, rng, id, cx.plan.bombs);
        loop {
            let res = quietly(|| match mode {
                Mode::Blocking => match tx.send(v) {
                    Ok(()) => Ok(Sent::Done),
                    Err(SendError(v)) => Err(v),
                },
                Mode::Try => match tx.try_send(v) {
                    Ok(()) => Ok(Sent::Done),
                    Err(TrySendError::Full(v)) => {
                        thread::yield_now();
                        Ok(Sent::Again(v))
                    }
                    Err(TrySendError::Closed(v)) => Err(v),
                },
                Mode::Timeout => match tx.send_timeout(v, Duration::from_millis(1)) {
                    Ok(()) => Ok(Sent::Done),
                    Err(SendTimeoutError::Timeout(v)) => Ok(Sent::Again(v)),
                    Err(SendTimeoutError::Closed(v)) => Err(v),
                },
                Mode::Async => Ok(send_async_once(tx, v, cx, rng, &tw)),
            });
            match res {
                Ok(Ok(Sent::Done)) => break,
                Ok(Ok(Sent::Again(back))) => v = back,
                Ok(Err(back)) => {
                    ledger.give_back(back);
                    break;
                }
                Err(_) => {
                    add(&counts.at_send);
                    break;
                }
            }
        }
    }
}

/// One `send_async` of `v`, driven until it completes or is given up
/// (then cancelled: the value comes back to be sent again). A cancel that
/// raises a waker's panic leaves the value in the future, which drops it
/// unsent.
fn send_async_once<T: Tx>(
    tx: &mut T,
    v: Tracked,
    cx: Ctx<'_>,
    rng: &mut Rng,
    tw: &Arc<ThreadWaker>,
) -> Sent {
    let Ctx {
        ledger,
        counts,
        plan,
    } = cx;
    let id = v.id;
    let mut fut = tx.send_async(v);
    let sent = match drive(Pin::new(&mut fut), tw, rng, plan.cancels) {
        Driven::Ready(Ok(())) => Sent::Done,
        Driven::Ready(Err(SendError(v))) => {
            ledger.give_back(v);
            Sent::Done
        }
        Driven::Panicked => {
            add(&counts.at_send);
            // A poll can raise a waker's panic before it wrote the value (a
            // waker called while registering): then the value is still in
            // the future, and is sent again.
            match quietly(|| T::cancel(&mut fut)) {
                Ok(Some(v)) => Sent::Again(v),
                Ok(None) => Sent::Done,
                Err(_) => {
                    ledger.returned(id);
                    add(&counts.lost_at_cancel);
                    Sent::Done
                }
            }
        }
        Driven::Cancelled { .. } => {
            add(&counts.cancelled);
            match quietly(|| T::cancel(&mut fut)) {
                Ok(Some(v)) => Sent::Again(v),
                Ok(None) => Sent::Done,
                Err(_) => {
                    ledger.returned(id);
                    add(&counts.lost_at_cancel);
                    Sent::Done
                }
            }
        }
    };
    if quietly(move || drop(fut)).is_err() {
        add(&counts.at_drop);
    }
    sent
}

/// Receives through `rx` in `mode` until the channel is closed and
/// drained, or `stop(rx)` (called before each receive) says so; adds each
/// message taken to `taken`. A panic out of a receive or a poll is a
/// waker's: counted, with the messages its unwinding dropped (the
/// message it had taken, if any) counted as lost.
pub(super) fn consume<R: Rx>(
    rx: &mut R,
    mode: Mode,
    taken: &AtomicUsize,
    cx: Ctx<'_>,
    rng: &mut Rng,
    mut stop: impl FnMut(&mut R) -> bool,
) {
    let (ledger, counts, tw) = (cx.ledger, cx.counts, cx.waker(rng));
    while !stop(rx) {
        let dropped_before = ledger::unreceived_drops_here();
        let res = quietly(|| match mode {
            Mode::Blocking => rx.recv().map(Some).map_err(|_| ()),
            Mode::Try => match rx.try_recv() {
                Ok(v) => Ok(Some(v)),
                Err(TryRecvError::Empty) => {
                    thread::yield_now();
                    Ok(None)
                }
                Err(TryRecvError::Closed) => Err(()),
            },
            Mode::Timeout => match rx.recv_timeout(Duration::from_millis(1)) {
                Ok(v) => Ok(Some(v)),
                Err(RecvTimeoutError::Timeout) => Ok(None),
                Err(RecvTimeoutError::Closed) => Err(()),
            },
            Mode::Async => recv_async_once(rx, counts, rng, &tw, cx.plan),
        });
        match res {
            Ok(Ok(Some(v))) => {
                ledger.take(v);
                add(&counts.received);
                add(taken);
            }
            Ok(Ok(None)) => {}
            Ok(Err(())) => break,
            Err(_) => {
                add(&counts.at_recv);
                let lost = ledger::unreceived_drops_here() - dropped_before;
                counts.lost_at_recv.fetch_add(lost, Ordering::Relaxed);
                taken.fetch_add(lost, Ordering::Relaxed);
            }
        }
    }
}

/// One `recv_async`, driven until it completes or is given up (`Ok(None)`);
/// `Err` when the channel is closed and drained. A poll that panics is
/// raised again, for [`consume`] to count.
fn recv_async_once<R: Rx>(
    rx: &mut R,
    counts: &Counts,
    rng: &mut Rng,
    tw: &Arc<ThreadWaker>,
    plan: &Round,
) -> Result<Option<Tracked>, ()> {
    let mut fut = Box::pin(rx.recv_async());
    let res: Result<Result<Option<Tracked>, ()>, Lost> =
        match drive(fut.as_mut(), tw, rng, plan.cancels) {
            Driven::Ready(Ok(v)) => Ok(Ok(Some(v))),
            Driven::Ready(Err(_)) => Ok(Err(())),
            Driven::Panicked => Err(Lost),
            Driven::Cancelled { .. } => {
                add(&counts.cancelled);
                Ok(Ok(None))
            }
        };
    // A drop that passes a wake-up on may raise a waker's panic.
    if quietly(move || drop(fut)).is_err() {
        add(&counts.at_drop);
    }
    // A panicking poll: raise the panic again, now that the future is
    // gone, for the caller to count (with the message it dropped, if any).
    res.unwrap_or_else(|Lost| inject::inject_panic())
}

/// A poll that raised a waker's panic.
struct Lost;

/// Drops a channel handle, counting a panic its drop raises (a close that
/// woke a panicking waker, or a drain that dropped a panicking value).
pub(super) fn drop_handle<H>(h: H, counts: &Counts) {
    if quietly(move || drop(h)).is_err() {
        add(&counts.at_close);
    }
}

impl Round {
    /// Runs the round: ids `base .. base + producers * per` through a new
    /// channel. Every participant ends (no lost wake-up); the caller checks
    /// the ledger with [`Round::check`].
    pub(super) fn run(
        &self,
        ledger: &Arc<Ledger>,
        base: usize,
        counts: &Arc<Counts>,
        rng: &mut Rng,
    ) {
        let (p, c) = (self.producers.len(), self.consumers.len());
        if self.mpmc {
            let (tx, rx) = mpmc::channel::<Tracked>(self.cap);
            // Clones only: the channel closes when the participants' go.
            let mut txs: Vec<_> = (1..p).map(|_| tx.clone()).collect();
            txs.push(tx);
            let mut rxs: Vec<_> = (1..c).map(|_| rx.clone()).collect();
            rxs.push(rx);
            self.run_with(ledger, base, counts, rng, txs, rxs);
        } else {
            assert_eq!((p, c), (1, 1), "spsc: one producer, one consumer");
            let (tx, rx) = spsc::channel::<Tracked>(self.cap);
            self.run_with(ledger, base, counts, rng, vec![tx], vec![rx]);
        }
    }

    /// [`Round::run`] over these endpoints, one per participant.
    fn run_with<T: Tx, R: Rx>(
        &self,
        ledger: &Arc<Ledger>,
        base: usize,
        counts: &Arc<Counts>,
        rng: &mut Rng,
        txs: Vec<T>,
        rxs: Vec<R>,
    ) {
        let taken = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = txs
            .into_iter()
            .zip(&self.producers)
            .enumerate()
            .map(|(p, (mut tx, &mode))| {
                let (l, c, mut r) = (ledger.clone(), counts.clone(), rng.fork());
                let plan = self.clone();
                let lo = base + p * self.per;
                let close_at = (p == 0 && self.ending == Ending::SenderCloses).then_some(self.cut);
                thread::spawn(move || {
                    let cx = Ctx {
                        ledger: &l,
                        counts: &c,
                        plan: &plan,
                    };
                    produce(&mut tx, mode, lo..lo + plan.per, close_at, cx, &mut r);
                    drop_handle(tx, &c);
                })
            })
            .collect();
        let consumers: Vec<_> = rxs
            .into_iter()
            .zip(&self.consumers)
            .map(|(mut rx, &mode)| {
                let (l, c, mut r) = (ledger.clone(), counts.clone(), rng.fork());
                let plan = self.clone();
                let (taken, closed) = (taken.clone(), closed.clone());
                thread::spawn(move || {
                    let (cut, ending) = (plan.cut, plan.ending);
                    let cx = Ctx {
                        ledger: &l,
                        counts: &c,
                        plan: &plan,
                    };
                    consume(&mut rx, mode, &taken, cx, &mut r, |rx| {
                        let n = taken.load(Ordering::Relaxed);
                        match ending {
                            Ending::ReceiversDrop => n >= cut,
                            Ending::ReceiverCloses if n >= cut => {
                                if !closed.swap(true, Ordering::Relaxed)
                                    && quietly(|| rx.close()).is_err()
                                {
                                    add(&c.at_close);
                                }
                                false
                            }
                            _ => false,
                        }
                    });
                    drop_handle(rx, &c);
                })
            })
            .collect();
        join_all(producers, "producer");
        join_all(consumers, "consumer");
    }

    /// Checks the ledger of `total` messages after rounds with these
    /// parameters: each message dropped exactly once, received at most
    /// once; the ones never received are those the counts explain (lost
    /// to a receive or a cancel that raised a waker's panic), exactly when
    /// every round drained its channel, and at least those otherwise (a
    /// close leaves messages in the buffer, a closed channel hands them
    /// back). Returns (received, given back, dropped unreceived).
    pub(super) fn check(
        ledger: &Ledger,
        total: usize,
        counts: &Counts,
        drained: bool,
    ) -> (usize, usize, usize) {
        let (received, returned, unreceived) = ledger.assert_conserved(total);
        assert_eq!(
            received,
            get(&counts.received),
            "messages received vs counted"
        );
        let (lost_recv, lost_cancel) = (get(&counts.lost_at_recv), get(&counts.lost_at_cancel));
        assert!(
            lost_recv <= get(&counts.at_recv),
            "more messages lost to receives that raised a panic than such receives"
        );
        if drained {
            assert_eq!(
                unreceived, lost_recv,
                "messages lost: each one dropped by a receive that raised a waker's panic after \
                 taking it"
            );
            assert_eq!(
                returned, lost_cancel,
                "values dropped unsent: one per cancel that raised a panic"
            );
        } else {
            assert!(
                unreceived >= lost_recv,
                "fewer messages lost than receives that raised a panic dropped"
            );
            assert!(
                returned >= lost_cancel,
                "fewer values given back than cancels that raised a panic"
            );
        }
        (received, returned, unreceived)
    }
}
