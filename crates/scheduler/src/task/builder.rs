//! [`Builder`]: spawns a task with options (a name).

use core::future::Future;
use std::sync::Arc;

use super::join_handle::JoinHandle;
use crate::handle::Handle;
use crate::spawn::{spawn_blocking_on, spawn_local_inner, spawn_on};

/// Spawns tasks with options (a name).
///
/// # Examples
/// ```
/// use nimsync_scheduler::{Runtime, task};
///
/// let rt = Runtime::new().unwrap();
/// let name = rt.block_on(async {
///     task::Builder::new().name("fetch").spawn(async { task::name() }).await.unwrap()
/// });
/// assert_eq!(name.as_deref(), Some("fetch"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    /// The task's name.
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder with no options set.
    ///
    /// # Examples
    /// ```
    /// let _ = nimsync_scheduler::task::Builder::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the task: [`name`](super::name) returns it inside the task, and join errors
    /// and slow-poll reports carry it.
    ///
    /// # Examples
    /// ```
    /// let _ = nimsync_scheduler::task::Builder::new().name("worker-7");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    /// Outside a runtime; use [`Builder::spawn_on`] with a [`Handle`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let v = rt.block_on(async {
    ///     nimsync_scheduler::task::Builder::new().spawn(async { 1 }).await.unwrap()
    /// });
    /// assert_eq!(v, 1);
    /// ```
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on(future, &current("spawn"))
    }

    /// Spawns on the runtime of `handle`.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = nimsync_scheduler::task::Builder::new().name("x").spawn_on(async { 2 }, &rt.handle());
    /// assert_eq!(rt.block_on(h).unwrap(), 2);
    /// ```
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(handle.shared(), future, self.name)
    }

    /// Spawns a `!Send` future on the current thread; see
    /// [`spawn_local`](crate::spawn_local).
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let v = rt.block_on(async {
    ///     let rc = std::rc::Rc::new(3);
    ///     nimsync_scheduler::task::Builder::new()
    ///         .name("local")
    ///         .spawn_local(async move { *rc })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(v, 3);
    /// ```
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_local_inner(future, self.name)
    }

    /// Runs a blocking closure on the current runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let v = rt.block_on(async {
    ///     nimsync_scheduler::task::Builder::new().name("io").spawn_blocking(|| 4).await.unwrap()
    /// });
    /// assert_eq!(v, 4);
    /// ```
    pub fn spawn_blocking<F, R>(self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(current("spawn_blocking").shared(), f, self.name)
    }
}

/// The current runtime, or a panic that says how to get one.
pub(crate) fn current(what: &str) -> Handle {
    Handle::try_current().unwrap_or_else(|| {
        panic!(
            "nimsync_scheduler::{what} called outside a runtime: call it from a task or inside \
             Runtime::block_on, or use Runtime::{what} / Handle::{what} with a handle"
        )
    })
}
