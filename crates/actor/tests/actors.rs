//! Actor semantics: mailboxes, drains, dead letters, asks, links, the
//! system lane, and accounting under load.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use nimsync_actor::{
    Actor, AskError, ChildSpec, Context, DeadLetterReason, Drain, ExitReason, FailureKind, Handler,
    LinkAction, LinkExit, Mailbox, Overflow, Spawn, Supervisor, SupervisorEvent, TellError,
};

/// Handles `Hold` by waiting until its gate opens; counts `u64`s.
struct Gated {
    gate: nimsync_channel::mpmc::Receiver<()>,
    seen: Arc<AtomicU64>,
}
impl Actor for Gated {}
struct Hold;
impl Handler<Hold> for Gated {
    type Reply = ();
    async fn handle(&mut self, _: Hold, _: &mut Context<Self>) {
        let _ = self.gate.recv_async().await;
    }
}
impl Handler<u64> for Gated {
    type Reply = u64;
    async fn handle(&mut self, n: u64, _: &mut Context<Self>) -> u64 {
        self.seen.fetch_add(1, Ordering::Relaxed);
        n
    }
}

fn gated(
    mailbox: Mailbox,
) -> (
    nimsync_actor::ActorRef<Gated>,
    nimsync_channel::mpmc::Sender<()>,
    Arc<AtomicU64>,
    Arc<AtomicU64>,
) {
    let (open, gate) = nimsync_channel::mpmc::unbounded();
    let seen = Arc::new(AtomicU64::new(0));
    let dead = Arc::new(AtomicU64::new(0));
    let d = dead.clone();
    let actor = Spawn::new()
        .mailbox(mailbox)
        .on_dead_letter(move |letter| {
            assert!(letter.downcast::<u64>().is_ok());
            d.fetch_add(1, Ordering::Relaxed);
        })
        .spawn(Gated {
            gate,
            seen: seen.clone(),
        });
    (actor, open, seen, dead)
}

#[test]
fn drain_process_handles_the_queue_and_refuses_new_tells() {
    runtime().block_on(async {
        let (actor, open, seen, dead) = gated(Mailbox::bounded(64, Overflow::Block));
        actor.tell(Hold).await.unwrap();
        for n in 0..10u64 {
            actor.tell(n).await.unwrap();
        }
        actor.stop_with(Drain::Process);
        assert!(matches!(actor.try_tell(99u64), Err(TellError::Stopped(99))));
        open.send(()).unwrap();
        assert_eq!(actor.stopped().await, ExitReason::Stopped);
        assert_eq!(
            (seen.load(Ordering::Relaxed), dead.load(Ordering::Relaxed)),
            (10, 0)
        );
    });
}

#[test]
fn drain_drop_sends_the_queue_to_the_dead_letters_and_answers_asks() {
    runtime().block_on(async {
        let (actor, open, seen, dead) = gated(Mailbox::bounded(64, Overflow::Block));
        actor.tell(Hold).await.unwrap();
        while actor.metrics().depth > 0 {
            nimsync_scheduler::yield_now().await; // Hold taken: the handler waits
        }
        for n in 0..10u64 {
            actor.tell(n).await.unwrap();
        }
        let asker = {
            let actor = actor.clone();
            nimsync_scheduler::spawn(async move { actor.ask(7u64).await })
        };
        while actor.metrics().depth < 11 {
            nimsync_scheduler::yield_now().await;
        }
        actor.stop_with(Drain::Drop);
        open.send(()).unwrap();
        assert_eq!(actor.stopped().await, ExitReason::Stopped);
        assert_eq!(asker.await.unwrap(), Err(AskError::Unanswered));
        assert_eq!(
            (seen.load(Ordering::Relaxed), dead.load(Ordering::Relaxed)),
            (0, 11)
        );
        assert_eq!(actor.metrics().dead_letters, 11);
    });
}

#[test]
fn drain_until_a_past_deadline_stops_at_once() {
    runtime().block_on(async {
        let (actor, open, seen, dead) = gated(Mailbox::bounded(64, Overflow::Block));
        actor.tell(Hold).await.unwrap();
        for n in 0..5u64 {
            actor.tell(n).await.unwrap();
        }
        actor.stop_with(Drain::Until(Instant::now()));
        open.send(()).unwrap();
        actor.stopped().await;
        assert_eq!(
            seen.load(Ordering::Relaxed) + dead.load(Ordering::Relaxed),
            5
        );
        assert_eq!(dead.load(Ordering::Relaxed), 5);
    });
}

#[test]
fn a_stop_request_overtakes_a_full_mailbox() {
    runtime().block_on(async {
        let (actor, open, _seen, dead) = gated(Mailbox::bounded(4, Overflow::Block));
        actor.tell(Hold).await.unwrap();
        while actor.metrics().depth > 0 {
            nimsync_scheduler::yield_now().await; // Hold taken: the handler waits
        }
        for n in 0..4u64 {
            actor.try_tell(n).unwrap();
        }
        assert!(matches!(actor.try_tell(4u64), Err(TellError::Full(4))));
        actor.stop_with(Drain::Drop);
        open.send(()).unwrap();
        actor.stopped().await;
        assert_eq!(dead.load(Ordering::Relaxed), 4);
    });
}

