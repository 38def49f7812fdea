//! Runtimes as contenders: nimsync-scheduler, tokio and async-executor
//! (smol) behind one trait, and the runtime workloads written once against
//! it: spawn storm, channel storm, wake ping-pong, a stealing tree, and
//! memory per idle task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::contenders::AsyncChannel;
use super::workloads::{Sample, timed};

/// A runtime under test, owned by the workload and dropped at its end.
pub trait Exec: Sized {
    /// Name in the tables.
    const NAME: &'static str;
    /// What tasks use to spawn more tasks.
    type Spawner: Spawner;
    /// Starts a runtime with `workers` worker threads.
    fn start(workers: usize) -> Self;
    /// A spawner for this runtime.
    fn spawner(&self) -> Self::Spawner;
    /// Runs `f` on the calling thread (not a worker) to completion.
    fn block_on<F: Future>(&self, f: F) -> F::Output;
}

/// Spawns tasks on a runtime from any thread or task.
pub trait Spawner: Clone + Send + Sync + 'static {
    /// A task's handle, resolving to its output.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;
    /// Spawns `f`.
    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// A join handle whose error is a benchmark failure.
#[derive(Debug)]
pub struct Unwrap<J>(J);

impl<T, E: std::fmt::Debug, J: Future<Output = Result<T, E>> + Unpin> Future for Unwrap<J> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("benchmark task failed"))
    }
}

/// nimsync-scheduler with adaptive victim selection (the default).
#[derive(Debug)]
pub struct NimRt(nimsync_scheduler::Runtime);
/// nimsync-scheduler with uniformly random victim selection (ablation).
#[derive(Debug)]
pub struct NimRandomRt(nimsync_scheduler::Runtime);

impl Spawner for nimsync_scheduler::Handle {
    type Join<T: Send + 'static> = Unwrap<nimsync_scheduler::JoinHandle<T>>;
    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(nimsync_scheduler::Handle::spawn(self, f))
    }
}

macro_rules! nim_exec {
    ($ty:ident, $name:literal, $selection:expr) => {
        nim_exec!($ty, $name, $selection, drive_io: false);
    };
    ($ty:ident, $name:literal, $selection:expr, drive_io: $io:expr) => {
        impl Exec for $ty {
            const NAME: &'static str = $name;
            type Spawner = nimsync_scheduler::Handle;
            fn start(workers: usize) -> Self {
                $ty(nimsync_scheduler::Runtime::builder()
                    .worker_threads(workers)
                    .victim_selection($selection)
                    .drive_io($io)
                    .build()
                    .expect("a nimsync runtime"))
            }
            fn spawner(&self) -> Self::Spawner {
                self.0.handle()
            }
            fn block_on<F: Future>(&self, f: F) -> F::Output {
                self.0.block_on(f)
            }
        }
    };
}
nim_exec!(
    NimRt,
    "nimsync",
    nimsync_scheduler::VictimSelection::Adaptive
);
/// nimsync-scheduler whose parked workers wait on async-io's reactor
/// (`drive_io`), for the networking scenarios.
#[derive(Debug)]
pub struct NimIoRt(nimsync_scheduler::Runtime);
nim_exec!(
    NimIoRt,
    "nimsync (drive_io)",
    nimsync_scheduler::VictimSelection::Adaptive,
    drive_io: true
);
nim_exec!(
    NimRandomRt,
    "nimsync (random victims)",
    nimsync_scheduler::VictimSelection::Random
);

impl Spawner for tokio::runtime::Handle {
    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;
    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tokio::runtime::Handle::spawn(self, f))
    }
}

/// A tokio multi-thread runtime type whose builder `$configure` adjusts.
macro_rules! tokio_exec {
    ($(#[$doc:meta])* $ty:ident, $configure:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty(tokio::runtime::Runtime);

        impl Exec for $ty {
            const NAME: &'static str = "tokio";
            type Spawner = tokio::runtime::Handle;
            fn start(workers: usize) -> Self {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(workers);
                let configure: fn(&mut tokio::runtime::Builder) = $configure;
                configure(&mut builder);
                $ty(builder.build().expect("a tokio runtime"))
            }
            fn spawner(&self) -> Self::Spawner {
                self.0.handle().clone()
            }
            fn block_on<F: Future>(&self, f: F) -> F::Output {
                self.0.block_on(f)
            }
        }
    };
}
tokio_exec!(
    /// tokio's multi-thread runtime.
    TokioRt,
    |_| {}
);
tokio_exec!(
    /// tokio's multi-thread runtime with its I/O and time drivers on, as
    /// `#[tokio::main]` builds it (the networking scenarios).
    TokioAllRt,
    |b| {
        b.enable_all();
    }
);

/// async-executor (smol's executor) run by `workers` threads.
#[derive(Debug)]
pub struct SmolRt {
    /// The executor.
    ex: Arc<async_executor::Executor<'static>>,
    /// Closed on drop: the threads stop running the executor.
    stop: Option<async_channel::Sender<()>>,
    /// The threads.
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Spawner for Arc<async_executor::Executor<'static>> {
    type Join<T: Send + 'static> = async_executor::Task<T>;
    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_executor::Executor::spawn(self, f)
    }
}

