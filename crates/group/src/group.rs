//! [`TaskGroup`], its [`Spawner`] handles and [`scope`].

use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;
use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_scheduler::task::{self, Id};
use nimsync_scheduler::{Handle, JoinError, JoinHandle};

use nimsync_time::Sleep;

use crate::deadline::{Deadline, TimedOut, deadline_after};
use crate::error::{FailureKind, GroupError, SpawnError, SpawnRefused, TaskFailure, TaskLabel};
use crate::finished::Finished;
use crate::limit::Limiter;
use crate::start::{StartError, StartSlot, Started, wait_started};
use crate::sync::{self, AtomicU64, Mutex, Ordering};
use crate::token::CancelToken;

nimsync_scheduler::task_local! {
    /// The token of the group whose child is running: a group built in
    /// the child takes it as its parent.
    static ENCLOSING: CancelToken;
}

/// The token of the group the current task is a child of, if any.
fn enclosing_token() -> Option<CancelToken> {
    ENCLOSING.try_with(CancelToken::clone).ok()
}

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

/// One child, in spawn order.
struct Child<T, E> {
    name: Option<Arc<str>>,
    id: Option<Id>,
    /// Until joined.
    handle: Option<JoinHandle<Result<T, E>>>,
    /// Never aborted by its group.
    shielded: bool,
}

/// The group's state under its lock.
struct State<T, E> {
    /// No new children.
    closed: bool,
    children: Vec<Child<T, E>>,
    /// Children spawned and not yet joined.
    unjoined: usize,
}

/// What every handle of a group shares.
struct Shared<T, E> {
    name: Option<Arc<str>>,
    policy: Policy,
    token: CancelToken,
    handle: Handle,
    limiter: Option<sync::Arc<Limiter>>,
    /// The deadline in force for the children.
    deadline: Option<Deadline>,
    state: Mutex<State<T, E>>,
    /// Finished children not yet joined, in finishing order, and the
    /// joiner waiting for them. A lock of its own, so that finishing
    /// children do not contend with spawns; never held while `state` is
    /// taken.
    finished: Finished,
    /// The spawn index of the first child to fail (in time), once one has.
    first_failure: Mutex<Option<usize>>,
    spawned: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
}

/// Reports a child's end to its group when dropped: after it returned,
/// panicked, or was dropped unfinished (even before its first poll).
struct Report<T, E> {
    shared: sync::Arc<Shared<T, E>>,
    index: usize,
    shielded: bool,
}

impl<T, E> Shared<T, E> {
    /// Records that child `index` failed; the first to do so led the
    /// group's failure. Under fail-fast, cancels the token.
    fn child_failed(&self, index: usize, shielded: bool) {
        self.first_failure.lock().get_or_insert(index);
        if self.policy == Policy::FailFast && !shielded {
            self.token.cancel();
        }
    }
}

impl<T, E> Drop for Report<T, E> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shared.child_failed(self.index, self.shielded);
        }
        self.shared.finished.push(self.index);
    }
}

impl<T: Send + 'static, E: Send + 'static> Shared<T, E> {
    fn spawn<F>(
        this: &sync::Arc<Self>,
        name: Option<Arc<str>>,
        shielded: bool,
        fut: F,
    ) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if this.token.is_cancelled() && !shielded {
            return Err(SpawnError {
                reason: SpawnRefused::Cancelled,
            });
        }
        let mut st = this.state.lock();
        if st.closed {
            return Err(SpawnError {
                reason: SpawnRefused::Closed,
            });
        }
        let index = st.children.len();
        let report = Report {
            shared: sync::Arc::clone(this),
            index,
            shielded,
        };
        // The child's place in the limit's queue is taken here, under the
        // lock that orders the spawns, not at its first poll: the workers
        // may poll children in any order.
        let acquire = this.limiter.as_ref().map(Limiter::enqueue);
        let child = async move {
            let report = report;
            let _permit = match acquire {
                Some(acquire) => Some(acquire.await),
                None => None,
            };
            let out = fut.await;
            if out.is_err() {
                report.shared.child_failed(report.index, report.shielded);
            }
            out
        };
        let mut builder = task::Builder::new();
        if let Some(n) = &name {
            builder = builder.name(Arc::clone(n));
        }
        // Unshielded children run with the group's token as the enclosing
        // token (groups they build become its children) and under its
        // deadline.
        let handle = if shielded {
            builder.spawn_on(child, &this.handle)
        } else {
            let child = ENCLOSING.scope(this.token.clone(), child);
            match this.deadline.clone() {
                Some(deadline) => builder.spawn_on(deadline.scope(child), &this.handle),
                None => builder.spawn_on(child, &this.handle),
            }
        };
        let id = handle.id();
        st.children.push(Child {
            name,
            id: Some(id),
            handle: Some(handle),
            shielded,
        });
        st.unjoined += 1;
        this.spawned.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    fn label(&self, st: &State<T, E>, index: usize) -> TaskLabel {
        let child = &st.children[index];
        TaskLabel {
            name: child.name.clone(),
            id: child.id.expect("a spawned child has an id"),
            index,
        }
    }

