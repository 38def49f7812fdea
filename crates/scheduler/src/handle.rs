//! [`Handle`]: spawns onto a runtime from any thread.

use core::future::Future;
use std::fmt;
use std::sync::Arc;

use crate::context::CONTEXT;
use crate::metrics::RuntimeMetrics;
use crate::shared::Shared;
use crate::spawn::{spawn_blocking_on, spawn_on};
use crate::task::join_handle::JoinHandle;

/// A cloneable handle to a runtime: spawns onto it from any thread.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let inner = rt.block_on(async { nimsync_scheduler::Handle::current().spawn(async { 9 }) });
/// assert_eq!(rt.block_on(inner).unwrap(), 9);
/// # drop(handle);
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The runtime.
    shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish()
    }
}

impl Handle {
    /// A handle on `shared`.
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The runtime's shared state.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The runtime the calling thread is in.
    ///
    /// # Panics
    /// Outside a runtime (not in a task, a `block_on` or a blocking
    /// closure); use [`Handle::try_current`] to get an `Option`.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async { nimsync_scheduler::Handle::current() });
    /// ```
    pub fn current() -> Self {
        Self::try_current().expect(
            "Handle::current() called outside a nimsync runtime: call it from a task or \
             inside Runtime::block_on, or pass a Handle (Runtime::handle()) to this thread",
        )
    }

    /// The runtime the calling thread is in, or `None`.
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_scheduler::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Self> {
        CONTEXT.with(|ctx| ctx.borrow().as_ref().map(|c| c.handle.clone()))
    }

    /// Spawns a task onto the runtime. It starts running at once on some
    /// worker; the returned handle yields its output.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future, None)
    }

    /// Runs a blocking closure on the blocking pool, so it does not hold up
    /// a worker. A closure that has not started when its handle is aborted
    /// never runs; one that started runs to the end.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.handle().spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(&self.shared, f, None)
    }

    /// A snapshot of the runtime's counters.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().workers, 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::read(&self.shared)
    }
}
