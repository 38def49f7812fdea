//! The task being polled on this thread: [`run`] sets it, and [`id`],
//! [`try_id`] and [`name`] read it.
//!
//! # Invariants
//! [`CURRENT`] points to a header only inside [`run`], from before the
//! task's poll until its future finishes ([`TaskFuture::poll`] sets it to
//! [`FINISHED`] then with [`clear_current`]). While it points to one
//! async-task holds the task's own reference for the run, so the header is
//! alive.
//!
//! [`TaskFuture::poll`]: super::harness::TaskFuture

use std::cell::Cell;
use std::sync::Arc;

use super::harness::{Runnable, TaskMeta};
use super::id::Id;

thread_local! {
    /// The header of the task being polled on this thread, [`FINISHED`]
    /// once its future finished (until `run` returns), or null.
    static CURRENT: Cell<*const TaskMeta> = const { Cell::new(core::ptr::null()) };
}

/// [`CURRENT`] between the end of a task's future and the end of its run,
/// while async-task stores the output and wakes the task's joiner: no
/// header's address (headers are never at the lowest aligned address).
const FINISHED: *const TaskMeta = core::ptr::NonNull::dangling().as_ptr();

/// Runs `runnable` with its header as the current task. Returns whether the
/// task was woken while it ran.
pub(crate) fn run(runnable: Runnable) -> bool {
    let meta: *const TaskMeta = runnable.metadata();
    let previous = CURRENT.with(|c| c.replace(meta));
    let woken = crate::coop::with_budget(|| runnable.run());
    CURRENT.with(|c| c.set(previous));
    woken
}

/// Forgets the current task (its future finished: see `TaskFuture::poll`).
pub(crate) fn clear_current() {
    CURRENT.with(|c| c.set(FINISHED));
}

/// Whether this thread is finishing a task's run: a wake-up now comes
/// from the task's completion (its joiner).
#[inline]
pub(crate) fn finishing() -> bool {
    CURRENT.with(Cell::get) == FINISHED
}

/// Calls `f` with the current task's header, if a task is being polled.
fn with_current<R>(f: impl FnOnce(&TaskMeta) -> R) -> Option<R> {
    let meta = CURRENT.with(Cell::get);
    if meta == FINISHED {
        return None;
    }
    // SAFETY: `CURRENT` is non-null (and not `FINISHED`) only inside `run`, from before the
    // task's poll until its future finishes (`TaskFuture::poll` clears it
    // then). Until then async-task holds the task's own reference for the
    // run, so the header is alive (module invariants).
    unsafe { meta.as_ref() }.map(f)
}

/// The id of the task being polled.
///
/// # Panics
/// Outside a task (for example in `Runtime::block_on`'s own future or on a
/// plain thread); use [`try_id`] to get an `Option` instead.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let task = rt.spawn(async { nimsync_scheduler::task::id() });
/// assert_eq!(rt.block_on(async { task.await.unwrap() }).as_u64() > 0, true);
/// ```
pub fn id() -> Id {
    try_id().expect(
        "nimsync_scheduler::task::id() called outside a task: \
         call it from a future spawned on a runtime, or use task::try_id()",
    )
}

/// The id of the task being polled, or `None` outside a task.
///
/// # Examples
/// ```
/// assert_eq!(nimsync_scheduler::task::try_id(), None);
/// ```
pub fn try_id() -> Option<Id> {
    with_current(TaskMeta::id)
}

/// The name of the task being polled, if it has one.
///
/// # Examples
/// ```
/// use nimsync_scheduler::{Runtime, task};
///
/// let rt = Runtime::new().unwrap();
/// let handle = task::Builder::new()
///     .name("loader")
///     .spawn_on(async { task::name() }, &rt.handle());
/// assert_eq!(rt.block_on(handle).unwrap().as_deref(), Some("loader"));
/// ```
pub fn name() -> Option<Arc<str>> {
    with_current(|meta| meta.name().cloned()).flatten()
}
