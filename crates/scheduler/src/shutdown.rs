//! The shutdown of a runtime, run by its drop and by `shutdown_timeout`.
//!
//! # The sequence
//! The thread that drops the runtime (the *dropper*) runs steps 1 to 3 in
//! [`Runtime::shutdown`]; steps 4 to 9 are [`Finish::run`], on the dropper
//! or on a `nimsync-shutdown` thread.
//!
//! 1. The dropper raises the gate's shutdown flag ([`Gate::begin`]; a
//!    second shutdown returns here). From now on each worker leaves its
//!    loop at its next check, and a spawn is cancelled at once (its
//!    runnable is dropped before it is queued); a wake-up still queues its
//!    task. Waits for nothing.
//! 2. The dropper takes the worker threads' join handles into a [`Finish`],
//!    whose [`TimerDetach`] detaches the runtime's timer hook on every way
//!    out from here, a panic included, and unparks every worker so a parked
//!    one sees the flag. Waits for nothing.
//! 3. On a thread that is not the runtime's own, the dropper runs
//!    [`Finish::run`] itself. On one of its own threads (a worker, a
//!    blocking thread, or a thread inside its `block_on`: the runtime was
//!    dropped in one of its tasks or blocking closures) waiting would wait
//!    for that very thread, so the dropper detaches the timer hook, starts
//!    a `nimsync-shutdown` thread that runs [`Finish::run`], and returns.
//!    If that thread cannot be started it panics (or, already panicking,
//!    reports on stderr): the workers still stop and the timers are
//!    detached, but the tasks, the blocking pool and the threads are left.
//!
//! [`Finish::run`]:
//!
//! 4. Joins every worker thread: waits for each worker to finish the poll
//!    it is in, see the flag, drop the tasks in its local queue and LIFO
//!    slot, drop its thread's `spawn_local` tasks (on that thread) and run
//!    its stop hook. On a `nimsync-shutdown` thread this waits for the
//!    dropping task's poll to return. A worker whose own start or stop hook
//!    dropped the runtime is not joined by itself.
//! 5. Takes the current-thread core, unless a `block_on` holds it, and
//!    drops the tasks in its local queue. Waits for nothing (a `block_on`
//!    still running keeps the core and gives it back when it returns).
//! 6. Detaches the timer hook: the runtime stops helping turn nimsync-time's
//!    wheel (the timer thread never stops). Waits for nothing.
//! 7. Shuts the blocking pool ([`BlockingPool::shutdown`]): drops the queued
//!    closures, then waits for the running ones to return (until the
//!    deadline of `shutdown_timeout`, after which they are left to finish
//!    on their own threads) and joins its threads. On a `nimsync-shutdown`
//!    thread this waits for the dropping closure to return.
//! 8. Rounds ([`Registry::cancel_all`]): drop every queued task (the global
//!    queue, each worker's local queue and LIFO slot), then take every
//!    waker still in the task registry and wake it, which queues its task
//!    in the global queue for the next round to drop; until a round finds
//!    no waker. Dropping a task's runnable drops its future, and the
//!    future's drop frees its registry slot. Waits for nothing.
//! 9. Closes the gate ([`Gate::close`]): raises the closed flag, then
//!    drains once more; from then on a wake-up drops its task instead of
//!    queueing it. `gate.rs` describes the race of this step with a
//!    wake-up, which `cargo xtask loom` checks together with steps 8 and 9
//!    ([`cancel_and_close`]) against a spawn and a wake-up on other threads
//!    (`loom_tests::shutdown`).
//!
//! [`Gate::begin`]: crate::gate::Gate::begin
//! [`Gate::close`]: crate::gate::Gate::close
//! [`BlockingPool::shutdown`]: crate::blocking::BlockingPool::shutdown
//! [`Registry::cancel_all`]: crate::task::registry::Registry::cancel_all

use std::sync::Arc;
use std::time::Instant;

use crossbeam_deque::Steal;

use crate::context::CONTEXT;
use crate::gate::Gate;
use crate::runtime::Runtime;
use crate::shared::{Shared, TimerDetach, detach_timer, drain_injector};
use crate::task::registry::Registry;

