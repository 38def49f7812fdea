//! [`ActorRef`] and [`WeakActorRef`]: how everyone else talks to an actor.

use core::future::Future;
use core::pin::pin;
use core::task::Poll;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_core::Stream;
use nimsync_channel::mpmc::Sender;
use nimsync_channel::oneshot;

use crate::actor::{Actor, Handler};
use crate::core::{ActorId, Core, Drain};
use crate::envelope::{Ask, Tell};
use crate::error::{AskError, ExitReason, TellError};
use crate::mailbox::{Env, Policy, Refused, offer};
use crate::metrics::ActorMetrics;

/// A handle to an actor: send it messages, ask it questions, stop it.
///
/// Cloning is cheap. The actor lives while a ref does: when the last one
/// is dropped, its mailbox closes, it handles what is queued and stops
/// with [`ExitReason::Normal`]. A supervisor holds a ref to each child, so
/// supervised actors live until stopped. A ref stays valid across
/// restarts: the mailbox is the actor's, not the incarnation's.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler};
///
/// struct Greeter;
/// impl Actor for Greeter {}
/// impl Handler<String> for Greeter {
///     type Reply = String;
///     async fn handle(&mut self, name: String, _: &mut Context<Self>) -> String {
///         format!("hello, {name}")
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let greeter = rt.block_on(async { nimsync_actor::spawn(Greeter) });
/// // From a plain thread: a blocking tell, and an ask driven by any executor.
/// greeter.tell_blocking("thread".to_string()).unwrap();
/// let reply = futures_lite::future::block_on(greeter.ask("world".to_string())).unwrap();
/// assert_eq!(reply, "hello, world");
/// ```
pub struct ActorRef<A: Actor> {
    pub(crate) tx: Sender<Env<A>>,
    pub(crate) core: Arc<Core<A>>,
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            core: Arc::clone(&self.core),
        }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("name", &self.core.name)
            .field("id", &self.core.id)
            .finish()
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.core.id == other.core.id
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.core.id.hash(state);
    }
}

/// Takes the message back out of an envelope built from an `M`.
fn unwrap_message<A: Actor, M: 'static>(env: Env<A>) -> M {
    *env.into_message()
        .downcast::<M>()
        .unwrap_or_else(|_| unreachable!("an envelope holds the message it was built with"))
}

/// The error of a tell whose message the mailbox refused without waiting.
fn tell_error<A: Actor, M: 'static>(refused: Refused<A>) -> TellError<M> {
    match refused {
        Refused::Closed(env) => TellError::Stopped(unwrap_message(env)),
        Refused::Full(env) => TellError::Full(unwrap_message(env)),
    }
}

impl<A: Actor> ActorRef<A> {
    /// The actor's name (its type name unless given one).
    ///
    /// # Examples
    /// See [`Context`](crate::Context).
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The actor's id.
    ///
    /// # Examples
    /// See [`ActorId`].
    pub fn id(&self) -> ActorId {
        self.core.id
    }

    /// A ref that does not keep the actor alive.
    ///
    /// # Examples
    /// See [`WeakActorRef`].
    pub fn downgrade(&self) -> WeakActorRef<A> {
        WeakActorRef::new(Arc::clone(&self.core))
    }

    /// Offers without waiting, under the mailbox policy.
    fn offer(&self, env: Env<A>) -> Result<(), Refused<A>> {
        let core = &*self.core;
        offer(&self.tx, &core.rx, core.policy, env, &mut |e, why| {
            core.dead_letter(e, why)
        })
    }

