//! Cancellation and panics: `JoinHandle::abort` in every state of a task,
//! detaching, and `JoinError`.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};

use common::{DropCount, within};
use nimsync_scheduler::{Builder, JoinError, Runtime, spawn, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// Abort before the first poll: body never runs, the future drops once, the join is cancelled.
#[test]
fn abort_before_first_run() {
    let rt = Builder::new_current_thread().build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let drops = DropCount::new();
    let (r, guard) = (Arc::clone(&ran), drops.guard());
    let handle = rt.spawn(async move {
        let _guard = guard;
        r.store(true, Ordering::SeqCst);
    });
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    assert!(!ran.load(Ordering::SeqCst), "an aborted task's body ran");
    assert_eq!(drops.get(), 1);
}

/// Aborting a forever-pending task drops its future exactly once, before its handle resolves.
#[test]
fn abort_while_pending_forever() {
    let rt = rt(2);
    let drops = DropCount::new();
    let guard = drops.guard();
    let (started_tx, started_rx) = mpsc::channel();
    let handle = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        pending::<()>().await;
    });
    started_rx.recv().unwrap();
    assert_eq!(drops.get(), 0);
    handle.abort();
    let d = drops.clone();
    let (err, drops_at_join) = rt.block_on(async move {
        let result = handle.await;
        (result.unwrap_err(), d.get())
    });
    assert!(err.is_cancelled());
    assert_eq!(drops_at_join, 1, "the handle resolved before the drop");
    assert_eq!(drops.get(), 1, "the future was dropped more than once");
    let m = rt.metrics();
    assert_eq!(m.tasks_cancelled, 1);
    assert_eq!(m.tasks_alive, 0);
}

/// A task already awaiting a handle it then aborts is woken with the cancellation after the drop.
#[test]
fn abort_wakes_a_task_awaiting_the_handle() {
    let rt = rt(2);
    let drops = DropCount::new();
    let guard = drops.guard();
    let victim = rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let id = victim.id();
    let d = drops.clone();
    let waiter = rt.spawn(async move {
        let mut victim = victim;
        let first = futures_lite::future::poll_once(&mut victim).await;
        assert!(first.is_none(), "the victim finished on its own");
        victim.abort();
        let err = victim.await.unwrap_err();
        (err.is_cancelled(), err.id(), d.get())
    });
    let (cancelled, err_id, drops_at_join) = rt.block_on(waiter).unwrap();
    assert!(cancelled);
    assert_eq!(err_id, id);
    assert_eq!(drops_at_join, 1);
}

/// Aborting a task that already completed does nothing: its output is still returned.
#[test]
fn abort_after_completion_keeps_output() {
    let rt = rt(2);
    let handle = rt.spawn(async { 11 });
    let handle = within("task completion", move || {
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        handle
    });
    handle.abort();
    handle.abort();
    assert_eq!(rt.block_on(handle).unwrap(), 11);
    assert_eq!(rt.metrics().tasks_cancelled, 0);
}

/// A handle moved to another thread aborts the task from there.
#[test]
fn abort_from_another_thread() {
    let rt = rt(2);
    let drops = DropCount::new();
    let guard = drops.guard();
    let (started_tx, started_rx) = mpsc::channel();
    let handle = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        loop {
            yield_now().await;
        }
    });
    started_rx.recv().unwrap();
    let handle = std::thread::spawn(move || {
        handle.abort();
        handle
    })
    .join()
    .unwrap();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(drops.get(), 1);
}

/// Aborting a running task lets the current poll finish and drops the future at the next yield.
#[test]
fn abort_while_running_takes_effect_at_next_yield() {
    let rt = rt(2);
    let polls_after = Arc::new(AtomicUsize::new(0));
    let (in_poll_tx, in_poll_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let p = Arc::clone(&polls_after);
    let handle = rt.spawn(async move {
        in_poll_tx.send(()).unwrap();
        // Blocks this worker until the test aborted the task.
        go_rx.recv().unwrap();
        yield_now().await;
        p.fetch_add(1, Ordering::SeqCst);
    });
    in_poll_rx.recv().unwrap();
    handle.abort();
    go_tx.send(()).unwrap();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    assert_eq!(polls_after.load(Ordering::SeqCst), 0);
}

/// An aborted `spawn_blocking` closure that had not started (pool busy) never runs; cancelled.
#[test]
fn abort_blocking_closure_not_yet_started() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    let first = rt.spawn_blocking(move || {
        b.wait(); // started
        b.wait(); // released
        1
    });
    barrier.wait();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let second = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
    assert_eq!(rt.metrics().blocking_queue_depth, 1);
    second.abort();
    barrier.wait();
    assert_eq!(rt.block_on(first).unwrap(), 1);
    assert!(rt.block_on(second).unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst), "an aborted closure ran");
}

