//! The harness every task runs in: its header ([`TaskMeta`]), the future
//! wrapper ([`TaskFuture`]: the user's future under `catch_unwind`, with
//! the abort check), the schedule functions, and the abort protocol.
//!
//! A task is one `async-task` allocation holding a [`TaskFuture`], its
//! output slot and a [`TaskMeta`] header; its schedule function is
//! zero-sized and finds the runtime through the header. The state machine
//! (scheduled, running, completed, closed, reference count, awaiter) is
//! `async-task`'s.
//!
//! # The header
//! A header holds the task's id, one strong reference to its owner (the
//! runtime's [`Shared`], or the [`LocalQueue`] of a `spawn_local` task),
//! and a state word: the abort and released flags, which kind of owner it
//! is, whether the owner pointer goes through an extension, and the task's
//! registry slot. Rarely used fields (the name) live in a boxed [`Ext`]
//! that only named tasks allocate; it holds the owner pointer in their
//! place. The header is 4-byte aligned so that it shares its last word
//! with async-task's own flag: the per-task bytes this saves, and the
//! fields that were moved to get there, are in
//! docs/perf-notes.md#heap-bytes-per-idle-task.
//!
//! # Abort
//! [`abort`] locks the task's registry shard, sets the header's abort flag
//! (release) unless the future already freed its slot, and wakes the task
//! through that slot. The wrapper reads the flag (acquire) before every
//! poll and, once it is set, drops the user's future and completes with a
//! cancelled [`JoinError`]. Either the abort's wake-up finds the task's
//! waker in its slot and the next poll sees the flag, or the future
//! finished first and its drop emptied the slot (the task keeps its
//! output). `cargo xtask loom` checks this against a pending task and a
//! completing one (`loom_tests::abort`).
//!
//! # Invariants
//! - A task's [`TaskMeta`] lives in its header, which is freed only after
//!   the future, the output, every waker, the `Runnable` and the join handle
//!   are gone. A raw pointer to it ([`MetaRef`]) held by the future or the
//!   join handle is therefore valid for as long as its holder lives.
//! - The header owns one strong reference to its owner, released when the
//!   header is dropped, so the owner (and the [`Registry`] in it) outlives
//!   everything that can reach the header.
//! - Only the registry writes the state word after the header is made, and
//!   only under the lock of the task's shard; everything but the two flags
//!   is fixed at spawn.
//!
//! [`Shared`]: crate::shared::Shared
//! [`LocalQueue`]: crate::local_queue::LocalQueue

use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::current::clear_current;
use super::id::Id;
use super::join_error::{JoinError, Repr};
use super::registry::{Outcome, Registry, Slot};
use crate::local_queue::LocalQueue;
use crate::shared::Shared;
use crate::sync::{AtomicU32, Mutex, Ordering};
#[cfg(feature = "tracing")]
use crate::trace::{self, TaskSpan};

/// Set by [`abort`] (under the shard lock): the next poll drops the future.
const ABORTED: u32 = 1;
/// Set when the future's drop freed the registry slot (under the shard
/// lock): the slot may belong to another task from then on.
pub(crate) const RELEASED: u32 = 1 << 1;
/// The owner is a [`LocalQueue`] (otherwise the runtime's [`Shared`]).
const LOCAL: u32 = 1 << 2;
/// The owner pointer points to an [`Ext`], which holds the owner.
const EXT: u32 = 1 << 3;
/// The registry slot index is the state word shifted right by this.
const INDEX_SHIFT: u32 = 4;
/// The largest registry slot index a header can hold.
pub(crate) const MAX_INDEX: u32 = u32::MAX >> INDEX_SHIFT;

/// What a task belongs to: the runtime (its own tasks and its blocking
/// tasks), or one thread's `spawn_local` queue.
#[derive(Debug)]
pub(crate) enum Owner {
    /// A runtime task or a blocking task.
    Runtime(Arc<Shared>),
    /// A `spawn_local` task.
    Local(Arc<LocalQueue>),
}

