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

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_channel::mpmc::{self, Receiver, Sender};
use nimsync_channel::oneshot;
use nimsync_group::{AbortHandle, CancelToken, Policy, TaskFailure, TaskGroup};
use nimsync_scheduler::task::Id;
use nimsync_time::Clock;

use crate::core::Drain;
use crate::error::{ExitReason, Failure, FailureKind, SupervisorError};
use crate::run::{Exit, Ready};
use crate::sync::Mutex;

mod backoff;
mod pool;
mod spec;

pub use backoff::Backoff;
pub use pool::PoolRef;
pub use spec::{ChildSpec, ChildSpecBuilder, Restart, Shutdown};

use backoff::Intensity;

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

    /// A control ref, to stop the supervisor or add children while it
    /// runs.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn control(&self) -> SupervisorRef {
        SupervisorRef {
            name: Arc::clone(&self.shared.name),
            tx: self.tx.clone(),
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

/// A handle to a running [`Supervisor`].
///
/// # Examples
/// See [`Supervisor`] and [`SupervisorRef::start_child`].
#[derive(Clone)]
pub struct SupervisorRef {
    name: Arc<str>,
    tx: Sender<Command>,
    stopped: CancelToken,
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("name", &self.name)
            .finish()
    }
}

/// A child as [`SupervisorRef::children`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildInfo {
    /// Its id.
    pub id: Arc<str>,
    /// Whether an incarnation is running now (false while a restart
    /// waits out its backoff).
    pub running: bool,
    /// Its restarts under this run of the supervisor.
    pub restarts: u64,
}

/// Error of [`SupervisorRef::start_child`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartChildError {
    /// The supervisor already has a child with this id.
    DuplicateId(Arc<str>),
    /// The supervisor has stopped (or is not running).
    Stopped,
    /// The runtime refused to spawn it.
    Spawn,
}

impl fmt::Display for StartChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartChildError::DuplicateId(id) => {
                write!(
                    f,
                    "the supervisor already has a child `{id}`: pick another id"
                )
            }
            StartChildError::Stopped => f.write_str("the supervisor is not running"),
            StartChildError::Spawn => f.write_str("the runtime refused to spawn the child"),
        }
    }
}

impl std::error::Error for StartChildError {}

enum Command {
    Stop,
    Release,
    Start(ChildSpec, oneshot::Sender<Result<(), StartChildError>>),
    Terminate(Arc<str>, oneshot::Sender<bool>),
    Children(oneshot::Sender<Vec<ChildInfo>>),
}

