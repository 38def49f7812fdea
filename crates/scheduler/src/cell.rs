//! Tasks: ids, names, the future wrapper every task runs in, join handles,
//! join errors and the registry of live tasks.
//!
//! A task is one `async-task` allocation holding a [`TaskFuture`] (the
//! user's future, catch-unwind and the abort check), its output slot, its
//! schedule function and a [`TaskMeta`] header. The state machine (scheduled,
//! running, completed, closed, reference count, awaiter) is `async-task`'s.
//!
//! # Invariants
//! - A task's [`TaskMeta`] lives in its header, which is freed only after
//!   the future, the output, every waker, the `Runnable` and the join handle
//!   are gone. A raw pointer to it held by the future or the join handle is
//!   therefore valid for as long as its holder lives.
//! - Every task's schedule function owns an `Arc` of the structure that
//!   holds its [`Registry`], and `async-task` drops the schedule function only
//!   after the future. A [`RegistryRef`] held by the future or by the join
//!   handle (which keeps the task alive) is therefore valid while its holder
//!   lives.
//! - A task's registry slot holds its waker from spawn until its future is
//!   dropped; the future's drop empties the slot.

use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use crate::sync::Locked;
use crate::sync::{self, AtomicBool, Ordering};

use crossbeam_utils::CachePadded;

/// A task's unique id, never reused in the process.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let handle = rt.spawn(async { nimsync_scheduler::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// The next id.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task ids do not wrap in 2^64 spawns"))
    }

    /// The id as a number.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert!(rt.spawn(async {}).id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The header of every task.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    /// The task's id.
    pub(crate) id: Id,
    /// The task's name, if it was given one.
    pub(crate) name: Option<Arc<str>>,
    /// Set by [`JoinHandle::abort`]; the next poll drops the future.
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

thread_local! {
    /// The header of the task being polled on this thread, or null.
    static CURRENT: Cell<*const TaskMeta> = const { Cell::new(core::ptr::null()) };
}

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
fn clear_current() {
    CURRENT.with(|c| c.set(core::ptr::null()));
}

/// Calls `f` with the current task's header, if a task is being polled.
fn with_current<R>(f: impl FnOnce(&TaskMeta) -> R) -> Option<R> {
    let meta = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only inside `run`, from before the
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
    with_current(|meta| meta.id)
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
    with_current(|meta| meta.name.clone()).flatten()
}

/// A `Slab` of wakers: one slot per live task of one shard.
#[derive(Debug, Default)]
struct Slab {
    /// `Some` while the task is alive; `None` in vacant or reserved slots.
    wakers: Vec<Option<Waker>>,
    /// Whether each slot is taken.
    used: Vec<bool>,
    /// The id of the task in each slot (of the last one, once vacant).
    ids: Vec<u64>,
    /// Vacant slots.
    free: Vec<u32>,
    /// Taken slots.
    len: usize,
    /// Tasks inserted.
    spawned: u64,
    /// Tasks removed after finishing with their output.
    completed: u64,
    /// Tasks removed after a panic.
    panicked: u64,
    /// Tasks removed without finishing.
    cancelled: u64,
}

/// How a task's future ended, counted when its slot is freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Dropped before finishing (abort or shutdown).
    Cancelled,
    /// Finished with its output.
    Completed,
    /// Panicked.
    Panicked,
}

/// Task counts summed over a registry's shards.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    /// Tasks spawned.
    pub(crate) spawned: u64,
    /// Tasks that finished with their output.
    pub(crate) completed: u64,
    /// Tasks that panicked.
    pub(crate) panicked: u64,
    /// Tasks dropped before finishing.
    pub(crate) cancelled: u64,
    /// Tasks whose future is not dropped yet.
    pub(crate) alive: u64,
}

/// The number of registry shards (two under loom, to keep models small).
const SHARDS: usize = if cfg!(loom) { 2 } else { 32 };

/// Every live task's waker, so shutdown can reach idle tasks and drop
/// their futures, and `abort` can wake a task.
#[derive(Debug)]
pub(crate) struct Registry {
    /// Sharded by task id.
    shards: Box<[CachePadded<sync::Mutex<Slab>>]>,
}

