//! The concurrency limit: children are admitted in spawn order, whichever
//! worker polls them first, and a child dropped while it waits for its
//! turn gives its place up without holding back the ones behind it.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{gate, runtime, wait_until, within};
use nimsync_group::{FailureKind, Policy, TaskGroup};

/// How many neighbours in `order` (the spawn indices of the children in
/// the order they started) are out of spawn order.
fn inversions(order: &[usize]) -> usize {
    order.windows(2).filter(|w| w[0] > w[1]).count()
}

/// Spawns `n` children into a group with limit 1, each recording its spawn
/// index when it starts, and returns the order in which they started.
async fn start_order_with_limit_one(n: usize) -> Vec<usize> {
    let group = TaskGroup::<()>::builder().limit(1).build();
    let order = Arc::new(Mutex::new(Vec::with_capacity(n)));
    for i in 0..n {
        let order = Arc::clone(&order);
        group
            .spawn_ok(async move { order.lock().unwrap().push(i) })
            .unwrap();
    }
    within("join_all", group.join_all()).await.unwrap();
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), n, "every child ran once");
    order
}

#[test]
fn limit_one_starts_children_spawned_from_block_on_in_spawn_order() {
    // Children spawned from `block_on` (not a worker) go to the runtime's
    // shared queue, where both workers take them: the child polled first
    // is not always the one spawned first. Its place in the limit's queue
    // was taken at spawn, so it must still wait for its elders.
    const ROUNDS: usize = 10;
    const CHILDREN: usize = 2_000;
    let rt = runtime();
    let per_round: Vec<usize> = (0..ROUNDS)
        .map(|_| inversions(&rt.block_on(start_order_with_limit_one(CHILDREN))))
        .collect();
    assert!(
        per_round.iter().all(|n| *n == 0),
        "children started out of spawn order; inversions per round: {per_round:?}"
    );
}

#[test]
fn limit_one_starts_children_spawned_from_a_task_in_spawn_order() {
    // The same from inside a task, whose spawns go to its worker's own
    // queue, where the other worker steals them.
    let rt = runtime();
    let per_round: Vec<usize> = (0..4)
        .map(|_| {
            rt.block_on(async {
                let order = nimsync_scheduler::spawn(start_order_with_limit_one(2_000))
                    .await
                    .unwrap();
                inversions(&order)
            })
        })
        .collect();
    assert!(
        per_round.iter().all(|n| *n == 0),
        "children started out of spawn order; inversions per round: {per_round:?}"
    );
}

#[test]
fn a_larger_limit_admits_children_in_spawn_order() {
    // With limit 3, three children hold the permits and stay until told;
    // the rest queue. Each release then admits exactly the oldest waiter:
    // one child is let go at a time, and the next one to start must be the
    // next in spawn order.
    const N: usize = 40;
    const LIMIT: usize = 3;
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<()>::builder().limit(LIMIT).build();
        let started = Arc::new(Mutex::new(Vec::new()));
        let gates: Vec<_> = (0..N).map(|_| gate()).collect();
        for (i, g) in gates.iter().enumerate() {
            let (started, g) = (Arc::clone(&started), g.clone());
            group
                .spawn_ok(async move {
                    started.lock().unwrap().push(i);
                    g.cancelled().await;
                })
                .unwrap();
        }
        let count = || started.lock().unwrap().len();
        wait_until("the first children to take the permits", || {
            count() == LIMIT
        })
        .await;
        for (i, g) in gates.iter().enumerate() {
            g.cancel();
            let expected = (i + LIMIT + 1).min(N);
            wait_until("a released permit to admit a waiter", || {
                count() == expected
            })
            .await;
            // Nothing more can start until the next gate opens.
            nimsync_scheduler::yield_now().await;
            assert_eq!(count(), expected);
        }
        within("join_all", group.join_all()).await.unwrap();
        let started = started.lock().unwrap().clone();
        let mut first = started[..LIMIT].to_vec();
        first.sort_unstable();
        assert_eq!(first, (0..LIMIT).collect::<Vec<_>>());
        assert_eq!(
            &started[LIMIT..],
            (LIMIT..N).collect::<Vec<_>>(),
            "waiters admitted out of spawn order"
        );
    });
}

