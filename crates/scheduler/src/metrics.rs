//! Runtime metrics and slow-poll reports.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::Shared;
use crate::sync::Ordering;
use crate::task::Id;

/// A snapshot of a runtime's counters, from [`Runtime::metrics`].
///
/// Counters only grow; compare two snapshots to see what happened in
/// between. Reading them costs nothing on the hot path: workers count in
/// their own cache lines and the snapshot sums them.
///
/// [`Runtime::metrics`]: crate::Runtime::metrics
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(rt.spawn(async {})).unwrap();
/// let m = rt.metrics();
/// assert_eq!(m.workers, 2);
/// assert!(m.tasks_spawned >= 1);
/// assert_eq!(m.tasks_alive, m.tasks_spawned - m.tasks_completed - m.tasks_panicked - m.tasks_cancelled);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Worker threads (1 for the current-thread flavor).
    pub workers: usize,
    /// Tasks spawned (including `spawn_blocking`; not `spawn_local`).
    pub tasks_spawned: u64,
    /// Tasks whose future finished with its output.
    pub tasks_completed: u64,
    /// Tasks whose future panicked.
    pub tasks_panicked: u64,
    /// Tasks dropped before finishing: aborted, or dropped at shutdown.
    pub tasks_cancelled: u64,
    /// Tasks whose future has not been dropped yet.
    pub tasks_alive: u64,
    /// Polls run by workers.
    pub polls: u64,
    /// Successful steals (each takes a batch) from other workers.
    pub steals: u64,
    /// Steal attempts on other workers.
    pub steal_attempts: u64,
    /// Times workers parked.
    pub parks: u64,
    /// Times a worker was unparked to take new work.
    pub unparks: u64,
    /// Timer-wheel turns done by workers (the parked timer driver's; the
    /// timer thread's turns are not counted).
    pub timer_turns: u64,
    /// Polls longer than the slow-poll threshold (0 unless enabled).
    pub slow_polls: u64,
    /// Tasks in each worker's local queue (plus its LIFO slot).
    pub worker_local_depth: Vec<usize>,
    /// Tasks in the global queue.
    pub injector_depth: usize,
    /// Live `spawn_blocking` threads.
    pub blocking_threads: usize,
    /// `spawn_blocking` closures waiting for a thread.
    pub blocking_queue_depth: usize,
}

impl RuntimeMetrics {
    /// Reads the counters of `shared`.
    pub(crate) fn read(shared: &Arc<Shared>) -> Self {
        let mut m = RuntimeMetrics {
            workers: shared.workers.len(),
            ..Self::default()
        };
        let tasks = shared.registry.counts();
        m.tasks_spawned = tasks.spawned;
        m.tasks_completed = tasks.completed;
        m.tasks_panicked = tasks.panicked;
        m.tasks_cancelled = tasks.cancelled;
        m.tasks_alive = tasks.alive;
        for worker in shared.workers.iter() {
            let c = &worker.counters;
            m.polls += c.polls.load(Ordering::Relaxed);
            m.steals += c.steals.load(Ordering::Relaxed);
            m.steal_attempts += c.steal_attempts.load(Ordering::Relaxed);
            m.parks += c.parks.load(Ordering::Relaxed);
            m.unparks += c.unparks.load(Ordering::Relaxed);
            m.timer_turns += c.timer_turns.load(Ordering::Relaxed);
            m.slow_polls += c.slow_polls.load(Ordering::Relaxed);
            m.worker_local_depth
                .push(worker.stealer.len() + usize::from(!worker.lifo.is_empty()));
        }
        m.injector_depth = shared.injector.len();
        (m.blocking_threads, m.blocking_queue_depth) = shared.blocking.depths();
        m
    }
}

/// A poll that took longer than the slow-poll threshold, as reported to the
/// hook set with [`Builder::on_slow_poll`](crate::Builder::on_slow_poll).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SlowPoll {
    /// The task.
    pub id: Id,
    /// Its name, if it has one.
    pub name: Option<Arc<str>>,
    /// How long the poll took.
    pub duration: Duration,
}
