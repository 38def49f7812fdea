//! The concurrency facade: the only import path for the atomics, the lock
//! and the waker slot of this crate (the system lane and the counters).
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same code runs in the model checker; outside loom these are the standard
//! library's types and `atomic-waker`'s.

#[cfg(not(loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(not(loom))]
use std::sync::Mutex as Inner;
#[cfg(not(loom))]
pub(crate) use std::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use loom::future::AtomicWaker;
#[cfg(loom)]
use loom::sync::Mutex as Inner;
#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Lets another thread finish a step this one waits for.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Stores `waker` in `cell`.
#[inline]
pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
    #[cfg(not(loom))]
    cell.register(waker);
    #[cfg(loom)]
    cell.register(waker.clone());
}

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning.
///
/// The locks of this crate guard plain lists (system signals, watchers,
/// the last failure); no user code runs under them, so a panic elsewhere
/// cannot leave them half-updated.
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
