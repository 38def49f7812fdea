//! The concurrency facade: the only import path for atomics, cells, `Arc`,
//! `Mutex`, thread parking, spin hints and fences in this crate.
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same protocol code runs in the model checker. Outside loom these are the
//! standard library's types, at no extra cost. The wait protocol's fences
//! live in `membarrier`, the bounded spin in `backoff`.

#[cfg(not(loom))]
mod imp {
    pub(super) use std::sync::Mutex as RawMutex;
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Arc, MutexGuard};
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    pub(crate) use atomic_waker::AtomicWaker;

    /// Stores `waker` in `cell`, cloning only if it changed.
    #[inline]
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register(waker);
    }

    /// Takes the waker out of `cell`, if one is stored and no wake is
    /// under way.
    #[inline]
    pub(crate) fn take_waker(cell: &AtomicWaker) -> Option<core::task::Waker> {
        cell.take()
    }

    /// `core::cell::UnsafeCell` behind loom's closure-based API.
    /// Transparent, so a slice of cells has the layout of a slice of `T`.
    #[derive(Debug)]
    #[repr(transparent)]
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
    pub(super) use loom::sync::Mutex as RawMutex;
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Arc, MutexGuard};

    /// A thread to wake: under loom, a one-permit `Notify` per thread
    /// rather than loom's own park and unpark. loom lets an unpark wake a
    /// thread that is blocked on a loom mutex, which it then reports as a
    /// failure to take the lock; a notifier that claims a waiter and
    /// unparks its thread after the thread has moved on to lock a wait
    /// queue hits exactly that. `Notify` keeps the permit semantics of
    /// `unpark` (a wake before the park is not lost) without the clash.
    #[derive(Clone)]
    pub(crate) struct Thread(Arc<loom::sync::Notify>);

    impl Thread {
        pub(crate) fn unpark(&self) {
            self.0.notify();
        }
    }

    impl core::fmt::Debug for Thread {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("Thread")
        }
    }

    loom::thread_local! {
        static PARKER: Thread = Thread(Arc::new(loom::sync::Notify::new()));
    }

    /// The calling thread, to wake with [`Thread::unpark`].
    pub(crate) fn current() -> Thread {
        PARKER.with(Thread::clone)
    }

    /// Waits until the calling thread is unparked (at once if it was since
    /// its last park).
    pub(crate) fn park() {
        current().0.wait();
    }

    /// Stores `waker` in `cell`.
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register_by_ref(waker);
    }

    /// Takes the waker out of `cell`.
    pub(crate) fn take_waker(cell: &AtomicWaker) -> Option<core::task::Waker> {
        cell.take_waker()
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

mod backoff;
mod membarrier;

pub(crate) use backoff::{Backoff, note_woke_thread};
#[cfg(all(loom, test))]
pub(crate) use membarrier::model_asymmetric;
#[cfg(loom)]
pub(crate) use membarrier::switch_on_register;
pub(crate) use membarrier::{asymmetric_fences, heavy_fence, light_fence, prepare_fences};

/// A mutex whose [`lock`](Self::lock) ignores poisoning: std's mutex, or
/// loom's under `cfg(loom)`.
///
/// Ignoring poison is sound for this crate's data: every critical section
/// (a wait queue's entries, the orphan list) runs plain collection
/// operations that leave the data consistent before anything that can
/// panic, and no user code (a waker, a value's drop) runs under a lock. A
/// panic that poisons a lock has been reported to its own caller already.
#[derive(Debug)]
pub(crate) struct Mutex<T>(imp::RawMutex<T>);

impl<T> Mutex<T> {
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Self(imp::RawMutex::new(value))
    }

    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Self(imp::RawMutex::new(value))
    }

    /// Locks the mutex, poisoned or not.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The lock of a process-wide static that the loom models leave out (the
/// orphan list): the crate's [`Mutex`] in a normal build.
#[cfg(not(loom))]
pub(crate) type StaticMutex<T> = Mutex<T>;

/// The lock of a process-wide static that the loom models leave out (the
/// orphan list): std's mutex under loom too, since a loom mutex cannot be
/// a `static`. Poisoning is ignored as in [`Mutex`].
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct StaticMutex<T>(std::sync::Mutex<T>);

#[cfg(loom)]
impl<T> StaticMutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    /// Locks the mutex, poisoned or not.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
