//! Spawning an actor without a supervisor: [`spawn`] and [`Spawn`].

use std::fmt;
use std::sync::Arc;

use nimsync_group::CancelToken;
use nimsync_scheduler::Handle;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::core::{ActorId, Core, SystemLane};
use crate::mailbox::{DeadLetter, DeadLetterHook, Mailbox};
use crate::metrics::Counters;
use crate::sync::Mutex;
use crate::watch::Watchers;

/// Spawns `actor` on the current nimsync-scheduler runtime with a default
/// [`Mailbox`] and its type name as its name.
///
/// Unsupervised, it runs one incarnation: a failure stops it for good
/// (see [`ActorRef::stopped`]). Put it under a
/// [`Supervisor`](crate::Supervisor) to have it restarted.
///
/// # Panics
/// Outside a nimsync-scheduler runtime (use [`Spawn::on`] with a handle).
///
/// # Examples
/// See [`Actor`].
pub fn spawn<A: Actor>(actor: A) -> ActorRef<A> {
    Spawn::new().spawn(actor)
}

/// Options for spawning an actor: name, mailbox, dead-letter hook,
/// runtime.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Mailbox, Overflow, Spawn};
///
/// struct Logger;
/// impl Actor for Logger {}
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let logger = Spawn::new()
///     .name("logger")
///     .mailbox(Mailbox::bounded(256, Overflow::DropOldest))
///     .on(&rt.handle())
///     .spawn(Logger);
/// assert_eq!(logger.name(), "logger");
/// assert_eq!(logger.metrics().capacity, Some(256));
/// ```
#[derive(Clone, Default)]
pub struct Spawn {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) mailbox: Mailbox,
    pub(crate) on_dead_letter: Option<DeadLetterHook>,
    handle: Option<Handle>,
}

impl fmt::Debug for Spawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawn")
            .field("name", &self.name)
            .field("mailbox", &self.mailbox)
            .field("on_dead_letter", &self.on_dead_letter.is_some())
            .finish()
    }
}

impl Spawn {
    /// Default options.
    ///
    /// # Examples
    /// See [`Spawn`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The actor's name, in its failures, dead letters and `Debug`.
    ///
    /// # Examples
    /// See [`Spawn`].
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The mailbox's bound and overflow policy.
    ///
    /// # Examples
    /// See [`Spawn`].
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// A hook that receives every message that is not processed (dropped
    /// by the mailbox policy, or queued when the actor stopped for good).
    /// They are counted in [`ActorMetrics::dead_letters`](crate::ActorMetrics::dead_letters)
    /// either way.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn on_dead_letter(mut self, hook: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.on_dead_letter = Some(Arc::new(hook));
        self
    }

    /// Spawns on this runtime instead of the current one.
    ///
    /// # Examples
    /// See [`Spawn`].
    pub fn on(mut self, handle: &Handle) -> Self {
        self.handle = Some(handle.clone());
        self
    }

    /// Spawns `actor`.
    ///
    /// # Panics
    /// Outside a nimsync-scheduler runtime when no handle was given.
    ///
    /// # Examples
    /// See [`Spawn`].
    pub fn spawn<A: Actor>(self, actor: A) -> ActorRef<A> {
        let handle = self.handle.clone().or_else(Handle::try_current).expect(
            "nimsync_actor::spawn needs a nimsync-scheduler runtime: call it inside Runtime::block_on or a task, or pass a handle with Spawn::on",
        );
        let actor_ref = self.prepare::<A>();
        let core = Arc::clone(&actor_ref.core);
        drop(handle.spawn(async move {
            let guard = FinishOnDrop(Some(Arc::clone(&core)));
            let exit = crate::run::run(Arc::clone(&core), actor, 0, None, None).await;
            guard.finish(exit.reason());
        }));
        actor_ref
    }

    /// A ref to a new actor that is not running yet: its mailbox exists.
    pub(crate) fn prepare<A: Actor>(&self) -> ActorRef<A> {
        let (tx, rx) = self.mailbox.queue::<A>();
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| short_type_name::<A>().into());
        let core = Arc::new(Core {
            id: ActorId::next(),
            name,
            weak_tx: tx.downgrade(),
            rx,
            policy: self.mailbox.policy,
            system: SystemLane::new(),
            counters: Counters::new(),
            watchers: Mutex::new(Watchers::new()),
            stopped: CancelToken::new(),
            on_dead_letter: self.on_dead_letter.clone(),
        });
        ActorRef { tx, core }
    }
}

/// The type name without its module path.
fn short_type_name<A>() -> &'static str {
    let full = std::any::type_name::<A>();
    let base = full.split('<').next().unwrap_or(full);
    match base.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}

/// Finishes the actor when the task ends, or with `Killed` when its
/// future is dropped unfinished (the runtime shut down or aborted it).
pub(crate) struct FinishOnDrop<A: Actor>(pub(crate) Option<Arc<Core<A>>>);

impl<A: Actor> FinishOnDrop<A> {
    pub(crate) fn finish(mut self, reason: crate::error::ExitReason) {
        if let Some(core) = self.0.take() {
            core.finish(reason);
        }
    }
}

impl<A: Actor> Drop for FinishOnDrop<A> {
    fn drop(&mut self) {
        if let Some(core) = self.0.take() {
            core.finish(crate::error::ExitReason::Killed);
        }
    }
}
