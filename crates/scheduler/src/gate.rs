//! The shutdown gate: when a runtime stops queueing spawns and wake-ups,
//! and who drops a task queued while the runtime closes.
//!
//! Shutdown has two steps. [`Gate::begin`] raises the *shutdown* flag:
//! workers leave their loops and new spawns are cancelled at once, but a
//! task woken from outside is still queued, and shutdown's rounds (drain
//! the queues, wake every registered task, repeat until none is left) drop
//! it. [`Gate::close`] raises the *closed* flag after the last round and
//! drains the global queue once more; from then on a wake-up drops its task
//! instead of queueing it.
//!
//! The race is a wake-up that read "not closed" and queues its task while
//! `close` drains. Both sides order their two steps with a `SeqCst` fence:
//! the waker queues, fences, then reads the flag; `close` raises the flag,
//! fences, then drains. Either the drain sees the task, or the waker sees
//! the flag and drains the queue itself. No task is left in a queue nobody
//! drains any more (a queued task holds the runtime's shared state alive,
//! so it would leak with it). `cargo xtask loom` checks this against a
//! spawn and a wake racing the whole shutdown sequence
//! (`loom_tests::shutdown`).

use crate::sync::{AtomicBool, Ordering, fence};

/// The two shutdown flags of a runtime.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Raised when the shutdown starts: workers exit, spawns are cancelled.
    shutdown: AtomicBool,
    /// Raised when the shutdown finished: wake-ups drop their task.
    closed: AtomicBool,
}

impl Gate {
    /// An open gate.
    pub(crate) fn new() -> Self {
        Self {
            shutdown: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Starts the shutdown. Returns `false` when it had started already.
    pub(crate) fn begin(&self) -> bool {
        !self.shutdown.swap(true, Ordering::SeqCst)
    }

    /// Whether the shutdown has started.
    #[inline]
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Queues `task` with `push`, unless the runtime is closed; `drain`
    /// empties the queue `push` fills. Returns whether the task was queued
    /// for a worker to run: `false` when it was dropped because the runtime
    /// closed, before or while it was queued.
    ///
    /// When it returns `true` a `SeqCst` fence follows the push, so the
    /// caller may read the idle counters without one of its own
    /// ([`Idle::worker_to_notify_after_fence`](crate::idle::Idle::worker_to_notify_after_fence)).
    #[inline]
    pub(crate) fn push<T>(&self, task: T, push: impl FnOnce(T), drain: impl FnOnce()) -> bool {
        if self.closed.load(Ordering::Acquire) {
            drop(task);
            return false;
        }
        push(task);
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            // `close` may have drained before this push: nobody else will.
            drain();
            return false;
        }
        true
    }

    /// Finishes the shutdown: raises the closed flag, then drains once more
    /// with `drain` (the drain that a racing [`Gate::push`] either precedes
    /// or does itself).
    pub(crate) fn close(&self, drain: impl FnOnce()) {
        self.closed.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        drain();
    }
}
