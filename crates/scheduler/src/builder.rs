//! [`Builder`]: a runtime's settings, and the build that starts its
//! threads.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_deque::{Injector, Worker};
use crossbeam_utils::CachePadded;

use crate::blocking::BlockingPool;
use crate::gate::Gate;
use crate::idle::Idle;
use crate::io::IoPark;
use crate::lifo::Lifo;
use crate::metrics::SlowPoll;
use crate::runtime::Runtime;
use crate::shared::{Core, Counters, Shared, WorkerShared, attach_timer};
use crate::sync::{AtomicUsize, Mutex, Parker};
use crate::task::registry::Registry;
use crate::worker::worker_thread;

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
    /// Whether a parked worker waits on async-io's reactor (the `io`
    /// feature; see `io.rs`).
    pub(crate) drive_io: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("victim_selection", &self.victim_selection)
            .field("slow_poll", &self.slow_poll.as_ref().map(|s| s.threshold))
            .field("drive_io", &self.drive_io)
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
    /// See [`Config`].
    drive_io: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("victim_selection", &self.victim_selection)
            .field("drive_io", &self.drive_io)
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
            drive_io: false,
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

    /// Whether a parked worker waits on async-io's reactor itself
    /// (default: off). A socket of async-net or async-io that becomes
    /// ready then wakes its task on that worker, which runs it at once,
    /// rather than on async-io's own thread, which has to hand it to a
    /// worker. One parked worker at a time does it; the others park as
    /// usual. Only the worker threads of a multi-thread runtime drive the
    /// reactor.
    ///
    /// Turn it on for servers that wait on sockets more than they compute:
    /// a request to an idle server is answered sooner. Leave it off when
    /// tasks mostly wake each other or are woken from other threads: a
    /// worker waiting on the reactor is woken through it, which is slower
    /// than through its parker. See docs/runtime.md#io for the figures.
    ///
    /// # Examples
    /// ```
    /// use nimsync_scheduler::Runtime;
    ///
    /// let rt = Runtime::builder().worker_threads(2).drive_io(true).build().unwrap();
    /// let echoed = rt.block_on(async {
    ///     let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let server = nimsync_scheduler::spawn(async move {
    ///         use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///         let (mut s, _) = listener.accept().await.unwrap();
    ///         let mut buf = [0u8; 4];
    ///         s.read_exact(&mut buf).await.unwrap();
    ///         s.write_all(&buf).await.unwrap();
    ///     });
    ///     use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///     let mut c = async_net::TcpStream::connect(addr).await.unwrap();
    ///     c.write_all(b"ping").await.unwrap();
    ///     let mut buf = [0u8; 4];
    ///     c.read_exact(&mut buf).await.unwrap();
    ///     server.await.unwrap();
    ///     buf
    /// });
    /// assert_eq!(&echoed, b"ping");
    /// ```
    #[cfg(feature = "io")]
    pub fn drive_io(mut self, on: bool) -> Self {
        self.drive_io = on;
        self
    }

    /// Enables slow-poll detection: every poll that takes at least
    /// `threshold` is counted in [`RuntimeMetrics::slow_polls`](crate::RuntimeMetrics::slow_polls) and reported
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
                io: self.drive_io.then(|| Arc::new(IoPark::new())),
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
                drive_io: self.drive_io,
            },
            blocking: BlockingPool::new(self.max_blocking_threads),
            timer: Mutex::new(None),
            timer_driver: AtomicUsize::new(0),
            io_driver: AtomicUsize::new(0),
            core: Mutex::new(None),
            block_on_waiters: Mutex::new(Vec::new()),
        });
        // A multi-thread runtime drives the timers for its whole life; a
        // current-thread one only while a `block_on` runs its core (an idle
        // one would otherwise hold every timer of the process).
        if self.flavor == Flavor::MultiThread {
            attach_timer(&shared);
        }
        let mut runtime = Runtime {
            shared,
            threads: Vec::new(),
        };
        match self.flavor {
            Flavor::CurrentThread => {
                *runtime.shared.core.lock() = cores.pop();
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
        #[cfg(feature = "tracing")]
        crate::trace::runtime_started(workers, self.flavor == Flavor::CurrentThread);
        Ok(runtime)
    }
}