/// A task's slot in a registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// The shard.
    shard: u32,
    /// The index in the shard.
    index: u32,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(sync::Mutex::new(Slab::default())))
                .collect(),
        }
    }

    /// Locks one shard.
    fn lock(&self, shard: u32) -> sync::MutexGuard<'_, Slab> {
        sync::lock(&self.shards[shard as usize])
    }

    /// Reserves a slot for task `id`, creates the task with `spawn` (which
    /// gets the slot), and stores its waker in the slot.
    pub(crate) fn insert<R>(&self, id: Id, spawn: impl FnOnce(Slot) -> (R, Waker)) -> R {
        let shard = (id.as_u64() % SHARDS as u64) as u32;
        let mut slab = self.lock(shard);
        let index = match slab.free.pop() {
            Some(index) => index,
            None => {
                slab.wakers.push(None);
                slab.used.push(false);
                slab.ids.push(0);
                u32::try_from(slab.wakers.len() - 1).expect("fewer than 2^32 tasks per shard")
            }
        };
        slab.used[index as usize] = true;
        slab.ids[index as usize] = id.as_u64();
        slab.len += 1;
        slab.spawned += 1;
        let (result, waker) = spawn(Slot { shard, index });
        slab.wakers[index as usize] = Some(waker);
        result
    }

    /// Empties `slot`; the waker is returned to be dropped after the lock.
    fn remove(&self, slot: Slot, outcome: Outcome) -> Option<Waker> {
        let mut slab = self.lock(slot.shard);
        let i = slot.index as usize;
        if !slab.used[i] {
            return None;
        }
        slab.used[i] = false;
        slab.len -= 1;
        match outcome {
            Outcome::Cancelled => slab.cancelled += 1,
            Outcome::Completed => slab.completed += 1,
            Outcome::Panicked => slab.panicked += 1,
        }
        slab.free.push(slot.index);
        slab.wakers[i].take()
    }

    /// A clone of the waker in `slot`, if task `id` is still the one there.
    fn waker(&self, slot: Slot, id: Id) -> Option<Waker> {
        let slab = self.lock(slot.shard);
        let i = slot.index as usize;
        if slab.ids[i] != id.as_u64() {
            return None;
        }
        slab.wakers[i].clone()
    }

    /// Takes every waker out (the slots stay taken until the futures drop).
    pub(crate) fn take_wakers(&self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for shard in 0..SHARDS as u32 {
            let mut slab = self.lock(shard);
            wakers.extend(slab.wakers.iter_mut().filter_map(Option::take));
        }
        wakers
    }

    /// Replaces the waker in `slot` (models stand in for async-task, whose
    /// task waker is stored at spawn).
    #[cfg(all(loom, test))]
    pub(crate) fn set_waker(&self, slot: Slot, waker: Waker) {
        let old = self.lock(slot.shard).wakers[slot.index as usize].replace(waker);
        drop(old);
    }

    /// The task counts.
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for shard in 0..SHARDS as u32 {
            let slab = self.lock(shard);
            counts.spawned += slab.spawned;
            counts.completed += slab.completed;
            counts.panicked += slab.panicked;
            counts.cancelled += slab.cancelled;
            counts.alive += slab.len as u64;
        }
        counts
    }
}

/// Cancels the task whose header is `meta`: sets its abort flag, then wakes
/// it through its registry slot (if it is still the task there), so its
/// next poll drops the future.
pub(crate) fn abort(meta: &TaskMeta, registry: &Registry, slot: Slot) {
    meta.aborted.store(true, Ordering::Release);
    if let Some(waker) = registry.waker(slot, meta.id) {
        waker.wake();
    }
}

/// A pointer to the [`Registry`] a task is in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegistryRef(NonNull<Registry>);

// SAFETY: a `Registry` is `Sync` (mutexes), and the pointee outlives every
// holder (module invariants), so the pointer may be used from any thread.
unsafe impl Send for RegistryRef {}
// SAFETY: as for `Send`: only `&Registry` is ever made from it.
unsafe impl Sync for RegistryRef {}

