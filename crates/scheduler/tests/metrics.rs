//! Runtime metrics and slow-poll reports.
//!
//! Every test here takes [`SERIAL`]: the idle tests check that nothing
//! wakes a settled runtime, and a test that runs tasks meanwhile would load
//! the machine the measurement runs on. No test here uses timers.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use nimsync_scheduler::{Builder, Runtime, SlowPoll, spawn, task, yield_now};

/// Serializes the tests of this file.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`], ignoring poisoning by a failed test.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// Spawned/completed/panicked/cancelled/alive counts add up; `spawn_local` tasks are not counted.
#[test]
fn task_counters_add_up() {
    let _serial = serial();
    let rt = rt(2);
    let m0 = rt.metrics();
    assert_eq!(m0.tasks_spawned, 0);
    assert_eq!(m0.tasks_alive, 0);
    let ok = common::scale(5, 30) as u64;
    for i in 0..ok {
        rt.block_on(rt.spawn(async move { i })).unwrap();
    }
    for _ in 0..5 {
        let err = rt
            .block_on(rt.spawn(async { panic!("counted") }))
            .unwrap_err();
        assert!(err.is_panic());
    }
    let pending: Vec<_> = (0..7)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    for h in pending.iter().take(3) {
        h.abort();
    }
    for _ in 0..4 {
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    }
    rt.block_on(async {
        nimsync_scheduler::spawn_local(async {}).await.unwrap();
    });
    let mut pending = pending.into_iter();
    for h in pending.by_ref().take(3) {
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    }
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, ok + 5 + 7 + 4, "{m:?}");
    assert_eq!(m.tasks_completed, ok + 4, "{m:?}");
    assert_eq!(m.tasks_panicked, 5, "{m:?}");
    assert_eq!(m.tasks_cancelled, 3, "{m:?}");
    assert_eq!(m.tasks_alive, 4, "{m:?}");
    assert_eq!(
        m.tasks_alive,
        m.tasks_spawned - m.tasks_completed - m.tasks_panicked - m.tasks_cancelled
    );
    let handle = rt.handle();
    drop(pending);
    drop(rt);
    let after = handle.metrics();
    assert_eq!(after.tasks_alive, 0, "{after:?}");
    assert_eq!(after.tasks_cancelled, 7, "{after:?}");
}

