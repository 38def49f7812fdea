//! Envelopes: a typed message (and, for an ask, its reply slot) boxed
//! behind one trait object per actor type, so one mailbox carries every
//! message type the actor handles.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use nimsync_channel::oneshot;

use crate::actor::{Actor, Context, Handler};

/// A boxed future borrowing the actor and its context.
pub(crate) type HandleFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What an ask's reply slot receives: the reply, or the handler's panic.
pub(crate) type Reply<R> = Result<R, Arc<str>>;

/// A message on its way to an actor of type `A`.
pub(crate) trait Envelope<A: Actor>: Send {
    /// Runs the handler on this message.
    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> HandleFuture<'a>;

    /// The message's type name, for failures and dead letters.
    fn message_type(&self) -> &'static str;

    /// The message alone (an ask's reply slot is dropped, which answers it
    /// with `Unanswered`).
    fn into_message(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// A tell.
pub(crate) struct Tell<M>(pub(crate) M);

impl<A, M> Envelope<A> for Tell<M>
where
    A: Handler<M>,
    M: Send + 'static,
{
    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> HandleFuture<'a> {
        Box::pin(async move {
            let _ = actor.handle(self.0, ctx).await;
        })
    }

    fn message_type(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn into_message(self: Box<Self>) -> Box<dyn Any + Send> {
        Box::new(self.0)
    }
}

/// An ask: the message and the slot its reply goes to.
pub(crate) struct Ask<M, R> {
    pub(crate) message: M,
    pub(crate) reply: oneshot::Sender<Reply<R>>,
}

impl<A, M> Envelope<A> for Ask<M, A::Reply>
where
    A: Handler<M>,
    M: Send + 'static,
{
    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> HandleFuture<'a> {
        let Ask { message, reply } = *self;
        Box::pin(async move {
            match (CatchUnwind {
                inner: actor.handle(message, ctx),
            })
            .await
            {
                Ok(value) => {
                    // An asker that gave up dropped its slot: the reply is
                    // dropped with it, as documented on `ask`.
                    let _ = reply.send(Ok(value));
                }
                Err(payload) => {
                    let _ = reply.send(Err(panic_message(&*payload).into()));
                    resume_unwind(payload);
                }
            }
        })
    }

    fn message_type(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn into_message(self: Box<Self>) -> Box<dyn Any + Send> {
        Box::new(self.message)
    }
}

pin_project_lite::pin_project! {
    /// Polls `inner`, catching a panic from any poll.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        pub(crate) inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