    /// Aborts every child not yet joined, except shielded ones, and
    /// cancels the token. The handles are taken out for the aborts, so that
    /// no lock of the group is held if an abort drops a child's future on
    /// this thread. The token is cancelled last: a waker that panics there
    /// is raised again only after everything else was done.
    fn abort_all(&self) {
        let taken = self.take_handles();
        for (_, handle) in &taken {
            handle.abort();
        }
        {
            let mut st = self.state.lock();
            for (index, handle) in taken {
                st.children[index].handle = Some(handle);
            }
        }
        self.token.cancel();
    }

    /// The counters as a snapshot.
    fn metrics(&self) -> GroupMetrics {
        GroupMetrics {
            spawned: self.spawned.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }

    /// The handles of the children not yet joined, with their indices.
    fn take_handles(&self) -> Vec<(usize, JoinHandle<Result<T, E>>)> {
        let mut st = self.state.lock();
        st.children
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| !c.shielded)
            .filter_map(|(i, c)| c.handle.take().map(|h| (i, h)))
            .collect()
    }
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
    shared: sync::Arc<Shared<T, E>>,
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
// (`spawn*`, `shield`, `start`, `token`, `metrics`, `spawner`, `name`) a
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
            .field("name", &self.shared.name)
            .field("policy", &self.shared.policy)
            .field("cancelled", &self.shared.token.is_cancelled())
            .finish()
    }
}

/// Configures a [`TaskGroup`]: name, policy, limit, parent token, runtime.
pub struct Builder<T, E = Infallible> {
    name: Option<Arc<str>>,
    policy: Policy,
    limit: Option<usize>,
    parent: Option<CancelToken>,
    handle: Option<Handle>,
    deadline: Option<Instant>,
    marker: PhantomData<fn() -> (T, E)>,
}

impl<T, E> fmt::Debug for Builder<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<T, E> Default for Builder<T, E> {
    fn default() -> Self {
        Self {
            name: None,
            policy: Policy::default(),
            limit: None,
            parent: None,
            handle: None,
            deadline: None,
            marker: PhantomData,
        }
    }
}

