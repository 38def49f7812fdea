//! [`Actor`], [`Handler`] and the [`Context`] a handler gets.

use core::future::Future;
use std::fmt;
use std::sync::Arc;

use crate::actor_ref::{ActorRef, WeakActorRef};
use crate::core::{ActorId, Core, Signal};
use crate::envelope::Tell;
use crate::error::ExitReason;
use crate::watch::{Down, LinkExit};

/// An actor: state owned by one task, changed only by its handlers.
///
/// Every hook has a default that does nothing. Handlers and hooks take
/// `&mut self`: no locks around the state. A panic in any of them is caught
/// at its boundary and becomes a [`Failure`](crate::Failure) that the
/// supervisor sees.
///
/// # Lifecycle
/// For each incarnation: [`restarted`](Actor::restarted) (from the second
/// on), [`started`](Actor::started), the messages, then
/// [`stopped`](Actor::stopped) with the reason. On a restart the old
/// instance's `stopped` has returned before the new instance is built and
/// its `restarted` begins. A killed incarnation (aborted after its shutdown
/// timeout) runs no `stopped`.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler};
///
/// #[derive(Default)]
/// struct Counter {
///     total: u64,
/// }
///
/// impl Actor for Counter {}
///
/// struct Add(u64);
/// impl Handler<Add> for Counter {
///     type Reply = u64;
///     async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
///         self.total += n;
///         self.total
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let counter = nimsync_actor::spawn(Counter::default());
///     counter.tell(Add(2)).await.unwrap();
///     assert_eq!(counter.ask(Add(3)).await.unwrap(), 5);
/// });
/// ```
pub trait Actor: Sized + Send + 'static {
    /// Runs before the first message of each incarnation. An error fails
    /// the incarnation (kind [`StartFailed`](crate::FailureKind::StartFailed)).
    fn started(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs when an incarnation ends (not when it is killed), with why.
    fn stopped(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &ExitReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// Runs on a new instance built to replace a failed one, before its
    /// `started`, with how the last incarnation ended.
    fn restarted(
        &mut self,
        ctx: &mut Context<Self>,
        last: &ExitReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, last);
        async {}
    }

    /// A linked actor failed. Return [`LinkAction::Fail`] (the default) to
    /// fail with it, or [`LinkAction::Continue`] to treat the signal as a
    /// message and go on (Erlang's `trap_exit`).
    fn link_failed(
        &mut self,
        ctx: &mut Context<Self>,
        exit: LinkExit,
    ) -> impl Future<Output = LinkAction> + Send {
        let _ = (ctx, exit);
        async { LinkAction::Fail }
    }
}

/// What an actor does when a linked actor fails: see
/// [`Actor::link_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Fail too (kind [`Linked`](crate::FailureKind::Linked)).
    Fail,
    /// Carry on.
    Continue,
}

/// An actor that handles messages of type `M`, answering with
/// [`Reply`](Handler::Reply).
///
/// One actor implements `Handler` once per message type it takes.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler};
///
/// struct Kv(std::collections::HashMap<String, String>);
/// impl Actor for Kv {}
///
/// struct Put(String, String);
/// struct Get(String);
///
/// impl Handler<Put> for Kv {
///     type Reply = ();
///     async fn handle(&mut self, Put(k, v): Put, _: &mut Context<Self>) {
///         self.0.insert(k, v);
///     }
/// }
/// impl Handler<Get> for Kv {
///     type Reply = Option<String>;
///     async fn handle(&mut self, Get(k): Get, _: &mut Context<Self>) -> Option<String> {
///         self.0.get(&k).cloned()
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let kv = nimsync_actor::spawn(Kv(Default::default()));
///     kv.tell(Put("a".into(), "1".into())).await.unwrap();
///     assert_eq!(kv.ask(Get("a".into())).await.unwrap().as_deref(), Some("1"));
/// });
/// ```
pub trait Handler<M: Send + 'static>: Actor {
    /// The answer to an ask (`()` for messages only told).
    type Reply: Send + 'static;

    /// Handles one message.
    fn handle(
        &mut self,
        message: M,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Self::Reply> + Send;
}

/// What ends an incarnation after the current handler returns.
#[derive(Debug)]
pub(crate) enum Ending {
    Stop,
    Fail(Arc<str>),
}

