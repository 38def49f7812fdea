//! What users of tokio's `JoinSet` reach for: aborting one child through
//! its handle, `abort_all`, `detach_all`, `try_join_next`,
//! `join_next_with_id`, `len`, and children on another runtime or on the
//! current thread.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{DropSlot, PATIENCE, counters, gate, runtime, snapshot, wait_until, within};
use nimsync_group::{Policy, TaskFailure, TaskGroup};
use nimsync_scheduler::Runtime;
use nimsync_scheduler::task::Id;

/// A runtime whose one thread is the one in `block_on`.
fn current_thread() -> Runtime {
    nimsync_scheduler::Builder::new_current_thread()
        .build()
        .expect("failed to build the runtime")
}

/// Runs `body` as a task of a current-thread runtime. A task, not
/// `block_on`'s own future: there, a `yield_now` polls the future again
/// before the runtime's tasks run.
fn in_a_task_on_one_thread<F>(body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = current_thread();
    rt.block_on(async { nimsync_scheduler::spawn(body).await.unwrap() })
}

/// A future that counts its polls and is never ready.
struct CountPolls(Arc<AtomicUsize>);

impl Future for CountPolls {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

// Aborting one child.

#[test]
fn an_abort_handle_aborts_its_child_alone_and_each_future_is_dropped_once() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 8;
        let drops = counters(N);
        let mut group = TaskGroup::<usize, ()>::new();
        let release = gate();
        let mut handles = Vec::new();
        for i in 0..N {
            let slot = DropSlot::new(i, &drops);
            let open = release.clone();
            let handle = group
                .spawn_with_handle(async move {
                    let _slot = slot;
                    open.cancelled().await;
                    Ok(i)
                })
                .unwrap();
            assert!(!handle.is_finished());
            handles.push(handle);
        }
        // Abort the even ones (twice, and through a clone: no effect).
        for handle in handles.iter().step_by(2) {
            handle.abort();
            handle.clone().abort();
        }
        wait_until("the aborted children are gone", || {
            handles.iter().step_by(2).all(|h| h.is_finished())
        })
        .await;
        release.cancel();
        let mut ok = Vec::new();
        let mut cancelled = Vec::new();
        while let Some((id, result)) = within("join_next", group.join_next_with_id()).await {
            match result {
                Ok(i) => {
                    assert_eq!(handles[i].id(), id);
                    ok.push(i);
                }
                Err(failure) => {
                    assert!(failure.is_cancelled(), "{failure:?}");
                    assert_eq!(failure.task.id, id);
                    cancelled.push(failure.task.index);
                }
            }
        }
        ok.sort_unstable();
        cancelled.sort_unstable();
        assert_eq!(ok, [1, 3, 5, 7]);
        assert_eq!(cancelled, [0, 2, 4, 6]);
        assert_eq!(snapshot(&drops), vec![1; N]);
        assert!(handles.iter().all(|h| h.is_finished()));
        let m = group.metrics();
        assert_eq!(
            (m.spawned, m.completed, m.cancelled, m.failed),
            (8, 4, 4, 0)
        );
        assert!(
            !group.token().is_cancelled(),
            "an aborted child is no failure"
        );
    });
}

#[test]
fn aborting_a_finished_child_changes_nothing() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<u8, ()>::new();
        let handle = group.spawn_with_handle(async { Ok(3) }).unwrap();
        wait_until("the child ends", || handle.is_finished()).await;
        handle.abort();
        assert_eq!(
            within("join_next", group.join_next())
                .await
                .unwrap()
                .unwrap(),
            3
        );
        handle.abort();
        assert_eq!(group.metrics().completed, 1);
    });
}

#[test]
fn an_aborted_child_that_waits_for_the_limit_gives_up_its_place() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8>::builder().limit(1).build();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let release = gate();
        let open = release.clone();
        let first_order = Arc::clone(&order);
        group
            .spawn_ok(async move {
                open.cancelled().await;
                first_order.lock().unwrap().push(0);
                0
            })
            .unwrap();
        let polls = Arc::new(AtomicUsize::new(0));
        let waiting = group
            .spawn_with_handle({
                let polls = Arc::clone(&polls);
                async move { Ok(CountPolls(polls).await) }
            })
            .unwrap();
        let last_order = Arc::clone(&order);
        group
            .spawn_ok(async move {
                last_order.lock().unwrap().push(2);
                2
            })
            .unwrap();
        waiting.abort();
        wait_until("the waiting child is gone", || waiting.is_finished()).await;
        release.cancel();
        let results = within("join_all_results", group.join_all_results()).await;
        assert!(results[1].as_ref().unwrap_err().is_cancelled());
        assert_eq!(*order.lock().unwrap(), [0, 2]);
        assert_eq!(polls.load(Ordering::SeqCst), 0, "it never got a permit");
    });
}

