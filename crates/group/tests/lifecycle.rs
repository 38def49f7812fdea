//! Spawning into closed groups, dropping groups and scopes, `scope`, and
//! `Spawner`.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{DropSlot, churn, counters, gate, runtime, snapshot, wait_until, within};
use futures_lite::future;
use nimsync_group::{CancelToken, Policy, SpawnError, Spawner, TaskGroup, scope, scope_with};

/// The spawner of the scopes below, whose children cannot fail.
type Nursery<T> = Spawner<T, Infallible>;

const CLOSED: &str = "spawning into a closed task group";
const CANCELLED: &str = "spawning into a cancelled task group";

fn refused<T: std::fmt::Debug>(result: Result<T, SpawnError>) -> String {
    let err = result.expect_err("the spawn was accepted");
    let text = err.to_string();
    // It is a `std::error::Error` too.
    let _: &dyn std::error::Error = &err;
    text
}

#[test]
fn spawning_after_join_all_through_a_kept_spawner_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8>::new();
        let spawner = group.spawner();
        spawner.spawn_ok(async { 1 }).unwrap();
        assert_eq!(within("join_all", group.join_all()).await.unwrap(), [1]);
        assert_eq!(refused(spawner.spawn_ok(async { 2 })), CLOSED);
        assert_eq!(refused(spawner.spawn(async { Ok(2) })), CLOSED);
        assert_eq!(
            refused(spawner.spawn_named("late", async { Ok(2) })),
            CLOSED
        );
        assert!(
            !spawner.token().is_cancelled(),
            "a group that succeeded is closed, not cancelled"
        );
    });
}

#[test]
fn spawning_after_join_all_results_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8, ()>::builder()
            .policy(Policy::CollectErrors)
            .build();
        let spawner = group.spawner();
        group.spawn(async { Err(()) }).unwrap();
        let results = within("join_all_results", group.join_all_results()).await;
        assert!(results[0].is_err());
        assert_eq!(refused(spawner.spawn_ok(async { 2 })), CLOSED);
    });
}

#[test]
fn spawning_into_a_dropped_group_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8>::new();
        let spawner = group.spawner();
        drop(group);
        assert_eq!(refused(spawner.spawn_ok(async { 2 })), CLOSED);
    });
}

#[test]
fn spawning_after_a_fail_fast_failure_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<u8, &'static str>::new();
        let spawner = group.spawner();
        group.spawn(async { Err("first") }).unwrap();
        // The failure cancels the token as soon as the child returns, before
        // any join: spawns are refused from then on.
        within("the failure to cancel the group", group.token().cancelled()).await;
        assert_eq!(refused(group.spawn_ok(async { 1 })), CANCELLED);
        assert_eq!(refused(spawner.spawn_ok(async { 1 })), CANCELLED);
        let failure = within("join_next", group.join_next())
            .await
            .unwrap()
            .unwrap_err();
        assert!(failure.is_failed());
        // After the failing join, still refused (closed and cancelled).
        let text = refused(spawner.spawn_ok(async { 1 }));
        assert!(text == CANCELLED || text == CLOSED, "{text}");
        assert!(group.join_next().await.is_none());
        assert_eq!(group.metrics().spawned, 1);
    });
}

#[test]
fn spawning_after_the_token_was_cancelled_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8>::new();
        group.token().cancel();
        assert_eq!(refused(group.spawn_ok(async { 1 })), CANCELLED);
        assert_eq!(refused(group.spawner().spawn_ok(async { 1 })), CANCELLED);
        assert_eq!(
            within("join_all", group.join_all()).await.unwrap(),
            Vec::<u8>::new()
        );

        // The same when the cancel comes from the parent token.
        let parent = CancelToken::new();
        let group = TaskGroup::<u8>::builder().parent(&parent).build();
        group.spawn_ok(async { 1 }).unwrap();
        parent.cancel();
        assert_eq!(refused(group.spawn_ok(async { 2 })), CANCELLED);
        assert_eq!(within("join_all", group.join_all()).await.unwrap(), [1]);
    });
}

#[test]
fn spawning_on_a_runtime_that_shut_down_does_not_hang() {
    // The runtime drops a task spawned after its shutdown at once, inside
    // the spawn call: the child's end is then reported while the group is
    // in the middle of registering it.
    let rt = runtime();
    let group = TaskGroup::<u8>::builder().handle(rt.handle()).build();
    drop(rt);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let spawned = group.spawn_ok(async { 1 });
        let joined = spawned
            .is_ok()
            .then(|| futures_lite::future::block_on(group.join_all_results()));
        tx.send((spawned.is_ok(), joined.map(|r| r.len()))).unwrap();
    });
    let (accepted, joined) = rx
        .recv_timeout(common::PATIENCE)
        .expect("spawning into a group whose runtime has shut down deadlocked");
    if accepted {
        assert_eq!(joined, Some(1), "an accepted child is joined, as cancelled");
    }
}

