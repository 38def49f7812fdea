//! loom models of the idle protocol (`idle.rs`), the abort protocol
//! (`task/harness.rs`), the shutdown sequence's last steps with the gate
//! (`shutdown.rs`, `gate.rs`), the LIFO slot (`lifo.rs`), and the I/O
//! driver's wake-up (`io.rs`).
//!
//! Each model runs the crate's own protocol code through the facade
//! (`sync.rs`); only what loom cannot run stands in: a counter for
//! crossbeam-deque's queues, loom's `block_on` for async-task's run loop.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};

use loom::sync::Arc;
use loom::thread;

use crate::idle::{Idle, Searcher};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, Parker, Unparker};

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
    fn new() -> Self {
        Self {
            queued: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        }
    }

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

    /// A producer's push: the task, then the steps of
    /// `Shared::notify_work`.
    fn push(&self, idle: &Idle, unparkers: &[Unparker]) {
        self.queued.fetch_add(1, Ordering::Release);
        notify(idle, unparkers);
    }
}

/// The steps of `Shared::notify_work`: the idle protocol picks a parked
/// worker to wake (the fence is its own), and its parker is unparked.
fn notify(idle: &Idle, unparkers: &[Unparker]) {
    if let Some(index) = idle.worker_to_notify(None) {
        unparkers[index].unpark();
    }
}

/// Worker `index` of `workers`: the steps of `WorkerCtx::step` and
/// `WorkerCtx::park` over the mock queue, through the crate's own
/// [`Searcher`] and [`Idle`] and the facade's [`Parker`]. It takes a task
/// from the queue, else (with other workers to steal from, as `steal`
/// does) as a searcher; a task found tells the idle protocol, which may ask
/// for another worker to be woken; nothing found parks it through
/// [`Searcher::park`]. It stops once `total` tasks were taken.
#[allow(clippy::too_many_arguments)]
fn worker(
    index: usize,
    workers: usize,
    idle: &Idle,
    queue: &Queue,
    total: usize,
    parker: &Parker,
    unparkers: &[Unparker],
    parked: &StdAtomicUsize,
) {
    let search = Searcher::new();
    loop {
        if queue.done.load(Ordering::SeqCst) {
            break;
        }
        let took =
            queue.try_take() || (workers > 1 && search.start(idle, workers) && queue.try_take());
        if took {
            if search.found_work(idle) {
                notify(idle, unparkers);
            }
            if queue.taken.load(Ordering::SeqCst) == total {
                queue.done.store(true, Ordering::SeqCst);
                unparkers.iter().for_each(Unparker::unpark);
            }
            continue;
        }
        search.park(
            idle,
            index,
            || queue.queued.load(Ordering::Acquire) > 0 || queue.done.load(Ordering::SeqCst),
            || {
                parked.fetch_add(1, StdOrdering::Relaxed);
                parker.park();
            },
        );
    }
    search.stop(idle);
}

/// `workers` workers and one task published by the model's thread: the
/// task is taken, and no searcher is left counted. Returns through `parked`
/// whether some interleaving parked a worker before the task arrived.
fn park_unpark(workers: usize, parked: &StdArc<StdAtomicUsize>) {
    let idle = Arc::new(Idle::new(workers));
    let queue = Arc::new(Queue::new());
    let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
    let unparkers: Vec<Unparker> = parkers.iter().map(|p| p.unparker().clone()).collect();
    let handles: Vec<_> = parkers
        .into_iter()
        .enumerate()
        .map(|(index, parker)| {
            let idle = Arc::clone(&idle);
            let queue = Arc::clone(&queue);
            let unparkers = unparkers.clone();
            let parked = StdArc::clone(parked);
            thread::spawn(move || {
                worker(
                    index, workers, &idle, &queue, 1, &parker, &unparkers, &parked,
                );
            })
        })
        .collect();
    queue.push(&idle, &unparkers);
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(queue.taken.load(Ordering::SeqCst), 1);
    assert_eq!(idle.searching(), 0, "a searcher was left counted");
}

