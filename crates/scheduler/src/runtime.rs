//! [`Runtime`], its [`Builder`] and [`Handle`], and the spawn functions.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Worker};
use crossbeam_utils::CachePadded;
use crossbeam_utils::sync::{Parker, Unparker};

use crate::blocking::BlockingPool;
use crate::cell::{
    JoinHandle, Output, Registry, RegistryRef, Runnable, Slot, TaskFuture, TaskMeta,
};
use crate::gate::Gate;
use crate::idle::Idle;
use crate::lifo::Lifo;
use crate::local::LocalQueue;
use crate::metrics::{RuntimeMetrics, SlowPoll};
use crate::sync::Locked;
use crate::worker::{
    CONTEXT, ContextGuard, Core, Counters, GLOBAL_INTERVAL, Shared, ThreadContext, TimerDetach,
    WorkerCtx, WorkerShared, assert_outside_runtime,
};

/// How idle workers pick the worker to steal from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VictimSelection {
    /// First the worker with the most queued tasks and the best record of
    /// recent successful steals, then the others from a random start. The
    /// default.
    #[default]
    Adaptive,
    /// Every worker from a uniformly random start.
    Random,
}

/// A callback run on runtime threads.
type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// Slow-poll detection settings.
pub(crate) struct SlowPollConfig {
    /// Polls at least this long are reported.
    pub(crate) threshold: Duration,
    /// The report.
    pub(crate) hook: Arc<dyn Fn(&SlowPoll) + Send + Sync>,
}

/// The builder's settings, kept by the runtime.
pub(crate) struct Config {
    /// Names threads.
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    /// Runs first on every runtime thread.
    pub(crate) on_thread_start: Option<ThreadHook>,
    /// Runs last on every runtime thread.
    pub(crate) on_thread_stop: Option<ThreadHook>,
    /// How idle workers pick victims.
    pub(crate) victim_selection: VictimSelection,
    /// Slow-poll detection, when enabled.
    pub(crate) slow_poll: Option<SlowPollConfig>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("victim_selection", &self.victim_selection)
            .field("slow_poll", &self.slow_poll.as_ref().map(|s| s.threshold))
            .finish_non_exhaustive()
    }
}

/// Which flavor a builder makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Worker threads.
    MultiThread,
    /// Tasks run on the thread in `block_on`.
    CurrentThread,
}

