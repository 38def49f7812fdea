//! Executor-agnostic timers: [`sleep()`], [`timeout()`] and [`interval()`].
//!
//! The timers sit on one process-wide hashed timer wheel with 1 ms ticks.
//! They only use [`Waker`](core::task::Waker)s, so they work under any
//! executor (nimsync-scheduler, tokio, smol, `futures_lite::future::block_on`
//! or a hand-written loop). A background thread, started when the first
//! timer is armed, turns the wheel; a runtime can help turn it from its own
//! park loop through a [`driver::Hook`], but never takes the thread's place,
//! so no executor's busy threads delay the timers of the rest of the
//! process.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use nimsync_time::{interval, sleep, timeout};
//!
//! futures_lite::future::block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(3)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(3));
//!
//!     let never = std::future::pending::<()>();
//!     assert!(timeout(Duration::from_millis(2), never).await.is_err());
//!
//!     let mut every = interval(Duration::from_millis(1));
//!     let first = every.tick().await;
//!     let second = every.tick().await;
//!     assert_eq!(second - first, Duration::from_millis(1));
//! });
//! ```
//!
//! # Guarantees
//! - **Never early.** A timer for instant `t` completes at or after `t`.
//! - **At most one tick late**, plus the OS's scheduling latency: deadlines
//!   are rounded up to the next 1 ms tick. This holds whatever the
//!   runtimes of the process do: the timer thread fires every timer that no
//!   runtime fired first.
//! - **Cheap to drop and reset.** A timer is armed when first polled;
//!   dropping or resetting it before it fires is O(1) (a slab node unlinked
//!   from a slot's list, under one short lock).
//! - **No idle wake-ups.** With no timer armed, the timer thread sleeps
//!   until one is.

mod entry;
mod sync;
mod wheel;

mod clock;
pub mod driver;
mod interval;
mod sleep;
mod timeout;

#[cfg(all(loom, test))]
mod loom_tests;

pub use clock::{Clock, ClockSleep, ManualClock};
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

/// The resolution of the timer wheel: deadlines are rounded up to it.
///
/// # Examples
/// ```
/// assert_eq!(nimsync_time::TICK, std::time::Duration::from_millis(1));
/// ```
pub const TICK: std::time::Duration = wheel::TICK;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