/// Dropping a `JoinHandle` detaches the task: it still runs to completion.
#[test]
fn dropped_handle_detaches() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let handle = rt.spawn(async move {
        for _ in 0..10 {
            yield_now().await;
        }
        tx.send(5).unwrap();
    });
    drop(handle);
    assert_eq!(rx.recv_timeout(common::DEADLOCK).unwrap(), 5);
    // And a detached task that waits on the outside world is not cancelled.
    let (go_tx, go_rx) = common::oneshot::<u32>();
    let (out_tx, out_rx) = mpsc::channel();
    drop(rt.spawn(async move { out_tx.send(go_rx.await.unwrap() + 1).unwrap() }));
    go_tx.send(1);
    assert_eq!(out_rx.recv_timeout(common::DEADLOCK).unwrap(), 2);
}

/// A task panic gives `is_panic`, the message in `Display`, and the payload via `into_panic`.
#[test]
fn join_error_panic_payload_and_display() {
    let rt = rt(1);
    let err = rt
        .block_on(rt.spawn(async {
            let n = std::hint::black_box(42);
            panic!("the answer is {n}")
        }))
        .unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    let text = err.to_string();
    assert!(text.contains("panicked: the answer is 42"), "{text}");
    let payload = err.into_panic();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "the answer is 42"
    );

    let err = rt
        .block_on(rt.spawn(async { std::panic::panic_any(7_u32) }))
        .unwrap_err();
    assert!(err.to_string().contains("non-string payload"), "{err}");
    let payload = err.try_into_panic().unwrap();
    assert_eq!(*payload.downcast::<u32>().unwrap(), 7);

    let static_str = rt
        .block_on(rt.spawn(async { panic!("static message") }))
        .unwrap_err();
    assert!(static_str.to_string().ends_with("panicked: static message"));
}

/// `try_into_panic` on a cancellation gives the error back; `into_panic` on it panics.
#[test]
fn try_into_panic_on_cancelled() {
    let rt = rt(1);
    let h = rt.spawn(pending::<()>());
    let id = h.id();
    h.abort();
    let err: JoinError = rt.block_on(h).unwrap_err();
    let err = err.try_into_panic().unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), id);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.into_panic()));
    let payload = result.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("cancelled"), "{message}");
}

/// A panicking task's future (its locals) is dropped once, before the handle resolves.
#[test]
fn panicking_task_drops_its_locals_once() {
    let rt = rt(2);
    let drops = DropCount::new();
    let guard = drops.guard();
    let d = drops.clone();
    let (err, at_join) = rt.block_on(async move {
        let h = spawn(async move {
            let _guard = guard;
            yield_now().await;
            panic!("after a yield");
        });
        let err = h.await.unwrap_err();
        (err, d.get())
    });
    assert!(err.is_panic());
    assert_eq!(at_join, 1);
    assert_eq!(drops.get(), 1);
    assert_eq!(rt.metrics().tasks_panicked, 1);
}

/// 100 panicking tasks (10 under Miri) on a one-worker runtime leave the worker alive to run a normal task.
#[test]
fn panics_never_kill_a_worker() {
    let panics = common::scale(10, 100);
    let rt = Runtime::builder()
        .worker_threads(1)
        .thread_name("lone-worker")
        .build()
        .unwrap();
    let handles: Vec<_> = (0..panics)
        .map(|i| rt.spawn(async move { panic!("panic number {i}") }))
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let err = rt.block_on(h).unwrap_err();
        assert!(err.to_string().contains(&format!("panic number {i}")));
    }
    let name = rt
        .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
        .unwrap();
    assert_eq!(name.as_deref(), Some("lone-worker"));
    let m = rt.metrics();
    assert_eq!(m.tasks_panicked, panics as u64);
    assert_eq!(m.tasks_completed, 1);
}
