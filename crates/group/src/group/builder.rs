//! [`Builder`]: a group's name, policy, limit, parent token, runtime and
//! deadline.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_scheduler::Handle;

use super::shared::{Failures, Shared, State, enclosing_token};
use super::{Policy, Spawner, TaskGroup};
use crate::deadline::{Deadline, deadline_after};
use crate::finished::Finished;
use crate::limit::Limiter;
use crate::sync::{self, AtomicU64, Mutex};
use crate::token::CancelToken;

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
    /// [`TimedOut`](crate::TimedOut); children see it through
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
        let timer = own.as_ref().map(|d| nimsync_time::sleep_until(d.at));
        let shared = Shared {
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
            failures: Mutex::new(Failures::default()),
            state: Mutex::new(State {
                closed: false,
                children: Vec::new(),
                unjoined: 0,
            }),
            spawned: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            detached: AtomicU64::new(0),
        };
        TaskGroup {
            spawner: Spawner {
                shared: sync::Arc::new(shared),
            },
            timer,
            timed_out: None,
            in_flight: None,
        }
    }
}