#[test]
fn spawner_hands_out_abort_handles_too() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8>::new();
        let spawner = group.spawner();
        let handle = spawner.spawn_with_handle(std::future::pending()).unwrap();
        handle.abort();
        let results = within("join_all_results", group.join_all_results()).await;
        assert!(results[0].as_ref().unwrap_err().is_cancelled());
        assert_eq!(
            spawner
                .spawn_with_handle(async { Ok(1) })
                .unwrap_err()
                .to_string(),
            "spawning into a closed task group"
        );
    });
}

// abort_all.

#[test]
fn abort_all_aborts_every_unshielded_child_and_leaves_the_group_open() {
    let rt = runtime();
    rt.block_on(async {
        const N: usize = 6;
        let drops = counters(N + 1);
        let group = TaskGroup::<usize, ()>::builder()
            .policy(Policy::CollectErrors)
            .build();
        let done = group.spawn_with_handle(async { Ok(100) }).unwrap();
        wait_until("the quick child ends", || done.is_finished()).await;
        for i in 0..N {
            let slot = DropSlot::new(i, &drops);
            group
                .spawn(async move {
                    let _slot = slot;
                    std::future::pending::<()>().await;
                    Ok(i)
                })
                .unwrap();
        }
        let release = gate();
        let open = release.clone();
        let shielded = DropSlot::new(N, &drops);
        group
            .spawn_shielded(async move {
                let _slot = shielded;
                open.cancelled().await;
                Ok(200)
            })
            .unwrap();
        assert_eq!(group.len(), N + 2);
        group.abort_all();
        assert!(!group.token().is_cancelled());
        wait_until("the aborted children are gone", || {
            snapshot(&drops)[..N].iter().all(|&d| d == 1)
        })
        .await;
        assert_eq!(snapshot(&drops)[N], 0, "a shielded child runs on");
        release.cancel();
        // Still open: a child spawned after abort_all runs.
        group.spawn(async { Ok(300) }).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(err.failures().len(), N);
        assert!(err.failures().iter().all(|f| f.is_cancelled()));
        assert_eq!(snapshot(&drops), vec![1; N + 1]);
    });
}

#[test]
fn abort_all_under_ignore_errors_returns_the_successes() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8, ()>::builder()
            .policy(Policy::IgnoreErrors)
            .build();
        let done = group.spawn_with_handle(async { Ok(1) }).unwrap();
        wait_until("the quick child ends", || done.is_finished()).await;
        group.spawn(std::future::pending()).unwrap();
        group.abort_all();
        let spawner = group.spawner();
        assert_eq!(within("join_all", group.join_all()).await.unwrap(), [1]);
        let m = spawner.metrics();
        assert_eq!((m.spawned, m.completed, m.cancelled), (2, 1, 1));
    });
}

// detach_all.

#[test]
fn detached_children_run_on_and_their_failures_are_not_the_groups() {
    let rt = runtime();
    rt.block_on(async {
        let drops = counters(3);
        let mut group = TaskGroup::<u8, &str>::new();
        let release = gate();
        let ran = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..2 {
            let slot = DropSlot::new(i, &drops);
            let open = release.clone();
            let ran = Arc::clone(&ran);
            handles.push(
                group
                    .spawn_with_handle(async move {
                        let _slot = slot;
                        open.cancelled().await;
                        ran.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            Err("detached failure")
                        } else {
                            Ok(1)
                        }
                    })
                    .unwrap(),
            );
        }
        // One that finished and was never joined: its result is let go.
        let finished = group.spawn_with_handle(async { Ok(9) }).unwrap();
        wait_until("the quick child ends", || finished.is_finished()).await;
        group.detach_all();
        assert!(group.is_empty());
        assert!(within("join_next", group.join_next()).await.is_none());
        assert!(group.try_join_next().is_none());
        assert_eq!(group.metrics().detached, 3);

        // New children are the group's as before.
        let slot = DropSlot::new(2, &drops);
        let token = group.token().clone();
        group
            .spawn(async move {
                let _slot = slot;
                token.cancelled().await;
                Ok(2)
            })
            .unwrap();
        release.cancel();
        wait_until("the detached children end", || {
            handles.iter().all(|h| h.is_finished())
        })
        .await;
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert!(
            !group.token().is_cancelled(),
            "a detached child's failure does not fail the group fast"
        );
        group.token().cancel();
        assert_eq!(
            within("join_next", group.join_next())
                .await
                .unwrap()
                .unwrap(),
            2
        );
        assert!(within("join_next", group.join_next()).await.is_none());
        let m = group.metrics();
        assert_eq!(
            (m.spawned, m.completed, m.failed, m.cancelled, m.detached),
            (4, 1, 0, 0, 3)
        );
        assert_eq!(snapshot(&drops), [1, 1, 1]);
    });
}