#[test]
fn every_policy_accounts_for_every_message() {
    for (overflow, reason) in [
        (Overflow::DropOldest, DeadLetterReason::DroppedOldest),
        (Overflow::DropNewest, DeadLetterReason::DroppedNewest),
        (Overflow::DropBuffer, DeadLetterReason::DroppedBuffer),
    ] {
        runtime().block_on(async {
            let (open, gate) = nimsync_channel::mpmc::unbounded();
            let seen = Arc::new(AtomicU64::new(0));
            let dead = Arc::new(AtomicU64::new(0));
            let d = dead.clone();
            let actor = Spawn::new()
                .mailbox(Mailbox::bounded(8, overflow))
                .on_dead_letter(move |letter| {
                    assert_eq!(letter.reason(), reason);
                    d.fetch_add(1, Ordering::Relaxed);
                })
                .spawn(Gated {
                    gate,
                    seen: seen.clone(),
                });
            actor.tell(Hold).await.unwrap();
            while actor.metrics().depth > 0 {
                // Hold taken: the handler waits. (Left queued, the flood
                // could evict it as the oldest message.)
                nimsync_scheduler::yield_now().await;
            }
            let senders: Vec<_> = (0..4)
                .map(|_| {
                    let actor = actor.clone();
                    std::thread::spawn(move || {
                        for n in 0..5_000u64 {
                            actor.tell_blocking(n).unwrap();
                        }
                    })
                })
                .collect();
            for s in senders {
                s.join().unwrap();
            }
            open.send(()).unwrap();
            while actor.metrics().depth > 0 {
                nimsync_scheduler::yield_now().await;
            }
            assert_eq!(actor.ask(0u64).await, Ok(0)); // everything before it is handled
            let m = actor.metrics();
            assert_eq!(
                seen.load(Ordering::Relaxed) - 1 + dead.load(Ordering::Relaxed),
                20_000,
                "{reason:?}: seen {} dead {} {m:?}",
                seen.load(Ordering::Relaxed),
                dead.load(Ordering::Relaxed)
            );
            assert_eq!(m.dead_letters, dead.load(Ordering::Relaxed));
            assert!(m.dead_letters >= 20_000 - 8 - 4, "{m:?}");
        });
    }
}

#[test]
fn fail_policy_hands_the_message_back() {
    let (_spec, actor) = ChildSpec::builder("f")
        .mailbox(Mailbox::bounded(2, Overflow::Fail))
        .actor(Worker::factory("f", &log()));
    actor.try_tell(Add(1)).unwrap();
    actor.tell_blocking(Add(2)).unwrap();
    let Err(TellError::Full(Add(3))) = actor.tell_blocking(Add(3)) else {
        panic!()
    };
    let Err(AskError::Full(Add(4))) = futures_lite::future::block_on(actor.ask(Add(4))) else {
        panic!()
    };
}

