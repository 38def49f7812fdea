//! `spawn_local`: tasks that stay on the thread that spawned them.

use std::sync::Arc;

use crossbeam_deque::{Injector, Steal};

use crate::io::IoPark;
use crate::sync::{Mutex, Unparker};
use crate::task::harness::Runnable;
use crate::task::registry::Registry;

/// The `!Send` tasks of one thread: a queue any thread may push to (wakers
/// are `Send`) and only the owner pops, and the registry of its live tasks.
#[derive(Debug)]
pub(crate) struct LocalQueue {
    /// Tasks ready to run on the owner thread.
    queue: Injector<Runnable>,
    /// The owner's live local tasks.
    pub(crate) registry: Registry,
    /// Wakes the owner thread (replaced when a current-thread `block_on`
    /// takes over the runtime's core and its parker).
    unparker: Mutex<Unparker>,
    /// Wakes a worker owner that waits on the I/O reactor (see `io.rs`).
    io: Option<Arc<IoPark>>,
}

impl LocalQueue {
    /// A queue whose owner is woken through `unparker`.
    pub(crate) fn new(unparker: Unparker) -> Arc<Self> {
        Self::with_io(unparker, None)
    }

    /// The queue of a worker thread, woken through `unparker` and, while
    /// it waits on the I/O reactor, through `io`.
    pub(crate) fn with_io(unparker: Unparker, io: Option<Arc<IoPark>>) -> Arc<Self> {
        Arc::new(Self {
            queue: Injector::new(),
            registry: Registry::new(),
            unparker: Mutex::new(unparker),
            io,
        })
    }

    /// The schedule function of local tasks.
    pub(crate) fn schedule(&self, runnable: Runnable) {
        self.queue.push(runnable);
        self.unparker.lock().unpark();
        if let Some(io) = &self.io {
            io.unpark();
        }
    }

    /// Wakes the owner through `unparker` from now on.
    pub(crate) fn set_unparker(&self, unparker: Unparker) {
        *self.unparker.lock() = unparker;
        // A wake-up sent to the old parker must not be lost.
        self.unparker.lock().unpark();
    }

    /// The next ready local task (owner thread only).
    pub(crate) fn pop(&self) -> Option<Runnable> {
        loop {
            match self.queue.steal() {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Whether no local task is ready.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Drops every unfinished local task, on the owner thread, when the
    /// thread leaves the runtime.
    pub(crate) fn shutdown(&self) {
        // Each wake queues the task here; the next round drops it.
        self.registry.cancel_all(|| {
            while let Some(task) = self.pop() {
                drop(task);
            }
        });
    }
}
