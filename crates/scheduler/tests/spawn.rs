//! Spawning: from outside and inside a runtime, through handles, in bulk,
//! in trees, on the current-thread flavor; task ids, names and builders.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};

use common::{scale, within};
use nimsync_scheduler::{Builder, Handle, JoinHandle, Runtime, spawn, task, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// A current-thread runtime.
fn current() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// `Runtime::spawn` from the test thread runs the task; `block_on` on its handle gives the output.
#[test]
fn spawn_from_outside_the_runtime() {
    let rt = rt(2);
    let handle = rt.spawn(async { 40 + 2 });
    assert_eq!(rt.block_on(handle).unwrap(), 42);
}

/// The free `spawn` works inside `block_on` and inside tasks.
#[test]
fn free_spawn_inside_block_on_and_tasks() {
    let rt = rt(2);
    let v = rt.block_on(async {
        let outer = spawn(async {
            let inner = spawn(async { 3 });
            inner.await.unwrap() * 2
        });
        outer.await.unwrap() + 1
    });
    assert_eq!(v, 7);
}

/// A `Handle` on a plain thread spawns onto the runtime; the task runs on a runtime worker.
#[test]
fn handle_spawns_from_another_thread() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .thread_name("spawn-test-worker")
        .build()
        .unwrap();
    let handle = rt.handle();
    let task = std::thread::spawn(move || {
        handle.spawn(async { std::thread::current().name().map(str::to_owned) })
    })
    .join()
    .unwrap();
    assert_eq!(
        rt.block_on(task).unwrap().as_deref(),
        Some("spawn-test-worker")
    );
}

/// `Handle::current`/`try_current` work in `block_on`, tasks and blocking closures, not outside.
#[test]
fn handle_current_and_try_current() {
    assert!(Handle::try_current().is_none());
    let rt = rt(2);
    rt.block_on(async {
        assert!(Handle::try_current().is_some());
        let from_task = spawn(async { Handle::current().spawn(async { 5 }).await.unwrap() });
        assert_eq!(from_task.await.unwrap(), 5);
        let from_blocking = nimsync_scheduler::spawn_blocking(|| Handle::try_current().is_some());
        assert!(from_blocking.await.unwrap());
    });
    assert!(
        Handle::try_current().is_none(),
        "block_on leaves the context"
    );
}

/// `Handle::current` outside a runtime panics with a message saying so.
#[test]
#[should_panic(expected = "outside a nimsync runtime")]
fn handle_current_outside_panics() {
    let _ = Handle::current();
}

/// The free `spawn` outside a runtime panics with a message saying so.
#[test]
#[should_panic(expected = "called outside a runtime")]
fn free_spawn_outside_panics() {
    drop(spawn(async {}));
}

/// Tasks of the bulk tests: 10 000, or 100 under Miri.
const MANY: u64 = scale(100, 10_000) as u64;

/// 10 000 tasks spawned inside the runtime all run once and return their own results.
#[test]
fn ten_thousand_tasks_all_joined() {
    let rt = rt(4);
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let sum = rt.block_on(spawn_all(r));
    assert_eq!(sum, (0..MANY).map(|i| i * 3).sum::<u64>());
    assert_eq!(runs.load(Ordering::SeqCst) as u64, MANY);
    let m = rt.metrics();
    assert_eq!(m.tasks_completed, MANY, "{m:?}");
    assert_eq!(m.tasks_alive, 0, "{m:?}");
}

/// Spawns [`MANY`] tasks and sums their outputs.
async fn spawn_all(runs: Arc<AtomicUsize>) -> u64 {
    let handles: Vec<_> = (0..MANY)
        .map(|i| {
            let runs = Arc::clone(&runs);
            spawn(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                i * 3
            })
        })
        .collect();
    let mut sum = 0;
    for (i, h) in handles.into_iter().enumerate() {
        let v = h.await.unwrap();
        assert_eq!(v, i as u64 * 3, "task {i} returned another task's output");
        sum += v;
    }
    sum
}

/// 10 000 tasks spawned from outside through the runtime all run and return their results.
#[test]
fn ten_thousand_tasks_spawned_from_outside() {
    let rt = rt(2);
    let handles: Vec<_> = (0..MANY).map(|i| rt.spawn(async move { i })).collect();
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..MANY).sum::<u64>());
}

/// Counts the nodes of a binary tree of tasks of the given depth, each
/// node spawning its two children.
fn tree(depth: u32) -> JoinHandle<u64> {
    spawn(async move {
        if depth == 0 {
            return 1;
        }
        let left = tree(depth - 1);
        let right = tree(depth - 1);
        yield_now().await;
        1 + left.await.unwrap() + right.await.unwrap()
    })
}