impl SupervisorRef {
    /// The supervisor's name.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_actor::Supervisor::new("top").control().name(), "top");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the supervisor: every child is stopped for good in reverse
    /// start order (each with its drain and shutdown timeout), then
    /// [`run`](Supervisor::run) returns `Ok`. Returns at once.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn stop(&self) {
        let _ = self.tx.try_send(Command::Stop);
    }

    pub(crate) fn release(&self) {
        let _ = self.tx.try_send(Command::Release);
    }

    /// Waits until the supervisor has stopped for good.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sup = nimsync_actor::Supervisor::new("empty");
    ///     let control = sup.control();
    ///     nimsync_scheduler::spawn(sup.run());
    ///     control.stop();
    ///     control.stopped().await;
    /// });
    /// ```
    pub async fn stopped(&self) {
        self.stopped.cancelled().await;
    }

    /// Adds and starts a child (OTP's `start_child`): the dynamic pool's
    /// way to grow.
    ///
    /// # Errors
    /// See [`StartChildError`].
    ///
    /// # Examples
    /// ```
    /// use nimsync_actor::{Actor, ChildSpec, StartChildError, Supervisor};
    ///
    /// struct Job;
    /// impl Actor for Job {}
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sup = Supervisor::new("jobs");
    ///     let control = sup.control();
    ///     let running = nimsync_scheduler::spawn(sup.run());
    ///     let (spec, job) = ChildSpec::actor("job-1", || Job);
    ///     control.start_child(spec).await.unwrap();
    ///     let (again, _) = ChildSpec::actor("job-1", || Job);
    ///     assert!(matches!(control.start_child(again).await, Err(StartChildError::DuplicateId(_))));
    ///     assert_eq!(control.children().await.len(), 1);
    ///     control.stop();
    ///     running.await.unwrap().unwrap();
    ///     assert!(!job.is_alive());
    /// });
    /// ```
    pub async fn start_child(&self, spec: ChildSpec) -> Result<(), StartChildError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .try_send(Command::Start(spec, tx))
            .map_err(|_| StartChildError::Stopped)?;
        rx.await.map_err(|_| StartChildError::Stopped)?
    }

    /// Stops the child `id` for good and removes it (OTP's
    /// `terminate_child` and `delete_child`). Returns whether there was
    /// such a child.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub async fn terminate_child(&self, id: &str) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.try_send(Command::Terminate(id.into(), tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// The current children, in start order (empty once stopped).
    ///
    /// # Examples
    /// See [`SupervisorRef::start_child`].
    pub async fn children(&self) -> Vec<ChildInfo> {
        let (tx, rx) = oneshot::channel();
        if self.tx.try_send(Command::Children(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// How a run of the loop ended without error.
enum Ended {
    /// Stopped for good by a command.
    Stopped,
    /// Stopped by its parent for a restart.
    Released,
    /// Nothing left to supervise, and no ref to add more.
    Idle,
}

/// One child of the running loop.
struct Slot {
    spec: Arc<ChildSpec>,
    running: Option<AbortHandle>,
    /// A restart due at this instant, with how the last incarnation ended.
    pending: Option<(Instant, ExitReason)>,
    done: bool,
    restarts: u64,
    /// Restarts in a row, for the backoff.
    in_a_row: u32,
    started_at: Instant,
}

/// A child task's end as the group reports it.
type Joined = (Id, Result<Exit, TaskFailure<std::convert::Infallible>>);

struct Loop<'a> {
    shared: &'a Shared,
    group: TaskGroup<Exit>,
    slots: Vec<Slot>,
    intensity: Intensity,
    deferred: VecDeque<Joined>,
    /// Picks each backoff's jitter.
    rng: fastrand::Rng,
}

enum Event {
    Joined(Joined),
    Command(Command),
    CommandsClosed,
    Timer,
}

fn exit_of(result: Result<Exit, TaskFailure<std::convert::Infallible>>, name: &Arc<str>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) if failure.is_panic() => Exit::Ended(ExitReason::Failed(Failure::new(
            name,
            FailureKind::Panicked,
            failure.to_string(),
        ))),
        Err(_) => Exit::Ended(ExitReason::Killed),
    }
}

/// A seed that differs between supervisors and runs.
fn jitter_seed(shared: &Shared) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (shared as *const Shared as u64)
}