/// Configures and builds a [`Runtime`].
///
/// # Examples
/// ```
/// use nimsync_scheduler::Runtime;
///
/// let rt = Runtime::builder()
///     .worker_threads(2)
///     .thread_name("db-worker")
///     .max_blocking_threads(16)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    /// The flavor.
    flavor: Flavor,
    /// Worker threads (multi-thread flavor).
    workers: usize,
    /// See [`Config`].
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    /// See [`Config`].
    on_thread_start: Option<ThreadHook>,
    /// See [`Config`].
    on_thread_stop: Option<ThreadHook>,
    /// The blocking pool's size.
    max_blocking_threads: usize,
    /// See [`Config`].
    victim_selection: VictimSelection,
    /// See [`Config`].
    slow_poll: Option<SlowPollConfig>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("victim_selection", &self.victim_selection)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A multi-thread runtime with one worker per CPU.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Builder::new_multi_thread().build().unwrap();
    /// assert!(rt.metrics().workers >= 1);
    /// ```
    pub fn new_multi_thread() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            flavor: Flavor::MultiThread,
            workers,
            thread_name: Arc::new(|| "nimsync-worker".to_owned()),
            on_thread_start: None,
            on_thread_stop: None,
            max_blocking_threads: 512,
            victim_selection: VictimSelection::default(),
            slow_poll: None,
        }
    }

    /// A current-thread runtime: no worker threads; tasks run on the thread
    /// that calls [`Runtime::block_on`], while it is in `block_on`.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Builder::new_current_thread().build().unwrap();
    /// let here = std::thread::current().id();
    /// let there = rt.block_on(rt.spawn(async { std::thread::current().id() })).unwrap();
    /// assert_eq!(here, there);
    /// ```
    pub fn new_current_thread() -> Self {
        Self {
            flavor: Flavor::CurrentThread,
            workers: 1,
            ..Self::new_multi_thread()
        }
    }

    /// The number of worker threads (multi-thread flavor).
    ///
    /// # Panics
    /// If `n` is 0: a multi-thread runtime needs a worker; use
    /// [`Builder::new_current_thread`] for none.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().workers, 3);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "worker_threads(0): a multi-thread runtime needs at least one worker; \
             use Builder::new_current_thread() to run tasks on the calling thread"
        );
        if self.flavor == Flavor::MultiThread {
            self.workers = n;
        }
        self
    }

    /// The name of every thread the runtime starts.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().thread_name("io").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }));
    /// assert_eq!(name.unwrap().as_deref(), Some("io"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        let name: String = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// Names threads with `f`, called once per thread.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static N: AtomicUsize = AtomicUsize::new(0);
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .thread_name_fn(|| format!("w{}", N.fetch_add(1, Ordering::Relaxed)))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_name_fn(mut self, f: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Runs `f` first on every worker and blocking thread.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// drop(rt); // joins the workers
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` last on every worker and blocking thread.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let s = stopped.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .worker_threads(2)
    ///     .on_thread_stop(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// drop(rt);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// The most threads `spawn_blocking` runs at once (default 512); more
    /// closures wait in a queue.
    ///
    /// # Panics
    /// If `n` is 0: blocking closures would never run.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().max_blocking_threads(1).build().unwrap();
    /// let a = rt.spawn_blocking(|| 1);
    /// let b = rt.spawn_blocking(|| 2);
    /// assert_eq!(rt.block_on(async { a.await.unwrap() + b.await.unwrap() }), 3);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "max_blocking_threads(0): spawn_blocking closures would never run; use at least 1"
        );
        self.max_blocking_threads = n;
        self
    }

    /// How idle workers pick the worker to steal from (default
    /// [`VictimSelection::Adaptive`]).
    ///
    /// # Examples
    /// ```
    /// use nimsync_scheduler::{Runtime, VictimSelection};
    /// let rt = Runtime::builder().victim_selection(VictimSelection::Random).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn victim_selection(mut self, selection: VictimSelection) -> Self {
        self.victim_selection = selection;
        self
    }

    /// Enables slow-poll detection: every poll that takes at least
    /// `threshold` is counted in [`RuntimeMetrics::slow_polls`] and reported
    /// to `hook` (on the worker thread, right after the poll). Off by
    /// default, and then polls are not timed at all.
    ///
    /// The report of a task's last poll may arrive after the task's
    /// completion was observed (its join handle wakes during the poll).
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .on_slow_poll(Duration::from_millis(5), move |poll| tx.send(poll.id).unwrap())
    ///     .build()
    ///     .unwrap();
    /// let blocking = rt.spawn(async { std::thread::sleep(Duration::from_millis(10)) });
    /// let id = blocking.id();
    /// rt.block_on(blocking).unwrap();
    /// assert_eq!(rx.recv().unwrap(), id);
    /// ```
    pub fn on_slow_poll(
        mut self,
        threshold: Duration,
        hook: impl Fn(&SlowPoll) + Send + Sync + 'static,
    ) -> Self {
        self.slow_poll = Some(SlowPollConfig {
            threshold,
            hook: Arc::new(hook),
        });
        self
    }

    /// Builds the runtime and starts its threads.
    ///
    /// # Errors
    /// When a worker thread cannot be started.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let workers = self.workers;
        let mut cores = Vec::with_capacity(workers);
        let mut shared_workers = Vec::with_capacity(workers);
        for index in 0..workers {
            // FIFO: a yielding task and a task displaced from the LIFO slot
            // are pushed to the back and must run after the tasks already
            // queued (a LIFO deque would pop them straight back).
            let local = Worker::new_fifo();
            let parker = Parker::new();
            shared_workers.push(Arc::new(WorkerShared {
                stealer: local.stealer(),
                lifo: Lifo::new(),
                unparker: parker.unparker().clone(),
                counters: CachePadded::new(Counters::default()),
            }));
            cores.push(Core {
                index,
                local,
                parker,
            });
        }
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            workers: shared_workers.into_boxed_slice(),
            idle: Idle::new(workers),
            registry: Registry::new(),
            gate: Gate::new(),
            config: Config {
                thread_name: self.thread_name,
                on_thread_start: self.on_thread_start,
                on_thread_stop: self.on_thread_stop,
                victim_selection: self.victim_selection,
                slow_poll: self.slow_poll,
            },
            blocking: BlockingPool::new(self.max_blocking_threads),
            timer: Mutex::new(None),
            timer_driver: AtomicUsize::new(0),
            core: Mutex::new(None),
            block_on_waiters: Mutex::new(Vec::new()),
        });
        // A multi-thread runtime drives the timers for its whole life; a
        // current-thread one only while a `block_on` runs its core (an idle
        // one would otherwise hold every timer of the process).
        if self.flavor == Flavor::MultiThread {
            crate::worker::attach_timer(&shared);
        }
        let mut runtime = Runtime {
            shared,
            threads: Vec::new(),
        };
        match self.flavor {
            Flavor::CurrentThread => {
                *runtime.shared.core.locked() = cores.pop();
            }
            Flavor::MultiThread => {
                for core in cores {
                    let shared = Arc::clone(&runtime.shared);
                    let thread = std::thread::Builder::new()
                        .name((runtime.shared.config.thread_name)())
                        .spawn(move || worker_thread(shared, core))?;
                    runtime.threads.push(thread);
                }
            }
        }
        Ok(runtime)
    }
}

