//! nimsync: lock-free channels, timers, select, a work-stealing runtime
//! structured concurrency, backpressure streams and supervised actors,
//! behind one dependency.
//!
//! Each module re-exports one of the nimsync crates, which stay usable on
//! their own when a program needs a single layer:
//!
//! | module | crate | what it gives | feature |
//! |---|---|---|---|
//! | [`channel`] | `nimsync-channel` | bounded SPSC and MPMC channels and a oneshot: non-blocking, blocking and async on the same channel | `channel` |
//! | [`time`] | `nimsync-time` | `sleep`, `timeout` and `interval` under any executor | `time` |
//! | [`select`](mod@select) | `nimsync-select` | fair, atomic select over channel operations and timers, for threads and async code | `select` |
//! | [`scheduler`] | `nimsync-scheduler` | the work-stealing runtime | `scheduler` |
//! | [`group`] | `nimsync-group` | task groups, cancel tokens, deadlines | `group` |
//! | [`stream`] | `nimsync-stream` | backpressure streams: overflow policies, counted drops, nothing lost on cancellation | `stream` |
//! | [`actor`] | `nimsync-actor` | typed actors, bounded mailboxes, asks with deadlines, supervision trees | `actor` |
//!
//! Every feature is on by default. A feature turns on the layers its crate
//! stands on (`select` brings `channel` and `time`, `group` brings
//! `scheduler` and `time`, `stream` brings `channel`, `actor` brings all
//! of those but `select`); with `default-features = false`, name the
//! layers you take:
//!
//! ```toml
//! [dependencies]
//! nimsync = { version = "0.1", default-features = false, features = ["channel"] }
//! ```
//!
//! One feature is off by default: `tracing` gives the runtime's tasks a
//! `task` span and reports slow polls, panics, cancellations and the
//! groups' failures, cancellations, deadlines and retries as `tracing`
//! events (from the scheduler and group layers that are on).
//!
//! The [`prelude`] brings the names most programs start with.
//!
//! # Examples
//!
//! A runtime, a task group, and a channel between its children:
//!
//! ```
//! use nimsync::prelude::*;
//!
//! let rt = Runtime::new().unwrap();
//! let total = rt.block_on(async {
//!     let (tx, rx) = mpmc::channel::<u64>(16);
//!     let group = TaskGroup::<()>::new();
//!     group
//!         .spawn_ok(async move {
//!             for i in 1..=100 {
//!                 tx.send_async(i).await.unwrap();
//!             }
//!         })
//!         .unwrap();
//!     let mut sum = 0;
//!     while let Ok(v) = rx.recv_async().await {
//!         sum += v;
//!     }
//!     group.join_all().await.unwrap();
//!     sum
//! });
//! assert_eq!(total, 5050);
//! ```
//!
//! A select over two channels and a timeout, from a plain thread:
//!
//! ```
//! use std::time::Duration;
//! use nimsync::channel::mpmc;
//! use nimsync::select::{after, select};
//!
//! let (tx, jobs) = mpmc::channel::<&str>(4);
//! let (_stop_tx, stop) = mpmc::channel::<()>(1);
//! tx.send("job").unwrap();
//! let got = select! {
//!     recv(jobs) -> job => job.ok(),
//!     recv(stop) -> _ => None,
//!     recv(after(Duration::from_secs(5))) -> _ => None,
//! };
//! assert_eq!(got, Some("job"));
//! ```

#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "channel")]
pub use nimsync_channel as channel;

#[cfg(feature = "time")]
pub use nimsync_time as time;

/// Select over channel operations and timers: the `nimsync-select` crate,
/// with its macros.
#[cfg(feature = "select")]
pub mod select {
    pub use nimsync_select::*;
    pub use nimsync_select::{select, select_async, select_biased, select_biased_async};
}

#[cfg(feature = "scheduler")]
pub use nimsync_scheduler as scheduler;

#[cfg(feature = "group")]
pub use nimsync_group as group;

#[cfg(feature = "stream")]
pub use nimsync_stream as stream;

#[cfg(feature = "actor")]
pub use nimsync_actor as actor;

#[cfg(feature = "select")]
pub use nimsync_select::{select, select_async, select_biased, select_biased_async};

/// The names most programs start with: the channel flavors, the timers,
/// the runtime and its spawn functions, task groups and cancel tokens, the
/// select macros, the stream stages and their overflow policy, and the
/// actor traits, refs and supervisors (each where its feature is on).
///
/// ```
/// use nimsync::prelude::*;
///
/// let (tx, rx) = mpmc::channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub mod prelude {
    #[cfg(feature = "channel")]
    pub use nimsync_channel::{mpmc, oneshot, spsc};

    #[cfg(feature = "time")]
    pub use nimsync_time::{interval, sleep, timeout};

    #[cfg(feature = "select")]
    pub use nimsync_select::{select, select_async};

    #[cfg(feature = "scheduler")]
    pub use nimsync_scheduler::{Runtime, spawn, spawn_blocking};

    #[cfg(feature = "group")]
    pub use nimsync_group::{CancelToken, TaskGroup};

    #[cfg(feature = "stream")]
    pub use nimsync_stream::{Overflow, StageExt};

    #[cfg(feature = "actor")]
    pub use nimsync_actor::{Actor, ActorRef, ChildSpec, Context, Handler, Supervisor};
}

/// The crate README's examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "channel", feature = "group"))]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

/// The workspace README's examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "channel", feature = "select", feature = "group"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The examples of the workspace's docs/porting.md, compiled and run as
/// doc tests.
#[cfg(all(
    doctest,
    feature = "channel",
    feature = "select",
    feature = "group",
    feature = "stream"
))]
#[doc = include_str!("../../../docs/porting.md")]
pub struct PortingDoctests;
