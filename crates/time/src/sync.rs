//! The concurrency facade: atomics, `Arc`, `Mutex`, the waker cell and the
//! thread handle come from here, from std (and `atomic-waker`) normally and
//! from loom under `cfg(loom)`, so the wheel's and the driver's protocols
//! run unchanged under loom.

#[cfg(not(loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::Thread;

#[cfg(loom)]
pub(crate) use loom::future::AtomicWaker;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, MutexGuard};

/// The timer thread's handle under loom: a one-permit notification, as
/// `park` / `unpark` are. (loom's own `Thread::unpark` also wakes a thread
/// blocked on a loom mutex, which a real unpark never does.)
#[cfg(loom)]
#[derive(Clone)]
pub(crate) struct Thread(Arc<loom::sync::Notify>);

#[cfg(loom)]
impl Thread {
    /// A handle with no permit.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self(Arc::new(loom::sync::Notify::new()))
    }

    /// Gives the permit: the next (or the current) [`Thread::park`] returns.
    pub(crate) fn unpark(&self) {
        self.0.notify();
    }

    /// Waits for the permit and takes it (the owner thread only).
    #[cfg(test)]
    pub(crate) fn park(&self) {
        self.0.wait();
    }
}

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning: std's `Mutex`,
/// or loom's under loom.
///
/// That is sound for the data this crate locks, the driver's state and the
/// wheel in it: nothing panics while holding the lock except the wheel's
/// check that fewer than 4 billion timers are armed, which runs before the
/// wheel is changed, and wakers are woken (and entries dropped) only after
/// the lock is released. So a lock poisoned by a panic elsewhere in its
/// thread still guards consistent data, and the panic was already
/// reported where it happened.
pub(crate) struct Mutex<T>(
    #[cfg(not(loom))] std::sync::Mutex<T>,
    #[cfg(loom)] loom::sync::Mutex<T>,
);

impl<T> Mutex<T> {
    /// A mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(loom))]
        {
            Self(std::sync::Mutex::new(value))
        }
        #[cfg(loom)]
        {
            Self(loom::sync::Mutex::new(value))
        }
    }

    /// Locks the mutex, whether or not it was poisoned.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Registers `waker` in `cell`, to be woken by its next `wake`
/// (`atomic-waker` takes it by reference as `register`, loom as
/// `register_by_ref`).
#[inline]
pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
    #[cfg(not(loom))]
    cell.register(waker);
    #[cfg(loom)]
    cell.register_by_ref(waker);
}