impl Owner {
    /// The registry of the owner's live tasks.
    pub(crate) fn registry(&self) -> &Registry {
        match self {
            Owner::Runtime(shared) => &shared.registry,
            Owner::Local(local) => &local.registry,
        }
    }
}

/// The rarely used fields of a header, boxed, allocated only for tasks that
/// use one of them.
#[derive(Debug)]
struct Ext {
    /// The owner pointer the header would hold otherwise.
    owner: NonNull<()>,
    /// The task's name.
    name: Option<Arc<str>>,
}

/// A value stored without its alignment, read and written by copy.
#[derive(Clone, Copy)]
#[repr(C, packed)]
struct Unaligned<T: Copy>(T);

impl<T: Copy> Unaligned<T> {
    /// The value.
    #[inline]
    fn get(self) -> T {
        self.0
    }
}

/// The header of every task (see the module docs).
// 4-byte aligned (its 8-byte fields are stored unaligned) so that
// async-task's one-byte flag after it fills the header's padding
// (docs/perf-notes.md#heap-bytes-per-idle-task).
pub(crate) struct TaskMeta {
    /// The task's id.
    id: Unaligned<Id>,
    /// An `Arc::into_raw` of the owner, or an `Ext` holding it (`EXT`).
    owner: Unaligned<NonNull<()>>,
    /// The flags, the owner's kind and the registry slot index.
    state: AtomicU32,
}

// SAFETY: the owner pointer stands for an `Arc<Shared>` or an
// `Arc<LocalQueue>` (both `Send + Sync`) or a `Box<Ext>` holding one and an
// `Arc<str>`; the rest is an id and an atomic.
unsafe impl Send for TaskMeta {}
// SAFETY: as for `Send`; shared access only reads the pointer and uses the
// atomic.
unsafe impl Sync for TaskMeta {}

impl TaskMeta {
    /// The header of task `id`, owned by `owner`, named `name`, in registry
    /// slot `index` (of the shard its id picks).
    pub(crate) fn new(id: Id, owner: Owner, name: Option<Arc<str>>, index: u32) -> Self {
        debug_assert!(index <= MAX_INDEX, "the registry hands out smaller indices");
        let (raw, mut state) = match owner {
            Owner::Runtime(shared) => (Arc::into_raw(shared).cast::<()>(), 0),
            Owner::Local(local) => (Arc::into_raw(local).cast::<()>(), LOCAL),
        };
        // SAFETY: `Arc::into_raw` never returns null.
        let mut owner = unsafe { NonNull::new_unchecked(raw.cast_mut()) };
        if name.is_some() {
            let ext = Box::new(Ext { owner, name });
            owner = NonNull::from(Box::leak(ext)).cast();
            state |= EXT;
        }
        Self {
            id: Unaligned(id),
            owner: Unaligned(owner),
            state: AtomicU32::new(state | (index << INDEX_SHIFT)),
        }
    }

