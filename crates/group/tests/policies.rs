//! Error policies, panics, result order and the concurrency limit.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{DropSlot, counters, gate, runtime, snapshot, wait_until, within};
use nimsync_group::{FailureKind, Policy, TaskFailure, TaskGroup};

fn failed_with<T: std::fmt::Debug>(result: &Result<T, TaskFailure<String>>, expected: &str) {
    match result {
        Err(TaskFailure {
            kind: FailureKind::Failed(e),
            ..
        }) => assert_eq!(e, expected),
        other => panic!("expected a failure with `{expected}`, got {other:?}"),
    }
}

fn panicked_with<T: std::fmt::Debug>(result: &Result<T, TaskFailure<String>>, expected: &str) {
    match result {
        Err(TaskFailure {
            kind: FailureKind::Panicked(msg),
            ..
        }) => assert_eq!(msg, expected),
        other => panic!("expected a panic with `{expected}`, got {other:?}"),
    }
}

/// Under fail-fast, one failing child (an `Err` or a panic) fails the
/// group: siblings stuck forever are aborted at the join and reported as
/// cancelled, and their futures are dropped before `join_all` returns.
fn fail_fast_aborts_stuck_siblings(panic: bool) {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u32, String>::builder().name("ff").build();
        let token = group.token().clone();
        let drops = counters(3);
        for i in 0..3 {
            let slot = DropSlot::new(i, &drops);
            group
                .spawn(async move {
                    let _slot = slot;
                    pending::<Result<u32, String>>().await
                })
                .unwrap();
        }
        // A sibling that finished before the failure keeps its value.
        let ok_done = gate();
        let ok_gate = ok_done.clone();
        group
            .spawn(async move {
                ok_gate.cancel();
                Ok(7)
            })
            .unwrap();
        let bad_id = group
            .spawn_named("bad", async move {
                ok_done.cancelled().await;
                if panic {
                    panic!("kaboom");
                }
                Err(String::from("broken"))
            })
            .unwrap();

        let spawner = group.spawner();
        let err = within("the fail-fast join", group.join_all())
            .await
            .unwrap_err();

        assert!(token.is_cancelled(), "a failure cancels the group's token");
        assert_eq!(
            snapshot(&drops),
            [1, 1, 1],
            "every stuck sibling's future is dropped once, before join_all returns"
        );
        assert_eq!(err.group(), Some("ff"));
        let failures = err.failures();
        assert_eq!(failures.len(), 4, "{err}");
        assert_eq!(failures[0].task.name.as_deref(), Some("bad"));
        assert_eq!(failures[0].task.id, bad_id);
        assert_eq!(failures[0].task.index, 4);
        if panic {
            assert!(failures[0].is_panic());
        } else {
            assert!(failures[0].is_failed());
        }
        assert!(failures[1..].iter().all(TaskFailure::is_cancelled));
        let mut cancelled: Vec<usize> = failures[1..].iter().map(|f| f.task.index).collect();
        cancelled.sort_unstable();
        assert_eq!(cancelled, [0, 1, 2]);
        let what = if panic {
            "panicked: kaboom"
        } else {
            "failed: broken"
        };
        assert_eq!(
            err.to_string(),
            format!(
                "task group `ff` failed: task `bad` (id {bad_id}, #4 in its group) {what}; 3 cancelled"
            )
        );
        // A spawner kept past the join does not keep the group open.
        assert!(spawner.spawn(async { Ok(1) }).is_err());
    });
}

#[test]
fn fail_fast_error_aborts_stuck_siblings() {
    fail_fast_aborts_stuck_siblings(false);
}

#[test]
fn fail_fast_panic_aborts_stuck_siblings() {
    fail_fast_aborts_stuck_siblings(true);
}

#[test]
fn fail_fast_metrics_count_each_outcome() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u32, String>::new();
        let ok_done = gate();
        let ok_gate = ok_done.clone();
        group
            .spawn(async move {
                ok_gate.cancel();
                Ok(1)
            })
            .unwrap();
        group.spawn(pending()).unwrap();
        group
            .spawn(async move {
                ok_done.cancelled().await;
                Err(String::from("no"))
            })
            .unwrap();
        let mut group = group;
        let mut seen = Vec::new();
        while let Some(r) = within("join_next", group.join_next()).await {
            seen.push(r.map_err(|f| f.is_cancelled()));
        }
        seen.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(seen, [Err(false), Err(true), Ok(1)]);
        let m = group.metrics();
        assert_eq!(
            (m.spawned, m.completed, m.failed, m.cancelled),
            (3, 1, 1, 1)
        );
    });
}

