//! A work-stealing async runtime with adaptive victim selection.
//!
//! ```
//! use nimsync_scheduler::Runtime;
//! use std::time::Duration;
//!
//! let rt = Runtime::builder().worker_threads(2).build().unwrap();
//! let total = rt.block_on(async {
//!     let tasks: Vec<_> = (0..100u64)
//!         .map(|i| nimsync_scheduler::spawn(async move { i * 2 }))
//!         .collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await.unwrap();
//!     }
//!     nimsync_scheduler::time::sleep(Duration::from_millis(1)).await;
//!     total
//! });
//! assert_eq!(total, 9_900);
//! ```
//!
//! # What it does
//! - **Work stealing** on `crossbeam-deque`: a local queue per worker, a
//!   global injector, a LIFO slot for the task just woken (bounded, and
//!   stealable), batch steals, at most half of the workers searching at
//!   once, and adaptive victim selection ([`VictimSelection`]).
//! - **Fairness**: a task that wakes itself ([`yield_now`](fn@yield_now)) goes behind the
//!   tasks already waiting; a cooperative budget makes a task that stays
//!   ready yield after 128 units of work in one poll (join handles and
//!   [`task::consume_budget`] spend it); the LIFO slot runs at most three
//!   times in a row; the global queue is checked every 61 polls even when
//!   the local queue is busy.
//! - **Parking** without lost wake-ups and without periodic wake-ups: an idle
//!   worker sleeps until woken, or until the next timer deadline when it
//!   drives the timers.
//! - **Timers**: nimsync-time's timers (re-exported as [`time`]). The
//!   parked worker that holds the timer-driver role helps turn the wheel,
//!   so a task's timer usually fires on a worker; nimsync-time's own timer
//!   thread fires every timer on time regardless, so busy workers delay no
//!   timer, in the runtime or elsewhere in the process.
//! - **Tasks**: [`JoinHandle`] with `abort`, task names and ids, task-local
//!   values ([`task_local!`]), [`spawn_blocking`], [`spawn_local`] for
//!   `!Send` futures, panics caught per task ([`JoinError`]).
//! - **Metrics** ([`Runtime::metrics`]) and opt-in slow-poll detection
//!   ([`Builder::on_slow_poll`]).
//!
//! # Tracing
//! The `tracing` cargo feature (off by default) reports through the
//! `tracing` crate: every task's polls run inside a `debug` span `task`
//! with the fields `id` and `name` (when the task is named), made when the
//! task is spawned and only if a subscriber wants it; and the runtime
//! emits events, with the target `nimsync_scheduler`: a slow poll
//! (`warn`, beside the [`Builder::on_slow_poll`] hook), a panicked task
//! (`error`), a cancelled task (`debug`), the runtime's start and shutdown
//! (`debug`) and a blocking task's start and end (`trace`). Without the
//! feature none of this code is compiled; with it, a poll costs one span
//! enter and exit when the span exists, and one branch when it does not.
//! docs/runtime.md in the repository lists every field.
//!
//! # I/O
//! The runtime has no I/O reactor of its own. Executor-agnostic I/O crates
//! such as `async-io` and `async-net` (which run their own reactor thread)
//! work on it; tokio's I/O types need tokio's reactor and do not. With the
//! `io` feature, `Builder::drive_io` lets one parked worker at a time
//! wait on async-io's reactor itself, so a ready socket wakes its task on
//! a worker instead of on async-io's thread (docs/runtime.md#io).
//!
//! # Panics and shutdown
//! A panic inside a task is caught and returned as a [`JoinError`]; it
//! never kills a worker. With `panic = "abort"` in the build profile a
//! panic aborts the process, as everywhere. Dropping the [`Runtime`] stops
//! the workers, drops the future of every unfinished task, and joins all
//! threads; dropped inside one of its own tasks or blocking closures, it
//! returns at once and a `nimsync-shutdown` thread does the waiting (see
//! [`Runtime`]).

mod block_on;
mod blocking;
mod builder;
mod context;
mod coop;
mod gate;
mod handle;
mod idle;
mod io;
mod lifo;
mod local_queue;
mod metrics;
mod runtime;
mod shared;
mod shutdown;
mod spawn;
mod sync;
pub mod task;
#[cfg(feature = "tracing")]
mod trace;
mod worker;
mod yield_now;

#[cfg(all(loom, test))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use builder::{Builder, VictimSelection};
pub use handle::Handle;
pub use metrics::{RuntimeMetrics, SlowPoll};
pub use runtime::Runtime;
pub use task::join_error::JoinError;
pub use task::join_handle::JoinHandle;
pub use yield_now::yield_now;

/// nimsync-time's timers; the runtime's parked workers help turn the wheel.
pub use nimsync_time as time;

/// Spawns a task on the current runtime.
///
/// # Panics
/// Outside a runtime (not in a task, `block_on` or blocking closure); use
/// [`Runtime::spawn`] or [`Handle::spawn`] there.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let v = rt.block_on(async { nimsync_scheduler::spawn(async { 5 }).await.unwrap() });
/// assert_eq!(v, 5);
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: core::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    task::current("spawn").spawn(future)
}

/// Runs a blocking closure on the current runtime's blocking pool.
///
/// # Panics
/// Outside a runtime; use [`Runtime::spawn_blocking`] there.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     nimsync_scheduler::spawn_blocking(|| std::thread::current().name().map(str::to_owned))
///         .await
///         .unwrap()
/// });
/// assert_eq!(v.as_deref(), Some("nimsync-worker"));
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    task::current("spawn_blocking").spawn_blocking(f)
}

/// Spawns a `!Send` future on the current thread: it runs only on this
/// thread (a worker, or the thread in `block_on`), is never stolen, and is
/// dropped when the thread leaves the runtime (the worker stops, or the
/// `block_on` call returns).
///
/// # Panics
/// Outside a runtime thread (a plain thread or a blocking closure): the
/// message says how to get one.
///
/// # Examples
/// ```
/// use std::rc::Rc;
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     let shared = Rc::new(5);
///     let local = Rc::clone(&shared);
///     nimsync_scheduler::spawn_local(async move { *local + 1 }).await.unwrap()
/// });
/// assert_eq!(v, 6);
/// ```
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: core::future::Future + 'static,
    F::Output: 'static,
{
    spawn::spawn_local_inner(future, None)
}

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