impl Exec for SmolRt {
    const NAME: &'static str = "async-executor";
    type Spawner = Arc<async_executor::Executor<'static>>;
    fn start(workers: usize) -> Self {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|_| {
                let ex = Arc::clone(&ex);
                let stopped = stopped.clone();
                std::thread::spawn(move || {
                    let _ = futures_lite::future::block_on(ex.run(stopped.recv()));
                })
            })
            .collect();
        SmolRt {
            ex,
            stop: Some(stop),
            threads,
        }
    }
    fn spawner(&self) -> Self::Spawner {
        Arc::clone(&self.ex)
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }
}

impl Drop for SmolRt {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            t.join().expect("executor thread panicked");
        }
    }
}

/// Spawns `n` trivial tasks from one task and joins them all (a message is
/// one task spawned and joined).
pub fn spawn_storm<E: Exec>(n: u64, workers: usize) -> Sample {
    let rt = E::start(workers);
    let spawner = rt.spawner();
    let sample = timed(|| {
        let inner = spawner.clone();
        let sum = rt.block_on(spawner.spawn(async move {
            let handles: Vec<_> = (0..n)
                .map(|i| inner.spawn(async move { std::hint::black_box(i) }))
                .collect();
            let mut sum = 0u64;
            for h in handles {
                sum += h.await;
            }
            sum
        }));
        assert_eq!(
            sum,
            n * (n.saturating_sub(1)) / 2,
            "{}: lost a task",
            E::NAME
        );
    });
    drop(rt);
    sample
}

/// Spawns `n` trivial tasks from `spawners` tasks, themselves spawned from
/// outside the runtime (the thread in `block_on`, so they go through the
/// global queue and land on either worker): each spawns its share and
/// joins it, and the outside thread joins the spawners. This is the shape
/// of the stress suite's spawn storm and of harnesses that drive the
/// runtime from `main`; [`spawn_storm`] spawns from a single task instead.
pub fn spawn_storm_fanout<E: Exec>(n: u64, spawners: u64, workers: usize) -> Sample {
    let rt = E::start(workers);
    let spawner = rt.spawner();
    let sample = timed(|| {
        let parents: Vec<_> = (0..spawners)
            .map(|s| {
                let inner = spawner.clone();
                let (lo, hi) = (s * n / spawners, (s + 1) * n / spawners);
                spawner.spawn(async move {
                    let handles: Vec<_> = (lo..hi)
                        .map(|i| inner.spawn(async move { std::hint::black_box(i) }))
                        .collect();
                    let mut sum = 0u64;
                    for h in handles {
                        sum += h.await;
                    }
                    sum
                })
            })
            .collect();
        let sum = rt.block_on(async move {
            let mut sum = 0u64;
            for p in parents {
                sum += p.await;
            }
            sum
        });
        assert_eq!(
            sum,
            n * (n.saturating_sub(1)) / 2,
            "{}: lost a task",
            E::NAME
        );
    });
    drop(rt);
    sample
}

/// `channels` channels, each with a producer task and a consumer task,
/// `per_channel` messages each, on a runtime of `workers` workers.
pub fn channel_storm<E: Exec, C: AsyncChannel>(
    channels: usize,
    per_channel: u64,
    cap: usize,
    workers: usize,
) -> Sample {
    let rt = E::start(workers);
    let spawner = rt.spawner();
    let sample = timed(|| {
        let total = rt.block_on(async {
            let mut consumers = Vec::new();
            let mut producers = Vec::new();
            for _ in 0..channels {
                let (mut tx, mut rx) = C::new(cap);
                producers.push(spawner.spawn(async move {
                    for i in 0..per_channel {
                        C::send(&mut tx, i).await;
                    }
                }));
                consumers.push(spawner.spawn(async move {
                    let mut got = 0u64;
                    while let Some(v) = C::recv(&mut rx).await {
                        assert_eq!(v, got, "out of order");
                        got += 1;
                    }
                    got
                }));
            }
            for p in producers {
                p.await;
            }
            let mut total = 0;
            for c in consumers {
                total += c.await;
            }
            total
        });
        assert_eq!(
            total,
            channels as u64 * per_channel,
            "{}/{}: lost messages",
            E::NAME,
            C::NAME
        );
    });
    drop(rt);
    sample
}