/// The token is cancelled the moment a child fails, before anyone joins:
/// a sibling waiting on it sees it while the owner is still busy.
fn fail_fast_cancels_before_the_join(panic: bool) {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<&'static str, String>::new();
        let token = group.token().clone();
        let observed = gate();
        let observer = observed.clone();
        group
            .spawn(async move {
                token.cancelled().await;
                observer.cancel();
                Ok("saw the cancellation")
            })
            .unwrap();
        group
            .spawn(async move {
                if panic {
                    panic!("early");
                }
                Err(String::from("early"))
            })
            .unwrap();

        within(
            "the sibling to observe the cancellation",
            observed.cancelled(),
        )
        .await;
        assert!(group.token().is_cancelled());
        assert_eq!(
            group.metrics().failed,
            0,
            "nothing was joined yet: the cancellation came from the child"
        );

        let results = within("join_all_results", group.join_all_results()).await;
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].as_ref().unwrap(), &"saw the cancellation");
        if panic {
            panicked_with(&results[1], "early");
        } else {
            failed_with(&results[1], "early");
        }
    });
}

#[test]
fn fail_fast_error_cancels_token_before_the_owner_joins() {
    fail_fast_cancels_before_the_join(false);
}

#[test]
fn fail_fast_panic_cancels_token_before_the_owner_joins() {
    fail_fast_cancels_before_the_join(true);
}

#[test]
fn fail_fast_leads_with_the_failure_that_cancelled_the_group() {
    // Child #0 stops with an error of its own once it sees the group
    // cancelled (the cooperative pattern the token is for); child #1 is the
    // real cause. The group error must lead with the cause: the docs say
    // "the one that failed first comes first".
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<(), String>::builder().name("fetch").build();
        let token = group.token().clone();
        let stopped = gate();
        let stopped_gate = stopped.clone();
        group
            .spawn_named("follower", async move {
                token.cancelled().await;
                stopped_gate.cancel();
                Err(String::from("stopped: the group was cancelled"))
            })
            .unwrap();
        let cause = group
            .spawn_named("cause", async { Err(String::from("connection refused")) })
            .unwrap();
        // Both have failed (in this order) before the owner joins.
        within("the follower to stop", stopped.cancelled()).await;
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(err.failures().len(), 2, "{err}");
        assert_eq!(
            err.failures()[0].task.id,
            cause,
            "the first failure listed must be the one that failed the group, got: {err}"
        );
    });
}

#[test]
fn collect_errors_keeps_everything_and_cancels_nobody() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u32, String>::builder()
            .name("collect")
            .policy(Policy::CollectErrors)
            .build();
        let token = group.token().clone();
        // The slow success waits until every failure has happened: a
        // fail-fast group would have aborted it.
        let failures_done = Arc::new(AtomicUsize::new(0));
        let all_failed = gate();
        let bump = {
            let failures_done = Arc::clone(&failures_done);
            let all_failed = all_failed.clone();
            move || {
                if failures_done.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                    all_failed.cancel();
                }
            }
        };
        group.spawn(async { Ok(1) }).unwrap();
        let b = bump.clone();
        group
            .spawn(async move {
                b();
                Err(String::from("e1"))
            })
            .unwrap();
        let b = bump.clone();
        group
            .spawn(async move {
                b();
                panic!("p1")
            })
            .unwrap();
        let t = token.clone();
        group
            .spawn(async move {
                all_failed.cancelled().await;
                assert!(!t.is_cancelled(), "collect-errors cancelled the token");
                Ok(4)
            })
            .unwrap();
        let b = bump;
        group
            .spawn(async move {
                b();
                Err(String::from("e2"))
            })
            .unwrap();

        let results = within("join_all_results", group.join_all_results()).await;
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].as_ref().unwrap(), &1);
        failed_with(&results[1], "e1");
        panicked_with(&results[2], "p1");
        assert_eq!(results[3].as_ref().unwrap(), &4);
        failed_with(&results[4], "e2");
        assert!(!token.is_cancelled());
    });
}

