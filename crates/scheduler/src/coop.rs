//! The cooperative budget: how much a task may do in one poll before the
//! runtime's own futures make it yield.
//!
//! A task that is always ready (its join handles finished, its loop never
//! waits) would hold its worker for as long as it likes: a future cannot be
//! preempted. So every poll of a task on a nimsync runtime starts with a
//! budget of [`BUDGET`] units. [`consume_budget`] and [`JoinHandle`](crate::JoinHandle)
//! spend one unit each; once the budget is spent they
//! return `Pending` after waking the task, which goes to the back of its
//! worker's queue and resumes after the tasks waiting there. Outside a
//! runtime's task (in `block_on`'s own future, or under another executor)
//! the budget is unlimited.

use core::future::poll_fn;
use core::task::{Context, Poll};
use std::cell::Cell;

/// Units of work a task may do per poll.
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    /// The budget left in the current poll, or `None` when unlimited.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `f` (one poll of a task) with a fresh budget.
#[inline]
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    let previous = LEFT.with(|left| left.replace(Some(BUDGET)));
    let result = f();
    LEFT.with(|left| left.set(previous));
    result
}

/// Spends one unit: `Ready` if the budget allows, else wakes the task and
/// returns `Pending`.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    LEFT.with(|left| match left.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            left.set(Some(n - 1));
            Poll::Ready(())
        }
    })
}

/// Spends one unit of the task's cooperative budget, yielding to the other
/// tasks of the worker when the budget is spent (every 128 calls within one
/// poll). Put it in loops that may stay ready for a long time.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let rt = nimsync_scheduler::Runtime::builder().worker_threads(1).build().unwrap();
/// let stop = Arc::new(AtomicBool::new(false));
/// let spinner = {
///     let stop = stop.clone();
///     rt.spawn(async move {
///         // Always ready, yet it lets the other task run.
///         while !stop.load(Ordering::Relaxed) {
///             nimsync_scheduler::task::consume_budget().await;
///         }
///     })
/// };
/// rt.block_on(async {
///     rt.spawn(async move { stop.store(true, Ordering::Relaxed) }).await.unwrap();
///     spinner.await.unwrap();
/// });
/// ```
pub async fn consume_budget() {
    poll_fn(poll_proceed).await;
}
