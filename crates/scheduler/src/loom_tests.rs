//! loom models of the park/unpark protocol ([`Idle`]).
//!
//! The workers below run the same steps as `WorkerCtx::park` and
//! `WorkerCtx::run_task`: register, look at the queue once more, park, and
//! unregister; a producer publishes work and then asks [`Idle`] whom to
//! wake. A lost wake-up leaves a worker parked with work queued, which loom
//! reports as a deadlock.

use std::sync::Arc as StdArc;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;

use loom::sync::Arc;
use loom::sync::atomic::AtomicBool;
use loom::thread::{self, Thread};

use crate::idle::Idle;
use crate::sync::{AtomicUsize, Ordering};

/// A mock run queue: a count of queued tasks, published with release and
/// read with acquire, as crossbeam-deque does (no `SeqCst` to lean on).
struct Queue {
    /// Queued tasks.
    queued: AtomicUsize,
    /// Tasks taken.
    taken: AtomicUsize,
    /// Set when every task was taken: workers exit.
    done: AtomicBool,
}

impl Queue {
    fn try_take(&self) -> bool {
        let mut n = self.queued.load(Ordering::Acquire);
        while n > 0 {
            match self
                .queued
                .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.taken.fetch_add(1, Ordering::SeqCst);
                    return true;
                }
                Err(actual) => n = actual,
            }
        }
        false
    }
}

/// A worker: take work until `total` tasks were taken by all workers.
fn worker(
    index: usize,
    idle: &Idle,
    queue: &Queue,
    total: usize,
    threads: &[Thread],
    parked: &StdAtomicUsize,
) {
    let mut searching = false;
    loop {
        if queue.done.load(Ordering::SeqCst) {
            break;
        }
        if queue.try_take() {
            if std::mem::take(&mut searching) && idle.stop_search() {
                if let Some(i) = idle.worker_to_notify(None) {
                    threads[i].unpark();
                }
            }
            if queue.taken.load(Ordering::SeqCst) == total {
                queue.done.store(true, Ordering::SeqCst);
                threads.iter().for_each(Thread::unpark);
            }
            continue;
        }
        idle.register(index, std::mem::take(&mut searching));
        if queue.queued.load(Ordering::Acquire) > 0 || queue.done.load(Ordering::SeqCst) {
            searching = !idle.unregister(index);
            continue;
        }
        parked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        thread::park();
        searching = !idle.unregister(index);
    }
    if searching {
        idle.stop_search();
    }
}

/// One worker, one producer: the task published while the worker parks is
/// never left behind.
#[test]
fn loom_park_unpark_one_worker() {
    let parked = StdArc::new(StdAtomicUsize::new(0));
    let seen = StdArc::clone(&parked);
    loom::model(move || {
        let idle = Arc::new(Idle::new(1));
        let queue = Arc::new(Queue {
            queued: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        });
        let (tx, rx) = loom::sync::mpsc::channel::<Thread>();
        let handle = {
            let idle = Arc::clone(&idle);
            let queue = Arc::clone(&queue);
            let seen = StdArc::clone(&seen);
            thread::spawn(move || {
                let me = [thread::current()];
                tx.send(me[0].clone()).unwrap();
                worker(0, &idle, &queue, 1, &me, &seen);
            })
        };
        let worker_thread = rx.recv().unwrap();
        queue.queued.fetch_add(1, Ordering::Release);
        if let Some(i) = idle.worker_to_notify(None) {
            assert_eq!(i, 0);
            worker_thread.unpark();
        }
        handle.join().unwrap();
        assert_eq!(queue.taken.load(Ordering::SeqCst), 1);
    });
    assert!(
        parked.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no interleaving parked the worker before the task arrived"
    );
}

