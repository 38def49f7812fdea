//! Shutdown: every unfinished task's future is dropped exactly once, join
//! handles resolve afterwards, thread hooks run, threads are joined, and
//! `shutdown_timeout` does not wait for a stuck blocking closure.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use common::{DropCount, oneshot};
use futures_lite::future::block_on as poll_to_end;
use nimsync_scheduler::{Builder, JoinHandle, Runtime, spawn, spawn_local, time, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// Asserts that every handle resolves to a cancellation.
fn assert_all_cancelled<T>(handles: Vec<JoinHandle<T>>) {
    for (i, h) in handles.into_iter().enumerate() {
        match poll_to_end(h) {
            Ok(_) => panic!("task {i} produced an output"),
            Err(e) => assert!(e.is_cancelled(), "task {i}: {e}"),
        }
    }
}

/// Runtime drop drops every unfinished future exactly once (all kinds) and cancels the handles.
#[test]
fn drop_cancels_every_unfinished_task_once() {
    let rt = rt(2);
    let drops = DropCount::new();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let mut handles: Vec<JoinHandle<()>> = Vec::new();
    let rounds = common::scale(3, 10);
    for _ in 0..rounds {
        let (g, s) = (drops.guard(), started_tx.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            s.send(()).unwrap();
            pending::<()>().await;
        }));
        let (g, s) = (drops.guard(), started_tx.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            s.send(()).unwrap();
            time::sleep(Duration::from_secs(3600)).await;
        }));
        let (g, s) = (drops.guard(), started_tx.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            let (tx, rx) = oneshot::<u8>();
            let _tx = tx;
            s.send(()).unwrap();
            rx.await;
        }));
        let (g, g2, s) = (drops.guard(), drops.guard(), started_tx.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            let s2 = s.clone();
            let inner = spawn(async move {
                let _g2 = g2;
                s2.send(()).unwrap();
                pending::<()>().await;
            });
            s.send(()).unwrap();
            let _ = inner.await;
        }));
    }
    // spawn_local tasks on the workers, pending forever.
    let mut local_handles = Vec::new();
    for _ in 0..4 {
        let (g, s) = (drops.guard(), started_tx.clone());
        // The local task's handle comes out wrapped (not a future itself).
        local_handles.push(rt.spawn(async move {
            Some(spawn_local(async move {
                let _g = g;
                let rc = std::rc::Rc::new(());
                s.send(()).unwrap();
                pending::<()>().await;
                drop(rc);
            }))
        }));
    }
    let locals: Vec<JoinHandle<()>> = local_handles
        .into_iter()
        .map(|h| rt.block_on(h).unwrap().unwrap())
        .collect();
    drop(started_tx);
    // rounds * (1 + 1 + 1 + 2) + 4 tasks report that they started.
    let (spawned, all) = (rounds * 5, rounds * 5 + 4);
    for _ in 0..all {
        started_rx.recv().unwrap();
    }
    let handle = rt.handle();
    let before = handle.metrics();
    assert_eq!(before.tasks_alive, spawned as u64, "{before:?}");
    assert_eq!(drops.get(), 0);
    drop(rt);
    assert_eq!(drops.get(), all, "some future was not dropped, or twice");
    assert_all_cancelled(handles);
    assert_all_cancelled(locals);
    let after = handle.metrics();
    assert_eq!(after.tasks_alive, 0, "{after:?}");
    assert_eq!(after.tasks_cancelled, spawned as u64, "{after:?}");
    assert_eq!(drops.get(), all);
}

/// Current-thread runtime drop drops pending and never-run task futures exactly once.
#[test]
fn drop_current_thread_runtime_cancels_tasks_once() {
    let rt = Builder::new_current_thread().build().unwrap();
    let drops = DropCount::new();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let g = drops.guard();
        handles.push(rt.spawn(async move {
            let _g = g;
            pending::<()>().await;
        }));
    }
    // Let those run once and go pending.
    rt.block_on(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    for _ in 0..20 {
        let g = drops.guard();
        handles.push(rt.spawn(async move {
            let _g = g;
            time::sleep(Duration::from_secs(3600)).await;
        }));
    }
    let handle = rt.handle();
    assert_eq!(drops.get(), 0);
    drop(rt);
    assert_eq!(drops.get(), 40);
    assert_all_cancelled(handles);
    assert_eq!(handle.metrics().tasks_alive, 0);
}

