//! [`Supervisor`]: restarts children by a strategy, within a restart
//! intensity, with backoff; gives up to its own supervisor when the
//! intensity is exceeded.
//!
//! The run loop owns its children's tasks in a nimsync-group
//! [`TaskGroup`]: each incarnation is one child task whose output is how it
//! ended. The loop waits on three things at once: the next child to end
//! (`join_next_with_id`), a command from a [`SupervisorRef`], and the
//! earliest scheduled restart on the supervisor's [`Clock`]. Stopping a
//! child is a request on its system lane, then an abort if it has not
//! ended by its shutdown timeout; ends of other children seen meanwhile
//! are kept and handled next, in order.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_channel::mpmc::{self, Receiver, Sender};
use nimsync_group::CancelToken;
use nimsync_time::Clock;

use crate::error::{ExitReason, Failure, FailureKind, SupervisorError};
use crate::run::{Exit, Ready};
use crate::sync::Mutex;

mod backoff;
mod control;
mod pool;
mod running;
mod spec;

pub use backoff::Backoff;
pub use control::{ChildInfo, StartChildError, SupervisorRef};
pub use pool::PoolRef;
pub use spec::{ChildSpec, ChildSpecBuilder, Restart, Shutdown};

use control::Command;
use running::{Ended, run_loop};

/// Which children a supervisor restarts when one has to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the one that ended (the default).
    #[default]
    OneForOne,
    /// All of them: the others are stopped (in reverse start order), then
    /// all are started again in start order.
    OneForAll,
    /// The one that ended and every child started after it.
    RestForOne,
}

/// What a supervisor did: for logs and for tests that follow a restart
/// timeline step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// A child's incarnation was spawned (`restarts` before it).
    Started {
        /// The child's id.
        child: Arc<str>,
        /// How many restarts came before this incarnation.
        restarts: u64,
    },
    /// A child's incarnation ended.
    Exited {
        /// The child's id.
        child: Arc<str>,
        /// How.
        reason: ExitReason,
    },
    /// A restart of a child is due at `at` (on the supervisor's clock).
    RestartScheduled {
        /// The child's id.
        child: Arc<str>,
        /// When.
        at: Instant,
    },
    /// A child stopped for good.
    Finished {
        /// The child's id.
        child: Arc<str>,
    },
    /// The restart intensity was exceeded: the supervisor stops its
    /// children and gives up.
    Escalating {
        /// The child whose restart went over the limit.
        child: Arc<str>,
    },
}

type EventHook = Arc<dyn Fn(&SupervisorEvent) + Send + Sync>;

/// A supervisor: a strategy, a restart intensity, optional backoff, and
/// its children.
///
/// Run it with [`run`](Supervisor::run) (in a task of a nimsync-scheduler
/// runtime); it returns `Ok` when stopped through a [`SupervisorRef`] (or
/// when every child has stopped for good and no ref is left), and
/// [`SupervisorError::Escalated`] when a child failed more often than the
/// intensity allows, after stopping every child in reverse start order.
/// Nested as a child of another supervisor, that error is a failure the
/// parent handles by its own strategy.
///
/// Defaults: [`Strategy::OneForOne`], at most 3 restarts within 5 s (as
/// OTP), no backoff, the system clock.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, ChildSpec, Context, Handler, Strategy, Supervisor};
///
/// #[derive(Default)]
/// struct Worker(u32);
/// impl Actor for Worker {}
/// impl Handler<u32> for Worker {
///     type Reply = u32;
///     async fn handle(&mut self, n: u32, _: &mut Context<Self>) -> u32 {
///         assert!(n != 13, "unlucky");
///         self.0 += n;
///         self.0
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (spec, worker) = ChildSpec::actor("worker", Worker::default);
///     let supervisor = Supervisor::new("root").strategy(Strategy::OneForOne).child(spec);
///     let control = supervisor.control();
///     let running = nimsync_scheduler::spawn(supervisor.run());
///
///     assert_eq!(worker.ask(2).await.unwrap(), 2);
///     assert!(worker.ask(13).await.is_err()); // panics: restarted with fresh state
///     assert_eq!(worker.ask(5).await.unwrap(), 5); // same ref, new instance
///     assert_eq!(worker.metrics().restarts, 1);
///
///     control.stop();
///     running.await.unwrap().unwrap();
///     assert!(!worker.is_alive());
/// });
/// ```
pub struct Supervisor {
    shared: Arc<Shared>,
    tx: Sender<Command>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.shared.name)
            .field("strategy", &self.shared.strategy)
            .field("children", &self.shared.children.lock().len())
            .finish_non_exhaustive()
    }
}