/// Two workers, two tasks published one at a time: every task is taken and
/// both workers end unregistered, with no searcher left over.
#[test]
fn loom_park_unpark_two_workers() {
    let parked = StdArc::new(StdAtomicUsize::new(0));
    let seen = StdArc::clone(&parked);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || {
        let idle = Arc::new(Idle::new(2));
        let queue = Arc::new(Queue {
            queued: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        });
        let (tx, rx) = loom::sync::mpsc::channel::<(usize, Thread)>();
        let (go0, wait0) = loom::sync::mpsc::channel::<Vec<Thread>>();
        let (go1, wait1) = loom::sync::mpsc::channel::<Vec<Thread>>();
        let mut handles = Vec::new();
        for (index, wait) in [(0, wait0), (1, wait1)] {
            let idle = Arc::clone(&idle);
            let queue = Arc::clone(&queue);
            let tx = tx.clone();
            let seen = StdArc::clone(&seen);
            handles.push(thread::spawn(move || {
                tx.send((index, thread::current())).unwrap();
                let threads = wait.recv().unwrap();
                worker(index, &idle, &queue, 1, &threads, &seen);
            }));
        }
        let mut received = vec![rx.recv().unwrap(), rx.recv().unwrap()];
        received.sort_by_key(|(index, _)| *index);
        let threads: Vec<Thread> = received.into_iter().map(|(_, t)| t).collect();
        go0.send(threads.clone()).unwrap();
        go1.send(threads.clone()).unwrap();
        queue.queued.fetch_add(1, Ordering::Release);
        if let Some(i) = idle.worker_to_notify(None) {
            threads[i].unpark();
        }
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(queue.taken.load(Ordering::SeqCst), 1);
        assert_eq!(idle.searching(), 0, "a searcher was left counted");
    });
    assert!(parked.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

/// The abort protocol of the task cell, with loom's `block_on` standing in
/// for async-task's run loop (async-task is not loom-instrumented): the
/// abort flag, the registry slot that holds the task's waker, and the
/// wrapper future that checks the flag and drops the user's future.
mod abort {
    use core::future::{Future, poll_fn};
    use core::pin::pin;
    use core::task::Waker;
    use std::sync::Arc as StdArc;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};

    use loom::thread;

    use crate::cell::{self, Registry, RegistryRef, TaskFuture, TaskMeta};

    /// Counts its drops.
    struct Counted(StdArc<StdAtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, StdOrdering::SeqCst);
        }
    }

    /// Runs `user` as a task polled by the model's thread while another
    /// thread aborts it; returns whether it completed, after checking that
    /// its future was dropped exactly once and its slot freed.
    fn race(user: impl Future<Output = u8> + 'static, drops: &StdArc<StdAtomicUsize>) -> bool {
        let registry = Box::new(Registry::new());
        let meta = Box::new(TaskMeta::new(None));
        let registry_ref = RegistryRef::new(&registry);
        let slot = registry.insert(meta.id, |slot| (slot, Waker::noop().clone()));
        let future = TaskFuture::new(user, &meta, registry_ref, slot);
        // Both live until the end of the model: the aborter borrows them
        // through a leaked-for-the-model address, as the join handle does.
        let meta_addr = &*meta as *const TaskMeta as usize;
        let registry_addr = &*registry as *const Registry as usize;
        let aborter = thread::spawn(move || {
            // SAFETY: `meta` and `registry` are boxed and outlive this
            // thread, which is joined before they are dropped.
            let (meta, registry) = unsafe {
                (
                    &*(meta_addr as *const TaskMeta),
                    &*(registry_addr as *const Registry),
                )
            };
            cell::abort(meta, registry, slot);
        });
        let output = {
            let mut future = pin!(future);
            loom::future::block_on(poll_fn(|cx| {
                // The task's waker is in its slot from spawn on in the real
                // runtime; here it is the model executor's.
                registry.set_waker(slot, cx.waker().clone());
                future.as_mut().poll(cx)
            }))
            // The wrapper is dropped here, as async-task drops it once it
            // has its output.
        };
        aborter.join().unwrap();
        assert_eq!(
            drops.load(StdOrdering::SeqCst),
            1,
            "the user's future was dropped once"
        );
        let counts = registry.counts();
        assert_eq!(counts.alive, 0, "the slot was freed");
        match output {
            Ok(value) => {
                assert_eq!(value, 7);
                assert_eq!(counts.completed, 1);
                true
            }
            Err(error) => {
                assert!(error.is_cancelled());
                assert_eq!(counts.cancelled, 1);
                false
            }
        }
    }

    /// Aborting a task that waits forever: the wake through the registry
    /// is never lost, the future is dropped, the task ends cancelled.
    #[test]
    fn loom_abort_pending_task() {
        loom::model(|| {
            let drops = StdArc::new(StdAtomicUsize::new(0));
            let guard = Counted(StdArc::clone(&drops));
            let completed = race(
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    7
                },
                &drops,
            );
            assert!(!completed);
        });
    }

    /// Aborting a task that completes at its first poll: either outcome,
    /// and both happen; the future is dropped exactly once either way.
    #[test]
    fn loom_abort_races_completion() {
        static OUTCOMES: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
        loom::model(|| {
            let drops = StdArc::new(StdAtomicUsize::new(0));
            let guard = Counted(StdArc::clone(&drops));
            let completed = race(
                async move {
                    let _guard = guard;
                    7
                },
                &drops,
            );
            OUTCOMES[usize::from(completed)].fetch_add(1, StdOrdering::Relaxed);
        });
        for (i, n) in OUTCOMES.iter().enumerate() {
            assert!(
                n.load(StdOrdering::Relaxed) > 0,
                "outcome completed={i} never explored"
            );
        }
    }
}