impl<T, E> Builder<T, E> {
    /// Names the group; the name appears in its errors.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<()>::builder().name("indexer").build();
    /// assert_eq!(group.name(), Some("indexer"));
    /// # });
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the error policy ([`Policy::FailFast`] by default).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// use nimsync_group::{Policy, TaskGroup};
    /// let group = TaskGroup::<(), ()>::builder().policy(Policy::CollectErrors).build();
    /// # drop(group);
    /// # });
    /// ```
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Runs at most `n` children at once; the others wait, in spawn order.
    ///
    /// A child takes its place in the queue when it is spawned, and each
    /// permit a finishing child gives back goes to the oldest waiting
    /// child, whichever worker polls the children first: children are
    /// admitted in spawn order (with a limit of 1 they run one after the
    /// other in spawn order). A waiting child that is aborted or dropped
    /// gives up its place, or passes on the permit it was just handed.
    ///
    /// # Panics
    /// If `n` is zero: no child could ever run.
    ///
    /// # Examples
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<()>::builder().limit(1).build();
    /// let order = Arc::new(Mutex::new(Vec::new()));
    /// for i in 0..5 {
    ///     let order = Arc::clone(&order);
    ///     group.spawn_ok(async move { order.lock().unwrap().push(i) }).unwrap();
    /// }
    /// group.join_all().await.unwrap();
    /// assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    /// # });
    /// ```
    pub fn limit(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "TaskGroup limit must be at least 1: with 0 no child could ever run"
        );
        self.limit = Some(n);
        self
    }

    /// Makes the group's token a child of `parent`: cancelling `parent`
    /// cancels the group. Without it, a group built inside a child of
    /// another group takes that group's token as its parent, so nested
    /// groups hear cancellation from above without being told.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let root = nimsync_group::CancelToken::new();
    /// let group = nimsync_group::TaskGroup::<()>::builder().parent(&root).build();
    /// root.cancel();
    /// assert!(group.token().is_cancelled());
    /// # });
    /// ```
    pub fn parent(mut self, parent: &CancelToken) -> Self {
        self.parent = Some(parent.clone());
        self
    }

    /// Spawns the children on `handle`'s runtime instead of the current
    /// one.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let group = nimsync_group::TaskGroup::<u8>::builder().handle(rt.handle()).build();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// assert_eq!(rt.block_on(group.join_all()).unwrap(), vec![1]);
    /// ```
    pub fn handle(mut self, handle: Handle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// Gives the group a deadline (the nearer of this and the deadline in
    /// force where the group is built wins). While the group is joined,
    /// the deadline aborts its unshielded children and the join reports
    /// [`TimedOut`]; children see it through
    /// [`current_deadline`](crate::current_deadline).
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let at = Instant::now() + Duration::from_millis(5);
    /// let group = nimsync_group::TaskGroup::<()>::builder().name("slow").deadline(at).build();
    /// group.spawn_ok(std::future::pending()).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert_eq!(err.timed_out().unwrap().scope(), Some("slow"));
    /// # });
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Gives the group a deadline `timeout` from now; see
    /// [`deadline`](Builder::deadline).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::builder().timeout(Duration::from_secs(5)).build();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![1]);
    /// # });
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.deadline(deadline_after(timeout))
    }

    /// Creates the group.
    ///
    /// # Panics
    /// Without a [`handle`](Builder::handle), outside a nimsync-scheduler
    /// runtime.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<()>::builder().build();
    /// # drop(group);
    /// # });
    /// ```
    pub fn build(self) -> TaskGroup<T, E> {
        let handle = self.handle.unwrap_or_else(|| {
            Handle::try_current().expect(
                "a TaskGroup needs a nimsync-scheduler runtime: create it inside \
                 `Runtime::block_on` or a task, or pass `Builder::handle`",
            )
        });
        let own = self
            .deadline
            .map(|at| Deadline::nearest(at, self.name.clone()));
        let deadline = own.clone().or_else(Deadline::current);
        TaskGroup {
            timer: own.as_ref().map(|d| nimsync_time::sleep_until(d.at)),
            timed_out: None,
            in_flight: None,
            shared: sync::Arc::new(Shared {
                deadline,
                name: self.name,
                policy: self.policy,
                token: self
                    .parent
                    .or_else(enclosing_token)
                    .map_or_else(CancelToken::new, |p| p.child()),
                handle,
                limiter: self.limit.map(Limiter::new),
                finished: Finished::new(),
                first_failure: Mutex::new(None),
                state: Mutex::new(State {
                    closed: false,
                    children: Vec::new(),
                    unjoined: 0,
                }),
                spawned: AtomicU64::new(0),
                completed: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                cancelled: AtomicU64::new(0),
            }),
        }
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
        self.shared.name.as_deref()
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
        &self.shared.token
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
        Spawner {
            shared: sync::Arc::clone(&self.shared),
        }
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
        Shared::spawn(&self.shared, None, false, fut)
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
        Shared::spawn(&self.shared, Some(name.into()), false, fut)
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
        Shared::spawn(&self.shared, None, false, async move { Ok(fut.await) })
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
    /// group.shield(async { Ok("flushed") }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec!["flushed"]);
    /// # });
    /// ```
    pub fn shield<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, true, fut)
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
        Shared::spawn(&self.shared, None, false, fut)
            .map_err(StartError::Spawn)?;
        wait_started(slot).await
    }

    /// Cancels the token and aborts every child not yet joined (shielded
    /// ones excepted), as a fail-fast failure would.
    pub(crate) fn cancel_rest(&self) {
        self.shared.abort_all();
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
        self.shared.metrics()
    }

    /// Waits for the next child to finish and returns its result, or
    /// `None` when every spawned child has been joined.
    ///
    /// Under [`Policy::FailFast`], the first failure returned here aborts
    /// every child not yet joined (they are then returned as cancelled).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u32>::new();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// let mut seen = Vec::new();
    /// while let Some(res) = group.join_next().await {
    ///     seen.push(res.unwrap());
    /// }
    /// assert_eq!(seen, vec![1]);
    /// # });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, TaskFailure<E>>> {
        self.join_next_indexed(false).await.map(|(_, r)| r)
    }

    /// `join_next` with the child's spawn index. While waiting, the
    /// group's own deadline may pass: its unshielded children are then
    /// aborted, and the join goes on reaping them.
    async fn join_next_indexed(
        &mut self,
        close_when_empty: bool,
    ) -> Option<(usize, Result<T, TaskFailure<E>>)> {
        let next = if let Some(f) = self.in_flight.take() {
            Some(f)
        } else {
            loop {
                let shared = &self.shared;
                let timer = &mut self.timer;
                let step = poll_fn(|cx| {
                    // The `finished` lock is released before the `state`
                    // lock is taken: a spawn holds `state` while the runtime
                    // may drop a refused child, whose report then takes
                    // `finished`. A child reported after this pop found
                    // nothing wakes the waker registered with it.
                    let popped = shared.finished.pop_or_register(cx.waker());
                    {
                        let mut st = shared.state.lock();
                        if let Some(index) = popped {
                            st.unjoined -= 1;
                            let handle = st.children[index]
                                .handle
                                .take()
                                .expect("a child finishes once");
                            let label = shared.label(&st, index);
                            return Poll::Ready(Step::Finished(Some((index, label, handle))));
                        }
                        if st.unjoined == 0 {
                            if close_when_empty {
                                st.closed = true;
                            }
                            return Poll::Ready(Step::Finished(None));
                        }
                    }
                    if let Some(t) = timer.as_mut() {
                        if Pin::new(t).poll(cx).is_ready() {
                            return Poll::Ready(Step::Expired);
                        }
                    }
                    Poll::Pending
                })
                .await;
                match step {
                    Step::Finished(next) => break next,
                    Step::Expired => {
                        self.timer = None;
                        self.timed_out = self.shared.deadline.as_ref().map(Deadline::timed_out);
                        self.shared.state.lock().closed = true;
                        self.shared.abort_all();
                    }
                }
            }
        };
        self.in_flight = Some(next?);
        let joined = {
            let (_, _, handle) = self.in_flight.as_mut().expect("just set");
            handle.await
        };
        let (index, label, _) = self.in_flight.take().expect("just set");
        let result = match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(FailureKind::Failed(e)),
            Err(err) => Err(failure_of(err)),
        };
        let result = result.map_err(|kind| TaskFailure { task: label, kind });
        let counter = match &result {
            Ok(_) => &self.shared.completed,
            Err(f) if f.is_cancelled() => &self.shared.cancelled,
            Err(_) => &self.shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.shared.policy == Policy::FailFast
            && result.as_ref().is_err_and(|f| !f.is_cancelled())
        {
            self.shared.state.lock().closed = true;
            self.shared.abort_all();
        }
        Some((index, result))
    }

    /// Waits for every child and returns all results in spawn order,
    /// successes and failures together, whatever the policy. Closes the
    /// group to new children once all are joined.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// use nimsync_group::{Policy, TaskGroup};
    /// let group = TaskGroup::<u8, u8>::builder().policy(Policy::CollectErrors).build();
    /// group.spawn(async { Ok(1) }).unwrap();
    /// group.spawn(async { Err(2) }).unwrap();
    /// let results = group.join_all_results().await;
    /// assert!(results[0].is_ok() && results[1].is_err());
    /// # });
    /// ```
    pub async fn join_all_results(self) -> Vec<Result<T, TaskFailure<E>>> {
        self.reap().await.0
    }

    /// Joins every child; returns the results in spawn order and whether
    /// the group's deadline passed.
    async fn reap(mut self) -> (Vec<Result<T, TaskFailure<E>>>, Option<TimedOut>) {
        let mut slots: Vec<Option<Result<T, TaskFailure<E>>>> = Vec::new();
        while let Some((index, result)) = self.join_next_indexed(true).await {
            if slots.len() <= index {
                slots.resize_with(index + 1, || None);
            }
            slots[index] = Some(result);
        }
        self.shared.state.lock().closed = true;
        // Children returned earlier by `join_next` have no slot here.
        let results = slots.into_iter().flatten().collect();
        (results, self.timed_out.take())
    }

    /// Waits for every child and returns the successes in spawn order, as
    /// the policy says:
    /// - [`Policy::FailFast`]: the first failure, with the siblings it
    ///   cancelled;
    /// - [`Policy::CollectErrors`]: every failure, after all finished
    ///   ([`join_all_results`](TaskGroup::join_all_results) returns them
    ///   together with the successes);
    /// - [`Policy::IgnoreErrors`]: never an error; failures are counted in
    ///   [`metrics`](TaskGroup::metrics).
    ///
    /// It returns only after every child has finished or its future has
    /// been dropped.
    ///
    /// # Errors
    /// A [`GroupError`] naming the group and each failed child.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, &str>::new();
    /// group.spawn(async { Ok(1) }).unwrap();
    /// group.spawn(async { Err("bad input") }).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert!(err.to_string().contains("bad input"));
    /// # });
    /// ```
    pub async fn join_all(self) -> Result<Vec<T>, GroupError<E>> {
        let policy = self.shared.policy;
        let name = self.shared.name.clone();
        let shared = sync::Arc::clone(&self.shared);
        let (results, timed_out) = self.reap().await;
        let first_failed = *shared.first_failure.lock();
        let mut successes = Vec::new();
        let mut lead = None;
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok(v) => successes.push(v),
                Err(f) if Some(f.task.index) == first_failed => lead = Some(f),
                Err(f) => failures.push(f),
            }
        }
        // The failure that came first in time leads; the rest follow in
        // spawn order.
        if let Some(f) = lead {
            failures.insert(0, f);
        }
        if timed_out.is_none() && (failures.is_empty() || policy == Policy::IgnoreErrors) {
            Ok(successes)
        } else {
            Err(GroupError {
                group: name,
                failures,
                timed_out,
            })
        }
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let shared = &self.shared;
        let handles: Vec<(JoinHandle<Result<T, E>>, bool)> = {
            let mut st = shared.state.lock();
            st.closed = true;
            if st.unjoined == 0 {
                return;
            }
            st.children
                .iter_mut()
                .filter_map(|c| c.handle.take().map(|h| (h, c.shielded)))
                .collect()
        };
        // Dropping the handles afterwards detaches the tasks: an aborted
        // one's future is dropped when the runtime next runs it; a
        // shielded one runs to its end.
        for (handle, shielded) in &handles {
            if !shielded {
                handle.abort();
            }
        }
        // Last: a waker that panics in the cancel is raised again only
        // after the aborts.
        shared.token.cancel();
    }
}