#[test]
fn collect_errors_join_all_reports_every_failure() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u32, String>::builder()
            .name("collect")
            .policy(Policy::CollectErrors)
            .build();
        group.spawn(async { Ok(1) }).unwrap();
        group.spawn(async { Err(String::from("e1")) }).unwrap();
        group.spawn(async { panic!("p1") }).unwrap();
        group.spawn(async { Ok(4) }).unwrap();
        group.spawn(async { Err(String::from("e2")) }).unwrap();
        let spawner = group.spawner();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        let mut kinds: Vec<String> = err
            .failures()
            .iter()
            .map(|f| match &f.kind {
                FailureKind::Failed(e) => format!("failed {e} #{}", f.task.index),
                FailureKind::Panicked(m) => format!("panicked {m} #{}", f.task.index),
                FailureKind::Cancelled => format!("cancelled #{}", f.task.index),
            })
            .collect();
        kinds.sort();
        assert_eq!(kinds, ["failed e1 #1", "failed e2 #4", "panicked p1 #2"]);
        assert!(err.to_string().ends_with("; 2 more failed"), "{err}");
        assert!(!spawner.token().is_cancelled());
    });
}

#[test]
fn ignore_errors_keeps_successes_and_counts_failures() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<u32, String>::builder()
            .policy(Policy::IgnoreErrors)
            .build();
        let token = group.token().clone();
        group.spawn(async { Ok(1) }).unwrap();
        group.spawn(async { Err(String::from("e")) }).unwrap();
        group.spawn(async { panic!("p") }).unwrap();
        group.spawn_ok(async { 2 }).unwrap();
        // The counters follow the joins.
        for _ in 0..4 {
            within("join_next", group.join_next()).await.unwrap().ok();
        }
        assert!(group.join_next().await.is_none());
        let m = group.metrics();
        assert_eq!(
            (m.spawned, m.completed, m.failed, m.cancelled),
            (4, 2, 2, 0),
            "the panic counts as a failure"
        );
        assert!(!token.is_cancelled());

        let group = TaskGroup::<u32, String>::builder()
            .policy(Policy::IgnoreErrors)
            .build();
        group.spawn(async { Ok(1) }).unwrap();
        group.spawn(async { Err(String::from("e")) }).unwrap();
        group.spawn(async { panic!("p") }).unwrap();
        group.spawn_ok(async { 2 }).unwrap();
        let spawner = group.spawner();
        let values = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(values, [1, 2], "successes only, in spawn order");
        assert!(!spawner.token().is_cancelled());
    });
}

#[test]
fn join_next_returns_results_in_finishing_order() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<usize>::new();
        let gates: Vec<_> = (0..5).map(|_| gate()).collect();
        for (i, g) in gates.iter().enumerate() {
            let g = g.clone();
            group
                .spawn_ok(async move {
                    g.cancelled().await;
                    i
                })
                .unwrap();
        }
        // Only the child whose gate is open can finish, so each join must
        // return exactly that one; a join in spawn order would hang on #0.
        for i in [3, 1, 4, 0, 2] {
            gates[i].cancel();
            let got = within("the child whose gate was opened", group.join_next())
                .await
                .expect("children are left")
                .unwrap();
            assert_eq!(got, i);
        }
        assert!(group.join_next().await.is_none());
        assert!(group.join_next().await.is_none(), "None again when empty");
    });
}

#[test]
fn join_all_returns_spawn_order_whatever_the_finishing_order() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<usize>::new();
        let n = 6;
        let gates: Vec<_> = (0..n).map(|_| gate()).collect();
        let finished = Arc::new(Mutex::new(Vec::new()));
        for i in 0..n {
            let mine = gates[i].clone();
            let next = (i > 0).then(|| gates[i - 1].clone());
            let finished = Arc::clone(&finished);
            group
                .spawn_ok(async move {
                    mine.cancelled().await;
                    finished.lock().unwrap().push(i);
                    if let Some(next) = next {
                        next.cancel();
                    }
                    i * 10
                })
                .unwrap();
        }
        gates[n - 1].cancel();
        let values = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(values, [0, 10, 20, 30, 40, 50]);
        assert_eq!(
            *finished.lock().unwrap(),
            [5, 4, 3, 2, 1, 0],
            "the children ran last to first"
        );
    });
}

#[test]
fn join_all_after_join_next_returns_the_rest() {
    // Mixing the two is natural: take the first result as soon as it is
    // there, then wait for the others. `join_all` must return the results
    // not yet joined (in spawn order), not panic.
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<usize>::new();
        let first = gate();
        let f = first.clone();
        group
            .spawn_ok(async move {
                f.cancelled().await;
                0
            })
            .unwrap();
        group.spawn_ok(async { 1 }).unwrap();
        group.spawn_ok(async { 2 }).unwrap();
        let got = within("join_next", group.join_next())
            .await
            .unwrap()
            .unwrap();
        assert!(got == 1 || got == 2);
        first.cancel();
        let rest = within("join_all", group.join_all()).await.unwrap();
        let expected: Vec<usize> = [0, 1, 2].into_iter().filter(|v| *v != got).collect();
        assert_eq!(rest, expected);
    });
}