/// `polls` grows, `workers` and `worker_local_depth` match the worker count, queues drain to 0.
#[test]
fn polls_workers_and_depths() {
    let _serial = serial();
    for n in [1, 3] {
        let rt = rt(n);
        let m0 = rt.metrics();
        assert_eq!(m0.workers, n);
        assert_eq!(m0.worker_local_depth.len(), n);
        let tasks = common::scale(20, 100) as u64;
        rt.block_on(async {
            let hs: Vec<_> = (0..tasks).map(|_| spawn(yield_now())).collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        let m = rt.handle().metrics();
        assert!(m.polls >= 2 * tasks, "{m:?}");
        assert_eq!(m.workers, n);
        assert_eq!(m.worker_local_depth, vec![0; n]);
        assert_eq!(m.injector_depth, 0);
        assert_eq!(m.slow_polls, 0, "slow-poll detection is off by default");
    }
    let ct = Builder::new_current_thread().build().unwrap();
    assert_eq!(ct.metrics().workers, 1);
    ct.block_on(ct.spawn(async {})).unwrap();
    assert!(ct.metrics().polls >= 1);
}

/// `injector_depth` counts outside spawns not yet taken, and drops to 0 once they ran.
#[test]
fn injector_depth_counts_outside_spawns() {
    let _serial = serial();
    let ct = Builder::new_current_thread().build().unwrap();
    let hs: Vec<_> = (0..5).map(|i| ct.spawn(async move { i })).collect();
    assert_eq!(ct.metrics().injector_depth, 5);
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(ct.block_on(h).unwrap(), i);
    }
    assert_eq!(ct.metrics().injector_depth, 0);
}

/// `blocking_threads` is non-zero after `spawn_blocking`; `blocking_queue_depth` counts waiters.
#[test]
fn blocking_thread_metrics() {
    let _serial = serial();
    let rt = Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    assert_eq!(rt.metrics().blocking_threads, 0);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let first = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    let second = rt.spawn_blocking(|| ());
    let m = rt.metrics();
    assert_eq!(m.blocking_threads, 1, "{m:?}");
    assert_eq!(m.blocking_queue_depth, 1, "{m:?}");
    release_tx.send(()).unwrap();
    rt.block_on(first).unwrap();
    rt.block_on(second).unwrap();
    let m = rt.metrics();
    assert!(m.blocking_threads > 0, "{m:?}");
    assert_eq!(m.blocking_queue_depth, 0, "{m:?}");
}

/// A 20 ms poll (threshold 5 ms) is reported once with the task's id and name, and counted.
#[test]
fn slow_poll_hook_reports_slow_task() {
    let _serial = serial();
    let (tx, rx) = mpsc::channel::<SlowPoll>();
    let rt = Runtime::builder()
        .worker_threads(2)
        .on_slow_poll(Duration::from_millis(5), move |poll| {
            tx.send(poll.clone()).unwrap();
        })
        .build()
        .unwrap();
    let slow = task::Builder::new().name("sluggish").spawn_on(
        async { std::thread::sleep(Duration::from_millis(20)) },
        &rt.handle(),
    );
    let id = slow.id();
    rt.block_on(slow).unwrap();
    // The hook runs on the worker right after the poll, which may be just
    // after the task's completion woke block_on.
    let report = rx
        .recv_timeout(common::DEADLOCK)
        .expect("no slow-poll report");
    assert_eq!(report.id, id);
    assert_eq!(report.name.as_deref(), Some("sluggish"));
    assert!(report.duration >= Duration::from_millis(20));
    assert_eq!(rt.metrics().slow_polls, 1);
    drop(rt);
    let rest: Vec<_> = rx.try_iter().collect();
    assert!(rest.is_empty(), "more than one report: {rest:?}");
}

/// The slow-poll hook reports nothing, and counts nothing, for fast tasks.
#[test]
fn slow_poll_hook_silent_for_fast_tasks() {
    let _serial = serial();
    let seen: Arc<Mutex<Vec<SlowPoll>>> = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    // Under Miri the clock is virtual and advances with every interpreted
    // block, of this thread and of the others: a trivial poll spans tens
    // of milliseconds of it.
    let threshold = Duration::from_millis(common::scale(500, 5) as u64);
    let rt = Runtime::builder()
        .worker_threads(2)
        .on_slow_poll(threshold, move |poll| {
            s.lock().unwrap().push(poll.clone());
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..10u64).map(|i| spawn(async move { i * 2 })).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(rt.metrics().slow_polls, 0);
}

/// A settled idle multi-thread runtime has no unparks, parks, polls or timer turns over 200 ms.
#[test]
fn idle_runtime_does_not_wake() {
    let _serial = serial();
    let rt = rt(2);
    rt.block_on(async {});
    // Wait (bounded) for both workers to have parked at least once.
    let mut settled = false;
    for _ in 0..2_000 {
        if rt.metrics().parks >= 2 {
            settled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(settled, "the workers never parked: {:?}", rt.metrics());
    // And until the park count stops moving for a while (a worker that
    // parked and was woken by the runtime start-up may park once more).
    let mut last = rt.metrics().parks;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(5));
        let now = rt.metrics().parks;
        if now == last {
            break;
        }
        last = now;
    }
    let a = rt.metrics();
    std::thread::sleep(Duration::from_millis(200));
    let b = rt.metrics();
    assert_eq!(
        b.unparks, a.unparks,
        "idle workers were woken: {a:?} -> {b:?}"
    );
    assert_eq!(
        b.timer_turns, a.timer_turns,
        "timers turned while idle: {a:?} -> {b:?}"
    );
    assert_eq!(b.parks, a.parks, "idle workers woke up: {a:?} -> {b:?}");
    assert_eq!(b.polls, a.polls);
}

/// A current-thread `block_on` waiting on a quiet future does not wake or spin over 200 ms.
#[test]
fn idle_current_thread_block_on_does_not_spin() {
    let _serial = serial();
    let rt = Builder::new_current_thread().build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = common::oneshot::<()>();
    let measured = Arc::new(AtomicBool::new(false));
    let m = Arc::clone(&measured);
    let watcher = std::thread::spawn(move || {
        // Wait until block_on parked, then measure an idle stretch.
        let mut parked = false;
        for _ in 0..2_000 {
            if handle.metrics().parks >= 1 {
                parked = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let a = handle.metrics();
        std::thread::sleep(Duration::from_millis(200));
        let b = handle.metrics();
        m.store(parked, Ordering::SeqCst);
        tx.send(());
        (a, b)
    });
    rt.block_on(rx).unwrap();
    let (a, b) = watcher.join().unwrap();
    assert!(measured.load(Ordering::SeqCst), "block_on never parked");
    assert_eq!(b.parks, a.parks, "block_on woke while idle: {a:?} -> {b:?}");
    assert_eq!(b.timer_turns, a.timer_turns, "{a:?} -> {b:?}");
    assert_eq!(b.polls, a.polls, "{a:?} -> {b:?}");
}