/// The children of [`dropped_group_drops_each_child_once`] and the scope
/// tests: count their drops in `drops`, and count every poll in `polls`.
fn busy_child(
    index: usize,
    drops: &Arc<Vec<AtomicUsize>>,
    polls: &Arc<AtomicUsize>,
    started: &Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static {
    let slot = DropSlot::new(index, drops);
    let (polls, started) = (Arc::clone(polls), Arc::clone(started));
    async move {
        let _slot = slot;
        started.fetch_add(1, Ordering::SeqCst);
        loop {
            polls.fetch_add(1, Ordering::SeqCst);
            nimsync_scheduler::yield_now().await;
        }
    }
}

/// Waits until every child future was dropped, checks each was dropped
/// once, then lets the runtime work and checks no child ran meanwhile.
async fn all_dropped_and_still(drops: &[AtomicUsize], polls: &AtomicUsize) {
    wait_until("every child future was dropped", || {
        drops.iter().all(|d| d.load(Ordering::SeqCst) >= 1)
    })
    .await;
    let before = polls.load(Ordering::SeqCst);
    churn().await;
    assert_eq!(
        polls.load(Ordering::SeqCst),
        before,
        "a child ran after its future was dropped"
    );
    assert!(
        snapshot(drops).iter().all(|d| *d == 1),
        "each child future is dropped exactly once: {:?}",
        snapshot(drops)
    );
}

#[test]
fn dropped_group_drops_each_child_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 8;
        // With a limit, some children run and the others wait for a permit
        // (their futures not polled yet): both kinds must be dropped.
        let group = TaskGroup::<()>::builder().limit(3).build();
        let token = group.token().clone();
        let drops = counters(N);
        let polls = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        for i in 0..N {
            group
                .spawn_ok(busy_child(i, &drops, &polls, &started))
                .unwrap();
        }
        wait_until("three children run", || started.load(Ordering::SeqCst) == 3).await;
        drop(group);
        assert!(token.is_cancelled(), "dropping a group cancels its token");
        all_dropped_and_still(&drops, &polls).await;
    });
}

#[test]
fn dropped_group_drops_children_that_never_started() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 5;
        let group = TaskGroup::<()>::new();
        let drops = counters(N);
        for i in 0..N {
            let slot = DropSlot::new(i, &drops);
            group
                .spawn_ok(async move {
                    let _slot = slot;
                    std::future::pending::<()>().await;
                })
                .unwrap();
        }
        drop(group);
        wait_until("every child future was dropped", || {
            snapshot(&drops).iter().all(|d| *d >= 1)
        })
        .await;
        churn().await;
        assert_eq!(snapshot(&drops), [1; N]);
    });
}

#[test]
fn scope_dropped_in_its_body_drops_each_child_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 6;
        let drops = counters(N);
        let polls = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (d, p, s) = (drops.clone(), polls.clone(), started.clone());
        let all_started = {
            let started = Arc::clone(&started);
            async move {
                wait_until("every child started", || {
                    started.load(Ordering::SeqCst) == N
                })
                .await;
                "raced"
            }
        };
        let scoped = async move {
            scope(|spawner: Nursery<()>| async move {
                for i in 0..N {
                    spawner.spawn_ok(busy_child(i, &d, &p, &s)).unwrap();
                }
                // The body never ends: the scope is dropped in it.
                std::future::pending::<()>().await;
            })
            .await
            .map(|_| "scope ended")
            .unwrap_or("scope failed")
        };
        assert_eq!(
            within("the race", future::or(scoped, all_started)).await,
            "raced"
        );
        all_dropped_and_still(&drops, &polls).await;
    });
}

#[test]
fn scope_dropped_while_joining_drops_each_child_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 6;
        let drops = counters(N);
        let polls = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (d, p, s) = (drops.clone(), polls.clone(), started.clone());
        let mut scoped = Box::pin(scope(|spawner: Nursery<()>| async move {
            for i in 0..N {
                spawner.spawn_ok(busy_child(i, &d, &p, &s)).unwrap();
            }
            "body done"
        }));
        // The first poll runs the body to its end; the scope then waits for
        // the children, which never end.
        assert!(future::poll_once(&mut scoped).await.is_none());
        wait_until("every child started", || {
            started.load(Ordering::SeqCst) == N
        })
        .await;
        assert!(future::poll_once(&mut scoped).await.is_none());
        drop(scoped);
        all_dropped_and_still(&drops, &polls).await;
    });
}

#[test]
fn scope_polled_once_then_dropped_drops_each_child_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 4;
        let drops = counters(N);
        let polls = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (d, p, s) = (drops.clone(), polls.clone(), started.clone());
        let mut scoped = Box::pin(scope(|spawner: Nursery<()>| async move {
            for i in 0..N {
                spawner.spawn_ok(busy_child(i, &d, &p, &s)).unwrap();
            }
            std::future::pending::<()>().await;
        }));
        assert!(future::poll_once(&mut scoped).await.is_none());
        drop(scoped);
        all_dropped_and_still(&drops, &polls).await;
    });
}