async fn run_loop(shared: &Shared, ready: Option<Ready>) -> Result<Ended, SupervisorError> {
    let group = TaskGroup::<Exit>::builder()
        .name(Arc::clone(&shared.name))
        .policy(Policy::IgnoreErrors)
        .build();
    let now = shared.clock.now();
    let slots = shared
        .children
        .lock()
        .iter()
        .map(|spec| Slot {
            spec: Arc::clone(spec),
            running: None,
            pending: None,
            done: false,
            restarts: 0,
            in_a_row: 0,
            started_at: now,
        })
        .collect();
    let mut lp = Loop {
        shared,
        group,
        slots,
        intensity: Intensity::new(shared.max_restarts, shared.within),
        deferred: VecDeque::new(),
        rng: fastrand::Rng::with_seed(jitter_seed(shared)),
    };
    for i in 0..lp.slots.len() {
        lp.start(i, None).await?;
    }
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    let mut commands_open = true;
    loop {
        let event = match lp.deferred.pop_front() {
            Some(joined) => Event::Joined(joined),
            None => {
                let idle = lp
                    .slots
                    .iter()
                    .all(|s| s.running.is_none() && s.pending.is_none());
                if idle && (!commands_open || shared.commands.sender_count() == 0) {
                    return Ok(Ended::Idle);
                }
                lp.next_event(commands_open).await
            }
        };
        match event {
            Event::Joined((id, result)) => {
                let Some(i) = lp
                    .slots
                    .iter()
                    .position(|s| s.running.as_ref().is_some_and(|a| a.id() == id))
                else {
                    continue;
                };
                lp.slots[i].running = None;
                let exit = exit_of(result, &lp.slots[i].spec.id);
                lp.ended(i, exit).await?;
            }
            Event::Timer => lp.start_due().await?,
            Event::CommandsClosed => commands_open = false,
            Event::Command(Command::Stop) => {
                lp.shutdown().await;
                return Ok(Ended::Stopped);
            }
            Event::Command(Command::Release) => {
                lp.release_all().await;
                return Ok(Ended::Released);
            }
            Event::Command(Command::Start(spec, reply)) => {
                let result = lp.add(spec).await;
                let _ = reply.send(result);
            }
            Event::Command(Command::Terminate(id, reply)) => {
                let found = match lp.slots.iter().position(|s| !s.done && s.spec.id == id) {
                    Some(i) => {
                        let reason = lp.stop_one(i, Some(lp.slots[i].spec.drain)).await;
                        lp.done(i, reason);
                        true
                    }
                    None => false,
                };
                let _ = reply.send(found);
            }
            Event::Command(Command::Children(reply)) => {
                let list = lp
                    .slots
                    .iter()
                    .filter(|s| !s.done)
                    .map(|s| ChildInfo {
                        id: Arc::clone(&s.spec.id),
                        running: s.running.is_some(),
                        restarts: s.restarts,
                    })
                    .collect();
                let _ = reply.send(list);
            }
        }
    }
}

