//! The loop each worker runs, on its own thread or in a current-thread
//! `block_on`.
//!
//! Each worker owns a `crossbeam_deque::Worker` (its local queue) and a
//! [`Lifo`](crate::lifo::Lifo) slot; all workers share a global `Injector`. A task woken by the
//! task running on a worker goes to that worker's LIFO slot, so a message
//! handed from one task to another is handled while it is hot in cache; the
//! slot is run at most [`MAX_LIFO_STREAK`] times in a row (two tasks waking
//! each other cannot starve the queue), and other workers steal from it, so
//! a task parked there is never stranded behind a long poll while another
//! worker looks for work. A task that wakes itself (yields) goes to the back
//! of the local queue, and so does a task woken by another task's
//! completion (its join): a task joining many children ran after each of
//! them from the LIFO slot, twice the polls of running the children first
//! (docs/perf-notes.md#a-joiner-goes-to-the-back-of-the-queue). Every [`GLOBAL_INTERVAL`] ticks the injector is
//! checked first, so spawns from outside are not starved by a busy local
//! queue.
//!
//! An idle worker steals a batch from a victim (adaptive selection: the
//! victim with the most queued work and the best record of recent
//! successful steals first, then the others from a random start), then from
//! the injector; at most half of the workers search at once (see
//! [`Idle`](crate::idle::Idle)). A worker that finds nothing parks; the one that parks holding
//! the timer-driver role helps turn nimsync-time's wheel and sleeps only
//! until the next deadline, the others sleep until woken. Helping is
//! opportunistic: nimsync-time's own timer thread fires every timer on time
//! whatever the workers do, so a worker stuck in a long poll delays no
//! timer, in the runtime or elsewhere in the process.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_deque::Steal;

use crate::builder::VictimSelection;
use crate::context::{ContextGuard, ThreadContext};
use crate::handle::Handle;
use crate::idle::Searcher;
use crate::local_queue::LocalQueue;
use crate::metrics::SlowPoll;
use crate::shared::{Core, Shared, Turn, WorkerShared, bump};
use crate::sync::Ordering;
use crate::task::{self, harness::Runnable};

/// How many times in a row a worker runs the task in its LIFO slot before
/// it goes to the back of the local queue.
pub(crate) const MAX_LIFO_STREAK: u32 = 3;

/// Rounds of doubling spin hints an idle worker does before it parks
/// ([`WorkerCtx::linger`]).
const LINGER_SPINS: u32 = 6;

/// Yields an idle worker does after its spins, before it parks.
const LINGER_YIELDS: u32 = 4;

/// Every this many ticks a worker looks at the global queue first.
pub(crate) const GLOBAL_INTERVAL: u32 = 61;

/// A worker while it runs on its thread.
#[derive(Debug)]
pub(crate) struct WorkerCtx {
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// The worker's own parts.
    pub(crate) core: Core,
    /// This worker's shared half (also in `shared.workers`), held here
    /// because the hot path must reach it without indexing the worker
    /// table; the countdown and `timed_polls` below serve the same path
    /// (docs/perf-notes.md#worker-hot-path-own-shared-half-countdown-untimed-polls).
    me: Arc<WorkerShared>,
    /// Whether slow-poll detection is on (a copy of the builder's setting).
    timed_polls: bool,
    /// Whether the worker counts as searching (its side of the idle
    /// protocol).
    search: Searcher,
    /// Ticks left until the periodic global-queue check.
    countdown: Cell<u32>,
    /// LIFO-slot runs in a row.
    lifo_streak: Cell<u32>,
    /// The state of the victim-selection generator (a `fastrand::Rng`'s
    /// seed, kept in a `Cell` because the worker is used through `&self`).
    rng: Cell<u64>,
    /// Recent steal success per victim (adaptive selection).
    scores: Box<[Cell<u32>]>,
    /// This thread's `spawn_local` queue.
    pub(crate) local_tasks: Arc<LocalQueue>,
    /// Whether this worker may wait on the I/O reactor (a worker thread of
    /// a runtime built with `drive_io`).
    io_capable: bool,
    /// Whether it waits on the reactor now: tasks the reactor wakes on
    /// this thread then have to wake the worker too.
    driving_io: Cell<bool>,
}

