//! The shared state of a runtime and the loop each worker runs.
//!
//! Each worker owns a `crossbeam_deque::Worker` (its local queue) and a
//! [`Lifo`] slot; all workers share a global `Injector`. A task woken by the
//! task running on a worker goes to that worker's LIFO slot, so a message
//! handed from one task to another is handled while it is hot in cache; the
//! slot is run at most [`MAX_LIFO_STREAK`] times in a row (two tasks waking
//! each other cannot starve the queue), and other workers steal from it, so
//! a task parked there is never stranded behind a long poll while another
//! worker looks for work. A task that wakes itself (yields) goes to the back
//! of the local queue. Every [`GLOBAL_INTERVAL`] ticks the injector is
//! checked first, so spawns from outside are not starved by a busy local
//! queue.
//!
//! An idle worker steals a batch from a victim (adaptive selection: the
//! victim with the most queued work and the best record of recent
//! successful steals first, then the others from a random start), then from
//! the injector; at most half of the workers search at once (see
//! [`Idle`]). A worker that finds nothing parks; the one that parks holding
//! the timer-driver role helps turn nimsync-time's wheel and sleeps only
//! until the next deadline, the others sleep until woken. Helping is
//! opportunistic: nimsync-time's own timer thread fires every timer on time
//! whatever the workers do, so a worker stuck in a long poll delays no
//! timer, in the runtime or elsewhere in the process.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;
use crossbeam_utils::sync::{Parker, Unparker};

use crate::blocking::BlockingPool;
use crate::cell::{self, Registry, Runnable};
use crate::gate::Gate;
use crate::idle::Idle;
use crate::lifo::Lifo;
use crate::local::LocalQueue;
use crate::metrics::SlowPoll;
use crate::runtime::{Config, Handle, VictimSelection};
use crate::sync::Locked;

/// How many times in a row a worker runs the task in its LIFO slot before
/// it goes to the back of the local queue.
pub(crate) const MAX_LIFO_STREAK: u32 = 3;

/// Every this many ticks a worker looks at the global queue first.
pub(crate) const GLOBAL_INTERVAL: u32 = 61;

/// Per-worker counters, written by their worker (and `unparks` by
/// notifiers).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Polls run.
    pub(crate) polls: AtomicU64,
    /// Successful steals (batches) from other workers.
    pub(crate) steals: AtomicU64,
    /// Steal attempts on other workers.
    pub(crate) steal_attempts: AtomicU64,
    /// Times the worker parked.
    pub(crate) parks: AtomicU64,
    /// Times the worker was unparked by a notifier.
    pub(crate) unparks: AtomicU64,
    /// Timer-wheel turns done by the worker.
    pub(crate) timer_turns: AtomicU64,
    /// Polls slower than the slow-poll threshold.
    pub(crate) slow_polls: AtomicU64,
}

/// Adds one to a counter only its owner thread writes.
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// What other threads see of a worker.
#[derive(Debug)]
pub(crate) struct WorkerShared {
    /// Steals from its local queue.
    pub(crate) stealer: Stealer<Runnable>,
    /// Its LIFO slot.
    pub(crate) lifo: Lifo,
    /// Wakes it.
    pub(crate) unparker: Unparker,
    /// Its counters.
    pub(crate) counters: CachePadded<Counters>,
}

/// The parts of a worker that move into the thread that runs it.
#[derive(Debug)]
pub(crate) struct Core {
    /// The worker's index.
    pub(crate) index: usize,
    /// Its local queue.
    pub(crate) local: Worker<Runnable>,
    /// Its parker.
    pub(crate) parker: Parker,
}

/// The state every worker, handle and task of a runtime shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The global queue.
    pub(crate) injector: Injector<Runnable>,
    /// The workers.
    pub(crate) workers: Box<[Arc<WorkerShared>]>,
    /// Parked and searching workers.
    pub(crate) idle: Idle,
    /// Every live task.
    pub(crate) registry: Registry,
    /// The shutdown flags: workers exit once shutdown starts; late
    /// wake-ups drop their task once it finished.
    pub(crate) gate: Gate,
    /// The builder's settings.
    pub(crate) config: Config,
    /// The `spawn_blocking` pool.
    pub(crate) blocking: BlockingPool,
    /// The timer hook the parked timer driver turns, detached at shutdown.
    pub(crate) timer: Mutex<Option<nimsync_time::driver::Hook>>,
    /// 1 + the index of the worker parked as the timer driver, or 0.
    pub(crate) timer_driver: AtomicUsize,
    /// The current-thread flavor's single core, taken by `block_on`.
    pub(crate) core: Mutex<Option<Core>>,
    /// `block_on` calls waiting for the current-thread core.
    pub(crate) block_on_waiters: Mutex<Vec<(usize, Unparker)>>,
}