/// A worker thread's body.
fn worker_thread(shared: Arc<Shared>, core: Core) {
    if let Some(start) = &shared.config.on_thread_start {
        crate::worker::run_hook(&**start, "on_thread_start");
    }
    let local = LocalQueue::new(core.parker.unparker().clone());
    let ctx = Rc::new(WorkerCtx::new(
        Arc::clone(&shared),
        core,
        Arc::clone(&local),
    ));
    let guard = ContextGuard::enter(ThreadContext {
        handle: Handle::from_shared(Arc::clone(&shared)),
        worker: Some(Rc::clone(&ctx)),
        local: Some(Arc::clone(&local)),
    });
    while !shared.gate.is_shutting_down() {
        if !ctx.step() {
            ctx.park(&|| false);
        }
    }
    ctx.drain();
    drop(guard);
    local.shutdown();
    drop(ctx);
    if let Some(stop) = &shared.config.on_thread_stop {
        crate::worker::run_hook(&**stop, "on_thread_stop");
    }
}

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
    shared: Arc<Shared>,
    /// Worker threads.
    threads: Vec<std::thread::JoinHandle<()>>,
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
    /// output. Inside it, [`spawn`](crate::spawn), [`spawn_local`](crate::spawn_local)
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
        let core = self.shared.core.locked().take();
        match core {
            Some(core) => self.block_on_core(core, future),
            None => self.block_on_thread(future),
        }
    }

    /// `block_on` without a core: poll the future, run local tasks, park.
    /// With the current-thread flavor, take the core when the `block_on`
    /// that holds it returns.
    fn block_on_thread<F: Future>(&self, future: F) -> F::Output {
        let parker = Parker::new();
        let local = LocalQueue::new(parker.unparker().clone());
        // Declared before the context guard: dropped after it, also when
        // the future panics.
        let _local_tasks = LocalShutdown(Arc::clone(&local));
        let guard = ContextGuard::enter(ThreadContext {
            handle: self.handle(),
            worker: None,
            local: Some(Arc::clone(&local)),
        });
        let woken = Arc::new(ThreadWaker::new(parker.unparker().clone()));
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let waiter = self
            .threads
            .is_empty()
            .then(|| add_waiter(&self.shared, parker.unparker()));
        let output = loop {
            if woken.take() {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    break output;
                }
            }
            let mut ran = 0;
            while ran < GLOBAL_INTERVAL && !woken.is_set() {
                let Some(task) = local.pop() else { break };
                crate::cell::run(task);
                ran += 1;
            }
            if waiter.is_some() {
                let core = self.shared.core.locked().take();
                if let Some(core) = core {
                    // The other block_on returned: drive the runtime here.
                    break self.drive_core(core, &local, &woken, &mut cx, future.as_mut());
                }
            }
            if ran == 0 && !woken.is_set() && local.is_empty() {
                parker.park();
            }
        };
        if let Some(id) = waiter {
            remove_waiter(&self.shared, id);
        }
        drop(guard);
        output
    }

    /// `block_on` holding the current-thread core: the calling thread is
    /// the runtime's only worker.
    fn block_on_core<F: Future>(&self, core: Core, future: F) -> F::Output {
        let local = LocalQueue::new(core.parker.unparker().clone());
        let _local_tasks = LocalShutdown(Arc::clone(&local));
        let woken = Arc::new(ThreadWaker::new(core.parker.unparker().clone()));
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let guard = ContextGuard::enter(ThreadContext {
            handle: self.handle(),
            worker: None,
            local: Some(Arc::clone(&local)),
        });
        let output = self.drive_core(core, &local, &woken, &mut cx, future.as_mut());
        drop(guard);
        output
    }

    /// The current-thread loop: poll the main future when woken, run tasks,
    /// park. Puts the core back when the future completes.
    fn drive_core<T>(
        &self,
        core: Core,
        local: &Arc<LocalQueue>,
        woken: &Arc<ThreadWaker>,
        cx: &mut Context<'_>,
        mut future: core::pin::Pin<&mut dyn Future<Output = T>>,
    ) -> T {
        let ctx = Rc::new(WorkerCtx::new(
            Arc::clone(&self.shared),
            core,
            Arc::clone(local),
        ));
        // The core's parker wakes this thread from now on.
        woken.set_unparker(ctx.core.parker.unparker().clone());
        local.set_unparker(ctx.core.parker.unparker().clone());
        // Gives the core back when this returns or unwinds (a panic in the
        // future or a hook must not leave the runtime without its core),
        // and detaches the timer hook.
        let held = HeldCore {
            slot: Some(WorkerSlot::set(Rc::clone(&ctx))),
            ctx: Some(ctx),
            shared: &self.shared,
        };
        // While this thread runs the core, its parks help turn the timers.
        crate::worker::attach_timer(&self.shared);
        let ctx = held.ctx.as_deref().expect("set above");
        let output = loop {
            if woken.take() {
                if let Poll::Ready(output) = future.as_mut().poll(cx) {
                    break output;
                }
            }
            let mut ran = 0;
            while ran < GLOBAL_INTERVAL && !woken.is_set() && ctx.step() {
                ran += 1;
            }
            if ran == 0 && !woken.is_set() {
                ctx.park(&|| woken.is_set());
            }
        };
        drop(held);
        output
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

    /// Stops the workers, cancels every task and joins the threads; on one
    /// of the runtime's own threads, starts that and leaves the waiting to
    /// a `nimsync-shutdown` thread (see the type's docs).
    fn shutdown(&mut self, deadline: Option<Instant>) {
        if !self.shared.gate.begin() {
            return;
        }
        // Whatever happens from here on, a panic included, the runtime
        // stops turning the process's timers.
        let finish = Finish {
            timers: TimerDetach(Arc::clone(&self.shared)),
            threads: std::mem::take(&mut self.threads),
            deadline,
        };
        for worker in self.shared.workers.iter() {
            worker.unparker.unpark();
        }
        if !self.on_own_thread() {
            finish.run();
            return;
        }
        // Waiting here would wait for this very thread: finish elsewhere,
        // and stop turning the timers now.
        crate::worker::detach_timer(&finish.timers.0);
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
        let core = shared.core.locked().take();
        if let Some(core) = core {
            while let Some(task) = core.local.pop() {
                drop(task);
            }
        }
        crate::worker::detach_timer(shared);
        shared.blocking.shutdown(self.deadline);
        loop {
            drain_queues(shared);
            let wakers = shared.registry.take_wakers();
            if wakers.is_empty() {
                break;
            }
            // Each wake queues its task in the injector; the next round
            // drops it.
            wakers.into_iter().for_each(Waker::wake);
        }
        shared.gate.close(|| drain_queues(shared));
    }
}

