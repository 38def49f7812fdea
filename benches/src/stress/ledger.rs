//! Per-message accounting: which ids were received, handed back, dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

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
        }
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
            match (r, h) {
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
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, Ordering::Relaxed);
    }
}