/// A binary tree of 2047 nested spawns (63 under Miri) counts its nodes right on a multi-thread runtime.
#[test]
fn nested_spawn_tree() {
    let rt = rt(3);
    let depth = scale(5, 10) as u32;
    let nodes = rt.block_on(async { tree(depth).await.unwrap() });
    assert_eq!(nodes, (1 << (depth + 1)) - 1);
}

/// A binary tree of 511 nested spawns (63 under Miri) counts its nodes right on a current-thread runtime.
#[test]
fn nested_spawn_tree_current_thread() {
    let rt = current();
    let depth = scale(5, 8) as u32;
    let nodes = rt.block_on(async { tree(depth).await.unwrap() });
    assert_eq!(nodes, (1 << (depth + 1)) - 1);
}

/// On the current-thread flavor every task runs on the `block_on` thread.
#[test]
fn current_thread_tasks_run_on_block_on_thread() {
    let rt = current();
    assert_eq!(rt.metrics().workers, 1);
    let here = std::thread::current().id();
    let ids = rt.block_on(async {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                spawn(async {
                    yield_now().await;
                    std::thread::current().id()
                })
            })
            .collect();
        let mut ids = Vec::new();
        for h in handles {
            ids.push(h.await.unwrap());
        }
        ids
    });
    assert!(ids.iter().all(|id| *id == here));
}

/// Current-thread tasks spawned before `block_on` (from any thread) wait, then run during it.
#[test]
fn current_thread_tasks_spawned_before_block_on_run_during_it() {
    let rt = current();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    let a = rt.spawn(async move {
        r.fetch_add(1, Ordering::SeqCst);
        std::thread::current().id()
    });
    let handle = rt.handle();
    let r = Arc::clone(&ran);
    let b = std::thread::spawn(move || {
        handle.spawn(async move {
            r.fetch_add(1, Ordering::SeqCst);
            std::thread::current().id()
        })
    })
    .join()
    .unwrap();
    // Nothing drives a current-thread runtime outside block_on.
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(!a.is_finished());
    let here = std::thread::current().id();
    let (ta, tb) = rt.block_on(async { (a.await.unwrap(), b.await.unwrap()) });
    assert_eq!((ta, tb), (here, here));
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

/// Two threads in `block_on` on one current-thread runtime both complete.
#[test]
fn current_thread_two_block_on_threads() {
    const ROUNDS: u64 = scale(20, 100) as u64;
    within("two block_on threads", || {
        let rt = Arc::new(current());
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = (0..2u64)
            .map(|i| {
                let rt = Arc::clone(&rt);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    rt.block_on(async move {
                        let mut total = 0;
                        for j in 0..ROUNDS {
                            total += spawn(async move { i * 1000 + j }).await.unwrap();
                            yield_now().await;
                        }
                        total
                    })
                })
            })
            .collect();
        let totals: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let expect = |i: u64| (0..ROUNDS).map(|j| i * 1000 + j).sum::<u64>();
        assert_eq!(totals, [expect(0), expect(1)]);
    });
}

/// A current-thread `block_on` is woken by outside spawns even after a prior one ended mid-wake.
#[test]
fn current_thread_wakes_for_outside_spawns_across_block_on_calls() {
    within("outside spawns on current-thread", || {
        let rt = current();
        for _ in 0..scale(5, 200) {
            let handle = rt.handle();
            let m0 = rt.metrics().parks;
            // A thread that, once block_on has parked, both spawns (which
            // unparks the runtime as a notified sleeper) and completes the
            // main future.
            let (tx, rx) = common::oneshot::<()>();
            let helper = std::thread::spawn(move || {
                while handle.metrics().parks == m0 {
                    std::thread::yield_now();
                }
                drop(handle.spawn(async {}));
                tx.send(());
            });
            rt.block_on(rx).unwrap();
            helper.join().unwrap();
            // Now block_on parks waiting for a task spawned from another
            // thread: only the spawn's notification can wake it.
            let handle = rt.handle();
            let m1 = rt.metrics().parks;
            let (tx, rx) = common::oneshot::<u32>();
            let spawner = std::thread::spawn(move || {
                while handle.metrics().parks == m1 {
                    std::thread::yield_now();
                }
                drop(handle.spawn(async move { tx.send(9) }));
            });
            assert_eq!(rt.block_on(rx), Some(9));
            spawner.join().unwrap();
        }
    });
}