impl Shared {
    /// Queues `runnable` from a thread that is not one of this runtime's
    /// workers (or for a spawn), then wakes a worker if needed.
    pub(crate) fn push_global(&self, runnable: Runnable) {
        // Once shutdown finished, the task is dropped here (before the
        // push, or by draining after it when the close raced with it): a
        // queued task holds the runtime alive, and nobody else drains.
        let queued = self.gate.push(
            runnable,
            |runnable| self.injector.push(runnable),
            || drain_injector(&self.injector),
        );
        if queued {
            // The gate's push ended with the fence the idle protocol needs.
            if let Some(index) = self
                .idle
                .worker_to_notify_after_fence(self.timer_driver_index())
            {
                self.unpark(index);
            }
        }
    }

    /// Wakes a parked worker if nobody is searching.
    pub(crate) fn notify_work(&self) {
        if let Some(index) = self.idle.worker_to_notify(self.timer_driver_index()) {
            self.unpark(index);
        }
    }

    /// The worker parked as the timer driver, if any: notifiers wake
    /// another sleeper first, so it stays parked until the next deadline
    /// and fires that timer on the worker that runs its task.
    fn timer_driver_index(&self) -> Option<usize> {
        self.timer_driver.load(Ordering::Relaxed).checked_sub(1)
    }

    /// Unparks worker `index` and counts it.
    pub(crate) fn unpark(&self, index: usize) {
        let worker = &self.workers[index];
        worker.counters.unparks.fetch_add(1, Ordering::Relaxed);
        worker.unparker.unpark();
    }

    /// The schedule function of every runtime task.
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable, info: async_task::ScheduleInfo) {
        let mut runnable = Some(runnable);
        with_worker_of(self, |worker| {
            if let Some(r) = runnable.take() {
                worker.schedule_local(r, info.woken_while_running);
            }
        });
        if let Some(runnable) = runnable {
            self.push_global(runnable);
        }
    }

    /// Turns the timer wheel through the runtime's hook; `only_if_due`
    /// skips the lock when no timer is due. Returns the next deadline.
    fn turn_timers(&self, counters: &Counters, only_if_due: bool) -> Option<Instant> {
        let timer = self.timer.locked();
        let hook = timer.as_ref()?;
        if only_if_due && !hook.is_due() {
            return None;
        }
        bump(&counters.timer_turns);
        hook.turn()
    }

    /// Whether any queue a worker can take from holds a task.
    fn has_work(&self, core: &Core, local: &LocalQueue) -> bool {
        !core.local.is_empty()
            || !self.injector.is_empty()
            || !local.is_empty()
            || self
                .workers
                .iter()
                .any(|w| !w.stealer.is_empty() || !w.lifo.is_empty())
    }
}

/// A worker while it runs on its thread.
#[derive(Debug)]
pub(crate) struct WorkerCtx {
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// The worker's own parts.
    pub(crate) core: Core,
    /// This worker's shared half (also in `shared.workers`), reached
    /// without indexing on the hot path.
    ///
    /// NB: with the countdown below and `timed_polls`, this took the
    /// same-worker wake ping-pong from 18.68M to 17.57M instructions for
    /// 20000 round trips (callgrind; `step` 3.00M to 2.36M).
    me: Arc<WorkerShared>,
    /// Whether slow-poll detection is on (a copy of the builder's setting).
    timed_polls: bool,
    /// Whether the worker counts as searching.
    searching: Cell<bool>,
    /// Ticks left until the periodic global-queue check.
    countdown: Cell<u32>,
    /// LIFO-slot runs in a row.
    lifo_streak: Cell<u32>,
    /// xorshift state for victim selection.
    rng: Cell<u64>,
    /// Recent steal success per victim (adaptive selection).
    scores: Box<[Cell<u32>]>,
    /// This thread's `spawn_local` queue.
    pub(crate) local_tasks: Arc<LocalQueue>,
}

/// What a thread inside a runtime knows about it.
#[derive(Debug)]
pub(crate) struct ThreadContext {
    /// The runtime.
    pub(crate) handle: Handle,
    /// The worker this thread runs, if any.
    pub(crate) worker: Option<Rc<WorkerCtx>>,
    /// This thread's `spawn_local` queue (none on blocking threads).
    pub(crate) local: Option<Arc<LocalQueue>>,
}

