//! The `spawn_blocking` thread pool.
//!
//! Threads start on demand up to `max_blocking_threads`, run queued
//! closures one at a time, and exit after [`KEEP_ALIVE`] without work.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::{ContextGuard, ThreadContext};
use crate::handle::Handle;
use crate::shared::Shared;
use crate::sync::{Condvar, Mutex, MutexGuard};
use crate::task::{self, harness::Runnable};
use crate::worker::run_hook;

/// How long an idle blocking thread waits for work before it exits.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The pool's mutable state.
#[derive(Debug, Default)]
struct State {
    /// Closures waiting for a thread.
    queue: VecDeque<Runnable>,
    /// Threads waiting for work.
    idle: usize,
    /// Wake-ups sent to idle threads that no thread has taken yet: that
    /// many idle threads are spoken for.
    notified: usize,
    /// Live threads.
    threads: usize,
    /// Set at shutdown: threads exit, new work is dropped.
    shutdown: bool,
    /// Join handles of started threads.
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// The blocking pool of one runtime.
#[derive(Debug)]
pub(crate) struct BlockingPool {
    /// The queue and thread counts.
    state: Mutex<State>,
    /// Signals work (and shutdown) to idle threads.
    work: Condvar,
    /// Signals a thread's exit to shutdown.
    exited: Condvar,
    /// The most threads at once.
    max_threads: usize,
}

impl BlockingPool {
    /// An empty pool of at most `max_threads` threads.
    pub(crate) fn new(max_threads: usize) -> Self {
        Self {
            state: Mutex::default(),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads,
        }
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The schedule function of blocking tasks.
    pub(crate) fn schedule(&self, shared: &Arc<Shared>, runnable: Runnable) {
        let mut state = self.lock();
        if state.shutdown {
            drop(state);
            drop(runnable);
            return;
        }
        state.queue.push_back(runnable);
        // Only an idle thread no earlier closure has claimed can take this
        // one. (Counting every idle thread queued a second closure behind
        // the first on one thread, even below the thread limit: a closure
        // that waits for the next one then deadlocked.)
        if state.idle > state.notified {
            state.notified += 1;
            self.work.notify_one();
            return;
        }
        if state.threads >= self.max_threads {
            return;
        }
        // The user's naming function runs before the count changes: if it
        // panics, the count stays true (shutdown waits on it).
        let name = (shared.config.thread_name)();
        state.threads += 1;
        state.handles.retain(|h| !h.is_finished());
        let shared_for_thread = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(name)
            .spawn(move || blocking_thread(&shared_for_thread));
        match spawned {
            Ok(handle) => state.handles.push(handle),
            Err(error) => {
                state.threads -= 1;
                // Queued work waits for a thread that can start.
                assert!(
                    state.threads > 0,
                    "nimsync-scheduler could not start a blocking thread ({error}) and none is \
                     running; lower the load or raise the process's thread limit"
                );
            }
        }
    }

    /// Live threads, queued closures.
    pub(crate) fn depths(&self) -> (usize, usize) {
        let state = self.lock();
        (state.threads, state.queue.len())
    }

    /// Drops queued closures and waits (up to `deadline`) for running ones.
    /// Returns whether every thread exited in time.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        self.work.notify_all();
        drop(state);
        drop(queued);
        let mut state = self.lock();
        while state.threads > 0 {
            match deadline {
                None => {
                    state = self.exited.wait(state);
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    state = self.exited.wait_timeout(state, left).0;
                }
            }
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles {
            let _ = handle.join();
        }
        true
    }
}

/// The loop of one blocking thread.
fn blocking_thread(shared: &Arc<Shared>) {
    if let Some(start) = &shared.config.on_thread_start {
        run_hook(&**start, "on_thread_start");
    }
    let guard = ContextGuard::enter(ThreadContext {
        handle: Handle::from_shared(Arc::clone(shared)),
        worker: None,
        local: None,
    });
    let pool = &shared.blocking;
    let mut state = pool.lock();
    loop {
        if let Some(task) = state.queue.pop_front() {
            drop(state);
            #[cfg(feature = "tracing")]
            let (id, name) = (task.metadata().id(), task.metadata().name().cloned());
            #[cfg(feature = "tracing")]
            crate::trace::blocking_started(id, name.as_ref());
            task::run(task);
            #[cfg(feature = "tracing")]
            crate::trace::blocking_finished(id, name.as_ref());
            state = pool.lock();
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (next, timed_out) = pool.work.wait_timeout(state, KEEP_ALIVE);
        state = next;
        state.idle -= 1;
        // This thread takes one of the wake-ups sent (or, woken spuriously
        // or by the timeout, stands in for the thread it was sent to, which
        // then finds its claim gone and waits again).
        state.notified = state.notified.saturating_sub(1);
        if timed_out && state.queue.is_empty() && !shared.gate.is_shutting_down() {
            break;
        }
    }
    state.threads -= 1;
    pool.exited.notify_all();
    drop(state);
    drop(guard);
    if let Some(stop) = &shared.config.on_thread_stop {
        run_hook(&**stop, "on_thread_stop");
    }
}