/// `is_finished` is false while a task waits and true once it completed, before it is awaited.
#[test]
fn join_handle_is_finished() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel::<()>();
    let handle = rt.spawn_blocking(move || {
        rx.recv().unwrap();
        7
    });
    let pending = rt.spawn(std::future::pending::<()>());
    assert!(!handle.is_finished());
    tx.send(()).unwrap();
    let handle = within("is_finished", move || {
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        handle
    });
    assert!(!pending.is_finished());
    assert_eq!(rt.block_on(handle).unwrap(), 7);
    pending.abort();
    let err = rt.block_on(pending).unwrap_err();
    assert!(err.is_cancelled());
}

/// Task ids are unique (also across runtimes), match `task::id()`, and are stable across yields.
#[test]
fn task_ids_unique_and_match() {
    let rt1 = rt(2);
    let rt2 = current();
    let mut seen = HashSet::new();
    let handles: Vec<_> = (0..scale(20, 500))
        .map(|_| {
            rt1.spawn(async {
                let before = task::id();
                yield_now().await;
                assert_eq!(task::id(), before, "the id changes across a yield");
                before
            })
        })
        .collect();
    for h in handles {
        let id = h.id();
        assert!(seen.insert(id), "duplicate id {id}");
        assert_eq!(rt1.block_on(h).unwrap(), id);
    }
    for _ in 0..scale(5, 100) {
        let h = rt2.spawn(async { task::id() });
        let id = h.id();
        assert!(seen.insert(id), "duplicate id {id} across runtimes");
        assert_eq!(rt2.block_on(h).unwrap(), id);
    }
}

/// `try_id`/`name` are `None` outside tasks and set inside spawned, blocking and local tasks.
#[test]
fn task_id_and_name_inside_and_outside() {
    assert_eq!(task::try_id(), None);
    assert_eq!(task::name(), None);
    let rt = rt(2);
    rt.block_on(async {
        assert_eq!(task::try_id(), None, "block_on's future is not a task");
        let h = spawn(async { (task::try_id(), task::name()) });
        let id = h.id();
        assert_eq!(h.await.unwrap(), (Some(id), None));
        let b = nimsync_scheduler::spawn_blocking(task::try_id);
        let bid = b.id();
        assert_eq!(b.await.unwrap(), Some(bid));
        let l = nimsync_scheduler::spawn_local(async { task::id() });
        let lid = l.id();
        assert_eq!(l.await.unwrap(), lid);
        assert_eq!(task::try_id(), None, "the task's id does not leak out");
    });
}

/// `task::id()` outside a task panics with a message pointing to `try_id`.
#[test]
#[should_panic(expected = "task::try_id()")]
fn task_id_outside_panics() {
    let _ = task::id();
}

/// `task::Builder` names show in `task::name()` for every spawn kind and in `JoinError` text.
#[test]
fn builder_names_visible_in_task_and_join_error() {
    let rt = rt(2);
    let named = task::Builder::new()
        .name("alpha")
        .spawn_on(async { task::name() }, &rt.handle());
    assert_eq!(rt.block_on(named).unwrap().as_deref(), Some("alpha"));
    rt.block_on(async {
        let b = task::Builder::new()
            .name("beta")
            .spawn(async { task::name() });
        assert_eq!(b.await.unwrap().as_deref(), Some("beta"));
        let c = task::Builder::new()
            .name("gamma")
            .spawn_blocking(task::name);
        assert_eq!(c.await.unwrap().as_deref(), Some("gamma"));
        let d = task::Builder::new()
            .name("delta")
            .spawn_local(async { task::name() });
        assert_eq!(d.await.unwrap().as_deref(), Some("delta"));
    });
    let boom = task::Builder::new()
        .name("exploder")
        .spawn_on(async { panic!("kaboom 17") }, &rt.handle());
    let id = boom.id();
    let err = rt.block_on(boom).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("task {id} (`exploder`) panicked: kaboom 17")
    );
    assert!(format!("{err:?}").contains("exploder"));
    let cancelled = task::Builder::new()
        .name("sleeper")
        .spawn_on(std::future::pending::<()>(), &rt.handle());
    cancelled.abort();
    let id = cancelled.id();
    let text = rt.block_on(cancelled).unwrap_err().to_string();
    assert_eq!(text, format!("task {id} (`sleeper`) was cancelled"));
}

/// A task spawned through a handle and detached at once still runs.
#[test]
fn handle_spawn_detached_runs() {
    let rt = rt(2);
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let (tx, rx) = mpsc::channel();
    drop(rt.handle().spawn(async move {
        f.store(true, Ordering::SeqCst);
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(common::DEADLOCK).unwrap();
    assert!(flag.load(Ordering::SeqCst));
}