#[test]
fn a_group_dropped_after_detach_all_aborts_none_of_them() {
    let rt = runtime();
    rt.block_on(async {
        let drops = counters(1);
        let mut group = TaskGroup::<u8>::new();
        let release = gate();
        let open = release.clone();
        let slot = DropSlot::new(0, &drops);
        let handle = group
            .spawn_with_handle(async move {
                let _slot = slot;
                open.cancelled().await;
                Ok(1)
            })
            .unwrap();
        let token = group.token().clone();
        group.detach_all();
        drop(group);
        assert!(!token.is_cancelled(), "nothing was left to cancel");
        nimsync_scheduler::yield_now().await;
        assert_eq!(snapshot(&drops), [0], "the detached child still runs");
        release.cancel();
        wait_until("the detached child ends", || handle.is_finished()).await;
        assert_eq!(snapshot(&drops), [1]);
    });
}

#[test]
fn the_abort_handle_of_a_detached_child_still_aborts_it() {
    let rt = runtime();
    rt.block_on(async {
        let drops = counters(1);
        let mut group = TaskGroup::<u8>::new();
        let slot = DropSlot::new(0, &drops);
        let handle = group
            .spawn_with_handle(async move {
                let _slot = slot;
                std::future::pending::<()>().await;
                Ok(1)
            })
            .unwrap();
        group.detach_all();
        drop(group);
        handle.abort();
        wait_until("the detached child is aborted", || handle.is_finished()).await;
        assert_eq!(snapshot(&drops), [1]);
    });
}

// try_join_next, join_next_with_id, len.

/// Calls `try_join_next_with_id` until it returns a child, yielding in
/// between; panics after [`PATIENCE`].
async fn try_next<T, E>(group: &mut TaskGroup<T, E>) -> (Id, Result<T, TaskFailure<E>>)
where
    T: Send + 'static,
    E: Send + 'static,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(next) = group.try_join_next_with_id() {
            return next;
        }
        assert!(
            Instant::now() < deadline,
            "no child finished in {PATIENCE:?}"
        );
        nimsync_scheduler::yield_now().await;
    }
}

#[test]
fn try_join_next_never_waits() {
    in_a_task_on_one_thread(async {
        let mut group = TaskGroup::<u8, u8>::builder()
            .policy(Policy::CollectErrors)
            .build();
        assert!(group.try_join_next().is_none());
        let release = gate();
        let open = release.clone();
        group
            .spawn(async move {
                open.cancelled().await;
                Ok(1)
            })
            .unwrap();
        let failing = group.spawn(async { Err(2) }).unwrap();
        assert!(
            group.try_join_next().is_none(),
            "no child has run yet on this thread"
        );
        let (id, failure) = try_next(&mut group).await;
        assert_eq!(id, failing);
        assert_eq!(failure.unwrap_err().into_error(), Some(2));
        for _ in 0..10 {
            nimsync_scheduler::yield_now().await;
            assert!(group.try_join_next().is_none(), "the other one waits");
        }
        assert_eq!(group.len(), 1);
        release.cancel();
        assert_eq!(try_next(&mut group).await.1.unwrap(), 1);
        assert!(group.try_join_next().is_none());
        assert!(group.is_empty());
    });
}

#[test]
fn try_join_next_applies_fail_fast() {
    in_a_task_on_one_thread(async {
        let mut group = TaskGroup::<u8, &str>::new();
        group.spawn(std::future::pending()).unwrap();
        group.spawn(async { Err("bad") }).unwrap();
        assert!(try_next(&mut group).await.1.unwrap_err().is_failed());
        assert!(group.token().is_cancelled());
        assert!(try_next(&mut group).await.1.unwrap_err().is_cancelled());
        assert!(group.try_join_next().is_none());
        assert!(group.is_empty());
    });
}

#[test]
fn try_join_next_applies_the_deadline() {
    in_a_task_on_one_thread(async {
        let mut group = TaskGroup::<u8>::builder().timeout(Duration::ZERO).build();
        group.spawn_ok(std::future::pending()).unwrap();
        assert!(try_next(&mut group).await.1.unwrap_err().is_cancelled());
        assert!(group.is_empty());
        assert!(
            group.spawn_ok(async { 1 }).is_err(),
            "an expired group is closed"
        );
    });
}