    /// The task's id.
    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.id.get()
    }

    /// The state word (the fixed parts are read with `Relaxed`).
    #[inline]
    pub(crate) fn state(&self) -> &AtomicU32 {
        &self.state
    }

    /// The extension, if the task has one.
    fn ext(&self) -> Option<&Ext> {
        if self.state.load(Ordering::Relaxed) & EXT == 0 {
            return None;
        }
        // SAFETY: with `EXT` set the pointer is a leaked `Box<Ext>`, freed
        // only when the header is dropped.
        Some(unsafe { self.owner.get().cast::<Ext>().as_ref() })
    }

    /// The `Arc::into_raw` of the owner.
    #[inline]
    fn owner_ptr(&self) -> NonNull<()> {
        match self.ext() {
            Some(ext) => ext.owner,
            None => self.owner.get(),
        }
    }

    /// Whether the owner is a [`LocalQueue`].
    #[inline]
    fn is_local(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCAL != 0
    }

    /// The runtime of a runtime or blocking task.
    #[inline]
    fn shared_ptr(&self) -> *const Shared {
        debug_assert!(!self.is_local());
        self.owner_ptr().as_ptr().cast::<Shared>()
    }

    /// The queue of a `spawn_local` task.
    #[inline]
    fn local_ptr(&self) -> *const LocalQueue {
        debug_assert!(self.is_local());
        self.owner_ptr().as_ptr().cast::<LocalQueue>()
    }

    /// The registry the task is in.
    #[inline]
    pub(crate) fn registry(&self) -> &Registry {
        if self.is_local() {
            // SAFETY: the header holds a strong reference to its queue
            // (module invariants), so it lives as long as `self`.
            unsafe { &(*self.local_ptr()).registry }
        } else {
            // SAFETY: as above, for the runtime.
            unsafe { &(*self.shared_ptr()).registry }
        }
    }

    /// The task's registry slot.
    #[inline]
    pub(crate) fn slot(&self) -> Slot {
        Slot::new(self.id(), self.state.load(Ordering::Relaxed) >> INDEX_SHIFT)
    }

    /// The task's name, if it was given one.
    pub(crate) fn name(&self) -> Option<&Arc<str>> {
        self.ext().and_then(|ext| ext.name.as_ref())
    }

    /// Whether the task was aborted.
    #[inline]
    fn aborted(&self) -> bool {
        self.state.load(Ordering::Acquire) & ABORTED != 0
    }

    /// Sets the abort flag; the caller holds the task's shard lock.
    pub(crate) fn set_aborted_locked(&self) {
        let state = self.state.load(Ordering::Relaxed);
        self.state.store(state | ABORTED, Ordering::Release);
    }

    /// Sets the released flag; the caller holds the task's shard lock.
    pub(crate) fn set_released_locked(&self) {
        let state = self.state.load(Ordering::Relaxed);
        self.state.store(state | RELEASED, Ordering::Relaxed);
    }
}

#[cfg(test)]
impl TaskMeta {
    /// The header of a task in no registry (tests of the queues), owned by
    /// a local queue nobody runs.
    pub(crate) fn unregistered() -> Self {
        let local = LocalQueue::new(crate::sync::Parker::new().unparker().clone());
        Self::new(Id::next(), Owner::Local(local), None, 0)
    }
}

impl Drop for TaskMeta {
    fn drop(&mut self) {
        let state = self.state.load(Ordering::Relaxed);
        let mut owner = self.owner.get();
        if state & EXT != 0 {
            // SAFETY: with `EXT` set the pointer is a leaked `Box<Ext>`,
            // freed only here.
            let ext = unsafe { Box::from_raw(owner.cast::<Ext>().as_ptr()) };
            owner = ext.owner;
        }
        if state & LOCAL != 0 {
            // SAFETY: the header's own strong reference, from
            // `Arc::into_raw` in `new`, released once.
            drop(unsafe { Arc::from_raw(owner.as_ptr().cast::<LocalQueue>()) });
        } else {
            // SAFETY: as above, for the runtime.
            drop(unsafe { Arc::from_raw(owner.as_ptr().cast::<Shared>()) });
        }
    }
}

impl fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A runnable task of this crate.
pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// The schedule function of runtime tasks (zero-sized: the runtime is
/// found through the header).
pub(crate) fn schedule_runtime(runnable: Runnable, info: async_task::ScheduleInfo) {
    let shared = runnable.metadata().shared_ptr();
    let Some(runnable) = Shared::schedule_on_worker(shared, runnable, info) else {
        return;
    };
    // The push may drop the runnable (the runtime is closed), and with it
    // the header's reference to the runtime: a waker keeps the task, and so
    // the runtime, alive until the push returns.
    let alive = runnable.waker();
    // SAFETY: the header holds a strong reference to the runtime (module
    // invariants) and `alive` keeps the header until after the call.
    unsafe { &*shared }.push_global(runnable);
    drop(alive);
}

/// The schedule function of blocking tasks.
pub(crate) fn schedule_blocking(runnable: Runnable) {
    let shared = runnable.metadata().shared_ptr();
    // As in `schedule_runtime`: the pool may drop the runnable.
    let alive = runnable.waker();
    // SAFETY: `shared` is the header's `Arc::into_raw`, whose strong
    // reference `alive` keeps; `ManuallyDrop` leaves it to the header.
    let shared = ManuallyDrop::new(unsafe { Arc::from_raw(shared) });
    shared.blocking.schedule(&shared, runnable);
    drop(alive);
}