impl RegistryRef {
    /// Points at `registry`; the caller upholds the module invariants.
    pub(crate) fn new(registry: &Registry) -> Self {
        Self(NonNull::from(registry))
    }

    /// The registry.
    fn get(&self) -> &Registry {
        // SAFETY: the registry outlives every task in it and every holder of
        // a `RegistryRef` (module invariants).
        unsafe { self.0.as_ref() }
    }
}

/// A pointer to a task's header, held by its future and its join handle.
#[derive(Debug, Clone, Copy)]
struct MetaRef(NonNull<TaskMeta>);

// SAFETY: `TaskMeta` is `Sync` and outlives every holder (module
// invariants).
unsafe impl Send for MetaRef {}
// SAFETY: as for `Send`: only `&TaskMeta` is ever made from it.
unsafe impl Sync for MetaRef {}

impl MetaRef {
    /// The header.
    fn get(&self) -> &TaskMeta {
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
            meta: MetaRef(NonNull::from(meta)),
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
    /// The task's header.
    meta: MetaRef,
    /// The registry the task is in, to find its waker for `abort`.
    registry: RegistryRef,
    /// The task's registry slot.
    slot: Slot,
    /// Whether the handle produced its output.
    done: bool,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("name", &self.meta.get().name)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// Wraps a freshly spawned task.
    pub(crate) fn new(
        task: async_task::Task<Output<T>, TaskMeta>,
        registry: RegistryRef,
        slot: Slot,
    ) -> Self {
        let meta = MetaRef(NonNull::from(task.metadata()));
        Self {
            task: Some(task.fallible()),
            meta,
            registry,
            slot,
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
        self.meta.get().id
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
        abort(self.meta.get(), self.registry.get(), self.slot);
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

/// Why a task did not produce its output.
enum Repr {
    /// Aborted, or dropped by runtime shutdown.
    Cancelled,
    /// Its future panicked; the payload (behind a mutex so the error is
    /// `Sync`).
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// A task that did not produce its output: it was cancelled or it
/// panicked.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert!(err.to_string().contains("boom"));
/// ```
pub struct JoinError {
    /// The task.
    id: Id,
    /// Its name.
    name: Option<Arc<str>>,
    /// What happened.
    repr: Repr,
}

impl JoinError {
    /// An error for the task `meta` describes.
    fn new(meta: &TaskMeta, repr: Repr) -> Self {
        Self {
            id: meta.id,
            name: meta.name.clone(),
            repr,
        }
    }

    /// Whether the task was cancelled (aborted, or dropped at shutdown).
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert!(rt.block_on(rt.spawn(async { panic!() })).unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(async { panic!() });
    /// let id = h.id();
    /// assert_eq!(rt.block_on(h).unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// The panic payload, to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked; check with
    /// [`JoinError::is_panic`] or use [`JoinError::try_into_panic`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt.block_on(rt.spawn(async { std::panic::panic_any(7_u8) })).unwrap_err();
    /// assert_eq!(*err.into_panic().downcast::<u8>().unwrap(), 7);
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|err| {
            panic!("JoinError::into_panic called on a cancelled task's error ({err}); check is_panic() first")
        })
    }

    /// The panic payload, or the error back when the task was cancelled.
    ///
    /// # Errors
    /// Returns `self` when the task was cancelled.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string.
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else {
            return None;
        };
        let payload = payload.locked();
        payload
            .downcast_ref::<&'static str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }

    /// "task 7" or "task 7 (`name`)".
    fn subject(&self) -> String {
        match &self.name {
            Some(name) => format!("task {} (`{name}`)", self.id),
            None => format!("task {}", self.id),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(
                f,
                "{} was cancelled before it finished (aborted, or its runtime shut down)",
                self.subject()
            ),
            Repr::Panic(_) => match self.panic_message() {
                Some(message) => write!(f, "{} panicked: {message}", self.subject()),
                None => write!(f, "{} panicked with a non-string payload", self.subject()),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_cancelled() {
            "Cancelled"
        } else {
            "Panic"
        };
        f.debug_struct("JoinError")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &kind)
            .field("message", &self.panic_message())
            .finish()
    }
}

impl std::error::Error for JoinError {}