    /// Sends `message`, waiting for room if the mailbox is full and its
    /// policy is [`Block`](crate::Overflow::Block); the drop policies queue
    /// it at once (the dropped message goes to the dead letters, and this
    /// returns `Ok`).
    ///
    /// # Errors
    /// [`TellError::Full`] under [`Fail`](crate::Overflow::Fail);
    /// [`TellError::Stopped`] if the actor stopped for good. Both hand the
    /// message back.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes drops the message unsent.
    ///
    /// # Examples
    /// See [`Actor`].
    pub async fn tell<M>(&self, message: M) -> Result<(), TellError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        match self.offer(Box::new(Tell(message))) {
            Ok(()) => Ok(()),
            Err(Refused::Full(env)) if self.core.policy == Policy::Block => {
                match self.tx.send_async(env).await {
                    Ok(()) => Ok(()),
                    Err(e) => Err(TellError::Stopped(unwrap_message(e.into_inner()))),
                }
            }
            Err(refused) => Err(tell_error(refused)),
        }
    }

    /// Sends `message` without waiting.
    ///
    /// # Errors
    /// [`TellError::Full`] if the mailbox is full and its policy is `Block`
    /// or `Fail`; [`TellError::Stopped`] if the actor stopped for good.
    ///
    /// # Examples
    /// See [`TellError`].
    pub fn try_tell<M>(&self, message: M) -> Result<(), TellError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        self.offer(Box::new(Tell(message))).map_err(tell_error)
    }

    /// Sends `message` from a plain thread, blocking it while a `Block`
    /// mailbox is full.
    ///
    /// Do not call it from async code running on a runtime thread: it
    /// blocks that thread (use [`tell`](ActorRef::tell)).
    ///
    /// # Errors
    /// As [`tell`](ActorRef::tell).
    ///
    /// # Examples
    /// See [`ActorRef`].
    pub fn tell_blocking<M>(&self, message: M) -> Result<(), TellError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        match self.offer(Box::new(Tell(message))) {
            Ok(()) => Ok(()),
            Err(Refused::Full(env)) if self.core.policy == Policy::Block => match self.tx.send(env)
            {
                Ok(()) => Ok(()),
                Err(e) => Err(TellError::Stopped(unwrap_message(e.into_inner()))),
            },
            Err(refused) => Err(tell_error(refused)),
        }
    }

    /// Sends `message` and waits for the handler's reply.
    ///
    /// The wait ends at the deadline of the caller's nimsync-group scope
    /// if there is one ([`nimsync_group::current_deadline`]); see
    /// [`ask_timeout`](ActorRef::ask_timeout) for one of its own.
    ///
    /// # Errors
    /// See [`AskError`].
    ///
    /// # Cancel safety
    /// Dropping the future withdraws the reply slot: if the message was
    /// queued, the actor still handles it and its reply is dropped.
    ///
    /// # Examples
    /// See [`Actor`].
    pub async fn ask<M>(&self, message: M) -> Result<A::Reply, AskError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        self.ask_by(message, None).await
    }

    /// [`ask`](ActorRef::ask) with a timeout: the earlier of `timeout` from
    /// now and the caller's scope deadline bounds both the wait for mailbox
    /// room and the wait for the reply.
    ///
    /// A zero timeout still queues the message if there is room at once,
    /// then gives the reply one chance: it returns
    /// [`AskError::TimedOut`] unless the reply is already there.
    ///
    /// # Errors
    /// See [`AskError`].
    ///
    /// # Examples
    /// See [`AskError`].
    pub async fn ask_timeout<M>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<A::Reply, AskError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        let deadline = Instant::now().checked_add(timeout);
        self.ask_by(message, deadline).await
    }

    async fn ask_by<M>(&self, message: M, own: Option<Instant>) -> Result<A::Reply, AskError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        let deadline = match (own, nimsync_group::current_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        let env: Env<A> = Box::new(Ask {
            message,
            reply: reply_tx,
        });
        match self.offer(env) {
            Ok(()) => {}
            Err(Refused::Closed(env)) => return Err(AskError::Stopped(unwrap_message(env))),
            Err(Refused::Full(env)) if self.core.policy == Policy::Block => {
                let mut send = self.tx.send_async(env);
                let sent = match deadline {
                    None => (&mut send).await,
                    Some(at) => {
                        let mut sleep = pin!(nimsync_time::sleep_until(at));
                        let timed_out = core::future::poll_fn(|cx| {
                            if let Poll::Ready(r) = core::pin::Pin::new(&mut send).poll(cx) {
                                return Poll::Ready(Some(r));
                            }
                            sleep.as_mut().poll(cx).map(|()| None)
                        })
                        .await;
                        match timed_out {
                            Some(r) => r,
                            None => {
                                return match send.cancel() {
                                    Some(env) => Err(AskError::Full(unwrap_message(env))),
                                    // Sent after all, as the timer fired.
                                    None => Ok(()),
                                }
                                .and_then(|()| Err(AskError::TimedOut));
                            }
                        }
                    }
                };
                if let Err(e) = sent {
                    return Err(AskError::Stopped(unwrap_message(e.into_inner())));
                }
            }
            Err(Refused::Full(env)) => return Err(AskError::Full(unwrap_message(env))),
        }
        let reply = match deadline {
            None => reply_rx.await,
            Some(at) => match nimsync_time::timeout_at(at, reply_rx).await {
                Ok(r) => r,
                Err(_) => return Err(AskError::TimedOut),
            },
        };
        match reply {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(AskError::Panicked(panic)),
            Err(_) => Err(AskError::Unanswered),
        }
    }

    /// Asks the actor to stop for good after handling what is already
    /// queued ([`Drain::Process`]). New tells are refused from then on.
    /// Returns at once; await [`stopped`](ActorRef::stopped) to wait.
    ///
    /// Under a supervisor this is final too: the supervisor does not
    /// restart an actor stopped this way.
    ///
    /// # Examples
    /// See [`Down`](crate::Down).
    pub fn stop(&self) {
        self.stop_with(Drain::Process);
    }

    /// Asks the actor to stop for good, draining its mailbox as `drain`
    /// says. The request goes on the system lane, ahead of queued
    /// messages.
    ///
    /// # Examples
    /// ```
    /// use nimsync_actor::{Actor, Context, Drain, Handler};
    ///
    /// struct Idle;
    /// impl Actor for Idle {}
    /// impl Handler<u8> for Idle {
    ///     type Reply = ();
    ///     async fn handle(&mut self, _: u8, _: &mut Context<Self>) {}
    /// }
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let idle = nimsync_actor::spawn(Idle);
    ///     idle.stop_with(Drain::Drop);
    ///     idle.stopped().await;
    ///     assert!(idle.try_tell(1u8).is_err());
    /// });
    /// ```
    pub fn stop_with(&self, drain: Drain) {
        // The signal first, then the close: a loop that finds the mailbox
        // closed then finds the signal too.
        crate::core::Control::post_stop(&*self.core, drain);
        self.core.rx.close();
    }

    /// Waits until the actor has stopped for good, and says why.
    ///
    /// # Examples
    /// See [`Context`](crate::Context).
    pub async fn stopped(&self) -> ExitReason {
        self.core.stopped.cancelled().await;
        self.core.exit().unwrap_or(ExitReason::Killed)
    }

    /// Whether the actor has not stopped for good yet.
    ///
    /// # Examples
    /// ```
    /// # struct A;
    /// # impl nimsync_actor::Actor for A {}
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let a = nimsync_actor::spawn(A);
    /// assert!(a.is_alive());
    /// a.stop();
    /// a.stopped().await;
    /// assert!(!a.is_alive());
    /// # });
    /// ```
    pub fn is_alive(&self) -> bool {
        !self.core.stopped.is_cancelled()
    }

    /// The actor's counters.
    ///
    /// # Examples
    /// See [`ActorMetrics`].
    pub fn metrics(&self) -> ActorMetrics {
        let last = self.core.watchers.lock().last_failure.clone();
        let capacity = match self.tx.capacity() {
            usize::MAX => None,
            n => Some(n),
        };
        self.core
            .counters
            .snapshot(self.core.rx.len(), capacity, last)
    }

    /// Links this actor and `other` both ways (see
    /// [`Context::link`](crate::Context::link)).
    ///
    /// # Examples
    /// ```
    /// use nimsync_actor::{Actor, Context, ExitReason, FailureKind, Handler};
    ///
    /// struct Part;
    /// impl Actor for Part {}
    /// impl Handler<()> for Part {
    ///     type Reply = ();
    ///     async fn handle(&mut self, _: (), _: &mut Context<Self>) {
    ///         panic!("part broke");
    ///     }
    /// }
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (a, b) = (nimsync_actor::spawn(Part), nimsync_actor::spawn(Part));
    ///     a.link(&b);
    ///     a.tell(()).await.unwrap();
    ///     let ExitReason::Failed(f) = b.stopped().await else { panic!() };
    ///     assert_eq!(f.kind(), FailureKind::Linked);
    /// });
    /// ```
    pub fn link<B: Actor>(&self, other: &ActorRef<B>) {
        crate::watch::link(&self.core, &other.core);
    }

    /// Tells every item of `stream` to the actor, in order, waiting for
    /// mailbox room (backpressure under `Block`). Returns how many were
    /// told.
    ///
    /// # Errors
    /// The first tell that failed, with its item; the rest of the stream
    /// is left unread.
    ///
    /// # Examples
    /// ```
    /// use nimsync_actor::{Actor, Context, Handler};
    ///
    /// struct Sum(u64);
    /// impl Actor for Sum {}
    /// impl Handler<u64> for Sum {
    ///     type Reply = u64;
    ///     async fn handle(&mut self, n: u64, _: &mut Context<Self>) -> u64 {
    ///         self.0 += n;
    ///         self.0
    ///     }
    /// }
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sum = nimsync_actor::spawn(Sum(0));
    ///     let numbers = futures_lite::stream::iter(1..=100u64);
    ///     assert_eq!(sum.forward(numbers).await.unwrap(), 100);
    ///     assert_eq!(sum.ask(0).await.unwrap(), 5050);
    /// });
    /// ```
    pub async fn forward<M, S>(&self, stream: S) -> Result<u64, TellError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
        S: Stream<Item = M>,
    {
        let mut stream = pin!(stream);
        let mut told = 0;
        while let Some(item) = core::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            self.tell(item).await?;
            told += 1;
        }
        Ok(told)
    }
}