#[test]
fn limit_bounds_the_children_running_at_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 10;
        let group = TaskGroup::<usize>::builder().limit(2).build();
        let running = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        for i in 0..N {
            let (running, max, started) =
                (Arc::clone(&running), Arc::clone(&max), Arc::clone(&started));
            group
                .spawn_ok(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    started.fetch_add(1, Ordering::SeqCst);
                    // Stay until a second child runs alongside, or until no
                    // other child is left to start: every child overlaps
                    // with another when the limit allows two.
                    wait_until("a second child to run alongside", || {
                        running.load(Ordering::SeqCst) >= 2 || started.load(Ordering::SeqCst) == N
                    })
                    .await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
                .unwrap();
        }
        let values = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(values, (0..N).collect::<Vec<_>>(), "all ten completed");
        assert_eq!(
            max.load(Ordering::SeqCst),
            2,
            "at most two at once, and two did overlap"
        );
    });
}

#[test]
fn limit_hands_every_freed_permit_to_a_waiter() {
    // Two children hold both permits and finish together; the two queued
    // behind them must then both run. Each of those waits for the other, so
    // a permit left free while a child is queued for it is a hang. The race
    // between the two releases is timing-dependent, hence the rounds.
    let rt = runtime();
    for round in 0..200 {
        rt.block_on(async {
            let group = TaskGroup::<()>::builder().limit(2).build();
            let started = Arc::new(AtomicUsize::new(0));
            let first_two_in = gate();
            let release = gate();
            let arrived = Arc::new(AtomicUsize::new(0));
            let pair = gate();
            for _ in 0..4 {
                let (started, first_two_in, release, arrived, pair) = (
                    Arc::clone(&started),
                    first_two_in.clone(),
                    release.clone(),
                    Arc::clone(&arrived),
                    pair.clone(),
                );
                group
                    .spawn_ok(async move {
                        if started.fetch_add(1, Ordering::SeqCst) < 2 {
                            if started.load(Ordering::SeqCst) >= 2 {
                                first_two_in.cancel();
                            }
                            release.cancelled().await;
                        } else {
                            if arrived.fetch_add(1, Ordering::SeqCst) == 1 {
                                pair.cancel();
                            }
                            pair.cancelled().await;
                        }
                    })
                    .unwrap();
            }
            within(
                "the first two children to hold the permits",
                first_two_in.cancelled(),
            )
            .await;
            release.cancel();
            // Keep the join alive past a timeout, so that the counts below
            // are read before dropping the group frees the permits.
            let mut join = Box::pin(group.join_all());
            if nimsync_time::timeout(common::PATIENCE, &mut join)
                .await
                .is_err()
            {
                panic!(
                    "round {round}: a child is queued for a permit while one is free \
                     ({} children started, {} of the last two got a permit)",
                    started.load(Ordering::SeqCst),
                    arrived.load(Ordering::SeqCst),
                );
            }
        });
    }
}

#[test]
fn a_join_next_dropped_midway_loses_no_result() {
    // `join_next` raced against something else (a timeout, a select) may
    // be dropped after its first poll. Here it is polled once per round
    // with the task's cooperative budget spent, so that awaiting the
    // finished child's handle has to wait for the next poll; the future
    // is then dropped. Whatever the round, the child's failure must still
    // come out of a later join.
    let rt = runtime();
    let outcome = rt.block_on(async {
        nimsync_scheduler::spawn(async {
            let mut group = TaskGroup::<u8, &'static str>::new();
            let returned = gate();
            let r = returned.clone();
            group
                .spawn(async move {
                    r.cancel();
                    Err("the only failure")
                })
                .unwrap();
            let mut seen = Vec::new();
            for _ in 0..200 {
                // A fresh budget per poll of this task...
                nimsync_scheduler::yield_now().await;
                // ...spent to the last unit, without yielding.
                for _ in 0..128 {
                    nimsync_scheduler::task::consume_budget().await;
                }
                let polled = futures_lite::future::poll_once(group.join_next()).await;
                if let Some(Some(joined)) = polled {
                    seen.push(joined);
                }
            }
            assert!(returned.is_cancelled(), "the child never ran");
            while let Some(joined) = group.join_next().await {
                seen.push(joined);
            }
            seen.into_iter()
                .map(|r| r.map_err(|f| f.into_error()))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap()
    });
    assert_eq!(
        outcome,
        [Err(Some("the only failure"))],
        "a child's result was lost when a join_next was dropped"
    );
}