thread_local! {
    /// The runtime this thread is in, set by worker threads and `block_on`.
    pub(crate) static CONTEXT: RefCell<Option<ThreadContext>> = const { RefCell::new(None) };
}

/// Panics if this thread is inside a runtime (a worker, a blocking thread
/// or a `block_on`).
pub(crate) fn assert_outside_runtime() {
    let inside = CONTEXT.with(|ctx| ctx.borrow().is_some());
    assert!(
        !inside,
        "cannot enter a nimsync runtime from inside a runtime: `block_on` was called \
         from a task or from inside another `block_on`; `.await` the future instead, \
         or run the blocking code with `spawn_blocking`"
    );
}

/// Clears [`CONTEXT`] when dropped.
#[derive(Debug)]
pub(crate) struct ContextGuard(());

impl ContextGuard {
    /// Enters `context` on this thread.
    ///
    /// # Panics
    /// If the thread is already inside a runtime.
    pub(crate) fn enter(context: ThreadContext) -> Self {
        assert_outside_runtime();
        set_current_worker(context.worker.as_ref());
        CONTEXT.with(|ctx| *ctx.borrow_mut() = Some(context));
        ContextGuard(())
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        set_current_worker(None);
        let context = CONTEXT.with(|ctx| ctx.borrow_mut().take());
        drop(context);
    }
}

thread_local! {
    /// The worker this thread runs, or null: a copy of `CONTEXT`'s worker
    /// for the hot paths (schedule, spawn), which read it without a
    /// `RefCell` borrow.
    ///
    /// Invariant: non-null only while `CONTEXT`'s `worker` field holds the
    /// `Rc` it points to; [`set_current_worker`] is called right before the
    /// field is filled and right before it is emptied.
    static CURRENT_WORKER: Cell<*const WorkerCtx> = const { Cell::new(std::ptr::null()) };
}

/// Records the worker `CONTEXT` is about to hold (or `None` before it is
/// taken out).
pub(crate) fn set_current_worker(worker: Option<&Rc<WorkerCtx>>) {
    let ptr = worker.map_or(std::ptr::null(), Rc::as_ptr);
    CURRENT_WORKER.with(|w| w.set(ptr));
}