#[test]
fn scope_returns_the_body_value_and_results_in_spawn_order() {
    let rt = runtime();
    rt.block_on(async {
        let gates: Vec<CancelToken> = (0..4).map(|_| gate()).collect();
        let finished = Arc::new(Mutex::new(Vec::new()));
        let g = gates.clone();
        let f = Arc::clone(&finished);
        let (label, values) = within(
            "the scope",
            scope(|spawner| async move {
                for i in 0..4 {
                    let mine = g[i].clone();
                    let next = (i > 0).then(|| g[i - 1].clone());
                    let f = Arc::clone(&f);
                    spawner
                        .spawn(async move {
                            mine.cancelled().await;
                            f.lock().unwrap().push(i);
                            if let Some(next) = next {
                                next.cancel();
                            }
                            Ok::<_, std::io::Error>(i * 100)
                        })
                        .unwrap();
                }
                g[3].cancel();
                "body"
            }),
        )
        .await
        .unwrap();
        assert_eq!(label, "body");
        assert_eq!(values, [0, 100, 200, 300]);
        assert_eq!(*finished.lock().unwrap(), [3, 2, 1, 0]);
    });
}

#[test]
fn scope_waits_for_children_spawned_by_children() {
    let rt = runtime();
    rt.block_on(async {
        // The deepest child waits for a gate that a detached task opens
        // after a while: the scope must still be waiting then.
        let late = gate();
        let opener = {
            let late = late.clone();
            nimsync_scheduler::spawn(async move {
                churn().await;
                late.cancel();
            })
        };
        let (out, mut values) = within(
            "the scope",
            scope(|spawner: Nursery<i32>| async move {
                let s1 = spawner.clone();
                spawner
                    .spawn_ok(async move {
                        let s2 = s1.clone();
                        s1.spawn_ok(async move {
                            s2.spawn_ok(async move {
                                late.cancelled().await;
                                4
                            })
                            .unwrap();
                            3
                        })
                        .unwrap();
                        2
                    })
                    .unwrap();
                spawner.spawn_ok(async { 1 }).unwrap();
                0
            }),
        )
        .await
        .unwrap();
        assert_eq!(out, 0);
        values.sort_unstable();
        assert_eq!(values, [1, 2, 3, 4], "the deepest child was waited for");
        opener.await.unwrap();
    });
}

#[test]
fn scope_with_a_failing_child_returns_the_group_error() {
    let rt = runtime();
    rt.block_on(async {
        let err = within(
            "the scope",
            scope_with(
                TaskGroup::<u8, String>::builder().name("nursery"),
                |spawner| async move {
                    spawner.spawn(std::future::pending()).unwrap();
                    spawner
                        .spawn_named("bad", async { Err(String::from("no")) })
                        .unwrap();
                },
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(err.group(), Some("nursery"));
        assert_eq!(err.failures().len(), 2);
        assert!(err.failures()[0].is_failed());
        assert!(err.failures()[1].is_cancelled());
    });
}

#[test]
fn spawner_works_from_inside_a_child() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<usize, String>::new();
        let spawner = group.spawner();
        let seen_token = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&seen_token);
        group
            .spawn(async move {
                // A child spawns siblings: they belong to the same group and
                // see the same token.
                for i in 1..=3 {
                    let token = spawner.token().clone();
                    let seen = Arc::clone(&seen);
                    spawner
                        .spawn(async move {
                            if !token.is_cancelled() {
                                seen.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(i)
                        })
                        .map_err(|e| e.to_string())?;
                }
                assert_eq!(spawner.metrics().spawned, 4);
                Ok(0)
            })
            .unwrap();
        let values = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(values, [0, 1, 2, 3], "spawn order");
        assert_eq!(seen_token.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn a_spawn_racing_the_end_of_join_all_is_joined_or_refused() {
    // A spawner on another thread keeps adding children while `join_all`
    // runs. Every spawn that was accepted must be in the results: a spawn
    // may land after the join saw no child left but before it closed the
    // group; such a child must not be accepted and then silently aborted.
    let rt = runtime();
    for round in 0..1000 {
        rt.block_on(async {
            let group = TaskGroup::<usize>::new();
            let token = group.token().clone();
            let spawner = group.spawner();
            let first = gate();
            let f = first.clone();
            let feeder = std::thread::spawn(move || {
                let mut accepted = 0;
                for i in 0..100_000 {
                    match spawner.spawn_ok(async move { i }) {
                        Ok(_) => accepted += 1,
                        Err(_) => return accepted,
                    }
                    f.cancel();
                    std::thread::yield_now();
                }
                accepted
            });
            within("the first spawn", first.cancelled()).await;
            let results = within("join_all", group.join_all()).await.unwrap();
            let accepted = feeder.join().unwrap();
            assert_eq!(
                results.len(),
                accepted,
                "round {round}: {} accepted children were never joined",
                accepted - results.len()
            );
            assert!(
                !token.is_cancelled(),
                "round {round}: a group that joined successfully was cancelled"
            );
        });
    }
}
