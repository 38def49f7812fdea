//! The concurrency facade: the only import path for atomics, cells, `Arc`,
//! `Mutex`, thread parking and spin hints in this crate.
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same protocol code runs in the model checker. Outside loom these are the
//! standard library's types, at no extra cost.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    pub(crate) use atomic_waker::AtomicWaker;

    /// Stores `waker` in `cell`, cloning only if it changed.
    #[inline]
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register(waker);
    }

    /// `core::cell::UnsafeCell` behind loom's closure-based API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// One step of a spin loop.
    #[inline(always)]
    pub(crate) fn spin_hint() {
        core::hint::spin_loop();
    }

    /// Gives the rest of this time slice to another thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::future::AtomicWaker;
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use loom::thread::{Thread, current, park};

    /// Stores `waker` in `cell`.
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register_by_ref(waker);
    }

    /// Loom does not model time: a timed park is a plain park. Models never
    /// rely on a timeout firing.
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::park();
    }

    /// Under loom a spin step must yield so the model can make progress.
    pub(crate) fn spin_hint() {
        loom::thread::yield_now();
    }

    /// Gives the rest of this time slice to another thread.
    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;

/// Locks `m`, ignoring poisoning: every critical section in this crate
/// leaves the protected data consistent before anything that can panic.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Spins for a short, bounded time before a caller gives up and parks.
///
/// Mirrors crossbeam-utils' `Backoff`, but routes each step through the
/// facade so loom can schedule other threads.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 6;
    const YIELD_LIMIT: u32 = if cfg!(loom) { 1 } else { 10 };

    pub(crate) const fn new() -> Self {
        Self { step: 0 }
    }

    /// Waits a little longer each call: spins at first, then yields.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT && !cfg!(loom) {
            for _ in 0..1u32 << self.step {
                spin_hint();
            }
        } else {
            yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Spins with no yield, for retrying a lost compare-and-swap.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(Self::SPIN_LIMIT) {
            spin_hint();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// True once spinning has stopped paying and the caller should park.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        // Under loom a yield runs the other threads to completion first, so
        // spinning would hide the parking path from the model: park at once.
        cfg!(loom) || self.step > Self::YIELD_LIMIT
    }
}