/// A one-bit, executor-agnostic signal between two tasks: a flag and the
/// waiting task's waker.
#[derive(Default)]
struct Signal {
    /// Set by `notify`, taken by `wait`.
    set: AtomicBool,
    /// The waiting task.
    waker: atomic_waker::AtomicWaker,
}

impl Signal {
    fn notify(&self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }
    fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.set.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.set.swap(false, Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// Two tasks ping-pong through wakers `iters` times; returns every round
/// trip. `split` puts them on two separate one-worker runtimes (every wake
/// crosses threads); otherwise both share one one-worker runtime.
pub fn wake_pingpong<E: Exec>(iters: usize, split: bool) -> Vec<Duration> {
    let a = E::start(1);
    let b = if split { Some(E::start(1)) } else { None };
    let ping = Arc::new(Signal::default());
    let pong = Arc::new(Signal::default());
    let echo = {
        let (ping, pong) = (Arc::clone(&ping), Arc::clone(&pong));
        b.as_ref()
            .map_or_else(|| a.spawner(), E::spawner)
            .spawn(async move {
                for _ in 0..iters {
                    ping.wait().await;
                    pong.notify();
                }
            })
    };
    let spawner = a.spawner();
    let lat = a.block_on(spawner.spawn(async move {
        let mut lat = Vec::with_capacity(iters);
        for _ in 0..iters {
            let t0 = Instant::now();
            ping.notify();
            pong.wait().await;
            lat.push(t0.elapsed());
        }
        lat
    }));
    a.block_on(echo);
    drop(b);
    drop(a);
    lat
}

/// A binary tree of tasks `depth` deep: each inner task spawns two children
/// and joins them; each leaf does a little work. Stealing spreads the tree
/// over the workers. A message is one task.
pub fn steal_tree<E: Exec>(depth: u32, workers: usize) -> Sample {
    fn node<S: Spawner>(s: S, depth: u32) -> Pin<Box<dyn Future<Output = u64> + Send>> {
        Box::pin(async move {
            if depth == 0 {
                let mut x = 0u64;
                for i in 0..200u64 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                std::hint::black_box(x);
                return 1;
            }
            let left = s.spawn(node(s.clone(), depth - 1));
            let right = s.spawn(node(s.clone(), depth - 1));
            left.await + right.await
        })
    }
    let rt = E::start(workers);
    let spawner = rt.spawner();
    let sample = timed(|| {
        let leaves = rt.block_on(spawner.spawn(node(spawner.clone(), depth)));
        assert_eq!(leaves, 1 << depth, "{}: lost a leaf", E::NAME);
    });
    drop(rt);
    sample
}

/// Heap bytes per idle task: spawns `n` tasks that wait forever, lets
/// every one of them poll once, and divides the growth of live heap bytes
/// (counted by [`super::alloc::CountingAlloc`]; NaN when it is not the
/// global allocator). The runtime's own start-up is outside the count.
pub fn idle_task_bytes<E: Exec>(n: usize) -> f64 {
    let rt = E::start(2);
    let spawner = rt.spawner();
    let started = Arc::new(AtomicU64::new(0));
    let (bytes, installed) = super::alloc::live_bytes_during(|live| {
        let before = live();
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let started = Arc::clone(&started);
                spawner.spawn(async move {
                    started.fetch_add(1, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                })
            })
            .collect();
        while started.load(Ordering::Relaxed) < n as u64 {
            std::thread::yield_now();
        }
        // The handles' own vector is the caller's, not the tasks'.
        let handles_vec = std::mem::size_of_val(handles.as_slice()) as isize;
        let bytes = live() - before - handles_vec;
        (bytes, handles)
    });
    let (bytes, handles) = bytes;
    // The tasks never finish: the runtime's shutdown drops them.
    drop(rt);
    drop(handles);
    match installed {
        Some(()) => bytes as f64 / n as f64,
        None => f64::NAN,
    }
}

/// Bytes per idle task for each runtime, interleaved over `rounds` rounds:
/// (name, median, min, max).
pub fn memory_table(tasks: usize, rounds: usize) -> Vec<(String, f64, f64, f64)> {
    /// A runtime's name and its measurement.
    type Measure = (&'static str, fn(usize) -> f64);
    let runs: [Measure; 3] = [
        (NimRt::NAME, idle_task_bytes::<NimRt>),
        (TokioRt::NAME, idle_task_bytes::<TokioRt>),
        (SmolRt::NAME, idle_task_bytes::<SmolRt>),
    ];
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for round in 0..rounds {
        for k in 0..runs.len() {
            let i = (k + round) % runs.len();
            per[i].push((runs[i].1)(tasks));
        }
    }
    runs.iter()
        .zip(per)
        .map(|((name, _), v)| {
            let (med, lo, hi) = super::report::spread(&v);
            ((*name).to_owned(), med, lo, hi)
        })
        .collect()
}