/// One worker, one producer: the task published while the worker parks is
/// never left behind.
#[test]
fn loom_park_unpark_one_worker() {
    let parked = StdArc::new(StdAtomicUsize::new(0));
    let seen = StdArc::clone(&parked);
    loom::model(move || park_unpark(1, &seen));
    assert!(
        parked.load(StdOrdering::Relaxed) > 0,
        "no interleaving parked the worker before the task arrived"
    );
}

/// Two workers (searching before they park, as `steal` does), one task:
/// the task is taken and both workers end unregistered, with no searcher
/// left over.
#[test]
fn loom_park_unpark_two_workers() {
    let parked = StdArc::new(StdAtomicUsize::new(0));
    let seen = StdArc::clone(&parked);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || park_unpark(2, &seen));
    assert!(parked.load(StdOrdering::Relaxed) > 0);
}

/// The abort protocol of the task harness, with loom's `block_on` standing in
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

    use crate::local_queue::LocalQueue;
    use crate::sync::Parker;
    use crate::task::Id;
    use crate::task::harness::{self, Owner, TaskFuture, TaskMeta};

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
        // A local queue stands in for the task's owner: its registry is the
        // one the task is in.
        let owner = LocalQueue::new(Parker::new().unparker().clone());
        let registry = &owner.registry;
        let id = Id::next();
        let meta = registry.insert(id, |index| {
            let meta = TaskMeta::new(id, Owner::Local(StdArc::clone(&owner)), None, index);
            (Box::new(meta), Waker::noop().clone())
        });
        let future = TaskFuture::new(user, &meta);
        // The header lives until the end of the model: the aborter borrows
        // it through a leaked-for-the-model address, as the join handle
        // does.
        let meta_addr = &*meta as *const TaskMeta as usize;
        let aborter = thread::spawn(move || {
            // SAFETY: `meta` is boxed and outlives this thread, which is
            // joined before it is dropped.
            let meta = unsafe { &*(meta_addr as *const TaskMeta) };
            harness::abort(meta);
        });
        let output = {
            let mut future = pin!(future);
            loom::future::block_on(poll_fn(|cx| {
                // The task's waker is in its slot from spawn on in the real
                // runtime; here it is the model executor's.
                registry.set_waker(&meta, cx.waker().clone());
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

/// The last steps of the shutdown sequence (`shutdown::cancel_and_close`:
/// rounds of draining the queue and waking every registered task, then the
/// gate's close) racing a spawn
/// from another thread (the steps of `spawn_on`) and a wake-up from a third
/// (the steps of `Shared::push_global`), over the real [`Gate`] and
/// [`Registry`]. The queue is one slot per task (each task here is queued
/// at most once), published with release and read with acquire, as
/// crossbeam-deque does, so only the gate's fences order a push against
/// the last drain. A drainer claims a slot's runnable with a flag of its
/// own: the slot is written once (loom may let a swap that empties a slot
/// read a stale value when another thread's store to the slot happens
/// before it, a false alarm this layout avoids).
///
/// [`Gate`]: crate::gate::Gate
/// [`Registry`]: crate::task::registry::Registry
mod shutdown {
    use core::task::Waker;
    use std::sync::Arc as StdArc;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
    use std::task::Wake;

    use loom::thread;

    use crate::gate::Gate;
    use crate::shutdown::cancel_and_close;
    use crate::sync::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    use crate::task::Id;
    use crate::task::registry::Registry;

    /// Not queued, not running: a wake-up queues it.
    const IDLE: usize = 0;
    /// Queued (its runnable exists): a wake-up does nothing.
    const SCHEDULED: usize = 1;
    /// Its future was dropped: a wake-up does nothing.
    const CLOSED: usize = 2;

    /// What the runtime's shared state holds for the protocol.
    struct Runtime {
        gate: Gate,
        registry: Registry,
        /// The queue: slot `i` holds task `i`'s runnable once queued.
        queue: [AtomicPtr<Runnable>; 2],
        /// Whether a drainer took slot `i`'s runnable.
        taken: [AtomicBool; 2],
    }

    /// A task: its async-task state, reduced to what shutdown needs.
    struct Task {
        runtime: StdArc<Runtime>,
        /// Its queue slot.
        index: usize,
        /// [`IDLE`], [`SCHEDULED`] or [`CLOSED`].
        state: AtomicUsize,
        /// Times its future was dropped.
        drops: AtomicUsize,
    }

    /// A task's runnable: dropping it cancels the task (drops its future),
    /// as dropping an async-task `Runnable` does.
    struct Runnable(StdArc<Task>);

    impl Drop for Runnable {
        fn drop(&mut self) {
            self.0.state.store(CLOSED, Ordering::Release);
            self.0.drops.fetch_add(1, Ordering::AcqRel);
        }
    }

    impl Wake for Task {
        fn wake(self: StdArc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &StdArc<Self>) {
            self.wake_and_tell();
        }
    }

    impl Task {
        /// A wake-up (async-task's, then the schedule function's
        /// `push_global`); returns what became of the runnable, or `None`
        /// when the task was queued or closed already.
        fn wake_and_tell(self: &StdArc<Self>) -> Option<Push> {
            self.state
                .compare_exchange(IDLE, SCHEDULED, Ordering::AcqRel, Ordering::Acquire)
                .ok()
                .map(|_| self.runtime.push_global(Runnable(StdArc::clone(self))))
        }
    }

    /// How a runnable queued from outside ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Push {
        /// Left queued for the workers (shutdown's rounds drop it).
        Queued,
        /// Dropped at once: the gate was closed before the push.
        RefusedClosed,
        /// Pushed, then the gate was found closed: drained by the pusher.
        DrainedByPusher,
    }

    impl Runtime {
        fn new() -> StdArc<Self> {
            StdArc::new(Self {
                gate: Gate::new(),
                registry: Registry::new(),
                queue: [
                    AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()),
                ],
                taken: [AtomicBool::new(false), AtomicBool::new(false)],
            })
        }

        /// A task in `state`, registered with its waker.
        fn task(self: &StdArc<Self>, index: usize, state: usize) -> StdArc<Task> {
            let task = StdArc::new(Task {
                runtime: StdArc::clone(self),
                index,
                state: AtomicUsize::new(state),
                drops: AtomicUsize::new(0),
            });
            let waker = Waker::from(StdArc::clone(&task));
            self.registry.insert(Id::next(), |_slot| ((), waker));
            task
        }

        /// The steps of `Shared::push_global`.
        fn push_global(&self, runnable: Runnable) -> Push {
            let mut pushed = false;
            let queued = self.gate.push(
                runnable,
                |runnable| {
                    pushed = true;
                    let index = runnable.0.index;
                    let ptr = Box::into_raw(Box::new(runnable));
                    self.queue[index].store(ptr, Ordering::Release);
                },
                || self.drain(),
            );
            match (queued, pushed) {
                (true, _) => Push::Queued,
                (false, false) => Push::RefusedClosed,
                (false, true) => Push::DrainedByPusher,
            }
        }

        /// Drops every queued runnable.
        fn drain(&self) {
            for (slot, taken) in self.queue.iter().zip(&self.taken) {
                let ptr = slot.load(Ordering::Acquire);
                if !ptr.is_null() && !taken.swap(true, Ordering::AcqRel) {
                    // SAFETY: a non-null slot holds the pointer from
                    // `Box::into_raw` in `push_global`, written once, and
                    // the `taken` swap makes this drainer its only owner.
                    drop(unsafe { Box::from_raw(ptr) });
                }
            }
        }

        /// Whether a runnable was queued and never taken.
        fn left_queued(&self) -> bool {
            self.queue.iter().zip(&self.taken).any(|(slot, taken)| {
                !slot.load(Ordering::Acquire).is_null() && !taken.load(Ordering::Acquire)
            })
        }

        /// Steps 8 and 9 of the shutdown sequence, as `Finish::run` runs
        /// them after the workers are joined.
        fn finish(&self) {
            cancel_and_close(&self.registry, &self.gate, || self.drain());
        }
    }

    /// Checks `f` under loom with `LOOM_MAX_PREEMPTIONS` (2 when unset).
    fn check(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(f);
    }

    /// Shutdown racing a spawn (task 1) and a wake-up of an idle task
    /// (task 0) from two other threads: each task's future is dropped
    /// exactly once and no runnable is left queued, whichever way each
    /// race goes; the spawn that saw the shutdown, the push that shutdown
    /// drained, and the push that found the gate closed and drained itself
    /// all happen.
    #[test]
    fn loom_shutdown_races_spawn_and_wake() {
        /// Spawn outcomes: cancelled at spawn, then as [`outcome`].
        static SPAWN: [StdAtomicUsize; 4] = [const { StdAtomicUsize::new(0) }; 4];
        /// Wake outcomes: nothing queued, then as [`outcome`].
        static WAKE: [StdAtomicUsize; 4] = [const { StdAtomicUsize::new(0) }; 4];
        check(|| {
            let runtime = Runtime::new();
            let idle = runtime.task(0, IDLE);
            let spawner = {
                let runtime = StdArc::clone(&runtime);
                thread::spawn(move || {
                    // `spawn_on`: registered first, then the shutdown check.
                    let task = runtime.task(1, SCHEDULED);
                    let runnable = Runnable(StdArc::clone(&task));
                    let outcome = if runtime.gate.is_shutting_down() {
                        drop(runnable);
                        None
                    } else {
                        Some(runtime.push_global(runnable))
                    };
                    (task, outcome)
                })
            };
            let waker = {
                let idle = StdArc::clone(&idle);
                thread::spawn(move || idle.wake_and_tell())
            };
            assert!(runtime.gate.begin());
            runtime.finish();
            let (spawned, spawn_outcome) = spawner.join().unwrap();
            let wake_outcome = waker.join().unwrap();
            for task in [&idle, &spawned] {
                assert_eq!(
                    task.drops.load(Ordering::Acquire),
                    1,
                    "task {}'s future was not dropped exactly once",
                    task.index
                );
                assert_eq!(task.state.load(Ordering::Acquire), CLOSED);
            }
            assert!(!runtime.left_queued(), "a runnable was left queued");
            // A task registered after the last round keeps its waker there
            // (the real future's drop frees the slot); free it so the
            // model's reference cycle goes.
            drop(runtime.registry.take_wakers());
            SPAWN[spawn_outcome.map_or(0, outcome)].fetch_add(1, StdOrdering::Relaxed);
            WAKE[wake_outcome.map_or(0, outcome)].fetch_add(1, StdOrdering::Relaxed);
        });
        let seen = |counts: &[StdAtomicUsize; 4]| -> Vec<usize> {
            counts
                .iter()
                .map(|n| n.load(StdOrdering::Relaxed))
                .collect()
        };
        let (spawn, wake) = (seen(&SPAWN), seen(&WAKE));
        for (counts, at, what) in [
            (&spawn, 0, "a spawn cancelled because shutdown had started"),
            (&spawn, 1, "a spawn left queued for shutdown's rounds"),
            (
                &spawn,
                3,
                "a spawn that found the gate closed and drained itself",
            ),
            (&wake, 1, "a wake-up left queued for shutdown's rounds"),
            (
                &wake,
                3,
                "a wake-up that found the gate closed and drained itself",
            ),
        ] {
            assert!(
                counts[at] > 0,
                "no interleaving had {what}: spawns {spawn:?}, wake-ups {wake:?}"
            );
        }
    }

    /// The index of a push's outcome in the models' counters.
    fn outcome(push: Push) -> usize {
        match push {
            Push::Queued => 1,
            Push::RefusedClosed => 2,
            Push::DrainedByPusher => 3,
        }
    }
}

/// The LIFO slot (`lifo.rs`): its owner puts two tasks in (the second
/// displaces the first unless a thief took it first) while a thief takes
/// from it; every task comes out exactly once, to the owner, the thief, or
/// the owner's last take. The owner's plain store into an empty slot is
/// what this checks against the thief's `swap`.
mod lifo {
    use std::sync::Arc as StdArc;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};

    use loom::sync::Arc;
    use loom::thread;

    use crate::lifo::Lifo;
    use crate::task::harness::{Runnable, TaskMeta};

    /// A runnable whose future bumps `ran`; its schedule function does
    /// nothing.
    fn counting_runnable(
        ran: &StdArc<StdAtomicUsize>,
    ) -> (Runnable, async_task::Task<(), TaskMeta>) {
        let ran = StdArc::clone(ran);
        async_task::Builder::new()
            .metadata(TaskMeta::unregistered())
            .spawn(
                move |_| async move {
                    ran.fetch_add(1, StdOrdering::SeqCst);
                },
                |_| {},
            )
    }

    #[test]
    fn loom_lifo_slot_hands_each_task_to_one_taker() {
        loom::model(|| {
            let ran = StdArc::new(StdAtomicUsize::new(0));
            let lifo = Arc::new(Lifo::new());
            let (first, first_task) = counting_runnable(&ran);
            let (second, second_task) = counting_runnable(&ran);
            let thief = {
                let lifo = Arc::clone(&lifo);
                thread::spawn(move || lifo.take().map(Runnable::run).is_some())
            };
            let mut owned = 0;
            for runnable in [first, second] {
                if let Some(displaced) = lifo.swap(runnable) {
                    displaced.run();
                    owned += 1;
                }
            }
            let stolen = usize::from(thief.join().unwrap());
            if let Some(last) = lifo.take() {
                last.run();
                owned += 1;
            }
            assert_eq!(owned + stolen, 2, "a task came out twice or never");
            assert_eq!(ran.load(StdOrdering::SeqCst), 2);
            assert!(first_task.is_finished() && second_task.is_finished());
        });
    }
}

/// The I/O driver's wake-up protocol (`io.rs`): a worker that waits on
/// the reactor, modelled by loom's `block_on` over the same future the
/// driver polls, is woken by every unpark, however it interleaves with
/// the worker clearing a stale notification, looking at its queue, and
/// registering its waker. A lost wake-up leaves `block_on` waiting
/// forever, which loom reports as a deadlock.
mod io_park {
    use core::future::poll_fn;

    use loom::sync::Arc;
    use loom::thread;

    use crate::io::IoPark;
    use crate::sync::{AtomicUsize, Ordering};

    /// The worker's loop: clear, look, wait on the "reactor", until it has
    /// seen `expected` tasks. Returns the waits it did.
    fn drive_until(io: &IoPark, queued: &AtomicUsize, expected: usize) -> usize {
        let mut waits = 0;
        loop {
            io.clear();
            if queued.load(Ordering::Acquire) == expected {
                return waits;
            }
            loom::future::block_on(poll_fn(|cx| io.poll_unparked(cx)));
            io.done();
            waits += 1;
        }
    }

    #[test]
    fn loom_io_park_unpark_reaches_the_driver() {
        loom::model(|| {
            let io = Arc::new(IoPark::new());
            let queued = Arc::new(AtomicUsize::new(0));
            let producer = {
                let (io, queued) = (Arc::clone(&io), Arc::clone(&queued));
                thread::spawn(move || {
                    queued.fetch_add(1, Ordering::Release);
                    io.unpark();
                })
            };
            drive_until(&io, &queued, 1);
            producer.join().unwrap();
        });
    }

    #[test]
    fn loom_io_park_two_producers_and_a_stale_notification() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(|| {
            let io = Arc::new(IoPark::new());
            // An unpark the worker's parker consumed earlier.
            io.unpark();
            let queued = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (io, queued) = (Arc::clone(&io), Arc::clone(&queued));
                    thread::spawn(move || {
                        queued.fetch_add(1, Ordering::Release);
                        io.unpark();
                    })
                })
                .collect();
            drive_until(&io, &queued, 2);
            for p in producers {
                p.join().unwrap();
            }
        });
    }
}
