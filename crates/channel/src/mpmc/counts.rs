//! The endpoint counts every MPMC flavor keeps, the weak endpoints'
//! upgrade protocol on them, and the batch turn of `reserve_many`.

use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::waiter::WaitQueue;

/// The number of live senders and receivers, as every flavor keeps it,
/// and of weak ones; and the batch turn of `reserve_many` (see
/// `permits.rs`), which every flavor with permits then has for free.
///
/// A weak endpoint upgrades only while its side's count is above zero: the
/// upgrade increments it with a compare-and-swap from a non-zero value, and
/// the last strong endpoint's drop takes it from 1 to 0 with one
/// `fetch_sub`, so exactly one of the two happens first. An upgrade that
/// wins keeps that side connected; one that loses sees 0 and fails, and
/// the side stays disconnected for good.
#[derive(Debug)]
pub(crate) struct Counts {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    weak_senders: AtomicUsize,
    weak_receivers: AtomicUsize,
    /// Held by the one `reserve_many` future that gathers permits.
    batch_turn: AtomicBool,
    /// `reserve_many` futures waiting for the batch turn.
    batch_wait: WaitQueue,
}

impl Counts {
    /// One sender and one receiver, as `channel` returns them.
    pub(crate) fn new() -> Self {
        Self {
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            weak_senders: AtomicUsize::new(0),
            weak_receivers: AtomicUsize::new(0),
            batch_turn: AtomicBool::new(false),
            batch_wait: WaitQueue::new(),
        }
    }

    /// Takes the batch turn if no `reserve_many` future holds it.
    pub(crate) fn try_take_batch_turn(&self) -> bool {
        self.batch_turn
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Gives the batch turn back and wakes one future waiting for it.
    pub(crate) fn give_batch_turn_back(&self) {
        self.batch_turn.store(false, Ordering::SeqCst);
        self.batch_wait.notify_one();
    }

    /// The `reserve_many` futures waiting for the batch turn.
    pub(crate) fn batch_wait(&self) -> &WaitQueue {
        &self.batch_wait
    }

    /// Live senders, a snapshot.
    pub(crate) fn senders(&self) -> usize {
        self.senders.load(Ordering::SeqCst)
    }

    /// Live receivers, a snapshot.
    pub(crate) fn receivers(&self) -> usize {
        self.receivers.load(Ordering::SeqCst)
    }

    /// Live weak senders, a snapshot.
    pub(crate) fn weak_senders(&self) -> usize {
        self.weak_senders.load(Ordering::SeqCst)
    }

    /// Live weak receivers, a snapshot.
    pub(crate) fn weak_receivers(&self) -> usize {
        self.weak_receivers.load(Ordering::SeqCst)
    }

    /// The count of `side`'s strong or weak endpoints.
    pub(crate) fn of(&self, side: Side, weak: bool) -> &AtomicUsize {
        match (side, weak) {
            (Side::Send, false) => &self.senders,
            (Side::Recv, false) => &self.receivers,
            (Side::Send, true) => &self.weak_senders,
            (Side::Recv, true) => &self.weak_receivers,
        }
    }
}

/// Adds one to `count` unless it is 0; true if it did.
pub(crate) fn increment_unless_zero(count: &AtomicUsize) -> bool {
    let mut n = count.load(Ordering::SeqCst);
    loop {
        if n == 0 {
            return false;
        }
        match count.compare_exchange_weak(n, n + 1, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(now) => n = now,
        }
    }
}

/// Which side of the channel a weak endpoint stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Send,
    Recv,
}
