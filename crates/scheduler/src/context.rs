//! Which runtime the current thread is in: [`CONTEXT`], set while a
//! worker, a blocking thread or a `block_on` runs, and the raw copy of its
//! worker that the schedule and spawn paths read.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::handle::Handle;
use crate::local_queue::LocalQueue;
use crate::shared::Shared;
use crate::worker::WorkerCtx;

/// What a thread inside a runtime knows about it.
#[derive(Debug)]
pub(crate) struct ThreadContext {
    /// The runtime.
    pub(crate) handle: Handle,
    /// The worker this thread runs, if any.
    pub(crate) worker: Option<Rc<WorkerCtx>>,
    /// This thread's `spawn_local` queue (none on blocking threads).
    pub(crate) local: Option<Arc<LocalQueue>>,
}

thread_local! {
    /// The runtime this thread is in, set by worker threads and `block_on`.
    pub(crate) static CONTEXT: RefCell<Option<ThreadContext>> = const { RefCell::new(None) };
}

/// Panics if this thread is inside a runtime (a worker, a blocking thread
/// or a `block_on`).
pub(crate) fn assert_outside_runtime() {
    let inside = CONTEXT.with(|ctx| ctx.borrow().is_some());
    assert!(
        !inside,
        "cannot enter a nimsync runtime from inside a runtime: `block_on` was called \
         from a task or from inside another `block_on`; `.await` the future instead, \
         or run the blocking code with `spawn_blocking`"
    );
}

/// Clears [`CONTEXT`] when dropped.
#[derive(Debug)]
pub(crate) struct ContextGuard(());

impl ContextGuard {
    /// Enters `context` on this thread.
    ///
    /// # Panics
    /// If the thread is already inside a runtime.
    pub(crate) fn enter(context: ThreadContext) -> Self {
        assert_outside_runtime();
        set_current_worker(context.worker.as_ref());
        CONTEXT.with(|ctx| *ctx.borrow_mut() = Some(context));
        ContextGuard(())
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        set_current_worker(None);
        let context = CONTEXT.with(|ctx| ctx.borrow_mut().take());
        drop(context);
    }
}

thread_local! {
    /// The worker this thread runs, or null: a copy of `CONTEXT`'s worker
    /// for the hot paths (schedule, spawn), which read it without a
    /// `RefCell` borrow.
    ///
    /// Invariant: non-null only while `CONTEXT`'s `worker` field holds the
    /// `Rc` it points to; [`set_current_worker`] is called right before the
    /// field is filled and right before it is emptied.
    static CURRENT_WORKER: Cell<*const WorkerCtx> = const { Cell::new(std::ptr::null()) };
}

/// Records the worker `CONTEXT` is about to hold (or `None` before it is
/// taken out).
pub(crate) fn set_current_worker(worker: Option<&Rc<WorkerCtx>>) {
    let ptr = worker.map_or(std::ptr::null(), Rc::as_ptr);
    CURRENT_WORKER.with(|w| w.set(ptr));
}

/// Calls `f` with this thread's worker when it belongs to the runtime
/// `shared` points to (only compared, never read).
#[inline]
pub(crate) fn with_worker_of<R>(
    shared: *const Shared,
    f: impl FnOnce(&WorkerCtx) -> R,
) -> Option<R> {
    let ptr = CURRENT_WORKER.with(Cell::get);
    // SAFETY: non-null only while `CONTEXT` holds the `Rc` it points to
    // (see `CURRENT_WORKER`), and only this thread reads it; the `Rc` is not
    // released while `f` runs, since `CONTEXT` changes only when a thread
    // enters or leaves a runtime, never from inside a schedule or a spawn.
    let worker = unsafe { ptr.as_ref() }?;
    core::ptr::eq(Arc::as_ptr(&worker.shared), shared).then(|| f(worker))
}
