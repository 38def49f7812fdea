//! [`TaskGroup`], its [`Builder`], its [`Spawner`] handles and [`scope`].
//!
//! - `shared.rs`: the state every handle of a group shares, and the spawn
//!   of a child (with its report of how it ended);
//! - `spawner.rs`: [`Spawner`], through which every spawn goes, the
//!   group's own included;
//! - `join.rs`: the joins (`join_next`, `join_all`, `join_all_results`):
//!   the queue of finished children, the group's deadline and fail-fast;
//! - `builder.rs`, `scope.rs`: [`Builder`], [`scope`] and [`scope_with`].
//!
//! The concurrency limit is in `limit.rs`, the queue of finished children
//! in `finished.rs`, at the crate's root with the other protocols.

use core::future::Future;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use nimsync_scheduler::task::Id;
use nimsync_scheduler::{Handle, JoinHandle};

use nimsync_time::Sleep;

use crate::abort::AbortHandle;
use crate::deadline::TimedOut;
use crate::error::SpawnError;
use crate::start::{StartError, StartSlot, Started, wait_started};
use crate::sync;
use crate::token::CancelToken;

mod builder;
mod join;
mod scope;
mod shared;
mod spawner;

pub use builder::Builder;
pub use scope::{scope, scope_with};
pub use spawner::Spawner;

use join::FinishedChild;
use shared::{Ended, Shielding};

/// What a group does when a child fails (returns `Err` or panics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Policy {
    /// Cancel the group's token at once, abort every other child at the
    /// next join, and report the first failure. The default.
    #[default]
    FailFast,
    /// Let every child finish; report all failures together.
    CollectErrors,
    /// Let every child finish; keep the successes and count the failures
    /// (in [`GroupMetrics::failed`]).
    IgnoreErrors,
}

/// Counts of a group's children so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupMetrics {
    /// Children spawned.
    pub spawned: u64,
    /// Children joined that succeeded.
    pub completed: u64,
    /// Children joined that returned `Err` or panicked.
    pub failed: u64,
    /// Children joined that were aborted before they finished.
    pub cancelled: u64,
    /// Children let go by [`TaskGroup::detach_all`] before they were
    /// joined.
    pub detached: u64,
}

/// A set of child tasks that are awaited together, with an error policy,
/// a [`CancelToken`], an optional concurrency limit and a name.
///
/// Children run on the nimsync-scheduler runtime the group was created in
/// (or the one given to the builder). Each child returns `Result<T, E>`
/// ([`spawn`](TaskGroup::spawn)) or a plain `T`
/// ([`spawn_ok`](TaskGroup::spawn_ok)). Results are collected as they
/// finish ([`join_next`](TaskGroup::join_next)) or all at once in spawn
/// order ([`join_all`](TaskGroup::join_all),
/// [`join_all_results`](TaskGroup::join_all_results)).
///
/// # Dropping
/// Rust has no async drop: dropping a group that was not joined cancels
/// its token and aborts its children, but cannot wait for them. Each
/// child's future is dropped at its next scheduling point, on a runtime
/// thread, shortly after the drop returns. Joining gives the full promise:
/// `join_all` returns only after every child has finished or its future
/// has been dropped.
///
/// # Unwind safety
/// A group is `RefUnwindSafe`: used through a shared reference (spawning,
/// `start`, its token, its metrics) after a caught panic, it works as
/// before. It is not `UnwindSafe`, unlike tokio's `JoinSet`: the deadline
/// of a group built with one is a [`Sleep`] that the joins poll with the
/// joiner's waker, and a waker that panics there leaves that timer unable
/// to wake the joiner (see [`Sleep`]'s docs): the deadline would then be
/// noticed only when a child finishes.
///
/// # Examples
/// ```
/// use nimsync_group::TaskGroup;
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let mut group = TaskGroup::<u64, std::io::Error>::new();
///     for i in 1..=4 {
///         group.spawn(async move { Ok(i * 10) }).unwrap();
///     }
///     group.join_all().await.unwrap().into_iter().sum::<u64>()
/// });
/// assert_eq!(sum, 100);
/// ```
pub struct TaskGroup<T, E = Infallible> {
    /// The handle every spawn of the group goes through.
    spawner: Spawner<T, E>,
    /// Fires at the group's own deadline while joining.
    timer: Option<Sleep>,
    /// Set when the group's deadline passed while joining.
    timed_out: Option<TimedOut>,
    /// A finished child taken off the queue whose handle a dropped join
    /// was still awaiting.
    in_flight: Option<FinishedChild<T, E>>,
}

