//! One incarnation of an actor: its hooks, its message loop, and how it
//! ended.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;
use std::time::Instant;

use futures_core::Stream;
use nimsync_channel::TryRecvError;
use nimsync_channel::mpmc::RecvStream;

use crate::actor::{Actor, Context, Ending, LinkAction};
use crate::core::{Core, Drain, Signal};
use crate::envelope::{CatchUnwind, panic_message};
use crate::error::{ExitReason, Failure, FailureKind};
use crate::mailbox::{DeadLetterReason, Env};

/// How an incarnation ended, as its supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The incarnation ended; whether the actor stopped for good is the
    /// supervisor's call (or the spawner's, unsupervised).
    Ended(ExitReason),
    /// It was asked to stop for good (`ActorRef::stop`), and did.
    StoppedForGood,
}

impl Exit {
    pub(crate) fn reason(&self) -> ExitReason {
        match self {
            Exit::Ended(r) => r.clone(),
            Exit::StoppedForGood => ExitReason::Stopped,
        }
    }
}

/// Told when an incarnation's `started` hook has returned `Ok`; dropped
/// unsent if it failed.
pub(crate) type Ready = nimsync_channel::oneshot::Sender<()>;

/// Messages handled in a row before the loop yields to the runtime.
const BUDGET: u32 = 128;

/// What the loop found next.
enum Next<A: Actor> {
    Signal(Signal<A>),
    Message(crate::mailbox::Env<A>),
    /// Every ref is gone and the mailbox is drained.
    Closed,
}

/// Runs one incarnation of `actor` to its end: `restarted` (if `last` is
/// given), `started` (then `ready` is told), the message loop, `stopped`.
pub(crate) async fn run<A: Actor>(
    core: Arc<Core<A>>,
    mut actor: A,
    restarts: u64,
    last: Option<ExitReason>,
    ready: Option<Ready>,
) -> Exit {
    let mut ctx = Context::new(Arc::clone(&core), restarts);
    let name = Arc::clone(&core.name);
    let fail = |kind, message: String, during| {
        let mut f = Failure::new(&name, kind, message);
        f.during = during;
        f
    };

    if let Some(last) = &last {
        if let Err(p) = (CatchUnwind {
            inner: actor.restarted(&mut ctx, last),
        })
        .await
        {
            return failed(&core, fail(FailureKind::Panicked, panic_message(&*p), None));
        }
    }
    match (CatchUnwind {
        inner: actor.started(&mut ctx),
    })
    .await
    {
        Ok(Ok(())) => {
            if let Some(ready) = ready {
                let _ = ready.send(());
            }
        }
        Ok(Err(e)) => return failed(&core, fail(FailureKind::StartFailed, e.to_string(), None)),
        Err(p) => return failed(&core, fail(FailureKind::Panicked, panic_message(&*p), None)),
    }

    let mut exit = message_loop(&core, &mut actor, &mut ctx, &fail).await;

    let reason = exit.reason();
    if let Err(p) = (CatchUnwind {
        inner: actor.stopped(&mut ctx, &reason),
    })
    .await
    {
        if !reason.is_failure() {
            exit = Exit::Ended(ExitReason::Failed(fail(
                FailureKind::Panicked,
                panic_message(&*p),
                None,
            )));
        }
    }
    if let Exit::Ended(ExitReason::Failed(f)) = &exit {
        core.record_failure(f);
        crate::watch::fire_links(&core, &exit.reason());
    }
    exit
}

/// An incarnation that failed before its loop: recorded, links fired.
fn failed<A: Actor>(core: &Core<A>, failure: Failure) -> Exit {
    core.record_failure(&failure);
    let reason = ExitReason::Failed(failure);
    crate::watch::fire_links(core, &reason);
    Exit::Ended(reason)
}