/// An actor's view of itself while it runs: its name, a ref to itself, and
/// the calls that end the incarnation.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, ExitReason, Handler};
///
/// struct Once;
/// impl Actor for Once {}
/// impl Handler<&'static str> for Once {
///     type Reply = String;
///     async fn handle(&mut self, m: &'static str, ctx: &mut Context<Self>) -> String {
///         ctx.stop(); // after this message
///         format!("{} got {m}", ctx.name())
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let once = nimsync_actor::Spawn::new().name("once").spawn(Once);
///     assert_eq!(once.ask("hi").await.unwrap(), "once got hi");
///     assert_eq!(once.stopped().await, ExitReason::Normal);
/// });
/// ```
pub struct Context<A: Actor> {
    pub(crate) core: Arc<Core<A>>,
    pub(crate) ending: Option<Ending>,
    pub(crate) restarts: u64,
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.core.name)
            .field("restarts", &self.restarts)
            .finish_non_exhaustive()
    }
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(core: Arc<Core<A>>, restarts: u64) -> Self {
        Self {
            core,
            ending: None,
            restarts,
        }
    }

    /// The actor's name.
    ///
    /// # Examples
    /// See [`Context`].
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The actor's id, unique in the process.
    ///
    /// # Examples
    /// ```
    /// # use nimsync_actor::{Actor, Context, Handler};
    /// struct Me;
    /// impl Actor for Me {}
    /// impl Handler<()> for Me {
    ///     type Reply = nimsync_actor::ActorId;
    ///     async fn handle(&mut self, _: (), ctx: &mut Context<Self>) -> nimsync_actor::ActorId {
    ///         ctx.id()
    ///     }
    /// }
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let me = nimsync_actor::spawn(Me);
    /// assert_eq!(me.ask(()).await.unwrap(), me.id());
    /// # });
    /// ```
    pub fn id(&self) -> ActorId {
        self.core.id
    }

    /// How many times this actor was restarted before this incarnation.
    ///
    /// # Examples
    /// See the supervision tests; 0 for an actor never restarted.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// A weak ref to this actor: it does not keep the actor alive (an actor
    /// holding a strong ref to itself would never stop when its users
    /// drop theirs).
    ///
    /// # Examples
    /// ```
    /// # use nimsync_actor::{Actor, Context, Handler};
    /// struct Echo;
    /// impl Actor for Echo {}
    /// impl Handler<u8> for Echo {
    ///     type Reply = bool;
    ///     async fn handle(&mut self, _: u8, ctx: &mut Context<Self>) -> bool {
    ///         ctx.myself().upgrade().is_some()
    ///     }
    /// }
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let echo = nimsync_actor::spawn(Echo);
    /// assert!(echo.ask(1u8).await.unwrap());
    /// # });
    /// ```
    pub fn myself(&self) -> WeakActorRef<A> {
        WeakActorRef::new(Arc::clone(&self.core))
    }

    /// Ends this incarnation normally once the current handler returns
    /// (reason [`ExitReason::Normal`]); the messages still queued stay
    /// there. Under a supervisor a permanent child is restarted, a
    /// transient or temporary one is not.
    ///
    /// # Examples
    /// See [`Context`].
    pub fn stop(&mut self) {
        self.ending = Some(Ending::Stop);
    }

    /// Fails this incarnation once the current handler returns (kind
    /// [`Failed`](crate::FailureKind::Failed)), as a panic would but
    /// without unwinding.
    ///
    /// # Examples
    /// ```
    /// # use nimsync_actor::{Actor, Context, Handler, ExitReason};
    /// struct Checker;
    /// impl Actor for Checker {}
    /// impl Handler<i32> for Checker {
    ///     type Reply = ();
    ///     async fn handle(&mut self, n: i32, ctx: &mut Context<Self>) {
    ///         if n < 0 {
    ///             ctx.fail(format!("negative input {n}"));
    ///         }
    ///     }
    /// }
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let checker = nimsync_actor::spawn(Checker);
    /// checker.tell(-4).await.unwrap();
    /// let ExitReason::Failed(failure) = checker.stopped().await else { panic!() };
    /// assert_eq!(failure.message(), "negative input -4");
    /// # });
    /// ```
    pub fn fail(&mut self, reason: impl fmt::Display) {
        self.ending = Some(Ending::Fail(reason.to_string().into()));
    }

    /// Links this actor with `other`: when either fails, the other gets
    /// [`Actor::link_failed`] (and fails too unless it returns
    /// [`LinkAction::Continue`]). A link is undone when it fires, as an
    /// Erlang link dies with its process; relink in
    /// [`started`](Actor::started) to keep it across restarts.
    ///
    /// # Examples
    /// See [`ActorRef::link`].
    pub fn link<B: Actor>(&self, other: &ActorRef<B>) {
        crate::watch::link(&self.core, &other.core);
    }

    /// Watches `target`: when it stops for good, this actor receives a
    /// [`Down`] message. Does nothing to `target`.
    ///
    /// # Examples
    /// See [`Down`].
    pub fn monitor<B: Actor>(&self, target: &ActorRef<B>)
    where
        A: Handler<Down>,
    {
        let me = Arc::downgrade(&self.core);
        target.core.watch_down(Box::new(move |down: &Down| {
            if let Some(me) = me.upgrade() {
                me.system
                    .post(Signal::Message(Box::new(Tell(down.clone()))));
            }
        }));
    }
}
