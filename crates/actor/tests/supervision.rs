//! Supervision semantics: strategies, restart types, intensity windows,
//! escalation, backoff and shutdown, on a manual clock where time matters.

mod common;

use std::time::Duration;

use common::*;
use nimsync_actor::{
    AskError, Backoff, ChildSpec, ExitReason, FailureKind, Restart, Shutdown, Strategy, Supervisor,
    SupervisorError, SupervisorEvent,
};
use nimsync_time::ManualClock;

#[test]
fn one_for_one_restarts_only_the_failed_child_with_fresh_state() {
    runtime().block_on(async {
        let log = log();
        let (a_spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let (b_spec, b) = ChildSpec::actor("b", Worker::factory("b", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .child(a_spec)
            .child(b_spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        assert_eq!(a.ask(Add(5)).await.unwrap(), 5);
        assert_eq!(b.ask(Add(7)).await.unwrap(), 7);
        assert!(
            matches!(a.ask(Crash).await, Err(AskError::Panicked(m)) if m.contains("a crashed"))
        );
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "a"),
        )
        .await;
        assert_eq!(a.ask(Add(1)).await.unwrap(), 1, "a restarted from scratch");
        assert_eq!(b.ask(Add(1)).await.unwrap(), 8, "b untouched");
        assert_eq!(a.metrics().restarts, 1);
        assert_eq!(b.metrics().restarts, 0);
        let failure = a.metrics().last_failure.unwrap();
        assert_eq!(failure.kind(), FailureKind::Panicked);
        assert!(failure.during().unwrap().ends_with("Crash"));
        control.stop();
        running.await.unwrap().unwrap();
        assert_eq!(
            take(&log),
            [
                "start a",
                "start b",
                "stop a failed",
                "restart a",
                "start a",
                "stop b stopped",
                "stop a stopped"
            ]
        );
    });
}

#[test]
fn one_for_all_stops_the_others_in_reverse_and_starts_all_in_order() {
    runtime().block_on(async {
        let log = log();
        let (a_spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let (b_spec, b) = ChildSpec::actor("b", Worker::factory("b", &log));
        let (c_spec, c) = ChildSpec::actor("c", Worker::factory("c", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .strategy(Strategy::OneForAll)
            .child(a_spec)
            .child(b_spec)
            .child(c_spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        for r in [&a, &b, &c] {
            r.ask(Add(10)).await.unwrap();
        }
        take(&log);
        b.tell(Crash).await.unwrap();
        until(&ev, started("c")).await;
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "c"),
        )
        .await;
        for r in [&a, &b, &c] {
            assert_eq!(r.ask(Add(1)).await.unwrap(), 1, "{} restarted", r.name());
        }
        assert_eq!(
            take(&log),
            [
                "stop b failed",
                "stop c restarting",
                "stop a restarting",
                "restart a",
                "start a",
                "restart b",
                "start b",
                "restart c",
                "start c"
            ]
        );
        control.stop();
        running.await.unwrap().unwrap();
    });
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    runtime().block_on(async {
        let log = log();
        let (a_spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let (b_spec, b) = ChildSpec::actor("b", Worker::factory("b", &log));
        let (c_spec, c) = ChildSpec::actor("c", Worker::factory("c", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .strategy(Strategy::RestForOne)
            .child(a_spec)
            .child(b_spec)
            .child(c_spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        for r in [&a, &b, &c] {
            r.ask(Add(10)).await.unwrap();
        }
        b.tell(Crash).await.unwrap();
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "c"),
        )
        .await;
        assert_eq!(
            a.ask(Add(1)).await.unwrap(),
            11,
            "a was started before b: kept"
        );
        assert_eq!(b.ask(Add(1)).await.unwrap(), 1);
        assert_eq!(c.ask(Add(1)).await.unwrap(), 1);
        control.stop();
        running.await.unwrap().unwrap();
    });
}

#[test]
fn restart_types_decide_what_comes_back() {
    runtime().block_on(async {
        let log = log();
        let (p_spec, p) = ChildSpec::builder("p").actor(Worker::factory("p", &log));
        let (t_spec, t) = ChildSpec::builder("t")
            .restart(Restart::Transient)
            .actor(Worker::factory("t", &log));
        let (t2_spec, t2) = ChildSpec::builder("t2")
            .restart(Restart::Transient)
            .actor(Worker::factory("t2", &log));
        let (tmp_spec, tmp) = ChildSpec::builder("tmp")
            .restart(Restart::Temporary)
            .actor(Worker::factory("tmp", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .intensity(10, Duration::from_secs(60))
            .child(p_spec)
            .child(t_spec)
            .child(t2_spec)
            .child(tmp_spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());

        // Permanent: a normal end is restarted too.
        p.tell(Quit).await.unwrap();
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "p"),
        )
        .await;
        assert!(p.is_alive());
        // Transient: a normal end is final, a failure is restarted.
        t.tell(Quit).await.unwrap();
        assert_eq!(t.stopped().await, ExitReason::Normal);
        t2.tell(Crash).await.unwrap();
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "t2"),
        )
        .await;
        assert!(t2.is_alive());
        // Temporary: never restarted, even after a failure.
        tmp.tell(Crash).await.unwrap();
        assert!(tmp.stopped().await.is_failure());
        assert!(matches!(
            tmp.try_tell(Add(1)),
            Err(nimsync_actor::TellError::Stopped(_))
        ));
        let ids: Vec<_> = control
            .children()
            .await
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(ids, ["p", "t2"]);
        control.stop();
        running.await.unwrap().unwrap();
    });
}

#[test]
fn going_over_the_intensity_escalates_exactly_then_and_stops_children_in_reverse() {
    runtime().block_on(async {
        let log = log();
        let manual = ManualClock::new();
        let (a_spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let (b_spec, b) = ChildSpec::actor("b", Worker::factory("b", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .intensity(2, Duration::from_secs(10))
            .clock(manual.clock())
            .child(a_spec)
            .child(b_spec)
            .on_event(hook);
        let running = nimsync_scheduler::spawn(sup.run());
        // Two failures 6 s apart, then the first leaves the window.
        for restarts in 1..=2u64 {
            b.tell(Crash).await.unwrap();
            until(&ev, |e| matches!(e, SupervisorEvent::Started { child, restarts: r } if &**child == "b" && *r == restarts)).await;
            manual.advance(Duration::from_secs(6));
        }
        // At t = 12: the restart log holds t = 6 only. Two more fit...
        b.tell(Crash).await.unwrap();
        until(&ev, |e| matches!(e, SupervisorEvent::Started { child, restarts: 3 } if &**child == "b")).await;
        take(&log); // the Started event comes after the started hook

        // ...and a third within 10 s of t = 6 does not.
        b.tell(Crash).await.unwrap();
        let err = running.await.unwrap().unwrap_err();
        let SupervisorError::Escalated { supervisor, child, reason } = err else { panic!("{err:?}") };
        assert_eq!((&*supervisor, &*child), ("s", "b"));
        assert!(reason.is_failure());
        assert_eq!(take(&log), ["stop b failed", "stop a restarting"]);
        assert!(!a.is_alive() && !b.is_alive());
        assert_eq!(b.metrics().restarts, 3);
        let events: Vec<_> = ev.try_iter().collect();
        assert!(events.iter().any(|e| matches!(e, SupervisorEvent::Escalating { .. })));
    });
}

#[test]
fn intensity_zero_escalates_on_the_first_failure() {
    runtime().block_on(async {
        let log = log();
        let (spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let sup = Supervisor::new("strict")
            .intensity(0, Duration::from_secs(1))
            .child(spec);
        let running = nimsync_scheduler::spawn(sup.run());
        a.tell(Crash).await.unwrap();
        assert!(matches!(
            running.await.unwrap(),
            Err(SupervisorError::Escalated { .. })
        ));
        assert_eq!(a.metrics().restarts, 0);
    });
}

#[test]
#[should_panic(expected = "restart intensity window must be longer than zero")]
fn a_zero_intensity_window_is_refused() {
    let _ = Supervisor::new("s").intensity(1, Duration::ZERO);
}

#[test]
fn an_escalation_restarts_the_subtree_under_the_parent_and_refs_stay_valid() {
    runtime().block_on(async {
        let log = log();
        let (w_spec, w) = ChildSpec::actor("w", Worker::factory("w", &log));
        let inner = Supervisor::new("inner")
            .intensity(0, Duration::from_secs(1))
            .child(w_spec);
        let (inner_spec, _inner_ref) = ChildSpec::supervisor("inner", inner);
        let (hook, ev) = events();
        let outer = Supervisor::new("outer").child(inner_spec).on_event(hook);
        let control = outer.control();
        let running = nimsync_scheduler::spawn(outer.run());
        assert_eq!(w.ask(Add(3)).await.unwrap(), 3);
        w.tell(Crash).await.unwrap();
        let exited = until(&ev, |e| matches!(e, SupervisorEvent::Exited { .. })).await;
        let SupervisorEvent::Exited {
            reason: ExitReason::Failed(f),
            ..
        } = exited
        else {
            panic!("{exited:?}")
        };
        assert_eq!(f.kind(), FailureKind::Escalated);
        until(
            &ev,
            |e| matches!(e, SupervisorEvent::Started { child, restarts: 1 } if &**child == "inner"),
        )
        .await;
        // The same ref reaches the worker of the restarted subtree.
        assert_eq!(w.ask(Add(1)).await.unwrap(), 1);
        control.stop();
        running.await.unwrap().unwrap();
        assert!(!w.is_alive());
    });
}

#[test]
fn backoff_delays_double_on_the_clock_and_reset_after_a_healthy_run() {
    runtime().block_on(async {
        let log = log();
        let manual = ManualClock::new();
        let (spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .intensity(100, Duration::from_secs(1))
            .backoff(Backoff::new(Duration::from_millis(100), Duration::from_millis(350)).reset_after(Duration::from_secs(60)))
            .clock(manual.clock())
            .child(spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        for (n, expect_ms) in [(1u64, 100u64), (2, 200), (3, 350), (4, 350)] {
            let t0 = manual.now();
            a.tell(Crash).await.unwrap();
            let SupervisorEvent::RestartScheduled { at, .. } = until(&ev, scheduled("a")).await else { unreachable!() };
            assert_eq!(at - t0, Duration::from_millis(expect_ms), "restart {n}");
            // Not restarted before the delay: the supervisor sleeps on the clock.
            while manual.sleepers() == 0 {
                nimsync_scheduler::yield_now().await;
            }
            assert_eq!(manual.next_deadline(), Some(at));
            assert!(control.children().await.iter().all(|c| !c.running));
            manual.advance(at - manual.now());
            until(&ev, |e| matches!(e, SupervisorEvent::Started { child, restarts } if &**child == "a" && *restarts == n)).await;
        }
        // A run of 60 s resets the delay to the minimum.
        manual.advance(Duration::from_secs(60));
        let t0 = manual.now();
        a.tell(Crash).await.unwrap();
        let SupervisorEvent::RestartScheduled { at, .. } = until(&ev, scheduled("a")).await else { unreachable!() };
        assert_eq!(at - t0, Duration::from_millis(100));
        control.stop();
        running.await.unwrap().unwrap();
    });
}

/// An actor whose stop hook never returns.
struct Stuck;
impl nimsync_actor::Actor for Stuck {
    async fn stopped(&mut self, _: &mut nimsync_actor::Context<Self>, _: &ExitReason) {
        std::future::pending::<()>().await;
    }
}

#[test]
fn a_child_that_does_not_stop_in_time_is_killed() {
    runtime().block_on(async {
        let manual = ManualClock::new();
        let (spec, stuck) = ChildSpec::builder("stuck")
            .shutdown(Shutdown::Timeout(Duration::from_secs(2)))
            .actor(|| Stuck);
        let (hook, ev) = events();
        let sup = Supervisor::new("s")
            .clock(manual.clock())
            .child(spec)
            .on_event(hook);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        until(&ev, started("stuck")).await;
        control.stop();
        while manual.sleepers() == 0 {
            nimsync_scheduler::yield_now().await;
        }
        assert!(stuck.is_alive(), "still inside its stop hook");
        manual.advance(Duration::from_secs(2));
        running.await.unwrap().unwrap();
        assert_eq!(stuck.stopped().await, ExitReason::Killed);
    });
}

#[test]
fn a_supervisor_stopped_before_it_runs_starts_nothing() {
    runtime().block_on(async {
        let log = log();
        let (spec, a) = ChildSpec::actor("a", Worker::factory("a", &log));
        let app = nimsync_group::CancelToken::new();
        let sup = Supervisor::new("s").stop_on(&app).child(spec);
        app.cancel();
        assert_eq!(sup.run().await, Ok(()));
        assert!(take(&log).is_empty());
        assert_eq!(a.stopped().await, ExitReason::Stopped);
    });
}

#[test]
fn an_empty_supervisor_without_refs_returns_at_once() {
    runtime().block_on(async {
        assert_eq!(Supervisor::new("empty").run().await, Ok(()));
    });
}

#[test]
fn a_pool_restarts_a_failed_member_alone() {
    runtime().block_on(async {
        let log = log();
        let (sup, pool) = Supervisor::pool(
            "pool",
            2,
            nimsync_actor::Mailbox::default(),
            Worker::factory("m", &log),
        );
        let control = pool.supervisor().clone();
        let running = nimsync_scheduler::spawn(sup.run());
        // Round robin: member 0, member 1, member 0...
        assert_eq!(pool.ask(Add(1)).await.unwrap(), 1);
        assert_eq!(pool.ask(Add(1)).await.unwrap(), 1);
        assert_eq!(pool.ask(Add(1)).await.unwrap(), 2);
        assert!(pool.ask(Crash).await.is_err()); // member 1
        assert_eq!(
            pool.ask(Add(1)).await.unwrap(),
            3,
            "member 0 kept its state"
        );
        assert_eq!(pool.ask(Add(1)).await.unwrap(), 1, "member 1 was restarted");
        control.stop();
        running.await.unwrap().unwrap();
    });
}
