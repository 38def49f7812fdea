//! The concurrency facade: the one import path for the atomics, locks,
//! condition variables and thread parkers of this crate.
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! protocols (the idle/park protocol in `idle.rs`, the shutdown gate in
//! `gate.rs`, the LIFO slot in `lifo.rs`, the task registry and abort flag
//! in `task/`) run in the model checker as they ship. Outside loom these are
//! the standard library's types and crossbeam-utils' parker, at no extra
//! cost.

use std::sync::PoisonError;
use std::time::Duration;

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Condvar, MutexGuard};

    pub(crate) use crossbeam_utils::sync::{Parker, Unparker};

    pub(crate) use std::sync::Mutex as Inner;
}

#[cfg(loom)]
mod imp {
    use std::time::Instant;

    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Condvar, MutexGuard};

    pub(crate) use loom::sync::Mutex as Inner;

    /// crossbeam-utils' `Parker` under loom: a one-permit `Notify` shared
    /// with its unparkers, so an unpark before the park is not lost. (loom's
    /// own thread park is tied to the thread, but a worker's parker is made
    /// before its thread starts.)
    #[derive(Debug)]
    pub(crate) struct Parker {
        /// Wakes this parker.
        unparker: Unparker,
    }

    /// Wakes a [`Parker`].
    #[derive(Debug, Clone)]
    pub(crate) struct Unparker(loom::sync::Arc<loom::sync::Notify>);

    impl Parker {
        /// A parker with no permit.
        pub(crate) fn new() -> Self {
            Self {
                unparker: Unparker(loom::sync::Arc::new(loom::sync::Notify::new())),
            }
        }

        /// Waits for the permit and takes it.
        pub(crate) fn park(&self) {
            self.unparker.0.wait();
        }

        /// As if the deadline had passed: loom has no clock. (Returning
        /// early is allowed to a timed park; waiting could only make a model
        /// report a deadlock that a clock would have ended.)
        pub(crate) fn park_deadline(&self, _deadline: Instant) {
            loom::thread::yield_now();
        }

        /// This parker's unparker.
        pub(crate) fn unparker(&self) -> &Unparker {
            &self.unparker
        }
    }

    impl Unparker {
        /// Gives the parker its permit.
        pub(crate) fn unpark(&self) {
            self.0.notify();
        }
    }
}

pub(crate) use imp::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, MutexGuard, Ordering, Parker,
    Unparker, fence,
};

/// Process-wide counters that only hand out unique numbers (task ids,
/// `block_on` waiter ids): the standard library's atomics under loom too,
/// since loom's atomics cannot be `static`s, and no protocol orders other
/// memory through them.
pub(crate) use std::sync::atomic::{
    AtomicU64 as StaticAtomicU64, AtomicUsize as StaticAtomicUsize,
};

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning.
///
/// Ignoring it is sound for every lock of this crate: none guards data a
/// panic can leave half-updated. The task registry, the idle workers'
/// list, the blocking pool, the current-thread core and its waiters, the
/// unparkers and the timer hook are updated by runtime code that does not
/// panic while it holds them (wakers are dropped and woken after the lock
/// is released). The two places where other code runs under a lock keep the
/// data consistent: the blocking pool calls the user's thread-name function
/// before it changes the thread count (the closure stays queued), and a
/// timer turn under the timer lock leaves the hook it holds as it was. A
/// panic while a lock is held is reported where it happens (a task's
/// `JoinError`, a hook's report), so poisoning would only turn that one
/// panic into a second one at every later lock.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(imp::Inner<T>);

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(imp::Inner::new(value))
    }

    /// Locks, ignoring poisoning.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, ignoring poisoning.
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A condition variable for [`Mutex`], ignoring poisoning as it does.
#[derive(Debug, Default)]
pub(crate) struct Condvar(imp::Condvar);

impl Condvar {
    /// A condition variable nobody waits on.
    pub(crate) fn new() -> Self {
        Self(imp::Condvar::new())
    }

    /// Releases `guard`, waits for a notification, and locks again.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    /// As [`Condvar::wait`], for at most `timeout`; the flag says whether
    /// the wait timed out.
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let (guard, result) = self
            .0
            .wait_timeout(guard, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        (guard, result.timed_out())
    }

    /// Wakes one waiter.
    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}