/// What every handle of one supervisor shares.
pub(crate) struct Shared {
    name: Arc<str>,
    strategy: Strategy,
    max_restarts: u32,
    within: Duration,
    backoff: Option<Backoff>,
    clock: Clock,
    /// The current children, in start order (dynamic ones appended).
    children: Mutex<Vec<Arc<ChildSpec>>>,
    commands: Receiver<Command>,
    on_event: Option<EventHook>,
    /// Cancelling it stops the supervisor (see [`Supervisor::token`]).
    shutdown: CancelToken,
    /// Cancelled when the supervisor stopped for good.
    pub(crate) stopped: CancelToken,
}

impl Shared {
    fn emit(&self, event: SupervisorEvent) {
        if let Some(hook) = &self.on_event {
            hook(&event);
        }
    }

    /// Stops every remaining child for good (the supervisor itself has).
    pub(crate) fn finish_children(&self, reason: &ExitReason) {
        let children = std::mem::take(&mut *self.children.lock());
        for child in children.iter().rev() {
            child.kind.finish(reason.clone());
        }
    }
}

impl Supervisor {
    /// A supervisor named `name` with the defaults (see [`Supervisor`]).
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        let (tx, commands) = mpmc::unbounded();
        Self {
            shared: Arc::new(Shared {
                name: name.into(),
                strategy: Strategy::OneForOne,
                max_restarts: 3,
                within: Duration::from_secs(5),
                backoff: None,
                clock: Clock::system(),
                children: Mutex::new(Vec::new()),
                commands,
                on_event: None,
                shutdown: CancelToken::new(),
                stopped: CancelToken::new(),
            }),
            tx,
        }
    }

    fn edit(&mut self) -> &mut Shared {
        Arc::get_mut(&mut self.shared).expect("a supervisor is configured before it is shared")
    }

    /// The restart strategy.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.edit().strategy = strategy;
        self
    }

    /// At most `max_restarts` restarts within any `within`: one more and
    /// the supervisor gives up. `max_restarts` 0 means the first restart
    /// is already one too many.
    ///
    /// # Panics
    /// If `within` is zero: no window can hold a restart.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let s = nimsync_actor::Supervisor::new("s").intensity(10, Duration::from_secs(60));
    /// # drop(s);
    /// ```
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        assert!(
            !within.is_zero(),
            "the restart intensity window must be longer than zero (OTP's period is at least 1 s)"
        );
        let s = self.edit();
        s.max_restarts = max_restarts;
        s.within = within;
        self
    }

    /// Waits by `backoff` before each restart.
    ///
    /// # Examples
    /// See [`Backoff`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.edit().backoff = Some(backoff);
        self
    }

    /// The clock for backoff delays, intensity windows and shutdown
    /// timeouts: a [`ManualClock`](nimsync_time::ManualClock)'s in tests.
    ///
    /// # Examples
    /// ```
    /// let manual = nimsync_time::ManualClock::new();
    /// let s = nimsync_actor::Supervisor::new("s").clock(manual.clock());
    /// # drop(s);
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.edit().clock = clock;
        self
    }

    /// Adds a child; children start in the order they are added.
    ///
    /// # Panics
    /// If a child with the same id was already added.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn child(mut self, spec: ChildSpec) -> Self {
        let s = self.edit();
        let mut children = s.children.lock();
        assert!(
            !children.iter().any(|c| c.id == spec.id),
            "supervisor `{}` already has a child `{}`: child ids must be unique",
            s.name,
            spec.id
        );
        children.push(Arc::new(spec));
        drop(children);
        self
    }

    /// Calls `hook` on every [`SupervisorEvent`], on the supervisor's task.
    ///
    /// # Examples
    /// ```
    /// let s = nimsync_actor::Supervisor::new("s").on_event(|e| println!("{e:?}"));
    /// # drop(s);
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&SupervisorEvent) + Send + Sync + 'static) -> Self {
        self.edit().on_event = Some(Arc::new(hook));
        self
    }

    /// Stops the supervisor when `parent` is cancelled: its stop token
    /// becomes a child of `parent` (see [`token`](Supervisor::token)).
    ///
    /// # Examples
    /// ```
    /// use nimsync_group::CancelToken;
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let app = CancelToken::new();
    ///     let sup = nimsync_actor::Supervisor::new("s").stop_on(&app);
    ///     let control = sup.control(); // keeps the empty supervisor running
    ///     let running = nimsync_scheduler::spawn(sup.run());
    ///     app.cancel();
    ///     running.await.unwrap().unwrap();
    ///     control.stopped().await;
    /// });
    /// ```
    pub fn stop_on(mut self, parent: &CancelToken) -> Self {
        self.edit().shutdown = parent.child();
        self
    }

    /// The supervisor's stop token: cancelling it stops the supervisor as
    /// [`SupervisorRef::stop`] does (every child stopped for good in
    /// reverse start order, then `run` returns `Ok`).
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sup = nimsync_actor::Supervisor::new("s");
    ///     let token = sup.token();
    ///     let control = sup.control();
    ///     let running = nimsync_scheduler::spawn(sup.run());
    ///     token.cancel();
    ///     running.await.unwrap().unwrap();
    ///     drop(control);
    /// });
    /// ```
    pub fn token(&self) -> CancelToken {
        self.shared.shutdown.clone()
    }

    /// A control ref, to stop the supervisor or add children while it
    /// runs.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn control(&self) -> SupervisorRef {
        SupervisorRef {
            name: Arc::clone(&self.shared.name),
            tx: self.tx.clone(),
            shutdown: self.shared.shutdown.clone(),
            stopped: self.shared.stopped.clone(),
        }
    }

    pub(crate) fn into_shared(self) -> Arc<Shared> {
        self.shared
    }

    /// Starts the children in order and supervises them until stopped.
    ///
    /// An empty supervisor runs until stopped through a
    /// [`SupervisorRef`], waiting for children added with
    /// [`SupervisorRef::start_child`]; with no ref left it returns `Ok` at
    /// once.
    ///
    /// # Errors
    /// [`SupervisorError::Escalated`] when the restart intensity was
    /// exceeded (every child is then stopped for good);
    /// [`SupervisorError::Spawn`] when the runtime refused a child.
    ///
    /// # Panics
    /// Outside a nimsync-scheduler runtime.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub async fn run(self) -> Result<(), SupervisorError> {
        let shared = self.into_shared();
        let result = run_loop(&shared, None).await;
        let reason = match &result {
            Ok(_) => ExitReason::Stopped,
            Err(e) => ExitReason::Failed(Failure::new(
                &shared.name,
                FailureKind::Escalated,
                e.to_string(),
            )),
        };
        shared.finish_children(&reason);
        shared.stopped.cancel();
        result.map(|_| ())
    }
}

/// Runs a nested supervisor's incarnation, as its parent sees it.
pub(crate) async fn run_nested(shared: Arc<Shared>, ready: Ready) -> Exit {
    match run_loop(&shared, Some(ready)).await {
        Ok(Ended::Stopped) => Exit::StoppedForGood,
        Ok(Ended::Released) => Exit::Ended(ExitReason::Restarting),
        Ok(Ended::Idle) => Exit::Ended(ExitReason::Normal),
        Err(e) => Exit::Ended(ExitReason::Failed(Failure::new(
            &shared.name,
            FailureKind::Escalated,
            e.to_string(),
        ))),
    }
}
