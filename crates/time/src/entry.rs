//! A timer's entry: the part of a timer shared between its handle
//! ([`Sleep`](crate::Sleep)) and the wheel, and the handshake by which a
//! fire reaches the task that polls the timer.
//!
//! # The protocol
//! The entry's state is [`IDLE`], [`ARMED`] or [`FIRED`]. It changes only
//! under the wheel's lock: to armed when the wheel links the entry's node,
//! to idle when the node is removed before it fired, to fired when a turn
//! unlinks it as due (with a `Release` store). The handle reads the state
//! without the lock (`Acquire`).
//!
//! A poll registers the task's waker in the entry's waker cell and then
//! reads the state again ([`Entry::fired_or_register`]); a turn marks the
//! entry fired under the lock and wakes the cell after releasing it. So a
//! fire that races with a poll is either seen by the poll's second read or
//! wakes the waker the poll registered. The loom models in
//! `loom_tests.rs` (`loom_poll_races_fire`, `loom_cancel_races_fire`,
//! `loom_reset_races_fire`) check that race against the wheel's own code.

use crate::sync::{Arc, AtomicU8, AtomicWaker, Ordering, register_waker};

/// The entry is not in the wheel and has not fired since it was last armed.
pub(crate) const IDLE: u8 = 0;
/// The entry is linked in the wheel.
pub(crate) const ARMED: u8 = 1;
/// The wheel fired the entry.
pub(crate) const FIRED: u8 = 2;

/// The part of a timer shared between its handle and the wheel.
#[derive(Debug)]
pub(crate) struct Entry {
    /// [`IDLE`], [`ARMED`] or [`FIRED`].
    state: AtomicU8,
    /// The task to wake when the entry fires.
    waker: AtomicWaker,
}

impl Entry {
    /// A new idle entry.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: AtomicU8::new(IDLE),
            waker: AtomicWaker::new(),
        })
    }

    /// Whether the wheel fired the entry.
    #[inline]
    pub(crate) fn is_fired(&self) -> bool {
        self.state.load(Ordering::Acquire) == FIRED
    }

    /// Whether the entry is linked in the wheel (or was when this returned).
    #[inline]
    pub(crate) fn is_armed(&self) -> bool {
        self.state.load(Ordering::Acquire) == ARMED
    }

    /// Whether the entry fired; if it has not, registers `waker` and looks
    /// again. A fire that races with the registration either is seen here
    /// or wakes `waker`.
    pub(crate) fn fired_or_register(&self, waker: &core::task::Waker) -> bool {
        if self.is_fired() {
            return true;
        }
        register_waker(&self.waker, waker);
        self.is_fired()
    }

    /// Marks the entry fired. Called under the lock, when its node is
    /// unlinked.
    #[inline]
    pub(crate) fn fire(&self) {
        self.state.store(FIRED, Ordering::Release);
    }

    /// Marks the entry armed. Called under the lock, when its node is
    /// linked.
    #[inline]
    pub(crate) fn mark_armed(&self) {
        self.state.store(ARMED, Ordering::Release);
    }

    /// Marks the entry idle. Called under the lock, when its node is
    /// removed before it fired.
    #[inline]
    pub(crate) fn mark_idle(&self) {
        self.state.store(IDLE, Ordering::Release);
    }

    /// The raw state, for models.
    #[cfg(all(loom, test))]
    pub(crate) fn state_for_tests(&self) -> &AtomicU8 {
        &self.state
    }

    /// Wakes the registered task, if any. Called without the lock.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }
}
