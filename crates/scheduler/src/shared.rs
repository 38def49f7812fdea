//! The state every worker, handle and task of a runtime shares
//! ([`Shared`]), each worker's shared half, and the timer hook.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;

use crate::blocking::BlockingPool;
use crate::builder::Config;
use crate::context::with_worker_of;
use crate::gate::Gate;
use crate::idle::Idle;
use crate::io::IoPark;
use crate::lifo::Lifo;
use crate::local_queue::LocalQueue;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering, Parker, Unparker};
use crate::task::harness::Runnable;
use crate::task::registry::Registry;

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
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Which turns of the timer wheel [`Shared::turn_timers`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Always: the timer driver's turn before it parks.
    Always,
    /// Only when a timer is due, skipping the lock otherwise: the timer
    /// driver's turn after it woke.
    IfDue,
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
    /// Wakes it while it waits on the I/O reactor (see `io.rs`); only in
    /// a runtime built with `drive_io`.
    pub(crate) io: Option<Arc<IoPark>>,
    /// Its counters.
    pub(crate) counters: CachePadded<Counters>,
}

impl WorkerShared {
    /// Wakes the worker, whether it waits on its parker or on the I/O
    /// reactor.
    #[inline]
    pub(crate) fn wake(&self) {
        self.unparker.unpark();
        if let Some(io) = &self.io {
            io.unpark();
        }
    }
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
    /// 1 + the index of the worker waiting on the I/O reactor, or 0.
    #[cfg_attr(not(feature = "io"), allow(dead_code))]
    pub(crate) io_driver: AtomicUsize,
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
        worker.wake();
    }

    /// The first half of the schedule function of runtime tasks
    /// ([`schedule_runtime`]): queues `runnable` on this thread's worker
    /// when it is one of the runtime `shared` points to, or hands it back
    /// for [`Shared::push_global`].
    ///
    /// [`schedule_runtime`]: crate::task::harness::schedule_runtime
    #[inline]
    pub(crate) fn schedule_on_worker(
        shared: *const Shared,
        runnable: Runnable,
        info: async_task::ScheduleInfo,
    ) -> Option<Runnable> {
        let mut runnable = Some(runnable);
        with_worker_of(shared, |worker| {
            if let Some(r) = runnable.take() {
                worker.schedule_local(r, info.woken_while_running);
            }
        });
        runnable
    }

    /// Turns the timer wheel through the runtime's hook (`turn` says
    /// whether only when a timer is due). Returns the next deadline.
    pub(crate) fn turn_timers(&self, counters: &Counters, turn: Turn) -> Option<Instant> {
        let timer = self.timer.lock();
        let hook = timer.as_ref()?;
        if turn == Turn::IfDue && !hook.is_due() {
            return None;
        }
        bump(&counters.timer_turns);
        hook.turn()
    }

    /// Whether any queue a worker can take from holds a task.
    pub(crate) fn has_work(&self, core: &Core, local: &LocalQueue) -> bool {
        !core.local.is_empty()
            || !self.injector.is_empty()
            || !local.is_empty()
            || self
                .workers
                .iter()
                .any(|w| !w.stealer.is_empty() || !w.lifo.is_empty())
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

/// Attaches `shared`'s timer hook: while it is attached, the runtime's
/// parked timer driver helps turn nimsync-time's wheel.
pub(crate) fn attach_timer(shared: &Shared) {
    *shared.timer.lock() = Some(nimsync_time::driver::attach());
}

/// Detaches `shared`'s timer hook: the runtime stops turning the wheel.
pub(crate) fn detach_timer(shared: &Shared) {
    *shared.timer.lock() = None;
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