/// A `block_on`'s unfinished `spawn_local` task is dropped once when that `block_on` returns.
#[test]
fn block_on_local_tasks_dropped_when_block_on_returns() {
    for rt in [rt(2), Builder::new_current_thread().build().unwrap()] {
        let drops = DropCount::new();
        let g = drops.guard();
        let handle = rt.block_on(async move {
            let h = spawn_local(async move {
                let _g = g;
                let rc = std::rc::Rc::new(5);
                pending::<()>().await;
                drop(rc);
            });
            yield_now().await;
            Some(h)
        });
        let handle = handle.unwrap();
        assert_eq!(drops.get(), 1);
        assert!(poll_to_end(handle).unwrap_err().is_cancelled());
        drop(rt);
        assert_eq!(drops.get(), 1);
    }
}

/// Futures whose drop wakes others or spawns new tasks at shutdown: all dropped once, none leaked.
#[test]
fn drop_cascade_is_dropped_once() {
    /// Spawns a task when dropped.
    struct SpawnOnDrop(Option<nimsync_scheduler::Handle>, DropCount);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            if let Some(h) = self.0.take() {
                let g = self.1.guard();
                drop(h.spawn(async move {
                    let _g = g;
                    pending::<()>().await;
                }));
            }
        }
    }
    let rt = rt(2);
    let drops = DropCount::new();
    let late = DropCount::new();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (tx, rx) = oneshot::<u32>();
        let (g, s) = (drops.guard(), started_tx.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            s.send(()).unwrap();
            let _ = rx.await;
            pending::<()>().await;
        }));
        let (g, s) = (drops.guard(), started_tx.clone());
        let spawner = SpawnOnDrop(Some(rt.handle()), late.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            let _tx = tx;
            let _spawner = spawner;
            s.send(()).unwrap();
            pending::<()>().await;
        }));
    }
    for _ in 0..40 {
        started_rx.recv().unwrap();
    }
    let handle = rt.handle();
    drop(rt);
    assert_eq!(drops.get(), 40);
    assert_eq!(late.get(), 20, "a task spawned during shutdown leaked");
    assert_all_cancelled(handles);
    assert_eq!(handle.metrics().tasks_alive, 0);
}

/// 500 tasks (50 under Miri) still queued or pending on workers at shutdown are each dropped exactly once.
#[test]
fn queued_tasks_dropped_once_at_shutdown() {
    let tasks = common::scale(50, 500);
    let rt = rt(2);
    let drops = DropCount::new();
    let d = drops.clone();
    let (spawned_tx, spawned_rx) = mpsc::channel();
    drop(rt.spawn(async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let g = d.guard();
                spawn(async move {
                    let _g = g;
                    yield_now().await;
                    pending::<()>().await;
                })
            })
            .collect();
        spawned_tx.send(handles).unwrap();
    }));
    let handles = spawned_rx.recv().unwrap();
    drop(rt);
    assert_eq!(drops.get(), tasks);
    assert_all_cancelled(handles);
}

