//! The harness every task runs in: its header ([`TaskMeta`]), the future
//! wrapper ([`TaskFuture`]: the user's future under `catch_unwind`, with
//! the abort check), and the abort protocol.
//!
//! A task is one `async-task` allocation holding a [`TaskFuture`], its
//! output slot, its schedule function and a [`TaskMeta`] header. The state
//! machine (scheduled, running, completed, closed, reference count,
//! awaiter) is `async-task`'s.
//!
//! # Abort
//! [`abort`] sets the header's abort flag (release), then wakes the task
//! through its registry slot. The wrapper reads the flag (acquire) before
//! every poll and, once it is set, drops the user's future and completes
//! with a cancelled [`JoinError`]. Either the abort's wake-up finds the
//! task's waker in its slot and the next poll sees the flag, or the
//! future finished first and its drop emptied the slot (the task keeps its
//! output). `cargo xtask loom` checks this against a pending task and a
//! completing one (`loom_tests::abort`).
//!
//! # Invariants
//! - A task's [`TaskMeta`] lives in its header, which is freed only after
//!   the future, the output, every waker, the `Runnable` and the join handle
//!   are gone. A raw pointer to it ([`MetaRef`]) held by the future or the
//!   join handle is therefore valid for as long as its holder lives.
//! - The registry invariants of [`RegistryRef`] hold for the registry
//!   pointer the future keeps.

use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::current::clear_current;
use super::id::Id;
use super::join_error::{JoinError, Repr};
use super::registry::{Outcome, Registry, RegistryRef, Slot};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// The header of every task.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    /// The task's id.
    pub(crate) id: Id,
    /// The task's name, if it was given one.
    pub(crate) name: Option<Arc<str>>,
    /// Set by [`abort`]; the next poll drops the future.
    aborted: AtomicBool,
}

impl TaskMeta {
    /// The header of a new task.
    pub(crate) fn new(name: Option<Arc<str>>) -> Self {
        Self {
            id: Id::next(),
            name,
            aborted: AtomicBool::new(false),
        }
    }
}

/// A runnable task of this crate.
pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// Cancels the task whose header is `meta`: sets its abort flag, then wakes
/// it through its registry slot (if it is still the task there), so its
/// next poll drops the future.
pub(crate) fn abort(meta: &TaskMeta, registry: &Registry, slot: Slot) {
    meta.aborted.store(true, Ordering::Release);
    if let Some(waker) = registry.waker(slot, meta.id) {
        waker.wake();
    }
}

/// A pointer to a task's header, held by its future and its join handle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetaRef(NonNull<TaskMeta>);

// SAFETY: `TaskMeta` is `Sync` and outlives every holder (module
// invariants).
unsafe impl Send for MetaRef {}
// SAFETY: as for `Send`: only `&TaskMeta` is ever made from it.
unsafe impl Sync for MetaRef {}

impl MetaRef {
    /// Points at `meta`, a task's header; the caller upholds the module
    /// invariants.
    pub(crate) fn new(meta: &TaskMeta) -> Self {
        Self(NonNull::from(meta))
    }

    /// The header.
    pub(crate) fn get(&self) -> &TaskMeta {
        // SAFETY: the header outlives the future and the join handle that
        // hold this pointer (module invariants).
        unsafe { self.0.as_ref() }
    }
}

/// The output every task completes with.
pub(crate) type Output<T> = Result<T, JoinError>;

pin_project_lite::pin_project! {
    /// The future a task runs: the user's future under `catch_unwind`, with
    /// the abort check; its drop frees the task's registry slot.
    pub(crate) struct TaskFuture<F> {
        #[pin]
        future: Option<F>,
        meta: MetaRef,
        registry: RegistryRef,
        slot: Slot,
        outcome: Outcome,
        finished: bool,
    }

    impl<F> PinnedDrop for TaskFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            // Drop the user's future first, then free the slot: the slot
            // must outlive the future (shutdown waits for empty slots). A
            // panic in the future's drop (here only when the task is
            // cancelled) is contained: async-task would abort the process
            // if it escaped. The panic hook has reported it already.
            let _ = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            let waker = this.registry.get().remove(*this.slot, *this.outcome);
            drop(waker);
        }
    }
}

impl<F> TaskFuture<F> {
    /// Wraps `future` for the task whose header is `meta`.
    pub(crate) fn new(future: F, meta: &TaskMeta, registry: RegistryRef, slot: Slot) -> Self {
        Self {
            future: Some(future),
            meta: MetaRef::new(meta),
            registry,
            slot,
            outcome: Outcome::Cancelled,
            finished: false,
        }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Output<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta = this.meta.get();
        assert!(!*this.finished, "a task future is polled after it finished");
        if meta.aborted.load(Ordering::Acquire) {
            *this.finished = true;
            let error = drop_future(this.future, meta, Repr::Cancelled);
            clear_current();
            return Poll::Ready(Err(error));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            unreachable!("the user's future is present until the task finishes");
        };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => {
                // Drop the future now, under `catch_unwind`: a panic in its
                // drop makes the task a panicked one.
                let mut future = this.future;
                match catch_unwind(AssertUnwindSafe(|| future.set(None))) {
                    Ok(()) => {
                        *this.outcome = Outcome::Completed;
                        Ok(output)
                    }
                    Err(payload) => {
                        *this.outcome = Outcome::Panicked;
                        Err(JoinError::new(meta, Repr::Panic(Mutex::new(payload))))
                    }
                }
            }
            Err(payload) => {
                *this.outcome = Outcome::Panicked;
                let repr = Repr::Panic(Mutex::new(payload));
                Err(drop_future(this.future, meta, repr))
            }
        };
        *this.finished = true;
        // No user code of this task runs after this; async-task may free
        // the header (and so `meta`) before `run` returns, while it wakes
        // the awaiter, so the current-task pointer must not outlive it.
        clear_current();
        Poll::Ready(result)
    }
}

/// Drops the user's future now (a panic in its drop is swallowed: the task
/// already failed or was aborted) and builds the error.
fn drop_future<F>(future: Pin<&mut Option<F>>, meta: &TaskMeta, repr: Repr) -> JoinError {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut future = future;
        future.set(None);
    }));
    JoinError::new(meta, repr)
}