// A group is `RefUnwindSafe`, as tokio's `JoinSet` is (the compiler
// alone says no, for its deadline timer). Through a shared reference
// (`spawn*`, `start`, `token`, `metrics`, `spawner`, `name`) a
// panic reaches the caller only from user code, and none leaves the group
// inconsistent: its locks ignore poisoning, and the only user code that
// can run under them, the future of a child the runtime refuses during a
// spawn, is dropped under the runtime's `catch_unwind`; each child's end
// is reported by a guard (`Report`) on every way out of the child; the
// token survives panicking wakers; `start` calls its closure before it
// touches the group. The deadline timer, the one part a panicking waker
// can leave stale, is polled only by the joins, which take `&mut self` or
// `self`: hence not `UnwindSafe` (see the type's docs). `Spawner` shares
// the same state without the timer, and the compiler finds it unwind safe
// on its own.
impl<T, E> std::panic::RefUnwindSafe for TaskGroup<T, E> {}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("name", &self.spawner.shared.name)
            .field("policy", &self.spawner.shared.policy)
            .field("cancelled", &self.spawner.shared.token.is_cancelled())
            .finish()
    }
}

impl<T: Send + 'static, E: Send + 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// A fail-fast group on the current runtime.
    ///
    /// # Panics
    /// Outside a nimsync-scheduler runtime.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// # drop(group);
    /// # });
    /// ```
    pub fn new() -> Self {
        Builder::default().build()
    }

    /// A [`Builder`] for a named, limited or nested group.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::builder().name("io").limit(2).build();
    /// # drop(group);
    /// # });
    /// ```
    pub fn builder() -> Builder<T, E> {
        Builder::default()
    }

    /// The group's name.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// assert_eq!(nimsync_group::TaskGroup::<()>::new().name(), None);
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.spawner.shared.name.as_deref()
    }

    /// The group's token: children check it or await it to stop early.
    /// Cancelling it asks every child to stop; it never aborts them.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<bool>::new();
    /// let token = group.token().clone();
    /// group.spawn_ok(async move { token.cancelled().await; true }).unwrap();
    /// group.token().cancel();
    /// assert_eq!(group.join_all().await.unwrap(), vec![true]);
    /// # });
    /// ```
    pub fn token(&self) -> &CancelToken {
        self.spawner.token()
    }

    /// A cloneable handle that spawns into this group, usable from any
    /// task (including the group's own children).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u32>::new();
    /// let spawner = group.spawner();
    /// group.spawn_ok(async move {
    ///     spawner.spawn_ok(async { 2 }).unwrap();
    ///     1
    /// }).unwrap();
    /// let mut all = group.join_all().await.unwrap();
    /// all.sort();
    /// assert_eq!(all, vec![1, 2]);
    /// # });
    /// ```
    pub fn spawner(&self) -> Spawner<T, E> {
        self.spawner.clone()
    }

    /// Spawns a fallible child; returns its task id.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed (joined, failed fast) or
    /// its token is cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, String>::new();
    /// group.spawn(async { Ok(1) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![1]);
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawner.spawn(fut)
    }

    /// Spawns a named fallible child; the name appears in its errors and
    /// in [`nimsync_scheduler::task::name`].
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), &str>::new();
    /// group.spawn_named("loader", async { Err("disk full") }).unwrap();
    /// let failure = group.join_next().await.unwrap().unwrap_err();
    /// assert!(failure.to_string().contains("task `loader`"));
    /// # });
    /// ```
    pub fn spawn_named<F>(&self, name: impl Into<Arc<str>>, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawner.spawn_named(name, fut)
    }

    /// Spawns a child that cannot fail (it may still panic).
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<&str>::new();
    /// group.spawn_ok(async { "done" }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec!["done"]);
    /// # });
    /// ```
    pub fn spawn_ok<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawner.spawn_ok(fut)
    }

    /// Spawns a shielded child: the group awaits it like any other but
    /// never aborts it (not on a fail-fast failure, not at the group's
    /// deadline, not when the group is dropped, which detaches it) and it
    /// is spawned even after the group's token was cancelled. Its future
    /// does not run under the group's deadline. For cleanup and commits
    /// that must complete; keep it short, since a join waits for it even
    /// after the deadline passed.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<&str>::new();
    /// group.token().cancel();
    /// group.spawn_shielded(async { Ok("flushed") }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec!["flushed"]);
    /// # });
    /// ```
    pub fn spawn_shielded<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawner.spawn_shielded(fut)
    }

    /// Spawns a fallible child and returns an [`AbortHandle`] that aborts
    /// this child alone, from any thread, with its task id. Otherwise the
    /// child is like one from [`spawn`](TaskGroup::spawn), which returns
    /// the id only (and spares the handle's allocation).
    ///
    /// An aborted child is reported as cancelled by the joins, as a
    /// sibling's failure under fail-fast would have it.
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<&str>::new();
    /// let upload = group.spawn_with_handle(std::future::pending()).unwrap();
    /// group.spawn_ok(async { "indexed" }).unwrap();
    /// upload.abort();
    /// let mut cancelled = 0;
    /// while let Some(result) = group.join_next().await {
    ///     match result {
    ///         Ok(done) => assert_eq!(done, "indexed"),
    ///         Err(failure) => {
    ///             assert!(failure.is_cancelled());
    ///             assert_eq!(failure.task.id, upload.id());
    ///             cancelled += 1;
    ///         }
    ///     }
    /// }
    /// assert_eq!(cancelled, 1);
    /// # });
    /// ```
    pub fn spawn_with_handle<F>(&self, fut: F) -> Result<AbortHandle, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawner.spawn_with_handle(fut)
    }

    /// Spawns a fallible child on the runtime of `handle` instead of the
    /// group's. It is the group's child in every other way: joined with
    /// the others, under the group's token, deadline, limit and policy.
    /// (For a whole group on another runtime, see
    /// [`Builder::handle`].)
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    ///
    /// # Examples
    /// ```
    /// let blocking_io = nimsync_scheduler::Runtime::builder().worker_threads(1).build().unwrap();
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let group = nimsync_group::TaskGroup::<u8>::new();
    ///     group.spawn_on(async { Ok(1) }, &blocking_io.handle()).unwrap();
    ///     group.spawn(async { Ok(2) }).unwrap();
    ///     assert_eq!(group.join_all().await.unwrap(), vec![1, 2]);
    /// });
    /// ```
    pub fn spawn_on<F>(&self, fut: F, handle: &Handle) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawner.spawn_on(fut, handle)
    }

    /// Spawns a fallible child whose future need not be `Send`: it runs
    /// on the calling thread only, through
    /// [`nimsync_scheduler::spawn_local`]. That thread must be a runtime
    /// thread (a worker running a task, or a thread inside `block_on`); on
    /// a current-thread runtime, that is its one thread. The child is the
    /// group's like any other (joined, under its token, deadline, limit and
    /// policy, aborted by it); only its result must be `Send`, as the
    /// group's are. It is dropped if the thread leaves the runtime first
    /// (its `block_on` returns), and then reported as cancelled.
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    ///
    /// # Panics
    /// Outside a runtime thread (a plain thread, or a `spawn_blocking`
    /// closure), as [`nimsync_scheduler::spawn_local`] does; the group is
    /// left as it was.
    ///
    /// # Examples
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let rt = nimsync_scheduler::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     let group = nimsync_group::TaskGroup::<usize>::new();
    ///     for word in ["a", "bb"] {
    ///         let log = Rc::clone(&log);
    ///         group
    ///             .spawn_local(async move {
    ///                 log.borrow_mut().push(word);
    ///                 Ok(word.len())
    ///             })
    ///             .unwrap();
    ///     }
    ///     assert_eq!(group.join_all().await.unwrap(), vec![1, 2]);
    ///     assert_eq!(log.borrow().len(), 2);
    /// });
    /// ```
    pub fn spawn_local<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        self.spawner.spawn_local(fut)
    }

    /// Spawns a child and waits until it reports, through the [`Started`]
    /// handle it is given, that it has started; returns the value it
    /// reported (Trio's `nursery.start`). The child then goes on running
    /// in the group.
    ///
    /// # Errors
    /// [`StartError::NotStarted`] if the child ended without reporting;
    /// [`StartError::Spawn`] if the group refused it.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u32, String>::new();
    /// let ready = group
    ///     .start(|started| async move {
    ///         started.started("listening");
    ///         Ok(42)
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(ready, "listening");
    /// assert_eq!(group.join_all().await.unwrap(), vec![42]);
    /// # });
    /// ```
    pub async fn start<S, F, Fut>(&self, f: F) -> Result<S, StartError>
    where
        S: Send + 'static,
        F: FnOnce(Started<S>) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let slot = StartSlot::new();
        let fut = f(Started::new(sync::Arc::clone(&slot)));
        self.spawner.spawn(fut).map_err(StartError::Spawn)?;
        wait_started(slot).await
    }

    /// Cancels the token and aborts every child not yet joined (shielded
    /// ones excepted), as a fail-fast failure would.
    pub(crate) fn cancel_rest(&self) {
        self.spawner.shared.abort_all();
    }

    /// Aborts every child not yet joined, except shielded ones: each
    /// one's future is dropped at its task's next scheduling point, and
    /// the joins report it as cancelled (a child that finished first keeps
    /// its result). Unlike a fail-fast failure or a dropped group, it
    /// neither cancels the group's token nor closes the group: new
    /// children may be spawned afterwards. Shielded children, which their
    /// group never aborts, run on.
    ///
    /// The joins then go on as the policy says: under
    /// [`Policy::FailFast`] and [`Policy::CollectErrors`],
    /// [`join_all`](TaskGroup::join_all) returns a [`GroupError`](crate::GroupError)
    /// listing the cancelled children; under [`Policy::IgnoreErrors`] it
    /// returns the successes. [`metrics`](TaskGroup::metrics) counts them
    /// as cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<()>::new();
    /// for _ in 0..3 {
    ///     group.spawn_ok(std::future::pending()).unwrap();
    /// }
    /// group.abort_all();
    /// while let Some(result) = group.join_next().await {
    ///     assert!(result.unwrap_err().is_cancelled());
    /// }
    /// assert_eq!(group.metrics().cancelled, 3);
    /// assert!(!group.token().is_cancelled());
    /// group.spawn_ok(async {}).unwrap();
    /// # });
    /// ```
    pub fn abort_all(&self) {
        #[cfg(feature = "tracing")]
        crate::trace::group_cancelled(self.name(), crate::trace::Cancel::AbortAll);
        self.spawner.shared.abort_children();
    }

    /// Lets go of every child not yet joined: they keep running, but the
    /// group no longer joins them, aborts them or answers for them. Their
    /// results are dropped when they end, including those of children that
    /// had finished but were not joined yet. The group stays open:
    /// children spawned afterwards are its own as before.
    ///
    /// What a detached child keeps and loses:
    /// - it is never aborted by the group again: not by
    ///   [`abort_all`](TaskGroup::abort_all), a fail-fast failure, the
    ///   group's deadline or its drop. Its [`AbortHandle`], if it has one,
    ///   still works;
    /// - its failure is no longer the group's: it does not fail the group
    ///   fast and appears in no [`GroupError`](crate::GroupError) (a
    ///   failure that happened before the detach counted as usual);
    /// - it still runs under the group's token, which it may have cloned
    ///   and which groups it builds take as their parent: cancelling the
    ///   token (or dropping the group while other children are unjoined,
    ///   which cancels it) still asks it to stop, cooperatively. Give it a
    ///   token of its own when that is not wanted;
    /// - it still sees the deadline it was spawned under, and it keeps its
    ///   place under the group's concurrency limit: a waiting child still
    ///   waits for its turn, a running one holds its permit until it ends.
    ///
    /// [`metrics`](TaskGroup::metrics) counts the detached children, so
    /// that `completed + failed + cancelled + detached == spawned` once the
    /// group is joined.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<()>::new();
    /// let flushed = Arc::new(AtomicBool::new(false));
    /// let gate = nimsync_group::CancelToken::new();
    /// let (flag, open) = (Arc::clone(&flushed), gate.clone());
    /// let flush = group.spawn_with_handle(async move {
    ///     open.cancelled().await;
    ///     flag.store(true, Ordering::SeqCst);
    ///     Ok(())
    /// }).unwrap();
    /// group.detach_all();
    /// assert!(group.join_next().await.is_none(), "nothing left to join");
    /// assert_eq!(group.metrics().detached, 1);
    /// drop(group);
    /// gate.cancel();
    /// while !flush.is_finished() {
    ///     nimsync_scheduler::yield_now().await;
    /// }
    /// assert!(flushed.load(Ordering::SeqCst), "it ran to its end");
    /// # });
    /// ```
    pub fn detach_all(&mut self) {
        let shared = &self.spawner.shared;
        let (handles, below) = {
            let mut st = shared.state.lock();
            let mut handles = Vec::new();
            for child in &mut st.children {
                if let Some(handle) = child.handle.take() {
                    child.detached = true;
                    handles.push(handle);
                }
            }
            st.unjoined = 0;
            (handles, st.children.len())
        };
        {
            let mut failures = shared.failures.lock();
            failures.detached_below = failures.detached_below.max(below);
        }
        let in_flight = self.in_flight.take();
        let count = handles.len() + usize::from(in_flight.is_some());
        shared
            .detached
            .fetch_add(count as u64, sync::Ordering::Relaxed);
        // Dropped with no lock held: a finished child's result, dropped
        // here, is user code.
        drop(handles);
        drop(in_flight);
    }

    /// The children spawned and not yet joined (nor detached), finished or
    /// not.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// assert!(group.is_empty());
    /// group.spawn_ok(async { 1 }).unwrap();
    /// group.spawn_ok(async { 2 }).unwrap();
    /// assert_eq!(group.len(), 2);
    /// group.join_next().await;
    /// assert_eq!(group.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.spawner.shared.state.lock().unjoined + usize::from(self.in_flight.is_some())
    }

    /// True when no child is left to join.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// assert!(!group.is_empty());
    /// while group.join_next().await.is_some() {}
    /// assert!(group.is_empty());
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts of the children so far.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// use nimsync_group::{Policy, TaskGroup};
    /// let mut group = TaskGroup::<(), ()>::builder().policy(Policy::IgnoreErrors).build();
    /// group.spawn(async { Ok(()) }).unwrap();
    /// group.spawn(async { Err(()) }).unwrap();
    /// while group.join_next().await.is_some() {}
    /// let m = group.metrics();
    /// assert_eq!((m.spawned, m.completed, m.failed, m.cancelled), (2, 1, 1, 0));
    /// # });
    /// ```
    pub fn metrics(&self) -> GroupMetrics {
        self.spawner.metrics()
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let shared = &self.spawner.shared;
        let handles: Vec<(JoinHandle<Ended<T, E>>, Shielding)> = {
            let mut st = shared.state.lock();
            st.closed = true;
            if st.unjoined == 0 {
                return;
            }
            st.children
                .iter_mut()
                .filter_map(|c| c.handle.take().map(|h| (h, c.shielding)))
                .collect()
        };
        #[cfg(feature = "tracing")]
        crate::trace::group_cancelled(shared.name.as_deref(), crate::trace::Cancel::Dropped);
        // Dropping the handles afterwards detaches the tasks: an aborted
        // one's future is dropped when the runtime next runs it; a
        // shielded one runs to its end.
        for (handle, shielding) in &handles {
            if *shielding == Shielding::Unshielded {
                handle.abort();
            }
        }
        // Last: a waker that panics in the cancel is raised again only
        // after the aborts.
        shared.token.cancel();
    }
}