/// A ref that does not keep its actor alive; [`upgrade`](WeakActorRef::upgrade)
/// to talk to it.
///
/// # Examples
/// ```
/// # struct A;
/// # impl nimsync_actor::Actor for A {}
/// # let rt = nimsync_scheduler::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let a = nimsync_actor::spawn(A);
/// let weak = a.downgrade();
/// assert_eq!(weak.upgrade(), Some(a.clone()));
/// drop(a);
/// assert!(weak.upgrade().is_none()); // the last strong ref is gone
/// # });
/// ```
pub struct WeakActorRef<A: Actor> {
    core: Arc<Core<A>>,
}

impl<A: Actor> WeakActorRef<A> {
    pub(crate) fn new(core: Arc<Core<A>>) -> Self {
        Self { core }
    }

    /// A strong ref, if some strong ref still exists (and so the actor has
    /// not stopped for lack of them).
    ///
    /// # Examples
    /// See [`WeakActorRef`].
    pub fn upgrade(&self) -> Option<ActorRef<A>> {
        let tx = self.core.weak_tx.upgrade()?;
        Some(ActorRef {
            tx,
            core: Arc::clone(&self.core),
        })
    }

    /// The actor's id.
    ///
    /// # Examples
    /// ```
    /// # struct A;
    /// # impl nimsync_actor::Actor for A {}
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let a = nimsync_actor::spawn(A);
    /// assert_eq!(a.downgrade().id(), a.id());
    /// # });
    /// ```
    pub fn id(&self) -> ActorId {
        self.core.id
    }
}

impl<A: Actor> Clone for WeakActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
        }
    }
}

impl<A: Actor> fmt::Debug for WeakActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakActorRef")
            .field("name", &self.core.name)
            .field("id", &self.core.id)
            .finish()
    }
}
