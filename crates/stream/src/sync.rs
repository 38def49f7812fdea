//! The concurrency facade: the only import path for the atomics, the lock
//! and the waker slot of this crate (the conflation spill, the stage
//! counters and the broadcast's cursors).
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same code runs in the model checker. Outside loom these are the standard
//! library's types and `atomic-waker`'s, at no extra cost.

#[cfg(not(loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(not(loom))]
use std::sync::Mutex as Inner;
#[cfg(not(loom))]
pub(crate) use std::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::future::AtomicWaker;
#[cfg(loom)]
use loom::sync::Mutex as Inner;
#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

/// Stores `waker` in `cell` (cloning only if it changed, outside loom).
#[inline]
pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
    #[cfg(not(loom))]
    cell.register(waker);
    #[cfg(loom)]
    cell.register(waker.clone());
}

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning.
///
/// The one lock of this crate guards the conflation spill: an item slot and
/// a closed flag. The user's fold runs under it; if the fold panics, the
/// panic reaches the send that called it, the slot still holds an item (as
/// the fold left it) and the flags are unchanged, so the data stays
/// consistent and later sends and receives go on using it.
#[derive(Debug)]
pub(crate) struct Mutex<T>(Inner<T>);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// Locks the mutex, waiting for it if another thread holds it, and
    /// returns the guard even if a panic poisoned it.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
