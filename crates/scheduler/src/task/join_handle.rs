//! [`JoinHandle`]: a spawned task's output, and its abort.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::fmt;

use super::harness::{MetaRef, Output, TaskMeta, abort};
use super::id::Id;
use super::join_error::{JoinError, Repr};

/// A handle to a spawned task: a future of its output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] when the task panicked
/// or was cancelled. Dropping it detaches the task, which keeps running.
/// [`JoinHandle::abort`] cancels the task: its future is dropped at its next
/// scheduling point (at once when idle, after the current poll when
/// running), and the handle resolves only once the future has been dropped.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let handle = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// The task, until the handle has produced its output.
    task: Option<async_task::FallibleTask<Output<T>, TaskMeta>>,
    /// The task's header (which also leads to its registry slot, for
    /// `abort`).
    meta: MetaRef,
    /// Whether the handle produced its output.
    done: bool,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("name", &self.meta.get().name())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// Wraps a freshly spawned task.
    pub(crate) fn new(task: async_task::Task<Output<T>, TaskMeta>) -> Self {
        let meta = MetaRef::new(task.metadata());
        Self {
            task: Some(task.fallible()),
            meta,
            done: false,
        }
    }

    /// The task's id.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let a = rt.spawn(async {});
    /// let b = rt.spawn(async {});
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> Id {
        self.meta.get().id()
    }

    /// Whether the task finished: completed, panicked or was cancelled.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// assert!(!handle.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.done || self.task.as_ref().is_none_or(|task| task.is_finished())
    }

    /// Cancels the task. Its future is dropped at the task's next
    /// scheduling point; awaiting the handle then gives a cancelled
    /// [`JoinError`] (or the output, if the task finished first). Aborting a
    /// finished task does nothing.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        abort(self.meta.get());
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Output<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output<T>> {
        assert!(!self.done, "a JoinHandle was polled after it completed");
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let meta = self.meta;
        let Some(task) = self.task.as_mut() else {
            unreachable!("the task is held until the handle is dropped");
        };
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(output) => {
                // The task stays held until drop: `meta` points into it.
                self.done = true;
                Poll::Ready(
                    output.unwrap_or_else(|| Err(JoinError::new(meta.get(), Repr::Cancelled))),
                )
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}