#[test]
fn join_next_with_id_names_every_child() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<u32, u32>::builder()
            .policy(Policy::CollectErrors)
            .build();
        let mut ids = HashSet::new();
        for i in 0..10 {
            ids.insert(
                group
                    .spawn(async move { if i % 3 == 0 { Err(i) } else { Ok(i) } })
                    .unwrap(),
            );
        }
        assert_eq!(group.len(), 10);
        let mut seen = HashSet::new();
        while let Some((id, result)) = within("join_next", group.join_next_with_id()).await {
            if let Err(f) = &result {
                assert_eq!(f.task.id, id);
            }
            assert!(seen.insert(id));
        }
        assert_eq!(seen, ids);
        assert!(group.is_empty());
    });
}

// Children on another runtime or on the current thread.

#[test]
fn spawn_on_runs_the_child_on_the_given_runtime() {
    let other = Runtime::builder()
        .worker_threads(1)
        .thread_name("other-runtime")
        .build()
        .unwrap();
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<Option<String>>::new();
        let here = || async { Ok(std::thread::current().name().map(str::to_owned)) };
        group.spawn_on(here(), &other.handle()).unwrap();
        group.spawner().spawn_on(here(), &other.handle()).unwrap();
        group.spawn(here()).unwrap();
        let names = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(names[0].as_deref(), Some("other-runtime"));
        assert_eq!(names[1].as_deref(), Some("other-runtime"));
        assert_ne!(names[2].as_deref(), Some("other-runtime"));
    });
}

#[test]
fn spawn_on_children_are_aborted_with_the_group() {
    let other = Runtime::builder().worker_threads(1).build().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let drops = counters(1);
        let group = TaskGroup::<u8, &str>::new();
        let slot = DropSlot::new(0, &drops);
        group
            .spawn_on(
                async move {
                    let _slot = slot;
                    std::future::pending().await
                },
                &other.handle(),
            )
            .unwrap();
        group.spawn(async { Err("fail") }).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert!(err.failures()[1].is_cancelled());
        assert_eq!(snapshot(&drops), [1]);
    });
}

#[test]
fn spawn_local_runs_non_send_children_on_this_thread() {
    let rt = current_thread();
    rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let group = TaskGroup::<usize, String>::new();
        let spawner = group.spawner();
        for i in 0..4 {
            let log = Rc::clone(&log);
            group
                .spawn_local(async move {
                    nimsync_scheduler::yield_now().await;
                    log.borrow_mut().push(i);
                    Ok(i)
                })
                .unwrap();
        }
        let rc = Rc::new(Cell::new(10));
        spawner.spawn_local(async move { Ok(rc.get()) }).unwrap();
        let all = within("join_all", group.join_all()).await.unwrap();
        assert_eq!(all, [0, 1, 2, 3, 10]);
        assert_eq!(log.borrow().len(), 4);
    });
}

#[test]
fn local_children_follow_the_group_fail_fast_and_drops() {
    let rt = current_thread();
    rt.block_on(async {
        let drops = Rc::new(Cell::new(0));
        struct LocalDrop(Rc<Cell<usize>>);
        impl Drop for LocalDrop {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let group = TaskGroup::<u8, &str>::builder().limit(2).build();
        group.spawn_local(async { Err("local failure") }).unwrap();
        for _ in 0..3 {
            let guard = LocalDrop(Rc::clone(&drops));
            group
                .spawn_local(async move {
                    let _guard = guard;
                    std::future::pending().await
                })
                .unwrap();
        }
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert!(err.failures()[0].is_failed());
        assert_eq!(err.failures().len(), 4);
        assert_eq!(drops.get(), 3, "every local child dropped once");

        // A dropped group aborts its local children too.
        let group = TaskGroup::<u8>::new();
        let guard = LocalDrop(Rc::clone(&drops));
        group
            .spawn_local(async move {
                let _guard = guard;
                std::future::pending().await
            })
            .unwrap();
        // A local task queued behind the aborted one (`yield_now` in
        // `block_on`'s own future would not let the tasks run).
        let behind = || nimsync_scheduler::spawn_local(async {});
        behind().await.unwrap();
        drop(group);
        behind().await.unwrap();
        assert_eq!(drops.get(), 4);
    });
}

#[test]
fn a_refused_spawn_local_leaves_the_group_as_it_was() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<u8, ()>::builder().limit(1).build();
        let spawner = group.spawner();
        let panicked = nimsync_scheduler::spawn_blocking(move || {
            catch_unwind(AssertUnwindSafe(|| {
                spawner.spawn_local(async { Err(()) }).ok();
            }))
            .is_err()
        })
        .await
        .unwrap();
        assert!(panicked, "spawn_local in a blocking closure panics");
        assert!(!group.token().is_cancelled(), "no failure was reported");
        assert_eq!(group.metrics().spawned, 0);
        assert!(group.is_empty());
        // The limit's queue was left alone: the next child runs.
        group.spawn(async { Ok(1) }).unwrap();
        assert_eq!(within("join_all", group.join_all()).await.unwrap(), [1]);
    });
}