#[test]
fn messages_queued_during_a_restart_reach_the_new_instance() {
    runtime().block_on(async {
        let log = log();
        let (spec, w) = ChildSpec::actor("w", Worker::factory("w", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s").child(spec).on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        until(&ev, started("w")).await;
        // Queue a crash, then asks behind it.
        let crash = w.ask(Crash);
        let after: Vec<_> = (0..5).map(|_| w.ask(Add(1))).collect();
        assert!(matches!(crash.await, Err(AskError::Panicked(_))));
        let mut replies = Vec::new();
        for a in after {
            replies.push(a.await.unwrap());
        }
        assert_eq!(
            replies,
            [1, 2, 3, 4, 5],
            "all answered, in order, by the new instance"
        );
        control.stop();
        running.await.unwrap().unwrap();
    });
}

#[test]
fn a_dropped_ask_withdraws_its_slot_but_the_message_is_handled() {
    runtime().block_on(async {
        let (actor, open, seen, _) = gated(Mailbox::default());
        actor.tell(Hold).await.unwrap();
        let mut ask = Box::pin(actor.ask(1u64));
        assert!(futures_lite::future::poll_once(&mut ask).await.is_none());
        drop(ask);
        open.send(()).unwrap();
        assert_eq!(actor.ask(2u64).await.unwrap(), 2);
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn asks_time_out_on_their_own_deadline_and_on_the_callers_scope() {
    runtime().block_on(async {
        let (actor, open, _, _) = gated(Mailbox::default());
        actor.tell(Hold).await.unwrap();
        assert_eq!(
            actor.ask_timeout(1u64, Duration::ZERO).await,
            Err(AskError::TimedOut)
        );
        assert_eq!(
            actor.ask_timeout(2u64, Duration::from_millis(5)).await,
            Err(AskError::TimedOut)
        );
        let scoped = nimsync_group::with_timeout(Duration::from_secs(60), async {
            // The scope's deadline is in the past for this inner one.
            nimsync_group::with_timeout(Duration::from_millis(5), actor.ask(3u64)).await
        })
        .await;
        // The ask itself returns TimedOut at the scope's deadline, or the
        // scope fires first: either way it does not wait for the actor.
        assert!(
            matches!(scoped, Ok(Err(_)) | Ok(Ok(Err(AskError::TimedOut)))),
            "{scoped:?}"
        );
        open.send(()).unwrap();
        assert_eq!(actor.ask(4u64).await, Ok(4));
    });
}

#[test]
fn asking_a_stopped_actor_hands_the_message_back() {
    runtime().block_on(async {
        let w = nimsync_actor::spawn(Worker::factory("w", &log())());
        w.stop();
        w.stopped().await;
        let Err(AskError::Stopped(Add(9))) = w.ask(Add(9)).await else {
            panic!()
        };
        let Err(TellError::Stopped(Add(8))) = w.tell(Add(8)).await else {
            panic!()
        };
    });
}

#[test]
fn dropping_every_ref_stops_the_actor_after_its_queue() {
    runtime().block_on(async {
        let log = log();
        let w = nimsync_actor::spawn(Worker::factory("w", &log)());
        let watch = w.clone().downgrade();
        for _ in 0..3 {
            w.tell(Add(1)).await.unwrap();
        }
        let monitor = {
            // `stopped` needs a ref; keep one that does not keep it alive.
            let core = watch.clone();
            async move { core.id() }
        };
        drop(w);
        assert!(watch.upgrade().is_none());
        let _ = monitor.await;
        // The actor ends once its queue is handled; its stop hook logs it.
        while !take_contains(&log, "stop w normal") {
            nimsync_scheduler::yield_now().await;
        }
    });
}

fn take_contains(log: &Log, line: &str) -> bool {
    log.lock().unwrap().iter().any(|l| l == line)
}

/// Traps link failures and counts them.
struct Trapper(u32);
impl Actor for Trapper {
    async fn link_failed(&mut self, _: &mut Context<Self>, exit: LinkExit) -> LinkAction {
        assert!(exit.reason().is_failure());
        self.0 += 1;
        LinkAction::Continue
    }
}
struct Count;
impl Handler<Count> for Trapper {
    type Reply = u32;
    async fn handle(&mut self, _: Count, _: &mut Context<Self>) -> u32 {
        self.0
    }
}

#[test]
fn a_trapping_actor_survives_its_link_and_the_link_fires_once() {
    runtime().block_on(async {
        let log = log();
        let trapper = nimsync_actor::spawn(Trapper(0));
        let (spec, w) = ChildSpec::actor("w", Worker::factory("w", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s").child(spec).on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        until(&ev, started("w")).await;
        w.link(&trapper);
        w.tell(Crash).await.unwrap();
        until(&ev, |e| {
            matches!(e, SupervisorEvent::Started { restarts: 1, .. })
        })
        .await;
        w.tell(Crash).await.unwrap(); // the link was undone when it fired
        until(&ev, |e| {
            matches!(e, SupervisorEvent::Started { restarts: 2, .. })
        })
        .await;
        assert_eq!(trapper.ask(Count).await.unwrap(), 1);
        control.stop();
        running.await.unwrap().unwrap();
    });
}

#[test]
fn a_start_error_is_a_failure_of_its_kind() {
    struct NoStart;
    impl Actor for NoStart {
        async fn started(
            &mut self,
            _: &mut Context<Self>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Err("no database".into())
        }
    }
    runtime().block_on(async {
        let a = nimsync_actor::spawn(NoStart);
        let ExitReason::Failed(f) = a.stopped().await else {
            panic!()
        };
        assert_eq!(f.kind(), FailureKind::StartFailed);
        assert_eq!(
            f.to_string(),
            "actor `NoStart` failed to start: no database"
        );
    });
}

#[test]
fn forward_applies_backpressure_from_a_small_mailbox() {
    runtime().block_on(async {
        let (actor, open, seen, dead) = gated(Mailbox::bounded(2, Overflow::Block));
        actor.tell(Hold).await.unwrap();
        let feeder = {
            let actor = actor.clone();
            nimsync_scheduler::spawn(async move {
                actor.forward(futures_lite::stream::iter(0..100u64)).await
            })
        };
        while actor.metrics().depth < 2 {
            nimsync_scheduler::yield_now().await;
        }
        assert!(!feeder.is_finished(), "the feeder waits for room");
        open.send(()).unwrap();
        assert_eq!(feeder.await.unwrap().unwrap(), 100);
        actor.ask(0u64).await.unwrap();
        assert_eq!(
            (seen.load(Ordering::Relaxed), dead.load(Ordering::Relaxed)),
            (101, 0)
        );
    });
}

#[test]
#[should_panic(expected = "Overflow::Conflate cannot be a mailbox policy")]
fn conflate_is_refused_as_a_mailbox_policy() {
    let _ = Mailbox::bounded(4, Overflow::conflate(|_: &mut (), _| {}));
}

#[test]
#[should_panic(expected = "needs room for at least one message")]
fn a_zero_capacity_mailbox_is_refused() {
    let _ = Mailbox::bounded(0, Overflow::Block);
}
