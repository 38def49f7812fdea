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

use nimsync_scheduler::JoinHandle;
use nimsync_scheduler::task::Id;

use nimsync_time::Sleep;

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
use shared::Shielding;

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
        let handles: Vec<(JoinHandle<Result<T, E>>, Shielding)> = {
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
