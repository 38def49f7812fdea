//! The concurrency facade: atomics, `Arc`, `Mutex`, the waker cell and the
//! thread handle come from here, so the wheel's and the driver's protocols
//! run unchanged under loom.

#[cfg(not(loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::Thread;

#[cfg(loom)]
pub(crate) use loom::future::AtomicWaker;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

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

/// Locks `mutex`, ignoring poisoning: the wheel never panics while holding
/// its lock (wakers are woken after it is released), so a poisoned lock
/// still guards consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        mutex
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[cfg(loom)]
    {
        mutex.lock().unwrap()
    }
}
