//! What can go wrong talking to an actor or running a supervisor.
//!
//! Errors that carry an undelivered message hand it back. `Debug` and
//! `Display` never require the message to be `Debug`.

use std::fmt;
use std::sync::Arc;

/// Why an actor's incarnation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// A handler or hook panicked; the panic was caught at its boundary.
    Panicked,
    /// [`Actor::started`](crate::Actor::started) returned an error.
    StartFailed,
    /// A handler called [`Context::fail`](crate::Context::fail).
    Failed,
    /// A linked actor failed and this one did not trap the signal.
    Linked,
    /// A child supervisor gave up: its restart intensity was exceeded.
    Escalated,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Panicked => "panicked",
            FailureKind::StartFailed => "failed to start",
            FailureKind::Failed => "failed",
            FailureKind::Linked => "failed with a linked actor",
            FailureKind::Escalated => "escalated",
        })
    }
}

/// A failure of an actor's incarnation, as its supervisor, its links and
/// its metrics see it.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler, FailureKind};
///
/// struct Fragile;
/// impl Actor for Fragile {}
/// impl Handler<u8> for Fragile {
///     type Reply = ();
///     async fn handle(&mut self, n: u8, _: &mut Context<Self>) {
///         assert!(n < 10, "too big: {n}");
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let fragile = nimsync_actor::spawn(Fragile);
///     let _ = fragile.ask(99u8).await;
///     fragile.stopped().await; // unsupervised: a failure is final
///     let failure = fragile.metrics().last_failure.unwrap();
///     assert_eq!(failure.kind(), FailureKind::Panicked);
///     assert!(failure.message().contains("too big: 99"));
///     assert_eq!(failure.during(), Some(std::any::type_name::<u8>()));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub(crate) actor: Arc<str>,
    pub(crate) kind: FailureKind,
    pub(crate) message: Arc<str>,
    pub(crate) during: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(actor: &Arc<str>, kind: FailureKind, message: impl Into<Arc<str>>) -> Self {
        Self {
            actor: Arc::clone(actor),
            kind,
            message: message.into(),
            during: None,
        }
    }

    /// The name of the actor that failed.
    ///
    /// # Examples
    /// See [`Failure`].
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// How it failed.
    ///
    /// # Examples
    /// See [`Failure`].
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The panic message, the start error, or the reason given to
    /// [`Context::fail`](crate::Context::fail).
    ///
    /// # Examples
    /// See [`Failure`].
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The type of the message being handled when it failed, if any.
    ///
    /// # Examples
    /// See [`Failure`].
    pub fn during(&self) -> Option<&'static str> {
        self.during
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor `{}` {}", self.actor, self.kind)?;
        if let Some(during) = self.during {
            write!(f, " handling a `{during}`")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// Why an actor stopped (for good, or an incarnation before a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// It finished on its own: [`Context::stop`](crate::Context::stop), or
    /// every [`ActorRef`](crate::ActorRef) was dropped and its mailbox
    /// drained.
    Normal,
    /// Someone asked it to stop: [`ActorRef::stop`](crate::ActorRef::stop)
    /// or its supervisor shutting down.
    Stopped,
    /// Its supervisor stopped this incarnation to restart it with a
    /// failed sibling (one-for-all, rest-for-one, or an escalation); its
    /// mailbox is kept for the next one.
    Restarting,
    /// It failed.
    Failed(Failure),
    /// It did not stop within its shutdown timeout (or its runtime shut
    /// down) and its task was aborted; its stop hook did not run.
    Killed,
}

impl ExitReason {
    /// Whether this is a failure.
    ///
    /// # Examples
    /// ```
    /// assert!(!nimsync_actor::ExitReason::Normal.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(self, ExitReason::Failed(_))
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("stopped normally"),
            ExitReason::Stopped => f.write_str("stopped on request"),
            ExitReason::Restarting => f.write_str("stopped to be restarted"),
            ExitReason::Failed(failure) => fmt::Display::fmt(failure, f),
            ExitReason::Killed => f.write_str("killed after its shutdown timeout"),
        }
    }
}

/// Error of a tell: the message was not queued, and is handed back.
///
/// `Full` comes from a mailbox whose policy is
/// [`Overflow::Fail`](crate::Overflow::Fail), or from
/// [`try_tell`](crate::ActorRef::try_tell) on a full
/// [`Block`](crate::Overflow::Block) mailbox: retry later, or use the
/// waiting `tell`. `Stopped` means the actor has stopped for good: look it
/// up again (a supervisor keeps refs valid across restarts, so this means
/// no restart is coming).
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, ChildSpec, Context, Handler, Mailbox, Overflow, TellError};
///
/// struct Slow;
/// impl Actor for Slow {}
/// impl Handler<u32> for Slow {
///     type Reply = ();
///     async fn handle(&mut self, _: u32, _: &mut Context<Self>) {}
/// }
///
/// // A child not started yet: its mailbox exists and fills up.
/// let (_spec, slow) = ChildSpec::builder("slow")
///     .mailbox(Mailbox::bounded(1, Overflow::Fail))
///     .actor(|| Slow);
/// slow.try_tell(1u32).unwrap();
/// assert_eq!(slow.try_tell(2u32), Err(TellError::Full(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TellError<M> {
    /// The mailbox was full.
    Full(M),
    /// The actor has stopped for good.
    Stopped(M),
}

impl<M> TellError<M> {
    /// Takes back the message.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_actor::TellError::Stopped(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> M {
        match self {
            TellError::Full(m) | TellError::Stopped(m) => m,
        }
    }
}

