//! [`ChildSpec`]: what a supervisor starts, restarts and stops.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use nimsync_group::{AbortHandle, SpawnError, TaskGroup};

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::core::{Control, Drain};
use crate::error::ExitReason;
use crate::mailbox::{DeadLetter, Mailbox};
use crate::run::{Exit, Ready, run};
use crate::spawn::Spawn;
use crate::supervisor::{Supervisor, SupervisorRef};

/// When a supervisor restarts a child that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always (the default): it is meant to run as long as its supervisor.
    #[default]
    Permanent,
    /// Only after a failure (or a kill): a normal end is final.
    Transient,
    /// Never.
    Temporary,
}

/// How a supervisor stops a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Ask it to stop, then abort it if it has not within the timeout.
    Timeout(Duration),
    /// Abort it at once (its stop hook does not run).
    Brutal,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::Timeout(Duration::from_secs(5))
    }
}

/// A child of a [`Supervisor`]: an actor (with the factory that builds
/// each incarnation) or a nested supervisor, with its restart type, its
/// shutdown and the drain it gets when stopped for good.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_actor::{Actor, ChildSpec, Drain, Restart, Shutdown};
///
/// struct Cache;
/// impl Actor for Cache {}
///
/// let (spec, cache) = ChildSpec::builder("cache")
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_millis(500)))
///     .drain(Drain::Drop)
///     .actor(|| Cache);
/// assert_eq!(spec.id(), "cache");
/// assert_eq!(cache.name(), "cache");
/// ```
pub struct ChildSpec {
    pub(crate) id: Arc<str>,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) drain: Drain,
    pub(crate) kind: Arc<dyn ChildKind>,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A permanent actor child with a default mailbox, named `id`.
    /// Returns the spec and the actor's ref, valid before the supervisor
    /// starts (messages queue up) and across restarts.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn actor<A: Actor>(
        id: impl Into<Arc<str>>,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> (ChildSpec, ActorRef<A>) {
        Self::builder(id).actor(factory)
    }

    /// A permanent nested supervisor, named `id`, and its control ref.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn supervisor(
        id: impl Into<Arc<str>>,
        supervisor: Supervisor,
    ) -> (ChildSpec, SupervisorRef) {
        Self::builder(id).supervisor(supervisor)
    }

    /// Options for a child.
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn builder(id: impl Into<Arc<str>>) -> ChildSpecBuilder {
        ChildSpecBuilder {
            id: id.into(),
            restart: Restart::default(),
            shutdown: Shutdown::default(),
            drain: Drain::Process,
            spawn: Spawn::new(),
        }
    }

    /// The child's id, unique among its supervisor's children.
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Options for a [`ChildSpec`]; finish with [`actor`](ChildSpecBuilder::actor)
/// or [`supervisor`](ChildSpecBuilder::supervisor).
#[derive(Debug)]
pub struct ChildSpecBuilder {
    id: Arc<str>,
    restart: Restart,
    shutdown: Shutdown,
    drain: Drain,
    spawn: Spawn,
}

impl ChildSpecBuilder {
    /// When the child is restarted (default [`Restart::Permanent`]).
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How the child is stopped (default: 5 s to stop, then abort).
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// What an actor child does with its queue when stopped for good
    /// (default [`Drain::Process`]).
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn drain(mut self, drain: Drain) -> Self {
        self.drain = drain;
        self
    }

    /// The actor child's mailbox.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.spawn = self.spawn.mailbox(mailbox);
        self
    }

    /// The actor child's dead-letter hook.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn on_dead_letter(mut self, hook: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.spawn = self.spawn.on_dead_letter(hook);
        self
    }

    /// An actor child built by `factory` for each incarnation.
    ///
    /// # Examples
    /// See [`ChildSpec`].
    pub fn actor<A: Actor>(
        self,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> (ChildSpec, ActorRef<A>) {
        let actor_ref = self.spawn.clone().name(Arc::clone(&self.id)).prepare::<A>();
        let kind = Arc::new(ActorChild {
            actor_ref: actor_ref.clone(),
            factory: Arc::new(factory),
        });
        (self.finish(kind), actor_ref)
    }

    /// A nested supervisor child.
    ///
    /// # Examples
    /// See [`Supervisor`].
    pub fn supervisor(self, supervisor: Supervisor) -> (ChildSpec, SupervisorRef) {
        let control = supervisor.control();
        let kind = Arc::new(SupervisorChild {
            supervisor: supervisor.into_shared(),
            control: control.clone(),
        });
        (self.finish(kind), control)
    }

    fn finish(self, kind: Arc<dyn ChildKind>) -> ChildSpec {
        ChildSpec {
            id: self.id,
            restart: self.restart,
            shutdown: self.shutdown,
            drain: self.drain,
            kind,
        }
    }
}

/// What a supervisor does to a child, whatever it is.
pub(crate) trait ChildKind: Send + Sync {
    /// Spawns a new incarnation into `group`; `ready` is told once it has
    /// started.
    fn spawn(
        &self,
        group: &TaskGroup<Exit>,
        restarts: u64,
        last: Option<ExitReason>,
        ready: Ready,
    ) -> Result<AbortHandle, SpawnError>;
    /// Asks the running incarnation to stop for good.
    fn stop(&self, drain: Drain);
    /// Asks the running incarnation to stop for a restart.
    fn release(&self);
    /// The child stopped for good.
    fn finish(&self, reason: ExitReason);
    /// Counts a restart.
    fn note_restart(&self);
}

struct ActorChild<A: Actor> {
    actor_ref: ActorRef<A>,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
}

impl<A: Actor> ChildKind for ActorChild<A> {
    fn spawn(
        &self,
        group: &TaskGroup<Exit>,
        restarts: u64,
        last: Option<ExitReason>,
        ready: Ready,
    ) -> Result<AbortHandle, SpawnError> {
        let core = Arc::clone(&self.actor_ref.core);
        let factory = Arc::clone(&self.factory);
        group.spawn_with_handle(async move {
            let actor = factory();
            Ok(run(core, actor, restarts, last, Some(ready)).await)
        })
    }
    fn stop(&self, drain: Drain) {
        self.actor_ref.stop_with(drain);
    }
    fn release(&self) {
        self.actor_ref.core.post_release();
    }
    fn finish(&self, reason: ExitReason) {
        self.actor_ref.core.finish(reason);
    }
    fn note_restart(&self) {
        self.actor_ref.core.note_restart();
    }
}

struct SupervisorChild {
    supervisor: Arc<crate::supervisor::Shared>,
    control: SupervisorRef,
}

impl ChildKind for SupervisorChild {
    fn spawn(
        &self,
        group: &TaskGroup<Exit>,
        _restarts: u64,
        _last: Option<ExitReason>,
        ready: Ready,
    ) -> Result<AbortHandle, SpawnError> {
        let shared = Arc::clone(&self.supervisor);
        group.spawn_with_handle(
            async move { Ok(crate::supervisor::run_nested(shared, ready).await) },
        )
    }
    fn stop(&self, _drain: Drain) {
        self.control.stop();
    }
    fn release(&self) {
        self.control.release();
    }
    fn finish(&self, reason: ExitReason) {
        self.supervisor.finish_children(&reason);
        self.supervisor.stopped.cancel();
    }
    fn note_restart(&self) {}
}