/// Drops every queued task of `shared`.
fn drain_queues(shared: &Shared) {
    crate::worker::drain_injector(&shared.injector);
    for worker in shared.workers.iter() {
        drop(worker.lifo.take());
        loop {
            match worker.stealer.steal() {
                crossbeam_deque::Steal::Success(task) => drop(task),
                crossbeam_deque::Steal::Empty => break,
                crossbeam_deque::Steal::Retry => {}
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// Registers a `block_on` waiting for the current-thread core; returns its
/// id for [`remove_waiter`].
fn add_waiter(shared: &Shared, unparker: &Unparker) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    shared
        .block_on_waiters
        .locked()
        .push((id, unparker.clone()));
    id
}

/// Removes a waiter registered by [`add_waiter`].
fn remove_waiter(shared: &Shared, id: usize) {
    shared.block_on_waiters.locked().retain(|(w, _)| *w != id);
}

/// The current-thread core while a `block_on` drives it: puts it back in
/// the runtime, and wakes the `block_on` calls waiting for it, when
/// dropped, also on unwinding.
struct HeldCore<'a> {
    /// Makes the core this thread's worker; dropped first.
    slot: Option<WorkerSlot>,
    /// The worker context owning the core.
    ctx: Option<Rc<WorkerCtx>>,
    /// The runtime to give the core back to.
    shared: &'a Shared,
}

impl Drop for HeldCore<'_> {
    fn drop(&mut self) {
        crate::worker::detach_timer(self.shared);
        drop(self.slot.take());
        let Some(ctx) = self.ctx.take() else { return };
        // The slot held the only other reference. Should that ever not
        // hold, the core is lost rather than a panic raised in a drop.
        let Ok(ctx) = Rc::try_unwrap(ctx) else { return };
        *self.shared.core.locked() = Some(ctx.into_core());
        // Another block_on may be waiting for the core.
        for (_, waiter) in self.shared.block_on_waiters.locked().iter() {
            waiter.unpark();
        }
    }
}

/// Drops a `block_on`'s unfinished `spawn_local` tasks when the `block_on`
/// ends, also on unwinding (the tasks' schedule functions hold the queue,
/// so skipped, they would leak with their futures).
struct LocalShutdown(Arc<LocalQueue>);

impl Drop for LocalShutdown {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// Sets the current thread's worker while the current-thread core runs.
struct WorkerSlot(());

impl WorkerSlot {
    /// Installs `ctx` as this thread's worker.
    fn set(ctx: Rc<WorkerCtx>) -> Self {
        CONTEXT.with(|c| {
            if let Some(context) = c.borrow_mut().as_mut() {
                crate::worker::set_current_worker(Some(&ctx));
                context.worker = Some(ctx);
            }
        });
        WorkerSlot(())
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        crate::worker::set_current_worker(None);
        let ctx = CONTEXT.with(|c| {
            c.borrow_mut()
                .as_mut()
                .and_then(|context| context.worker.take())
        });
        drop(ctx);
    }
}

/// The waker of a `block_on` future: a flag and an unpark.
struct ThreadWaker {
    /// Set by wake; taken by the loop before polling.
    woken: AtomicBool,
    /// Wakes the blocked thread.
    unparker: Mutex<Unparker>,
}

impl ThreadWaker {
    /// Woken once, so the future is polled first.
    fn new(unparker: Unparker) -> Self {
        Self {
            woken: AtomicBool::new(true),
            unparker: Mutex::new(unparker),
        }
    }

    /// Takes the flag.
    fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Reads the flag.
    fn is_set(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// Switches the thread's parker.
    fn set_unparker(&self, unparker: Unparker) {
        *self.unparker.locked() = unparker;
        self.woken.store(true, Ordering::Release);
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.unparker.locked().unpark();
        }
    }
}

/// A cloneable handle to a runtime: spawns onto it from any thread.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let inner = rt.block_on(async { nimsync_scheduler::Handle::current().spawn(async { 9 }) });
/// assert_eq!(rt.block_on(inner).unwrap(), 9);
/// # drop(handle);
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The runtime.
    shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish()
    }
}