#[test]
fn aborted_waiters_let_the_shields_queued_behind_them_run() {
    // Limit 1: a child holds the permit, fifty unshielded children queue
    // behind it, then ten shielded ones. The first child fails; fail-fast
    // aborts the fifty (one of them may be handed the permit just as it is
    // aborted) but never the shields, which must then all run, in spawn
    // order, and the join must reap every child.
    const WAITERS: usize = 50;
    const SHIELDS: usize = 10;
    let rt = runtime();
    for _ in 0..20 {
        rt.block_on(async {
            let group = TaskGroup::<usize, &str>::builder()
                .policy(Policy::FailFast)
                .limit(1)
                .build();
            let spawner = group.spawner();
            let go = gate();
            let holding = gate();
            let (g, h) = (go.clone(), holding.clone());
            group
                .spawn(async move {
                    h.cancel();
                    g.cancelled().await;
                    Err("the holder failed")
                })
                .unwrap();
            for i in 0..WAITERS {
                group
                    .spawn(async move {
                        // Admitted only after the failure (which cancelled
                        // the token before the permit was released): stays
                        // until aborted.
                        pending::<()>().await;
                        Ok(i)
                    })
                    .unwrap();
            }
            let shields_ran = Arc::new(Mutex::new(Vec::new()));
            for i in 0..SHIELDS {
                let ran = Arc::clone(&shields_ran);
                group
                    .spawn_shielded(async move {
                        ran.lock().unwrap().push(i);
                        Ok(i)
                    })
                    .unwrap();
            }
            within("the first child to hold the permit", holding.cancelled()).await;
            go.cancel();
            let err = within("join_all", group.join_all()).await.unwrap_err();
            assert!(
                matches!(
                    &err.failures()[0].kind,
                    FailureKind::Failed(e) if *e == "the holder failed"
                ),
                "the holder's failure leads: {err}"
            );
            assert_eq!(
                *shields_ran.lock().unwrap(),
                (0..SHIELDS).collect::<Vec<_>>(),
                "the shields behind the aborted waiters ran in spawn order"
            );
            let m = spawner.metrics();
            let m = [m.spawned, m.completed, m.failed, m.cancelled].map(|v| v as usize);
            let m = (m[0], m[1], m[2], m[3]);
            assert_eq!(
                m,
                (1 + WAITERS + SHIELDS, SHIELDS, 1, WAITERS),
                "every child reaped"
            );
        });
    }
}

#[test]
fn a_dropped_group_passes_the_permit_to_a_shield_behind_its_waiters() {
    // The group is dropped, not joined: its waiting children are aborted
    // and their futures dropped on the workers, each giving up its place
    // (or the permit it was just handed). The detached shield queued behind
    // them must still get the permit and run.
    let rt = runtime();
    for _ in 0..20 {
        rt.block_on(async {
            let group = TaskGroup::<()>::builder().limit(1).build();
            let holding = gate();
            let h = holding.clone();
            group
                .spawn_ok(async move {
                    h.cancel();
                    pending::<()>().await;
                })
                .unwrap();
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..30 {
                let started = Arc::clone(&started);
                group
                    .spawn_ok(async move {
                        started.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap();
            }
            let shield_ran = gate();
            let s = shield_ran.clone();
            group
                .spawn_shielded(async move {
                    s.cancel();
                    Ok(())
                })
                .unwrap();
            within("the first child to hold the permit", holding.cancelled()).await;
            drop(group);
            within(
                "the shield behind the aborted children",
                shield_ran.cancelled(),
            )
            .await;
        });
    }
}
