//! Per-message accounting: which ids were received, handed back, dropped.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::inject;

/// Messages received by all ledgers so far, for the progress lines of long
/// runs; each thread adds its count in batches of [`PROGRESS_BATCH`].
static PROGRESS: AtomicUsize = AtomicUsize::new(0);

/// How many receipts a thread counts before adding them to [`PROGRESS`].
const PROGRESS_BATCH: usize = 1 << 14;

/// Receipts of a thread not yet added to [`PROGRESS`]; added when the
/// thread ends.
struct Unreported(Cell<usize>);

impl Drop for Unreported {
    fn drop(&mut self) {
        PROGRESS.fetch_add(self.0.get(), Ordering::Relaxed);
    }
}

thread_local! {
    /// This thread's receipts not yet added to [`PROGRESS`].
    static UNREPORTED: Unreported = const { Unreported(Cell::new(0)) };
    /// Messages dropped on this thread that were neither received nor
    /// handed back.
    static UNRECEIVED_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// How many messages this thread has dropped so far that were neither
/// received nor handed back: the difference across a call tells whether
/// the call dropped a message (a receive unwinding after taking one).
pub(super) fn unreceived_drops_here() -> usize {
    UNRECEIVED_DROPS.with(Cell::get)
}

/// Messages received so far in this process (up to one batch per thread
/// behind).
pub(super) fn progress() -> usize {
    PROGRESS.load(Ordering::Relaxed)
}

/// Counts, per message id, how often it was received, handed back to its
/// sender in an error, and dropped.
#[derive(Debug)]
pub struct Ledger {
    received: Vec<AtomicU8>,
    returned: Vec<AtomicU8>,
    dropped: Vec<AtomicU8>,
    created: AtomicUsize,
}

impl Ledger {
    /// A ledger for ids `0 .. n`.
    pub fn new(n: usize) -> Arc<Self> {
        let zeros = |n| (0..n).map(|_| AtomicU8::new(0)).collect();
        Arc::new(Self {
            received: zeros(n),
            returned: zeros(n),
            dropped: zeros(n),
            created: AtomicUsize::new(0),
        })
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.received.len()
    }

    /// True for a ledger of no ids.
    pub fn is_empty(&self) -> bool {
        self.received.is_empty()
    }

    /// Records that `id` reached a receiver.
    pub fn received(&self, id: usize) {
        self.received[id].fetch_add(1, Ordering::Relaxed);
        UNREPORTED.with(|Unreported(n)| {
            let now = n.get() + 1;
            if now == PROGRESS_BATCH {
                PROGRESS.fetch_add(now, Ordering::Relaxed);
                n.set(0);
            } else {
                n.set(now);
            }
        });
    }

    /// Records that `msg` reached a receiver and drops it (defused: a
    /// received message's drop never panics). Returns its id.
    pub fn take(&self, mut msg: Tracked) -> usize {
        self.received(msg.id);
        msg.bomb = false;
        msg.id
    }

    /// Records that `msg` came back to its sender and drops it, defused.
    pub fn give_back(&self, mut msg: Tracked) {
        self.returned(msg.id);
        msg.bomb = false;
    }

    /// Records that `id` came back to its sender inside an error.
    pub fn returned(&self, id: usize) {
        self.returned[id].fetch_add(1, Ordering::Relaxed);
    }

    /// How often `id` was dropped so far.
    pub fn drops(&self, id: usize) -> u8 {
        self.dropped[id].load(Ordering::Relaxed)
    }

    /// Makes a tracked message with this id.
    pub fn make(self: &Arc<Self>, id: usize) -> Tracked {
        self.created.fetch_add(1, Ordering::Relaxed);
        Tracked {
            id,
            ledger: Arc::clone(self),
            bomb: false,
        }
    }

    /// Makes a tracked message whose drop panics (after it was counted)
    /// unless it was received or given back first: a value with a
    /// panicking `Drop` left in a channel.
    pub fn make_bomb(self: &Arc<Self>, id: usize) -> Tracked {
        let mut msg = self.make(id);
        msg.bomb = true;
        msg
    }

    /// Checks that ids `0 .. sent` were each received exactly once.
    /// Panics with the first offender.
    pub fn assert_all_received_once(&self, sent: usize) {
        for id in 0..sent {
            let n = self.received[id].load(Ordering::Relaxed);
            assert_eq!(
                n, 1,
                "message {id} was received {n} times (expected exactly once)"
            );
        }
    }

    /// How often message `id` was received and returned, having checked
    /// that it was dropped exactly once and not both received and
    /// returned.
    pub fn fate(&self, id: usize) -> (u8, u8) {
        let d = self.dropped[id].load(Ordering::Relaxed);
        assert_eq!(
            d, 1,
            "message {id} was dropped {d} times (expected exactly once)"
        );
        let r = self.received[id].load(Ordering::Relaxed);
        let h = self.returned[id].load(Ordering::Relaxed);
        assert!(
            r + h <= 1,
            "message {id}: received {r} times and returned {h} times"
        );
        (r, h)
    }

    /// Checks the close-race identity for ids `0 .. sent` of [`Tracked`]
    /// messages: each was dropped exactly once and either received once,
    /// returned once, or dropped in the buffer. Returns (received,
    /// returned, dropped in buffer).
    pub fn assert_conserved(&self, sent: usize) -> (usize, usize, usize) {
        assert_eq!(
            self.created.load(Ordering::Relaxed),
            sent,
            "messages created vs sent"
        );
        let (mut rec, mut ret, mut buf) = (0, 0, 0);
        for id in 0..sent {
            match self.fate(id) {
                (1, 0) => rec += 1,
                (0, 1) => ret += 1,
                _ => buf += 1,
            }
        }
        assert_eq!(rec + ret + buf, sent);
        (rec, ret, buf)
    }
}

/// A message whose drop is recorded in its [`Ledger`].
#[derive(Debug)]
pub struct Tracked {
    /// The message's unique id.
    pub id: usize,
    ledger: Arc<Ledger>,
    /// Whether its drop panics (see [`Ledger::make_bomb`]).
    bomb: bool,
}

impl Tracked {
    /// Whether its drop panics (see [`Ledger::make_bomb`]).
    pub fn is_bomb(&self) -> bool {
        self.bomb
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, Ordering::Relaxed);
        let ledger = &self.ledger;
        if ledger.received[self.id].load(Ordering::Relaxed) == 0
            && ledger.returned[self.id].load(Ordering::Relaxed) == 0
        {
            UNRECEIVED_DROPS.with(|n| n.set(n.get() + 1));
        }
        // A panic while unwinding would abort the process, in any code: a
        // well-behaved value does not do it.
        if self.bomb && !std::thread::panicking() {
            inject::inject_panic();
        }
    }
}