impl Handle {
    /// A handle on `shared`.
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The runtime's shared state.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The runtime the calling thread is in.
    ///
    /// # Panics
    /// Outside a runtime (not in a task, a `block_on` or a blocking
    /// closure); use [`Handle::try_current`] to get an `Option`.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async { nimsync_scheduler::Handle::current() });
    /// ```
    pub fn current() -> Self {
        Self::try_current().expect(
            "Handle::current() called outside a nimsync runtime: call it from a task or \
             inside Runtime::block_on, or pass a Handle (Runtime::handle()) to this thread",
        )
    }

    /// The runtime the calling thread is in, or `None`.
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_scheduler::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Self> {
        CONTEXT.with(|ctx| ctx.borrow().as_ref().map(|c| c.handle.clone()))
    }

    /// Spawns a task onto the runtime. It starts running at once on some
    /// worker; the returned handle yields its output.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future, None)
    }

    /// Runs a blocking closure on the blocking pool, so it does not hold up
    /// a worker. A closure that has not started when its handle is aborted
    /// never runs; one that started runs to the end.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.handle().spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(&self.shared, f, None)
    }

    /// A snapshot of the runtime's counters.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::builder().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().workers, 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::read(&self.shared)
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

/// A task made by `build` (from its header, its registry pointer and its
/// slot) and entered in `registry`: its runnable, to queue, and its join
/// handle.
fn new_task<T>(
    registry: &Registry,
    name: Option<Arc<str>>,
    build: impl FnOnce(TaskMeta, RegistryRef, Slot) -> (Runnable, async_task::Task<Output<T>, TaskMeta>),
) -> (Runnable, JoinHandle<T>) {
    let meta = TaskMeta::new(name);
    let id = meta.id;
    let registry_ref = RegistryRef::new(registry);
    let (runnable, task, slot) = registry.insert(id, |slot| {
        let (runnable, task) = build(meta, registry_ref, slot);
        let waker = runnable.waker();
        ((runnable, task, slot), waker)
    });
    (runnable, JoinHandle::new(task, registry_ref, slot))
}

