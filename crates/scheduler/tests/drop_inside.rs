//! A runtime dropped on one of its own threads (inside one of its tasks or
//! `spawn_blocking` closures, also while that thread unwinds): the drop
//! returns at once without a panic, and a `nimsync-shutdown` thread
//! finishes the shutdown (joins the workers, waits for the blocking pool,
//! cancels every task left), so nothing hangs and nothing leaks. The
//! process's timers keep firing afterwards.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{DEADLOCK, within};
use nimsync_scheduler::{Builder, Handle, Runtime, time};

/// Sends the name of the thread that drops it.
struct Witness(mpsc::Sender<Option<String>>);

impl Drop for Witness {
    fn drop(&mut self) {
        let name = std::thread::current().name().map(str::to_owned);
        let _ = self.0.send(name);
    }
}

/// A witness and the receiver of its report.
fn witness() -> (Witness, mpsc::Receiver<Option<String>>) {
    let (tx, rx) = mpsc::channel();
    (Witness(tx), rx)
}

/// Waits for `rx`'s one message, failing the test after [`DEADLOCK`].
fn expect<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    rx.recv_timeout(DEADLOCK)
        .unwrap_or_else(|e| panic!("{what}: {e} after {DEADLOCK:?}"))
}

/// A runtime with `workers` workers that counts its stopped threads.
fn counted_rt(workers: usize) -> (Runtime, Arc<AtomicUsize>, mpsc::Receiver<()>) {
    let stopped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let counter = Arc::clone(&stopped);
    let tx = std::sync::Mutex::new(tx);
    let rt = Runtime::builder()
        .worker_threads(workers)
        .on_thread_stop(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = tx.lock().unwrap().send(());
        })
        .build()
        .unwrap();
    (rt, stopped, rx)
}

/// A 10 ms sleep on a plain thread completes, not early, within the
/// deadlock bound.
fn plain_thread_sleep_fires() {
    let took = within("a sleep on a plain thread", || {
        let start = Instant::now();
        futures_lite::future::block_on(time::sleep(Duration::from_millis(10)));
        start.elapsed()
    });
    assert!(took >= Duration::from_millis(10), "early: {took:?}");
}

/// Inside a blocking closure the drop returns, the closure carries on to
/// its end, the idle task is cancelled on the shutdown thread, and every
/// thread of the runtime stops.
#[test]
fn drop_in_a_blocking_closure_returns_and_the_shutdown_completes() {
    let (rt, stopped, stops) = counted_rt(1);
    let (guard, dropped) = witness();
    let idle = rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let (returned_tx, returned) = mpsc::channel();
    let closure = rt.handle().spawn_blocking(move || {
        drop(rt);
        returned_tx.send(()).unwrap();
        "carried on"
    });
    expect(&returned, "the drop inside spawn_blocking returned");
    let thread = expect(&dropped, "the idle task's future was dropped");
    assert_eq!(thread.as_deref(), Some("nimsync-shutdown"));
    // One worker and one blocking thread.
    for _ in 0..2 {
        expect(&stops, "a runtime thread stopped");
    }
    assert_eq!(
        futures_lite::future::block_on(closure).unwrap(),
        "carried on"
    );
    assert!(
        futures_lite::future::block_on(idle)
            .unwrap_err()
            .is_cancelled()
    );
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
}

/// Inside a task the drop neither panics nor blocks: the task completes
/// with its output, the other tasks are cancelled, the workers stop.
#[test]
fn drop_in_a_task_returns_and_the_task_completes() {
    let (rt, _stopped, stops) = counted_rt(2);
    let (guard, dropped) = witness();
    let idle = rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let handle = rt.handle();
    let dropper = handle.spawn(async move {
        drop(rt);
        42
    });
    assert_eq!(
        within("the task that dropped its runtime", move || {
            futures_lite::future::block_on(dropper)
        })
        .unwrap(),
        42
    );
    assert_eq!(
        expect(&dropped, "the idle task's future was dropped").as_deref(),
        Some("nimsync-shutdown")
    );
    for _ in 0..2 {
        expect(&stops, "a worker stopped");
    }
    assert!(
        futures_lite::future::block_on(idle)
            .unwrap_err()
            .is_cancelled()
    );
}