async fn message_loop<A: Actor>(
    core: &Arc<Core<A>>,
    actor: &mut A,
    ctx: &mut Context<A>,
    fail: &impl Fn(FailureKind, String, Option<&'static str>) -> Failure,
) -> Exit {
    let mut budget = BUDGET;
    // Set by a `Stop` signal: handle what is queued until then (`None`:
    // until empty), then stop for good.
    let mut draining: Option<Option<Instant>> = None;
    // The waits go through one stream of the mailbox, whose registration
    // (and its waiter) is reused from wait to wait.
    let mut waits = core.rx.clone().into_stream();
    loop {
        let next = if let Some(signal) = core.system.take() {
            Next::Signal(signal)
        } else {
            match core.rx.try_recv() {
                Ok(env) => Next::Message(env),
                // A stop request closes the mailbox after it posts its
                // signal: look once more.
                Err(TryRecvError::Closed) => match core.system.take() {
                    Some(signal) => Next::Signal(signal),
                    None => Next::Closed,
                },
                Err(TryRecvError::Empty) if draining.is_some() => Next::Closed,
                Err(TryRecvError::Empty) => {
                    budget = BUDGET;
                    wait(core, &mut waits).await
                }
            }
        };
        let env = match next {
            Next::Closed if draining.is_some() => return Exit::StoppedForGood,
            Next::Closed => return Exit::Ended(ExitReason::Normal),
            Next::Signal(Signal::Stop(drain)) => match drain {
                Drain::Drop => return Exit::StoppedForGood,
                Drain::Process => {
                    draining = Some(None);
                    continue;
                }
                Drain::Until(at) => {
                    draining = Some(Some(at));
                    continue;
                }
            },
            Next::Signal(Signal::Release) => return Exit::Ended(ExitReason::Restarting),
            Next::Signal(Signal::Link(exit)) => {
                let from = exit.actor.clone();
                match (CatchUnwind {
                    inner: actor.link_failed(ctx, exit),
                })
                .await
                {
                    Ok(LinkAction::Continue) => continue,
                    Ok(LinkAction::Fail) => {
                        return Exit::Ended(ExitReason::Failed(fail(
                            FailureKind::Linked,
                            format!("linked actor `{from}` failed"),
                            None,
                        )));
                    }
                    Err(p) => {
                        return Exit::Ended(ExitReason::Failed(fail(
                            FailureKind::Panicked,
                            panic_message(&*p),
                            None,
                        )));
                    }
                }
            }
            Next::Signal(Signal::Message(env)) | Next::Message(env) => env,
        };
        if let Some(Some(at)) = draining {
            if Instant::now() >= at {
                core.dead_letter(env, DeadLetterReason::Stopped);
                return Exit::StoppedForGood;
            }
        }
        let during = env.message_type();
        // Counted as it is taken up, so that an asker answered by this
        // handler already sees it in the metrics.
        core.counters.processed(1);
        let outcome = CatchUnwind {
            inner: env.handle(actor, ctx),
        }
        .await;
        if let Err(p) = outcome {
            return Exit::Ended(ExitReason::Failed(fail(
                FailureKind::Panicked,
                panic_message(&*p),
                Some(during),
            )));
        }
        match ctx.ending.take() {
            None => {}
            Some(Ending::Stop) => return Exit::Ended(ExitReason::Normal),
            Some(Ending::Fail(why)) => {
                return Exit::Ended(ExitReason::Failed(fail(
                    FailureKind::Failed,
                    why.to_string(),
                    Some(during),
                )));
            }
        }
        budget -= 1;
        if budget == 0 {
            budget = BUDGET;
            nimsync_scheduler::yield_now().await;
        }
    }
}

/// Waits for a signal or a message, whichever comes first.
async fn wait<A: Actor>(core: &Core<A>, waits: &mut RecvStream<Env<A>>) -> Next<A> {
    poll_fn(|cx| {
        core.system.register(cx.waker());
        if let Some(signal) = core.system.take() {
            return Poll::Ready(Next::Signal(signal));
        }
        match Pin::new(&mut *waits).poll_next(cx) {
            Poll::Ready(Some(env)) => Poll::Ready(Next::Message(env)),
            Poll::Ready(None) => {
                // Closed: a stop request closes the mailbox before it
                // posts its signal, so look once more.
                match core.system.take() {
                    Some(signal) => Poll::Ready(Next::Signal(signal)),
                    None => Poll::Ready(Next::Closed),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