/// Spawns `future` on `shared`.
pub(crate) fn spawn_on<F>(
    shared: &Arc<Shared>,
    future: F,
    name: Option<Arc<str>>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let scheduler = Arc::clone(shared);
    let (runnable, handle) = new_task(&shared.registry, name, |meta, registry, slot| {
        async_task::Builder::new().metadata(meta).spawn(
            move |meta| TaskFuture::new(future, meta, registry, slot),
            async_task::WithInfo(move |runnable, info| scheduler.schedule(runnable, info)),
        )
    });
    if shared.gate.is_shutting_down() {
        // The runtime is shutting down (this spawn comes from a future
        // being dropped, or races with the drop): the task is cancelled at
        // once, so shutdown is not fed new work forever.
        drop(runnable);
        return handle;
    }
    let mut runnable = Some(runnable);
    crate::worker::with_worker_of(shared, |worker| {
        if let Some(r) = runnable.take() {
            worker.push_spawned(r);
        }
    });
    if let Some(runnable) = runnable {
        shared.push_global(runnable);
    }
    handle
}

/// Spawns `f` on `shared`'s blocking pool.
pub(crate) fn spawn_blocking_on<F, R>(
    shared: &Arc<Shared>,
    f: F,
    name: Option<Arc<str>>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let scheduler = Arc::clone(shared);
    let (runnable, handle) = new_task(&shared.registry, name, |meta, registry, slot| {
        async_task::Builder::new().metadata(meta).spawn(
            move |meta| TaskFuture::new(async move { f() }, meta, registry, slot),
            move |runnable| scheduler.blocking.schedule(&scheduler, runnable),
        )
    });
    runnable.schedule();
    handle
}

/// Spawns a `!Send` future on the current thread's local queue.
pub(crate) fn spawn_local_inner<F>(future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = CONTEXT.with(|ctx| ctx.borrow().as_ref().and_then(|c| c.local.clone()));
    let Some(local) = local else {
        panic!(
            "spawn_local called outside a runtime thread: call it from a task on a nimsync \
             runtime or inside Runtime::block_on (not from a plain thread or a spawn_blocking closure)"
        );
    };
    let scheduler = Arc::clone(&local);
    let (runnable, handle) = new_task(&local.registry, name, |meta, registry, slot| {
        async_task::Builder::new().metadata(meta).spawn_local(
            move |meta| TaskFuture::new(future, meta, registry, slot),
            move |runnable| scheduler.schedule(runnable),
        )
    });
    runnable.schedule();
    handle
}