impl<M> fmt::Debug for TellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TellError::Full(_) => f.write_str("Full(..)"),
            TellError::Stopped(_) => f.write_str("Stopped(..)"),
        }
    }
}

impl<M> fmt::Display for TellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TellError::Full(_) => f.write_str("the actor's mailbox is full"),
            TellError::Stopped(_) => f.write_str("the actor has stopped"),
        }
    }
}

impl<M> std::error::Error for TellError<M> {}

/// Error of an ask.
///
/// The first two hand the message back (it was never queued). After the
/// message was queued, the ask ends with `Unanswered` if the actor stopped
/// (or its mailbox policy dropped the message) before answering: the
/// message went to the dead letters. `Panicked` if the handler panicked on
/// it (the actor then fails and its supervisor decides). `TimedOut` if the
/// deadline (the ask's own, or the caller's nimsync-group deadline,
/// whichever is first) passed first: the actor may still handle the
/// message, and its reply is dropped.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_actor::{Actor, AskError, Context, Handler};
///
/// struct Sleepy;
/// impl Actor for Sleepy {}
/// impl Handler<()> for Sleepy {
///     type Reply = ();
///     async fn handle(&mut self, _: (), _: &mut Context<Self>) {
///         nimsync_time::sleep(Duration::from_secs(5)).await;
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let sleepy = nimsync_actor::spawn(Sleepy);
///     let err = sleepy.ask_timeout((), Duration::from_millis(5)).await.unwrap_err();
///     assert!(matches!(err, AskError::TimedOut));
///     sleepy.stop();
/// });
/// ```
#[derive(PartialEq, Eq, Clone)]
pub enum AskError<M> {
    /// The mailbox was full (policy `Fail`, or still full at the deadline
    /// under `Block`).
    Full(M),
    /// The actor has stopped for good.
    Stopped(M),
    /// The message was queued but never answered: the actor stopped or
    /// its mailbox policy dropped it (see the dead letters).
    Unanswered,
    /// The handler panicked on this message; the panic message.
    Panicked(Arc<str>),
    /// The deadline passed before the reply came.
    TimedOut,
}

impl<M> From<TellError<M>> for AskError<M> {
    fn from(e: TellError<M>) -> Self {
        match e {
            TellError::Full(m) => AskError::Full(m),
            TellError::Stopped(m) => AskError::Stopped(m),
        }
    }
}

impl<M> fmt::Debug for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::Full(_) => f.write_str("Full(..)"),
            AskError::Stopped(_) => f.write_str("Stopped(..)"),
            AskError::Unanswered => f.write_str("Unanswered"),
            AskError::Panicked(m) => f.debug_tuple("Panicked").field(m).finish(),
            AskError::TimedOut => f.write_str("TimedOut"),
        }
    }
}

impl<M> fmt::Display for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::Full(_) => f.write_str("the actor's mailbox is full"),
            AskError::Stopped(_) => f.write_str("the actor has stopped"),
            AskError::Unanswered => {
                f.write_str("the actor stopped or dropped the message before answering")
            }
            AskError::Panicked(m) => write!(f, "the actor panicked handling the message: {m}"),
            AskError::TimedOut => f.write_str("the ask's deadline passed before the reply"),
        }
    }
}

impl<M> std::error::Error for AskError<M> {}

/// Error of a supervisor's run: it gave up.
///
/// # Examples
/// See [`Supervisor`](crate::Supervisor).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorError {
    /// A child failed more often than the restart intensity allows: every
    /// child was stopped (in reverse start order) and the failure is
    /// handed to whoever runs this supervisor.
    Escalated {
        /// The supervisor's name.
        supervisor: Arc<str>,
        /// The id of the child whose restart went over the limit.
        child: Arc<str>,
        /// How that child last failed (or ended, for a permanent child
        /// that stopped normally).
        reason: ExitReason,
    },
    /// A child could not be spawned: the runtime is shutting down.
    Spawn {
        /// The supervisor's name.
        supervisor: Arc<str>,
        /// The child's id.
        child: Arc<str>,
    },
}

impl fmt::Display for SupervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupervisorError::Escalated {
                supervisor,
                child,
                reason,
            } => write!(
                f,
                "supervisor `{supervisor}` gave up: child `{child}` went over the restart intensity (last: {reason})"
            ),
            SupervisorError::Spawn { supervisor, child } => write!(
                f,
                "supervisor `{supervisor}` could not spawn child `{child}`: the runtime is shutting down"
            ),
        }
    }
}

impl std::error::Error for SupervisorError {}

/// Error of the [`Registry`](crate::Registry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// The name is taken by a live actor; unregister it first or pick
    /// another name.
    Duplicate(Arc<str>),
    /// No live actor has this name.
    NotFound(Arc<str>),
    /// The actor under this name is of another type than the one asked for.
    WrongType {
        /// The name looked up.
        name: Arc<str>,
        /// The type asked for.
        expected: &'static str,
        /// The type registered.
        found: &'static str,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Duplicate(n) => {
                write!(f, "the name `{n}` is already registered to a live actor")
            }
            RegistryError::NotFound(n) => write!(f, "no live actor is registered as `{n}`"),
            RegistryError::WrongType {
                name,
                expected,
                found,
            } => write!(f, "`{name}` is a `{found}`, not a `{expected}`"),
        }
    }
}

impl std::error::Error for RegistryError {}