/// A finished child: its index, label and handle.
type FinishedChild<T, E> = (usize, TaskLabel, JoinHandle<Result<T, E>>);

/// What one wait of a join saw.
enum Step<T, E> {
    /// A child finished, or none is left.
    Finished(Option<FinishedChild<T, E>>),
    /// The group's deadline passed.
    Expired,
}

/// Turns a join error into a failure kind.
fn failure_of<E>(err: JoinError) -> FailureKind<E> {
    if err.is_cancelled() {
        return FailureKind::Cancelled;
    }
    match err.try_into_panic() {
        Ok(payload) => FailureKind::Panicked(panic_message(payload.as_ref())),
        Err(other) => FailureKind::Panicked(other.to_string()),
    }
}

/// The message of a panic payload, when it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(a panic payload that is not a string)")
    }
}

/// A cloneable handle that spawns into a [`TaskGroup`], from any task.
/// It does not keep the group open: once the group is joined or dropped,
/// spawning fails with [`SpawnError`].
pub struct Spawner<T, E = Infallible> {
    shared: sync::Arc<Shared<T, E>>,
}

impl<T, E> Clone for Spawner<T, E> {
    fn clone(&self) -> Self {
        Self {
            shared: sync::Arc::clone(&self.shared),
        }
    }
}