/// After drop, a handle's spawns are cancelled at once and old wakers do nothing.
#[test]
fn spawn_and_wake_after_shutdown() {
    let rt = rt(1);
    let handle = rt.handle();
    let waker_slot = Arc::new(Mutex::new(None));
    let w = Arc::clone(&waker_slot);
    let (tx, rx) = mpsc::channel();
    let pending_task = rt.spawn(std::future::poll_fn(move |cx| {
        *w.lock().unwrap() = Some(cx.waker().clone());
        tx.send(()).unwrap();
        std::task::Poll::<()>::Pending
    }));
    rx.recv().unwrap();
    drop(rt);
    assert!(poll_to_end(pending_task).unwrap_err().is_cancelled());
    let waker = waker_slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    waker.wake();
    let drops = DropCount::new();
    let g = drops.guard();
    let late = handle.spawn(async move {
        let _g = g;
        7
    });
    assert_eq!(drops.get(), 1);
    assert!(poll_to_end(late).unwrap_err().is_cancelled());
    let blocking = handle.spawn_blocking(|| 1);
    assert!(poll_to_end(blocking).unwrap_err().is_cancelled());
    assert_eq!(handle.metrics().tasks_alive, 0);
}

/// Start/stop hooks run once per worker and blocking thread, all done (joined) when drop returns.
#[test]
fn thread_hooks_and_joined_threads() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let (s, t, n) = (started.clone(), stopped.clone(), next.clone());
    let rt = Runtime::builder()
        .worker_threads(3)
        .thread_name_fn(move || format!("hooked-{}", n.fetch_add(1, Ordering::SeqCst)))
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            t.lock().unwrap().push(name);
        })
        .build()
        .unwrap();
    // Two blocking closures that run at the same time need two threads.
    let barrier = Arc::new(Barrier::new(2));
    let blocking: Vec<_> = (0..2)
        .map(|_| {
            let b = Arc::clone(&barrier);
            rt.spawn_blocking(move || {
                b.wait();
            })
        })
        .collect();
    for b in blocking {
        rt.block_on(b).unwrap();
    }
    assert_eq!(rt.metrics().blocking_threads, 2);
    drop(rt);
    assert_eq!(started.load(Ordering::SeqCst), 5);
    let mut names = stopped.lock().unwrap().clone();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    let mut expected: Vec<String> = (0..5).map(|i| format!("hooked-{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
}

/// `shutdown_timeout` returns while a blocking closure still runs; it later delivers its output.
#[test]
fn shutdown_timeout_returns_with_long_blocking_closure() {
    let rt = rt(1);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&finished);
    let long = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let released = release_rx.recv_timeout(common::DEADLOCK).is_ok();
        f.store(true, Ordering::SeqCst);
        released
    });
    let drops = DropCount::new();
    let g = drops.guard();
    let idle = rt.spawn(async move {
        let _g = g;
        pending::<()>().await;
    });
    started_rx.recv().unwrap();
    rt.shutdown_timeout(Duration::from_millis(50));
    assert!(
        !finished.load(Ordering::SeqCst),
        "shutdown_timeout waited for the blocking closure"
    );
    assert_eq!(drops.get(), 1, "the other task was not cancelled");
    assert!(poll_to_end(idle).unwrap_err().is_cancelled());
    release_tx.send(()).unwrap();
    assert!(poll_to_end(long).unwrap(), "the closure was not released");
    assert!(finished.load(Ordering::SeqCst));
}

/// A plain drop never runs queued blocking closures and waits for the running one.
#[test]
fn drop_waits_for_running_blocking_and_drops_queued() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let running = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        1
    });
    started_rx.recv().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let drops = DropCount::new();
    let queued: Vec<_> = (0..5)
        .map(|_| {
            let (r, g) = (Arc::clone(&ran), drops.guard());
            rt.spawn_blocking(move || {
                let _g = g;
                r.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    assert_eq!(rt.metrics().blocking_queue_depth, 5);
    let d = drops.clone();
    let releaser = std::thread::spawn(move || {
        // Release the running closure once shutdown dropped the queue (or
        // after the deadlock bound, and the asserts below fail).
        let start = std::time::Instant::now();
        while d.get() < 5 && start.elapsed() < common::DEADLOCK {
            std::thread::yield_now();
        }
        release_tx.send(()).unwrap();
    });
    drop(rt);
    releaser.join().unwrap();
    assert_eq!(drops.get(), 5);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a queued closure ran");
    assert_eq!(poll_to_end(running).unwrap(), 1);
    assert_all_cancelled(queued);
}
