//! The concurrency facade: the only import path for the atomics, `Arc` and
//! locks of this crate's protocols (the cancel token, the concurrency
//! limit, the queue of finished children, a started child's slot and the
//! group's own state and counters).
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same protocol code runs in the model checker. Outside loom these are the
//! standard library's types, at no extra cost.
//!
//! Names (`std::sync::Arc<str>`) are not taken from here: they are part of
//! the public API and immutable once shared, so no protocol runs on them.

use core::fmt;

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(not(loom))]
use std::sync::Mutex as Inner;

#[cfg(loom)]
use loom::sync::Mutex as Inner;

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning.
///
/// That is sound for every lock of this crate: no user code runs while one
/// is held (wakers are woken, and futures and wakers dropped, after the
/// lock is released; the one exception, the future of a child the runtime
/// refuses during a spawn, is dropped under the runtime's `catch_unwind`),
/// and each critical section leaves its data consistent at every point a
/// panic could come from (an allocation failure or an internal assertion),
/// so a poisoned lock still guards consistent data. A panic while holding
/// one is reported where it happened; refusing the lock afterwards would
/// only turn it into a second failure elsewhere.
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

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