impl Loop<'_> {
    /// Starts child `i` and waits until its `started` hook has returned
    /// (or it failed), as OTP starts children one after another.
    async fn start(&mut self, i: usize, last: Option<ExitReason>) -> Result<(), SupervisorError> {
        let slot = &mut self.slots[i];
        slot.pending = None;
        if last.is_some() {
            slot.restarts += 1;
            slot.spec.kind.note_restart();
        }
        let (ready, started) = oneshot::channel();
        let handle = slot
            .spec
            .kind
            .spawn(&self.group, slot.restarts, last, ready)
            .map_err(|_| SupervisorError::Spawn {
                supervisor: Arc::clone(&self.shared.name),
                child: Arc::clone(&slot.spec.id),
            })?;
        slot.running = Some(handle);
        slot.started_at = self.shared.clock.now();
        let event = SupervisorEvent::Started {
            child: Arc::clone(&slot.spec.id),
            restarts: slot.restarts,
        };
        // Dropped unsent if the start failed: its end comes through the
        // group like any other.
        let _ = started.await;
        self.shared.emit(event);
        Ok(())
    }

    async fn start_due(&mut self) -> Result<(), SupervisorError> {
        let now = self.shared.clock.now();
        for i in 0..self.slots.len() {
            if let Some((at, _)) = &self.slots[i].pending {
                if *at <= now {
                    let (_, last) = self.slots[i].pending.take().expect("checked above");
                    self.start(i, Some(last)).await?;
                }
            }
        }
        Ok(())
    }

    async fn add(&mut self, spec: ChildSpec) -> Result<(), StartChildError> {
        if self.slots.iter().any(|s| !s.done && s.spec.id == spec.id) {
            return Err(StartChildError::DuplicateId(spec.id));
        }
        let spec = Arc::new(spec);
        self.shared.children.lock().push(Arc::clone(&spec));
        self.slots.push(Slot {
            spec,
            running: None,
            pending: None,
            done: false,
            restarts: 0,
            in_a_row: 0,
            started_at: self.shared.clock.now(),
        });
        let i = self.slots.len() - 1;
        if self.start(i, None).await.is_err() {
            self.done(i, ExitReason::Killed);
            return Err(StartChildError::Spawn);
        }
        Ok(())
    }

    /// The child stopped for good.
    fn done(&mut self, i: usize, reason: ExitReason) {
        let slot = &mut self.slots[i];
        slot.done = true;
        slot.pending = None;
        slot.spec.kind.finish(reason);
        let spec = Arc::clone(&slot.spec);
        self.shared
            .children
            .lock()
            .retain(|c| !Arc::ptr_eq(c, &spec));
        self.shared.emit(SupervisorEvent::Finished {
            child: Arc::clone(&spec.id),
        });
    }

    /// Child `i`'s incarnation ended on its own.
    async fn ended(&mut self, i: usize, exit: Exit) -> Result<(), SupervisorError> {
        let id = Arc::clone(&self.slots[i].spec.id);
        self.shared.emit(SupervisorEvent::Exited {
            child: Arc::clone(&id),
            reason: exit.reason(),
        });
        let reason = match exit {
            Exit::StoppedForGood => {
                self.done(i, ExitReason::Stopped);
                return Ok(());
            }
            Exit::Ended(reason) => reason,
        };
        let abnormal = matches!(reason, ExitReason::Failed(_) | ExitReason::Killed);
        let restart = match self.slots[i].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        if !restart {
            self.done(i, reason);
            return Ok(());
        }
        let now = self.shared.clock.now();
        if !self.intensity.admit(now) {
            self.shared.emit(SupervisorEvent::Escalating {
                child: Arc::clone(&id),
            });
            self.release_all().await;
            return Err(SupervisorError::Escalated {
                supervisor: Arc::clone(&self.shared.name),
                child: id,
                reason,
            });
        }
        let slot = &mut self.slots[i];
        if let Some(b) = &self.shared.backoff {
            if now.saturating_duration_since(slot.started_at) >= b.reset_period() {
                slot.in_a_row = 0;
            }
        }
        slot.in_a_row += 1;
        let delay = self
            .shared
            .backoff
            .map_or(Duration::ZERO, |b| b.delay(slot.in_a_row, self.rng.f64()));
        let at = now + delay;
        slot.pending = Some((at, reason));
        self.restart_siblings(i).await;
        for j in 0..self.slots.len() {
            if self.slots[j].pending.as_ref().is_some_and(|p| p.0 == at) {
                self.shared.emit(SupervisorEvent::RestartScheduled {
                    child: Arc::clone(&self.slots[j].spec.id),
                    at,
                });
            }
        }
        if delay.is_zero() {
            self.start_due().await?;
        }
        Ok(())
    }

    /// The children a restart of `i` takes with it, by the strategy.
    fn siblings(&self, i: usize) -> Vec<usize> {
        let live = |j: &usize| *j != i && !self.slots[*j].done;
        match self.shared.strategy {
            Strategy::OneForOne => Vec::new(),
            Strategy::OneForAll => (0..self.slots.len()).filter(live).collect(),
            Strategy::RestForOne => (i + 1..self.slots.len()).filter(live).collect(),
        }
    }

    /// Stops the siblings of `i` (reverse start order) and schedules them
    /// with `i`.
    async fn restart_siblings(&mut self, i: usize) {
        let Some((at, _)) = self.slots[i].pending.clone() else {
            return;
        };
        let siblings = self.siblings(i);
        for &j in siblings.iter().rev() {
            let reason = if self.slots[j].running.is_some() {
                self.stop_one(j, None).await
            } else {
                ExitReason::Restarting
            };
            if self.slots[j].spec.restart == Restart::Temporary {
                self.done(j, reason);
            } else {
                self.slots[j].pending = Some((at, reason));
            }
        }
    }

    /// Stops child `i`'s running incarnation: for good with `drain`, or
    /// for a restart (`None`); aborts it after its shutdown timeout.
    async fn stop_one(&mut self, i: usize, drain: Option<Drain>) -> ExitReason {
        let Some(handle) = self.slots[i].running.take() else {
            return ExitReason::Stopped;
        };
        let id = handle.id();
        let name = Arc::clone(&self.slots[i].spec.id);
        if let Some(pos) = self.deferred.iter().position(|(j, _)| *j == id) {
            let (_, result) = self.deferred.remove(pos).expect("position is in range");
            return exit_of(result, &name).reason();
        }
        let kind = Arc::clone(&self.slots[i].spec.kind);
        let mut deadline = match self.slots[i].spec.shutdown {
            Shutdown::Brutal => {
                handle.abort();
                None
            }
            Shutdown::Timeout(d) => {
                match drain {
                    Some(drain) => kind.stop(drain),
                    None => kind.release(),
                }
                Some(self.shared.clock.now() + d)
            }
        };
        loop {
            let joined = {
                let mut join = pin!(self.group.join_next_with_id());
                let mut sleep = deadline.map(|at| Box::pin(self.shared.clock.sleep_until(at)));
                poll_fn(|cx| {
                    if let Poll::Ready(j) = join.as_mut().poll(cx) {
                        return Poll::Ready(Some(j));
                    }
                    match &mut sleep {
                        Some(s) => s.as_mut().poll(cx).map(|()| None),
                        None => Poll::Pending,
                    }
                })
                .await
            };
            match joined {
                Some(Some((j, result))) if j == id => {
                    return exit_of(result, &name).reason();
                }
                Some(Some(other)) => self.deferred.push_back(other),
                // The group is empty: the task is gone.
                Some(None) => return ExitReason::Killed,
                None => {
                    handle.abort();
                    deadline = None;
                }
            }
        }
    }

    /// Stops every child for good, in reverse start order.
    async fn shutdown(&mut self) {
        for i in (0..self.slots.len()).rev() {
            if self.slots[i].done {
                continue;
            }
            let reason = if self.slots[i].running.is_some() {
                let drain = self.slots[i].spec.drain;
                match self.stop_one(i, Some(drain)).await {
                    ExitReason::Normal | ExitReason::Restarting => ExitReason::Stopped,
                    other => other,
                }
            } else {
                ExitReason::Stopped
            };
            self.done(i, reason);
        }
    }

    /// Stops every running child for a restart, in reverse start order.
    async fn release_all(&mut self) {
        for i in (0..self.slots.len()).rev() {
            self.slots[i].pending = None;
            if self.slots[i].running.is_some() {
                self.stop_one(i, None).await;
            }
        }
    }

    async fn next_event(&mut self, commands_open: bool) -> Event {
        let next_restart = self
            .slots
            .iter()
            .filter_map(|s| s.pending.as_ref().map(|p| p.0))
            .min();
        let mut timer = next_restart.map(|at| Box::pin(self.shared.clock.sleep_until(at)));
        let has_children = !self.group.is_empty();
        let commands = &self.shared.commands;
        let mut recv = pin!(commands.recv_async());
        let mut join = pin!(self.group.join_next_with_id());
        poll_fn(|cx| {
            if has_children {
                if let Poll::Ready(Some(joined)) = join.as_mut().poll(cx) {
                    return Poll::Ready(Event::Joined(joined));
                }
            }
            if commands_open {
                match recv.as_mut().poll(cx) {
                    Poll::Ready(Ok(c)) => return Poll::Ready(Event::Command(c)),
                    Poll::Ready(Err(_)) => return Poll::Ready(Event::CommandsClosed),
                    Poll::Pending => {}
                }
            }
            if let Some(t) = &mut timer {
                if t.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Timer);
                }
            }
            Poll::Pending
        })
        .await
    }
}
