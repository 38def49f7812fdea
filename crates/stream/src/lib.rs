//! Backpressure streams that run under any executor.
//!
//! - One [`Overflow`] policy for every bounded stage: [`Block`](Overflow::Block)
//!   (the producer waits), [`DropOldest`](Overflow::DropOldest),
//!   [`DropNewest`](Overflow::DropNewest), [`DropBuffer`](Overflow::DropBuffer),
//!   [`Fail`](Overflow::Fail) (the producer gets an error, the consumer sees
//!   the end after the items held) and [`Conflate`](Overflow::conflate)
//!   (new items folded into the newest).
//! - A bounded stream [`channel`]: cloneable producers with blocking, async
//!   and non-blocking sends, and a [`Receiver`] that is a
//!   [`futures_core::Stream`].
//! - Stages on any stream through [`StageExt`]: [`buffer`](StageExt::buffer)
//!   with a policy, [`until`](StageExt::until) a future completes, and the
//!   time stages [`chunks_timeout`](StageExt::chunks_timeout),
//!   [`debounce`](StageExt::debounce), [`sample`](StageExt::sample),
//!   [`throttle`](StageExt::throttle) (shaping, dropping or failing above a
//!   [`Rate`]) and [`timeout`](StageExt::timeout), on nimsync-time's
//!   timers. They compose with futures-util's and futures-lite's
//!   combinators.
//! - A [`broadcast`]: one producer side, many [`Subscriber`]s, each with
//!   its own [`Lagging`] policy (pace the producer, skip to the oldest or
//!   the newest with a lag count, or disconnect after a limit).
//! - Futures run with a concurrency limit: in order
//!   ([`concurrent`](StageExt::concurrent)), as they finish
//!   ([`concurrent_unordered`](StageExt::concurrent_unordered)), or spawned
//!   so they progress while the consumer is busy
//!   ([`concurrent_spawned`](StageExt::concurrent_spawned)).
//! - A fair [`merge`] of any number of streams that polls only the streams
//!   that woke, with a per-poll budget, weights and a biased variant.
//! - Visible drops: every dropped item goes to an optional `on_drop` hook
//!   with its [`DropReason`] and is counted; `metrics()` on every bounded
//!   stage gives items in and out, drops by reason, depth and high-water
//!   mark ([`Metrics`]).
//! - Nothing lost on cancellation: a stage dropped while it holds items
//!   hands them to its `on_undelivered` hook, and `into_remainder()`
//!   returns them instead.
//!
//! It depends on nimsync-channel, nimsync-time and futures-core: no
//! runtime, so it runs on tokio, smol, nimsync-scheduler or plain threads
//! alike.
//!
//! ```
//! use futures_lite::StreamExt;
//! use nimsync_stream::{Builder, Overflow};
//!
//! // A fast producer, a slow consumer that only wants recent readings.
//! let (tx, rx) = Builder::new(16, Overflow::DropOldest).build();
//! let producer = std::thread::spawn(move || {
//!     for reading in 0..10_000u32 {
//!         tx.send(reading).unwrap();
//!     }
//! });
//! producer.join().unwrap();
//! let metrics = rx.metrics();
//! let recent: Vec<u32> = futures_lite::future::block_on(rx.collect());
//! assert_eq!(recent, (10_000 - 16..10_000).collect::<Vec<_>>());
//! assert_eq!(metrics.dropped_oldest, 10_000 - 16);
//! ```

mod block;
mod broadcast;
mod buffer;
mod channel;
mod concurrent;
mod error;
mod ext;
mod merge;
mod metrics;
mod overflow;
mod sync;
mod time;
mod until;

#[cfg(all(test, loom))]
mod loom_tests;

pub use broadcast::{BroadcastError, Lagging, PublishFuture, Publisher, Subscriber, broadcast};
pub use buffer::Buffer;
pub use channel::{Builder, Receiver, RecvFuture, SendFuture, SendSink, Sender, channel};
pub use concurrent::{Concurrent, ConcurrentUnordered, Spawning};
pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use ext::StageExt;
pub use merge::{Merge, merge};
pub use metrics::Metrics;
pub use overflow::{Conflate, DropReason, Overflow};
pub use time::{ChunksTimeout, Debounce, Rate, Sample, Throttle, ThrottleMode, Timeout};
pub use until::Until;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The examples of the workspace's docs/stream.md, compiled and run as doc
/// tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/stream.md")]
pub struct StreamDocDoctests;