/// Calls `f` with this thread's worker when it belongs to `shared`.
#[inline]
pub(crate) fn with_worker_of<R>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&WorkerCtx) -> R,
) -> Option<R> {
    let ptr = CURRENT_WORKER.with(Cell::get);
    // SAFETY: non-null only while `CONTEXT` holds the `Rc` it points to
    // (see `CURRENT_WORKER`), and only this thread reads it; the `Rc` is not
    // released while `f` runs, since `CONTEXT` changes only when a thread
    // enters or leaves a runtime, never from inside a schedule or a spawn.
    let worker = unsafe { ptr.as_ref() }?;
    Arc::ptr_eq(&worker.shared, shared).then(|| f(worker))
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
            searching: Cell::new(false),
            countdown: Cell::new(GLOBAL_INTERVAL),
            lifo_streak: Cell::new(0),
            rng: Cell::new(seed),
            scores: (0..workers).map(|_| Cell::new(0)).collect(),
            local_tasks,
        }
    }

    /// This worker's shared half.
    #[inline]
    fn me(&self) -> &WorkerShared {
        &self.me
    }

    /// Schedules a task woken on this worker.
    fn schedule_local(&self, runnable: Runnable, woken_while_running: bool) {
        if woken_while_running {
            // It yielded: to the back of the queue, behind the others.
            self.core.local.push(runnable);
            self.shared.notify_work();
        } else if let Some(displaced) = self.me().lifo.swap(runnable) {
            self.core.local.push(displaced);
            self.shared.notify_work();
        }
    }

    /// Queues a task spawned from this worker.
    pub(crate) fn push_spawned(&self, runnable: Runnable) {
        self.core.local.push(runnable);
        self.shared.notify_work();
    }

    /// The next random number.
    fn random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
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
        if !self.searching.get() {
            if !shared.idle.try_start_search(n) {
                return None;
            }
            self.searching.set(true);
        }
        let me = self.core.index;
        let start = (self.random() % n as u64) as usize;
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
        if self.searching.replace(false) && self.shared.idle.stop_search() {
            // The last searcher found work: there may be more.
            self.shared.notify_work();
        }
        let counters = &self.me().counters;
        bump(&counters.polls);
        if !self.timed_polls {
            cell::run(runnable);
            return;
        }
        match &self.shared.config.slow_poll {
            None => {
                cell::run(runnable);
            }
            Some(slow) => {
                let id = runnable.metadata().id;
                let name = runnable.metadata().name.clone();
                let start = Instant::now();
                cell::run(runnable);
                let duration = start.elapsed();
                if duration >= slow.threshold {
                    bump(&counters.slow_polls);
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

    /// Parks until woken (or until the next timer deadline when this worker
    /// is the timer driver). `woken` reports a pending wake-up that must not
    /// be slept through (the main future of a current-thread `block_on`).
    ///
    /// One parked worker at a time is the timer driver: it turns the wheel
    /// before it parks and parks no later than the next deadline, so a
    /// timer of this runtime's tasks fires on a worker that runs the task.
    /// That is all it does for the timers: nimsync-time's timer thread
    /// fires every timer on time by itself, so nothing is handed on when
    /// the driver goes back to work.
    pub(crate) fn park(&self, woken: &dyn Fn() -> bool) {
        let shared = &self.shared;
        let index = self.core.index;
        shared.idle.register(index, self.searching.replace(false));
        if woken()
            || shared.gate.is_shutting_down()
            || shared.has_work(&self.core, &self.local_tasks)
        {
            if !shared.idle.unregister(index) {
                self.searching.set(true);
            }
            return;
        }
        let counters = &self.me().counters;
        bump(&counters.parks);
        let driver = shared
            .timer_driver
            .compare_exchange(0, index + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if driver {
            let next = shared.turn_timers(counters, false);
            // Timers fired by the turn may have queued tasks on this worker.
            if self.me().lifo.is_empty() && self.core.local.is_empty() {
                match next {
                    Some(deadline) => self.core.parker.park_deadline(deadline),
                    None => self.core.parker.park(),
                }
            }
            shared.timer_driver.store(0, Ordering::SeqCst);
            // Woken at the deadline: fire it here (the timer thread may
            // have beaten this worker to it; then nothing is due).
            shared.turn_timers(counters, true);
            if !shared.idle.unregister(index) {
                self.searching.set(true);
            }
            return;
        }
        self.core.parker.park();
        if !shared.idle.unregister(index) {
            self.searching.set(true);
        }
    }

    /// Gives the worker's own parts back (current-thread `block_on`).
    pub(crate) fn into_core(self) -> Core {
        // A worker woken as a notified sleeper counts as searching until it
        // runs a task. If `block_on`'s future completes first, that count
        // must go with this context: left behind, it told every later
        // notifier that someone was searching, and spawns from other
        // threads no longer woke the next `block_on`.
        if self.searching.replace(false) {
            self.shared.idle.stop_search();
        }
        self.core
    }

    /// Drops what is left in this worker's queues (at shutdown).
    pub(crate) fn drain(&self) {
        while let Some(task) = self.core.local.pop() {
            drop(task);
        }
        drop(self.me().lifo.take());
        if self.searching.replace(false) {
            self.shared.idle.stop_search();
        }
    }
}

/// Drops every task in `injector`.
pub(crate) fn drain_injector(injector: &Injector<Runnable>) {
    loop {
        match injector.steal() {
            Steal::Success(task) => drop(task),
            Steal::Empty => break,
            Steal::Retry => {}
        }
    }
}

/// Runs a user hook on a runtime thread; a panic in it is reported and
/// does not take the thread down.
pub(crate) fn run_hook(hook: &(dyn Fn() + Send + Sync), what: &str) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook)).is_err() {
        eprintln!("nimsync-scheduler: the {what} hook panicked; the thread carries on");
    }
}

/// Attaches `shared`'s timer hook: while it is attached, the runtime's
/// parked timer driver helps turn nimsync-time's wheel.
pub(crate) fn attach_timer(shared: &Shared) {
    *shared.timer.locked() = Some(nimsync_time::driver::attach());
}

/// Detaches `shared`'s timer hook: the runtime stops turning the wheel.
pub(crate) fn detach_timer(shared: &Shared) {
    *shared.timer.locked() = None;
}

/// Detaches the runtime's timer hook when dropped, also while unwinding,
/// so every way out of a shutdown stops the runtime's turns.
#[derive(Debug)]
pub(crate) struct TimerDetach(pub(crate) Arc<Shared>);

impl Drop for TimerDetach {
    fn drop(&mut self) {
        detach_timer(&self.0);
    }
}
