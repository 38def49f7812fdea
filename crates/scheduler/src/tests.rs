//! Unit tests of the modules with `unsafe` code (the LIFO slot, the task
//! harness, the registry), small enough to run under Miri.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::lifo::Lifo;
use crate::task::harness::{Runnable, TaskMeta};
use crate::{Builder, Runtime};

/// A runnable whose future bumps `ran` and whose schedule function does
/// nothing.
fn counting_runnable(ran: &Arc<AtomicUsize>) -> (Runnable, async_task::Task<(), TaskMeta>) {
    let ran = Arc::clone(ran);
    async_task::Builder::new()
        .metadata(TaskMeta::unregistered())
        .spawn(
            move |_| async move {
                ran.fetch_add(1, Ordering::SeqCst);
            },
            |_| {},
        )
}

/// Every runnable put in the LIFO slot comes out exactly once, whether the
/// owner or a stealer on another thread takes it; the slot drops what is
/// left in it.
#[test]
fn lifo_slot_hands_each_task_to_one_taker() {
    let ran = Arc::new(AtomicUsize::new(0));
    let lifo = Arc::new(Lifo::new());
    let mut tasks = Vec::new();
    let stealer = {
        let lifo = Arc::clone(&lifo);
        std::thread::spawn(move || {
            let mut stolen = 0;
            for _ in 0..20 {
                if let Some(r) = lifo.take() {
                    r.run();
                    stolen += 1;
                }
                std::thread::yield_now();
            }
            stolen
        })
    };
    let mut owned = 0;
    for _ in 0..10 {
        let (runnable, task) = counting_runnable(&ran);
        tasks.push(task);
        if let Some(displaced) = lifo.swap(runnable) {
            displaced.run();
            owned += 1;
        }
    }
    let stolen = stealer.join().unwrap();
    if let Some(last) = lifo.take() {
        last.run();
        owned += 1;
    }
    assert_eq!(owned + stolen, 10);
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    // A task left in the slot is dropped with it (its future never runs).
    let (runnable, task) = counting_runnable(&ran);
    assert!(lifo.swap(runnable).is_none());
    drop(lifo);
    assert!(task.is_finished() || futures_lite::future::block_on(task.fallible()).is_none());
    for task in tasks {
        assert!(task.is_finished());
    }
}

/// Spawn, join, abort, panic and shutdown on a small runtime: the task
/// harness's pointers (header, registry) stay valid through every path.
#[test]
fn task_lifecycle_on_two_workers() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let ok = rt.spawn(async { 1 + 1 });
    let boom = rt.spawn(async { panic!("unit boom") });
    let guard = Counted(Arc::clone(&drops));
    let pending = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    let guard = Counted(Arc::clone(&drops));
    let detached = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    drop(detached);
    assert_eq!(rt.block_on(ok).unwrap(), 2);
    let err = rt.block_on(boom).unwrap_err();
    assert!(
        err.is_panic() && err.to_string().contains("unit boom"),
        "{err}"
    );
    pending.abort();
    let err = rt.block_on(pending).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the aborted future was dropped before the join"
    );
    drop(rt);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "shutdown dropped the detached task"
    );
}

/// The current-thread flavor with a local task, a blocking task and a
/// task-local value.
#[test]
fn current_thread_local_and_blocking() {
    crate::task_local! {
        static ANSWER: u32;
    }
    let rt = Builder::new_current_thread().build().unwrap();
    let v = rt.block_on(ANSWER.scope(40, async {
        let rc = std::rc::Rc::new(1);
        let local = crate::spawn_local(async move { *rc });
        let blocking = crate::spawn_blocking(|| 1);
        crate::yield_now().await;
        ANSWER.get() + local.await.unwrap() + blocking.await.unwrap()
    }));
    assert_eq!(v, 42);
}

/// A runtime drops its tasks at shutdown even when nothing else would ever
/// wake them, and their handles then report cancellation.
#[test]
fn shutdown_cancels_idle_tasks() {
    let rt = Runtime::new().unwrap();
    let handle = rt.spawn(std::future::pending::<()>());
    rt.block_on(crate::yield_now());
    drop(rt);
    let err = futures_lite::future::block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
}