impl<T, E> fmt::Debug for Spawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("group", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static, E: Send + 'static> Spawner<T, E> {
    /// Spawns a fallible child into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().spawn(async { Ok(3) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, false, fut)
    }

    /// Spawns a named fallible child into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().spawn_named("n", async { Ok(3) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn_named<F>(&self, name: impl Into<Arc<str>>, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, Some(name.into()), false, fut)
    }

    /// Spawns a child that cannot fail into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// group.spawner().spawn_ok(async { 3 }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn_ok<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = T> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, false, async move { Ok(fut.await) })
    }

    /// Counts of the group's children so far; readable after the group
    /// was consumed by [`TaskGroup::join_all`].
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// let spawner = group.spawner();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// group.join_all().await.unwrap();
    /// assert_eq!(spawner.metrics().completed, 1);
    /// # });
    /// ```
    pub fn metrics(&self) -> GroupMetrics {
        self.shared.metrics()
    }

    /// Spawns a shielded child into the group; see [`TaskGroup::shield`].
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().shield(async { Ok(5) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![5]);
    /// # });
    /// ```
    pub fn shield<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, true, fut)
    }

    /// The group's token.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// assert!(!group.spawner().token().is_cancelled());
    /// # });
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.shared.token
    }
}

/// Runs `body` with a [`Spawner`] of a new fail-fast group (a nursery),
/// then waits for every child; returns the body's value and the children's
/// results in spawn order.
///
/// If the body itself finishes, the scope still waits for the children.
/// If the scope's future is dropped, the group is dropped with it: its
/// token is cancelled and its children aborted (see [`TaskGroup`]).
///
/// # Errors
/// The group's [`GroupError`] when a child failed.
///
/// # Panics
/// Outside a nimsync-scheduler runtime.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let (label, lengths) = rt.block_on(nimsync_group::scope(|s| async move {
///     for word in ["a", "bb", "ccc"] {
///         s.spawn(async move { Ok::<_, std::io::Error>(word.len()) }).unwrap();
///     }
///     "words"
/// }))
/// .unwrap();
/// assert_eq!((label, lengths), ("words", vec![1, 2, 3]));
/// ```
pub async fn scope<T, E, F, Fut>(body: F) -> Result<(Fut::Output, Vec<T>), GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(Spawner<T, E>) -> Fut,
    Fut: Future,
{
    scope_with(Builder::default(), body).await
}

/// [`scope`] with a configured group (name, policy, limit, parent).
///
/// # Errors
/// The group's [`GroupError`] when a child failed (never under
/// [`Policy::IgnoreErrors`]).
///
/// # Examples
/// ```
/// use nimsync_group::{Policy, TaskGroup, scope_with};
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let (_, ok) = rt.block_on(scope_with(
///     TaskGroup::<u8, ()>::builder().policy(Policy::IgnoreErrors),
///     |s| async move {
///         s.spawn(async { Ok(1) }).unwrap();
///         s.spawn(async { Err(()) }).unwrap();
///     },
/// ))
/// .unwrap();
/// assert_eq!(ok, vec![1]);
/// ```
pub async fn scope_with<T, E, F, Fut>(
    builder: Builder<T, E>,
    body: F,
) -> Result<(Fut::Output, Vec<T>), GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(Spawner<T, E>) -> Fut,
    Fut: Future,
{
    let group: TaskGroup<T, E> = builder.build();
    let out = body(group.spawner()).await;
    let results = group.join_all().await?;
    Ok((out, results))
}