impl Runtime {
    /// Stops the workers, cancels every task and joins the threads; on one
    /// of the runtime's own threads, starts that and leaves the waiting to
    /// a `nimsync-shutdown` thread (see the type's docs).
    pub(crate) fn shutdown(&mut self, deadline: Option<Instant>) {
        if !self.shared.gate.begin() {
            return;
        }
        #[cfg(feature = "tracing")]
        crate::trace::runtime_shutdown(self.shared.workers.len());
        // Whatever happens from here on, a panic included, the runtime
        // stops turning the process's timers.
        let finish = Finish {
            timers: TimerDetach(Arc::clone(&self.shared)),
            threads: std::mem::take(&mut self.threads),
            deadline,
        };
        for worker in self.shared.workers.iter() {
            worker.wake();
        }
        if !self.on_own_thread() {
            finish.run();
            return;
        }
        // Waiting here would wait for this very thread: finish elsewhere,
        // and stop turning the timers now.
        detach_timer(&finish.timers.0);
        let started = std::thread::Builder::new()
            .name("nimsync-shutdown".into())
            .spawn(move || finish.run());
        if let Err(error) = started {
            if std::thread::panicking() {
                eprintln!(
                    "nimsync-scheduler: a runtime dropped on its own thread while panicking could \
                     not start a thread to finish its shutdown ({error}); its tasks are leaked"
                );
            } else {
                panic!(
                    "nimsync-scheduler: a runtime dropped on one of its own threads (in a task or \
                     a spawn_blocking closure) needs a thread to finish its shutdown, and none \
                     could be started ({error}); drop the runtime outside it, or raise the \
                     process's thread limit"
                );
            }
        }
    }

    /// Whether the calling thread is one of this runtime's own (a worker,
    /// a blocking thread, or a thread inside its `block_on`).
    fn on_own_thread(&self) -> bool {
        CONTEXT
            .try_with(|ctx| {
                ctx.try_borrow().is_ok_and(|ctx| {
                    ctx.as_ref()
                        .is_some_and(|ctx| Arc::ptr_eq(ctx.handle.shared(), &self.shared))
                })
            })
            .unwrap_or(false)
    }
}

/// The part of a shutdown that waits: joins the workers, waits for the
/// blocking pool, cancels every task left and closes the gate. Runs on the
/// dropping thread, or on a `nimsync-shutdown` thread when that is one of
/// the runtime's own.
struct Finish {
    /// The runtime; detaches its timer hook when dropped, also while
    /// unwinding.
    timers: TimerDetach,
    /// The worker threads.
    threads: Vec<std::thread::JoinHandle<()>>,
    /// How long to wait for running blocking closures.
    deadline: Option<Instant>,
}

impl Finish {
    /// Runs the rest of the shutdown.
    fn run(self) {
        let shared = &self.timers.0;
        let me = std::thread::current().id();
        for thread in self.threads {
            // A worker whose start or stop hook dropped the runtime cannot
            // join itself; it is about to exit anyway.
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
        let core = shared.core.lock().take();
        if let Some(core) = core {
            while let Some(task) = core.local.pop() {
                drop(task);
            }
        }
        detach_timer(shared);
        shared.blocking.shutdown(self.deadline);
        // Each wake queues its task in the injector; the next round drops
        // it.
        cancel_and_close(&shared.registry, &shared.gate, || drain_queues(shared));
    }
}

/// Drops every queued task of `shared`.
fn drain_queues(shared: &Shared) {
    drain_injector(&shared.injector);
    for worker in shared.workers.iter() {
        drop(worker.lifo.take());
        loop {
            match worker.stealer.steal() {
                Steal::Success(task) => drop(task),
                Steal::Empty => break,
                Steal::Retry => {}
            }
        }
    }
}

/// Steps 8 and 9 of the sequence: rounds of `drain` (which drops every
/// queued task) and waking every task left in `registry`, until none is
/// left, then the gate's close, whose last drain is `drain` too.
pub(crate) fn cancel_and_close(registry: &Registry, gate: &Gate, drain: impl Fn()) {
    registry.cancel_all(&drain);
    gate.close(drain);
}