impl WorkerCtx {
    /// A worker for `core` of `shared`.
    pub(crate) fn new(shared: Arc<Shared>, core: Core, local_tasks: Arc<LocalQueue>) -> Self {
        let workers = shared.workers.len();
        let seed = 0x9E37_79B9_7F4A_7C15_u64 ^ ((core.index as u64 + 1) << 17);
        let me = Arc::clone(&shared.workers[core.index]);
        let timed_polls = shared.config.slow_poll.is_some();
        Self {
            shared,
            core,
            me,
            timed_polls,
            search: Searcher::new(),
            countdown: Cell::new(GLOBAL_INTERVAL),
            lifo_streak: Cell::new(0),
            rng: Cell::new(seed),
            scores: (0..workers).map(|_| Cell::new(0)).collect(),
            local_tasks,
            io_capable: false,
            driving_io: Cell::new(false),
        }
    }

    /// Lets this worker wait on the I/O reactor when its runtime was built
    /// to (worker threads only).
    pub(crate) fn io_capable(mut self) -> Self {
        self.io_capable = self.me.io.is_some();
        self
    }

    /// Wakes this worker if it waits on the I/O reactor: the reactor has
    /// just queued a task on it.
    #[inline]
    fn wake_if_driving_io(&self) {
        if self.driving_io.get()
            && let Some(io) = &self.me().io
        {
            io.unpark();
        }
    }

    /// This worker's shared half.
    #[inline]
    fn me(&self) -> &WorkerShared {
        &self.me
    }

    /// Schedules a task woken on this worker.
    pub(crate) fn schedule_local(&self, runnable: Runnable, woken_while_running: bool) {
        if woken_while_running || task::finishing() {
            // It yielded, or it joins the task that just finished (see the
            // module docs): to the back of the queue, behind the others.
            self.core.local.push(runnable);
            self.shared.notify_work();
        } else if let Some(displaced) = self.me().lifo.swap(runnable) {
            self.core.local.push(displaced);
            self.shared.notify_work();
        }
        self.wake_if_driving_io();
    }

    /// Queues a task spawned from this worker.
    pub(crate) fn push_spawned(&self, runnable: Runnable) {
        self.core.local.push(runnable);
        self.shared.notify_work();
        self.wake_if_driving_io();
    }

    /// A uniformly random worker index below `n`.
    fn random_index(&self, n: usize) -> usize {
        let mut rng = fastrand::Rng::with_seed(self.rng.get());
        let index = rng.usize(..n);
        self.rng.set(rng.get_seed());
        index
    }

    /// The next task from this worker's own queues or the global queue.
    fn next_task(&self) -> Option<Runnable> {
        let countdown = self.countdown.get() - 1;
        self.countdown.set(if countdown == 0 {
            GLOBAL_INTERVAL
        } else {
            countdown
        });
        if countdown == 0 {
            if let Some(task) = self.pop_global().or_else(|| self.local_tasks.pop()) {
                return Some(task);
            }
        }
        let lifo = &self.me().lifo;
        if self.lifo_streak.get() < MAX_LIFO_STREAK {
            if let Some(task) = lifo.take() {
                self.lifo_streak.set(self.lifo_streak.get() + 1);
                return Some(task);
            }
        } else if let Some(task) = lifo.take() {
            self.core.local.push(task);
        }
        self.lifo_streak.set(0);
        self.core
            .local
            .pop()
            .or_else(|| self.pop_global())
            .or_else(|| self.local_tasks.pop())
    }

