//! [`Runtime`]: its methods, its drop, and why it is unwind-safe.
//!
//! The runtime's pieces live beside it: the settings and the build in
//! `builder.rs`, the handle in `handle.rs`, `block_on` in `block_on.rs`, the
//! spawn functions in `spawn.rs`, and the shutdown sequence that its drop
//! runs in `shutdown.rs`.

use core::future::Future;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::builder::Builder;
use crate::context::assert_outside_runtime;
use crate::handle::Handle;
use crate::metrics::RuntimeMetrics;
use crate::shared::Shared;
use crate::spawn::{spawn_blocking_on, spawn_on};
use crate::task::join_handle::JoinHandle;

/// An async runtime: worker threads (or the calling thread, for the
/// current-thread flavor) that run spawned tasks, with work stealing,
/// timers, a blocking pool and metrics.
///
/// Dropping the runtime shuts it down: workers stop, every unfinished task
/// is cancelled by dropping its future (on the dropping thread, or for
/// `spawn_local` tasks on their own thread), queued `spawn_blocking`
/// closures are dropped, running ones are waited for, and every thread is
/// joined. Use [`Runtime::shutdown_timeout`] to bound the wait.
///
/// # Dropping it on one of its own threads
/// A runtime moved into one of its own tasks or `spawn_blocking` closures
/// cannot wait there for its threads: the calling thread is one of them,
/// and stays busy until the drop returns. On such a thread the drop (or
/// [`Runtime::shutdown_timeout`]) starts the shutdown and returns at once:
/// the workers are told to stop, spawns from then on are cancelled, and
/// the runtime stops turning the timers. A thread named `nimsync-shutdown`
/// does the rest as above: it joins the workers (the calling one once its
/// task's poll returns), waits for the blocking pool (the calling closure
/// once it returns), and cancels every task left. (tokio panics here
/// instead, because it would block; this runtime does not block.)
///
/// The runtime has no I/O reactor: use executor-agnostic I/O (`async-io`,
/// `async-net`, which run their own reactor thread) on it; tokio's I/O
/// types need tokio's reactor.
///
/// A panic inside a task is caught and returned by its [`JoinHandle`]; it
/// never stops a worker. Built with `panic = "abort"`, a panic aborts the
/// process as usual.
///
/// # Panics
/// Dropping the runtime on one of its own threads panics when the
/// `nimsync-shutdown` thread cannot be started (the process is out of
/// threads; while that thread is already panicking, the drop reports it on
/// stderr instead). The workers still stop and the runtime still stops
/// turning the timers, but the tasks, the blocking pool and the threads are
/// left as they are. (A panic in a task's future while shutdown drops it is
/// contained, as in a poll.)
///
/// # Examples
/// ```
/// use nimsync_scheduler::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let a = nimsync_scheduler::spawn(async { 40 });
///     let b = nimsync_scheduler::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    /// The shared state.
    pub(crate) shared: Arc<Shared>,
    /// Worker threads.
    pub(crate) threads: Vec<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.shared.workers.len())
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Runtime {
    /// A multi-thread runtime with one worker per CPU.
    ///
    /// # Errors
    /// When a worker thread cannot be started.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// ```
    pub fn new() -> io::Result<Self> {
        Builder::new_multi_thread().build()
    }

    /// A builder for a multi-thread runtime.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().worker_threads(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new_multi_thread()
    }

    /// A handle that spawns onto this runtime from any thread.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let task = std::thread::spawn(move || handle.spawn(async { 3 })).join().unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 3);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::from_shared(Arc::clone(&self.shared))
    }

    /// Spawns a task; see [`Handle::spawn`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { "hi" })).unwrap(), "hi");
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future, None)
    }

    /// Runs a blocking closure on the blocking pool; see
    /// [`Handle::spawn_blocking`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 2 + 2)).unwrap(), 4);
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(&self.shared, f, None)
    }

    /// Runs `future` to completion on the calling thread and returns its
    /// output. Inside it, [`spawn`](fn@crate::spawn), [`spawn_local`](crate::spawn_local)
    /// and the timers work. With the current-thread flavor, spawned tasks
    /// run on this thread while `block_on` waits.
    ///
    /// # Panics
    /// When called from inside a runtime (a task, or another `block_on`):
    /// that would block a worker. `.await` the future instead.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let v = rt.block_on(async {
    ///     nimsync_scheduler::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     7
    /// });
    /// assert_eq!(v, 7);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // Refuse nesting before taking the current-thread core: a panic
        // after the take would lose the core, and every later `block_on`
        // would wait for it forever.
        assert_outside_runtime();
        let core = self.shared.core.lock().take();
        match core {
            Some(core) => self.block_on_core(core, future),
            None => self.block_on_thread(future),
        }
    }

    /// A snapshot of the runtime's counters.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let before = rt.metrics();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().tasks_completed, before.tasks_completed + 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::read(&self.shared)
    }

    /// Shuts down, waiting at most `timeout` for running `spawn_blocking`
    /// closures (they cannot be interrupted; the ones still running are
    /// left to finish on their own threads). Everything else happens as on
    /// drop, also on one of the runtime's own threads, where it returns at
    /// once and the `nimsync-shutdown` thread applies the timeout.
    ///
    /// # Panics
    /// As on drop: see [`Runtime`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(50)));
    /// rt.shutdown_timeout(std::time::Duration::from_millis(1));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(Instant::now() + timeout));
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

// `Runtime` and `Handle` are `UnwindSafe` and `RefUnwindSafe`, as tokio's
// are; the compiler alone says neither, for the builder's hooks (`dyn Fn`)
// and the runtime's interior mutability. A panic reaches the caller of a
// runtime's method only from user code, and every such point leaves the
// runtime consistent:
// - the future of `block_on`: guards give the current-thread core back and
//   wake the `block_on` calls waiting for it (`HeldCore`), drop the call's
//   `spawn_local` tasks (`LocalShutdown`) and take the thread out of the
//   runtime (`ContextGuard`), also while unwinding;
// - tasks' polls and drops, and the thread start, stop and slow-poll hooks,
//   run under `catch_unwind` and never unwind into the caller: a task's
//   panic becomes its `JoinError`;
// - the thread-name function runs in `spawn_blocking`, under the blocking
//   pool's lock but before the pool's thread count changes: the closure
//   stays queued for the next thread;
// - the runtime's mutexes ignore poisoning, and no other user code runs
//   under them.
// So a runtime used after a caught panic spawns, runs and shuts down as
// before (tests/block_on.rs checks both flavors after a panicking
// `block_on`).
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}
