//! `Runtime::block_on`: nesting is refused with a clear panic (and leaves
//! the runtimes usable), timers work inside it, and it can be called many
//! times in a row.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;
use nimsync_scheduler::{Builder, Runtime, spawn, time, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// The panic message of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// `block_on` inside a task panics about `block_on`, seen in the `JoinError`; the worker survives.
#[test]
fn nested_block_on_in_task_panics() {
    let rt = Arc::new(rt(1));
    let inner = Arc::clone(&rt);
    let err = rt
        .block_on(rt.spawn(async move { inner.block_on(async { 1 }) }))
        .unwrap_err();
    assert!(err.is_panic());
    let text = err.to_string();
    assert!(text.contains("block_on"), "{text}");
    assert!(text.contains("inside a runtime"), "{text}");
    assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
}

/// `block_on` inside `block_on` (any runtime, either flavor) panics and leaves all runtimes usable.
#[test]
fn nested_block_on_in_block_on_panics() {
    within("nested block_on", || {
        let outer = rt(2);
        let other_mt = rt(1);
        let other_ct = Builder::new_current_thread().build().unwrap();
        let ct = Builder::new_current_thread().build().unwrap();
        for (name, target) in [
            ("same", &outer),
            ("multi-thread", &other_mt),
            ("current-thread", &other_ct),
        ] {
            let result = outer.block_on(async {
                catch_unwind(AssertUnwindSafe(|| target.block_on(async { 1 })))
            });
            let payload = result.expect_err(name);
            let text = message(&*payload);
            assert!(text.contains("block_on"), "{name}: {text}");
        }
        // Nested inside a current-thread block_on, too.
        let result =
            ct.block_on(async { catch_unwind(AssertUnwindSafe(|| ct.block_on(async { 1 }))) });
        assert!(message(&*result.unwrap_err()).contains("block_on"));
        // Everyone still works, including the current-thread runtimes
        // whose block_on was refused.
        assert_eq!(
            outer.block_on(async { spawn(async { 3 }).await.unwrap() }),
            3
        );
        assert_eq!(
            other_mt.block_on(async { spawn(async { 4 }).await.unwrap() }),
            4
        );
        assert_eq!(
            other_ct.block_on(async { spawn(async { 5 }).await.unwrap() }),
            5
        );
        assert_eq!(ct.block_on(async { spawn(async { 6 }).await.unwrap() }), 6);
    });
}

/// After a current-thread `block_on` future panics, the next `block_on` still runs queued tasks.
#[test]
fn current_thread_block_on_panic_keeps_runtime_usable() {
    within("block_on after a panic", || {
        let rt = Builder::new_current_thread().build().unwrap();
        let queued = rt.spawn(async { 10 });
        let result = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                let _also_queued = spawn(async { 11 });
                yield_now().await;
                panic!("main future fails");
            })
        }));
        assert_eq!(message(&*result.unwrap_err()), "main future fails");
        assert_eq!(rt.block_on(queued).unwrap(), 10);
        assert_eq!(
            rt.block_on(async { spawn(async { 12 }).await.unwrap() }),
            12
        );
    });
}

/// A panicking `block_on` still drops its unfinished `spawn_local` tasks (once), on both flavors.
#[test]
fn block_on_panic_drops_its_local_tasks() {
    for rt in [rt(1), Builder::new_current_thread().build().unwrap()] {
        let drops = common::DropCount::new();
        let g = drops.guard();
        let result = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async move {
                drop(nimsync_scheduler::spawn_local(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                }));
                yield_now().await;
                panic!("main future fails");
            })
        }));
        assert!(result.is_err());
        assert_eq!(drops.get(), 1, "the local task leaked or was dropped twice");
    }
}

/// A panicking multi-thread `block_on` leaves the thread outside the runtime, the runtime usable.
#[test]
fn multi_thread_block_on_panic_leaves_context() {
    let rt = rt(1);
    let result = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("boom") })));
    assert!(result.is_err());
    assert!(nimsync_scheduler::Handle::try_current().is_none());
    assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
}

/// `sleep`, `timeout` and `interval` work in `block_on` and in tasks on both flavors, never early.
#[test]
fn timers_in_block_on() {
    for rt in [rt(2), Builder::new_current_thread().build().unwrap()] {
        let start = Instant::now();
        rt.block_on(time::sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));

        let out = rt.block_on(time::timeout(
            Duration::from_millis(10),
            std::future::pending::<()>(),
        ));
        assert!(out.is_err());
        let out = rt.block_on(time::timeout(Duration::from_secs(30), async { 5 }));
        assert_eq!(out.unwrap(), 5);

        let ticks = rt.block_on(async {
            let mut every = time::interval(Duration::from_millis(5));
            let first = every.tick().await;
            let mut last = first;
            for _ in 0..4 {
                let now = every.tick().await;
                assert!(now >= last + Duration::from_millis(5));
                last = now;
            }
            last - first
        });
        assert_eq!(ticks, Duration::from_millis(20));

        // Timers inside spawned tasks, many at once.
        let start = Instant::now();
        let slept = rt.block_on(async {
            let handles: Vec<_> = (1..=20u64)
                .map(|i| {
                    spawn(async move {
                        time::sleep(Duration::from_millis(i)).await;
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(slept, (1..=20).sum::<u64>());
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}

/// 2000 sequential `block_on` calls per flavor (10 under Miri), each spawning and joining a task, all return right.
#[test]
fn many_sequential_block_on_calls() {
    for rt in [rt(2), Builder::new_current_thread().build().unwrap()] {
        for i in 0..common::scale(10, 2_000) as u64 {
            let v = rt.block_on(async move {
                yield_now().await;
                spawn(async move { i + 1 }).await.unwrap()
            });
            assert_eq!(v, i + 1);
        }
    }
}

/// `block_on` from several plain threads at once on one multi-thread runtime all complete.
#[test]
fn concurrent_block_on_multi_thread() {
    const ROUNDS: u64 = common::scale(5, 200) as u64;
    let rt = Arc::new(rt(2));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let rt = Arc::clone(&rt);
            std::thread::spawn(move || {
                (0..ROUNDS)
                    .map(|i| rt.block_on(async move { spawn(async move { t + i }).await.unwrap() }))
                    .sum::<u64>()
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let expect: u64 = (0..4u64)
        .map(|t| (0..ROUNDS).map(|i| t + i).sum::<u64>())
        .sum();
    assert_eq!(total, expect);
}

/// A `block_on` future that yields in a loop on a current-thread runtime
/// lets the tasks it waits for run between its polls.
#[test]
fn current_thread_block_on_that_yields_lets_spawned_tasks_run() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let rt = nimsync_scheduler::Builder::new_current_thread()
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let yields = rt.block_on(async move {
        let _task = nimsync_scheduler::spawn(async move { flag.store(true, Ordering::Release) });
        let mut yields = 0;
        while !done.load(Ordering::Acquire) && yields < 1_000 {
            nimsync_scheduler::yield_now().await;
            yields += 1;
        }
        yields
    });
    assert!(
        yields < 1_000,
        "the spawned task never ran while block_on yielded"
    );
}