/// After the drop, the task that dropped its runtime can still spawn
/// through a handle: the new task is cancelled at once instead of queued
/// on a runtime that is going away.
#[test]
fn spawns_after_a_drop_inside_are_cancelled() {
    let (rt, _stopped, stops) = counted_rt(2);
    let task = rt.handle().spawn(async move {
        drop(rt);
        let late = Handle::current().spawn(async { 1 });
        late.await
    });
    let late = within("the task that spawned after the drop", move || {
        futures_lite::future::block_on(task)
    })
    .unwrap();
    assert!(late.unwrap_err().is_cancelled());
    for _ in 0..2 {
        expect(&stops, "a worker stopped");
    }
}

/// With another task alive when a task drops the runtime, the runtime
/// stops turning the process's timers and they keep firing: sleeps on
/// plain threads complete afterwards.
#[test]
fn drop_in_a_task_leaves_the_process_timers_running() {
    let (rt, _stopped, stops) = counted_rt(2);
    let (guard, dropped) = witness();
    let _idle = rt.spawn(async move {
        let _guard = guard;
        time::sleep(Duration::from_secs(3_600)).await;
    });
    let handle = rt.handle();
    let (returned_tx, returned) = mpsc::channel();
    let _dropper = handle.spawn(async move {
        drop(rt);
        returned_tx.send(()).unwrap();
    });
    drop(handle);
    expect(&returned, "the drop inside a task returned");
    expect(&dropped, "the sleeping task's future was dropped");
    for _ in 0..2 {
        expect(&stops, "a worker stopped");
    }
    plain_thread_sleep_fires();
    plain_thread_sleep_fires();
}

/// A task that owns its runtime and panics drops it while unwinding: the
/// panic is the task's join error, and the shutdown still completes.
#[test]
fn drop_while_a_task_unwinds_completes_the_shutdown() {
    let (rt, _stopped, stops) = counted_rt(2);
    let (guard, dropped) = witness();
    let _idle = rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let panicking = rt.handle().spawn(async move {
        let _owned = rt;
        panic!("the task that owns its runtime fails");
    });
    let error = within("the panicking task", move || {
        futures_lite::future::block_on(panicking)
    })
    .unwrap_err();
    assert!(error.is_panic(), "{error}");
    expect(&dropped, "the idle task's future was dropped");
    for _ in 0..2 {
        expect(&stops, "a worker stopped");
    }
    plain_thread_sleep_fires();
}

/// `shutdown_timeout` inside a task returns at once; the shutdown thread
/// waits at most the timeout for a stuck blocking closure and cancels the
/// remaining tasks.
#[test]
fn shutdown_timeout_in_a_task_does_not_wait_for_a_stuck_closure() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let (release_tx, release) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let stuck = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = release.recv();
    });
    expect(&started, "the blocking closure started");
    let (guard, dropped) = witness();
    let _idle = rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let (returned_tx, returned) = mpsc::channel();
    let _stopper = rt.handle().spawn(async move {
        rt.shutdown_timeout(Duration::from_millis(20));
        returned_tx.send(()).unwrap();
    });
    expect(&returned, "shutdown_timeout inside a task returned");
    assert_eq!(
        expect(&dropped, "the idle task's future was dropped").as_deref(),
        Some("nimsync-shutdown"),
        "the shutdown waited for the stuck closure"
    );
    release_tx.send(()).unwrap();
    futures_lite::future::block_on(stuck).unwrap();
}

/// A current-thread runtime dropped in its own blocking closure: the drop
/// returns, and the task that never ran (nobody was in `block_on`) is
/// dropped.
#[test]
fn drop_of_a_current_thread_runtime_in_its_blocking_closure() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (guard, dropped) = witness();
    let never_ran = rt.spawn(async move {
        let _guard = guard;
    });
    let (returned_tx, returned) = mpsc::channel();
    let _closure = rt.handle().spawn_blocking(move || {
        drop(rt);
        returned_tx.send(()).unwrap();
    });
    expect(&returned, "the drop inside spawn_blocking returned");
    expect(&dropped, "the task's future was dropped");
    assert!(
        futures_lite::future::block_on(never_ran)
            .unwrap_err()
            .is_cancelled()
    );
}