/// The schedule function of `spawn_local` tasks.
pub(crate) fn schedule_local(runnable: Runnable) {
    let local = runnable.metadata().local_ptr();
    // The owner thread may run and free the task, and leave, while the
    // queue wakes it: a waker keeps the task, and so the queue, alive.
    let alive = runnable.waker();
    // SAFETY: the header holds a strong reference to its queue (module
    // invariants) and `alive` keeps the header until after the call.
    unsafe { &*local }.schedule(runnable);
    drop(alive);
}

/// Cancels the task whose header is `meta`: sets its abort flag and wakes
/// it through its registry slot (if the future has not freed it yet), so
/// its next poll drops the future.
pub(crate) fn abort(meta: &TaskMeta) {
    if let Some(waker) = meta.registry().abort(meta) {
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

/// How far a task's future got: the two low bits of [`TaskFuture::meta`]
/// (the header is 4-byte aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The user's future is alive.
    Running = 0,
    /// Dropped before finishing (abort or shutdown).
    Cancelled = 1,
    /// Finished with its output.
    Completed = 2,
    /// Panicked.
    Panicked = 3,
}

/// The low bits of a header pointer that hold a [`Stage`].
const STAGE_MASK: usize = 0b11;

const _: () = assert!(core::mem::align_of::<TaskMeta>() > STAGE_MASK);

/// The future a task runs: the user's future under `catch_unwind`, with
/// the abort check; its drop frees the task's registry slot.
///
/// The stage is kept in the low bits of the header pointer rather than in a
/// field or an enum around the future: async blocks have no spare tag values,
/// so either would cost the task a word
/// (docs/perf-notes.md#heap-bytes-per-idle-task).
pub(crate) struct TaskFuture<F> {
    /// The user's future, dropped in place when the stage leaves
    /// `Running`, never moved.
    future: ManuallyDrop<F>,
    /// The header's address, with the stage in its low bits.
    meta: NonNull<TaskMeta>,
    /// The task's span, entered around each poll and around the drop of
    /// an unfinished future.
    #[cfg(feature = "tracing")]
    span: TaskSpan,
}

// SAFETY: the future is `Send` when `F` is; the header pointer is
// `MetaRef`'s, which is `Send`.
unsafe impl<F: Send> Send for TaskFuture<F> {}

impl<F> TaskFuture<F> {
    /// Wraps `future` for the task whose header is `meta`.
    pub(crate) fn new(future: F, meta: &TaskMeta) -> Self {
        Self {
            future: ManuallyDrop::new(future),
            meta: NonNull::from(meta),
            #[cfg(feature = "tracing")]
            span: TaskSpan::none(),
        }
    }

    /// Gives the task its span.
    #[cfg(feature = "tracing")]
    pub(crate) fn with_span(mut self, span: TaskSpan) -> Self {
        self.span = span;
        self
    }

    /// The stage.
    #[inline]
    fn stage(&self) -> Stage {
        match self.meta.as_ptr().addr() & STAGE_MASK {
            0 => Stage::Running,
            1 => Stage::Cancelled,
            2 => Stage::Completed,
            _ => Stage::Panicked,
        }
    }

    /// The header.
    #[inline]
    fn meta(&self) -> MetaRef {
        MetaRef(self.meta.map_addr(|addr| {
            // SAFETY: clearing the stage bits gives the header's address,
            // which is not null.
            unsafe { core::num::NonZeroUsize::new_unchecked(addr.get() & !STAGE_MASK) }
        }))
    }

    /// Drops the user's future now, recording `stage`; returns the payload
    /// of a panic in its drop (swallowed by callers whose task already
    /// failed or was aborted).
    fn end(&mut self, stage: Stage) -> Option<Box<dyn std::any::Any + Send>> {
        debug_assert_eq!(self.stage(), Stage::Running);
        // The stage first: a drop that unwinds has dropped the future too.
        self.set_stage(stage);
        // SAFETY: the stage was `Running`, so the future is alive; it is
        // dropped here once, in place (the stage no longer says `Running`).
        catch_unwind(AssertUnwindSafe(|| unsafe {
            ManuallyDrop::drop(&mut self.future);
        }))
        .err()
    }

    /// Records `stage` (after the future was dropped).
    #[inline]
    fn set_stage(&mut self, stage: Stage) {
        let meta = self.meta().0;
        self.meta = meta.map_addr(|addr| addr | stage as usize);
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        // Drop the user's future first, then free the slot: the slot must
        // outlive the future (shutdown waits for empty slots). A panic in
        // the future's drop (here only when the task is cancelled) is
        // contained: async-task would abort the process if it escaped. The
        // panic hook has reported it already.
        if self.stage() == Stage::Running {
            #[cfg(feature = "tracing")]
            let span = self.span.take();
            #[cfg(feature = "tracing")]
            let _entered = span.enter();
            #[cfg(feature = "tracing")]
            {
                let meta = self.meta();
                let meta = meta.get();
                trace::cancelled(meta.id(), meta.name(), trace::Cancel::Dropped);
            }
            let _ = self.end(Stage::Cancelled);
        }
        let outcome = match self.stage() {
            Stage::Running | Stage::Cancelled => Outcome::Cancelled,
            Stage::Completed => Outcome::Completed,
            Stage::Panicked => Outcome::Panicked,
        };
        let meta = self.meta();
        let meta = meta.get();
        let waker = meta.registry().remove(meta, outcome);
        drop(waker);
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Output<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the user's future is never moved out of `self`: it is
        // polled through a pin in `poll_pinned` and dropped in place by
        // `end`.
        let this = unsafe { self.get_unchecked_mut() };
        // The span is taken out while it is entered: the poll borrows all
        // of `this`.
        #[cfg(feature = "tracing")]
        let span = this.span.take();
        #[cfg(feature = "tracing")]
        let entered = span.enter();
        let poll = this.poll_pinned(cx);
        #[cfg(feature = "tracing")]
        {
            drop(entered);
            this.span = span;
        }
        poll
    }
}

impl<F: Future> TaskFuture<F> {
    /// The body of `poll`, which calls it on the pinned task future.
    #[inline]
    fn poll_pinned(&mut self, cx: &mut Context<'_>) -> Poll<Output<F::Output>> {
        let this = self;
        assert!(
            this.stage() == Stage::Running,
            "a task future is polled after it finished"
        );
        let meta_ref = this.meta();
        let meta = meta_ref.get();
        if meta.aborted() {
            #[cfg(feature = "tracing")]
            trace::cancelled(meta.id(), meta.name(), trace::Cancel::Abort);
            let _ = this.end(Stage::Cancelled);
            clear_current();
            return Poll::Ready(Err(JoinError::new(meta, Repr::Cancelled)));
        }
        // SAFETY: structural pinning: `self` is pinned (only `poll` calls
        // this) and the future is never moved (see there).
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            // Drop the future now, under `catch_unwind`: a panic in its
            // drop makes the task a panicked one.
            Ok(Poll::Ready(output)) => match this.end(Stage::Completed) {
                None => Ok(output),
                Some(payload) => {
                    this.set_stage(Stage::Panicked);
                    #[cfg(feature = "tracing")]
                    trace::panicked(meta.id(), meta.name(), &*payload);
                    Err(JoinError::new(meta, Repr::Panic(Mutex::new(payload))))
                }
            },
            Err(payload) => {
                let _ = this.end(Stage::Panicked);
                #[cfg(feature = "tracing")]
                trace::panicked(meta.id(), meta.name(), &*payload);
                Err(JoinError::new(meta, Repr::Panic(Mutex::new(payload))))
            }
        };
        // No user code of this task runs after this; async-task may free
        // the header (and so `meta`) before `run` returns, while it wakes
        // the awaiter, so the current-task pointer must not outlive it.
        clear_current();
        Poll::Ready(result)
    }
}