    /// A batch from the global queue.
    fn pop_global(&self) -> Option<Runnable> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.core.local) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Steals from other workers, in adaptive or random victim order.
    fn steal(&self) -> Option<Runnable> {
        let shared = &self.shared;
        let n = shared.workers.len();
        if n == 1 {
            return None;
        }
        if !self.search.start(&shared.idle, n) {
            return None;
        }
        let me = self.core.index;
        let start = self.random_index(n);
        let best = match shared.config.victim_selection {
            VictimSelection::Random => None,
            VictimSelection::Adaptive => (0..n)
                .filter(|&v| v != me)
                .map(|v| {
                    let worker = &shared.workers[v];
                    let queued = worker.stealer.len() as u64 + u64::from(!worker.lifo.is_empty());
                    (queued * 8 + u64::from(self.scores[v].get()), v)
                })
                .filter(|&(weight, _)| weight > 0)
                .max()
                .map(|(_, v)| v),
        };
        let order = best.into_iter().chain(
            (0..n)
                .map(|i| (start + i) % n)
                .filter(|&v| v != me && Some(v) != best),
        );
        for victim in order {
            if let Some(task) = self.steal_from(victim) {
                return Some(task);
            }
        }
        self.pop_global()
    }

    /// One steal attempt on `victim`: a batch from its queue, else its LIFO
    /// slot. Updates the victim's score.
    fn steal_from(&self, victim: usize) -> Option<Runnable> {
        let counters = &self.me().counters;
        let worker = &self.shared.workers[victim];
        bump(&counters.steal_attempts);
        let stolen = loop {
            match worker.stealer.steal_batch_and_pop(&self.core.local) {
                Steal::Success(task) => break Some(task),
                Steal::Empty => break worker.lifo.take(),
                Steal::Retry => {}
            }
        };
        let score = &self.scores[victim];
        if stolen.is_some() {
            bump(&counters.steals);
            score.set((score.get() + 8).min(64));
        } else {
            score.set(score.get() / 2);
        }
        stolen
    }

    /// Runs one task.
    fn run_task(&self, runnable: Runnable) {
        if self.search.found_work(&self.shared.idle) {
            // The last searcher found work: there may be more.
            self.shared.notify_work();
        }
        let counters = &self.me().counters;
        bump(&counters.polls);
        if !self.timed_polls {
            task::run(runnable);
            return;
        }
        match &self.shared.config.slow_poll {
            None => {
                task::run(runnable);
            }
            Some(slow) => {
                let id = runnable.metadata().id();
                let name = runnable.metadata().name().cloned();
                let start = Instant::now();
                task::run(runnable);
                let duration = start.elapsed();
                if duration >= slow.threshold {
                    bump(&counters.slow_polls);
                    #[cfg(feature = "tracing")]
                    crate::trace::slow_poll(id, name.as_ref(), duration, slow.threshold);
                    let report = SlowPoll { id, name, duration };
                    // A panicking hook must not take the worker down.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        (slow.hook)(&report);
                    }));
                }
            }
        }
    }

    /// Runs one task if there is one anywhere. Returns whether it ran one.
    pub(crate) fn step(&self) -> bool {
        match self.next_task().or_else(|| self.steal()) {
            Some(task) => {
                self.run_task(task);
                true
            }
            None => false,
        }
    }

    /// Keeps looking for work for a short while before a searching worker
    /// parks: [`LINGER_SPINS`] rounds of spin hints, doubling, then
    /// [`LINGER_YIELDS`] yields. It stays counted as searching meanwhile, so
    /// producers skip the wake-up (a system call on their path) that its
    /// park would cost them: spawning from one task, the other worker
    /// drained each stolen batch faster than the spawner refilled it and
    /// parked between batches. A worker that is not searching (alone in
    /// its runtime, or over the searcher limit) parks at once: lingering
    /// there only delayed its wake-ups
    /// (docs/perf-notes.md#an-idle-worker-lingers-before-it-parks). Returns
    /// whether it ran a task.
    fn linger(&self) -> bool {
        if !self.search.is_searching() {
            return false;
        }
        for round in 0..LINGER_SPINS + LINGER_YIELDS {
            if round < LINGER_SPINS {
                for _ in 0..1u32 << round {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
            if self.shared.gate.is_shutting_down() {
                return false;
            }
            if self.step() {
                return true;
            }
        }
        false
    }

    /// Parks until woken (or until the next timer deadline when this worker
    /// is the timer driver), through the idle protocol
    /// ([`Searcher::park`]: announce, look once more, sleep, unregister).
    /// `woken` reports a pending wake-up that must not be slept through
    /// (the main future of a current-thread `block_on`).
    pub(crate) fn park(&self, woken: &dyn Fn() -> bool) {
        let shared = &self.shared;
        if self.io_capable
            && let Some(io) = &self.me().io
        {
            io.clear();
        }
        self.search.park(
            &shared.idle,
            self.core.index,
            || {
                woken()
                    || shared.gate.is_shutting_down()
                    || shared.has_work(&self.core, &self.local_tasks)
            },
            || self.sleep(),
        );
    }

    /// The sleep of [`WorkerCtx::park`], registered as parked.
    ///
    /// One parked worker at a time is the timer driver: it turns the wheel
    /// before it parks and parks no later than the next deadline, so a
    /// timer of this runtime's tasks fires on a worker that runs the task.
    /// That is all it does for the timers: nimsync-time's timer thread
    /// fires every timer on time by itself, so nothing is handed on when
    /// the driver goes back to work.
    fn sleep(&self) {
        let shared = &self.shared;
        let index = self.core.index;
        let counters = &self.me().counters;
        bump(&counters.parks);
        let driver = shared
            .timer_driver
            .compare_exchange(0, index + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if driver {
            let next = shared.turn_timers(counters, Turn::Always);
            // Timers fired by the turn may have queued tasks on this worker.
            if self.me().lifo.is_empty() && self.core.local.is_empty() {
                self.wait(next);
            }
            shared.timer_driver.store(0, Ordering::SeqCst);
            // Woken at the deadline: fire it here (the timer thread may
            // have beaten this worker to it; then nothing is due).
            shared.turn_timers(counters, Turn::IfDue);
            return;
        }
        self.wait(None);
    }

    /// The wait of a parked worker, until woken or `deadline`: on the I/O
    /// reactor for one parked worker at a time when the runtime drives it
    /// (see `io.rs`), on the worker's parker otherwise.
    fn wait(&self, deadline: Option<Instant>) {
        #[cfg(all(feature = "io", not(loom)))]
        if self.io_capable
            && let Some(io) = &self.me().io
        {
            let driver = &self.shared.io_driver;
            let me = self.core.index + 1;
            if driver
                .compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                self.driving_io.set(true);
                crate::io::drive(io, deadline);
                self.driving_io.set(false);
                driver.store(0, Ordering::SeqCst);
                return;
            }
        }
        match deadline {
            Some(deadline) => self.core.parker.park_deadline(deadline),
            None => self.core.parker.park(),
        }
    }

    /// Gives the worker's own parts back (current-thread `block_on`).
    pub(crate) fn into_core(self) -> Core {
        // A worker woken as a notified sleeper counts as searching until it
        // runs a task. If `block_on`'s future completes first, that count
        // must go with this context: left behind, it told every later
        // notifier that someone was searching, and spawns from other
        // threads no longer woke the next `block_on`.
        self.search.stop(&self.shared.idle);
        self.core
    }

    /// Drops what is left in this worker's queues (at shutdown).
    pub(crate) fn drain(&self) {
        while let Some(task) = self.core.local.pop() {
            drop(task);
        }
        drop(self.me().lifo.take());
        self.search.stop(&self.shared.idle);
    }
}

/// A worker thread's body.
pub(crate) fn worker_thread(shared: Arc<Shared>, core: Core) {
    if let Some(start) = &shared.config.on_thread_start {
        run_hook(&**start, "on_thread_start");
    }
    let io = shared.workers[core.index].io.clone();
    let local = LocalQueue::with_io(core.parker.unparker().clone(), io);
    let ctx = Rc::new(WorkerCtx::new(Arc::clone(&shared), core, Arc::clone(&local)).io_capable());
    let guard = ContextGuard::enter(ThreadContext {
        handle: Handle::from_shared(Arc::clone(&shared)),
        worker: Some(Rc::clone(&ctx)),
        local: Some(Arc::clone(&local)),
    });
    while !shared.gate.is_shutting_down() {
        if !ctx.step() && !ctx.linger() {
            ctx.park(&|| false);
        }
    }
    ctx.drain();
    drop(guard);
    local.shutdown();
    drop(ctx);
    if let Some(stop) = &shared.config.on_thread_stop {
        run_hook(&**stop, "on_thread_stop");
    }
}

/// Runs a user hook on a runtime thread; a panic in it is reported and
/// does not take the thread down.
pub(crate) fn run_hook(hook: &(dyn Fn() + Send + Sync), what: &str) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook)).is_err() {
        eprintln!("nimsync-scheduler: the {what} hook panicked; the thread carries on");
    }
}
