//! The extension trait that adds nimsync-stream's stages to every stream.

use std::future::Future;
use std::time::Duration;

use futures_core::Stream;

use crate::{
    Buffer, ChunksTimeout, Concurrent, ConcurrentUnordered, Debounce, Overflow, Rate, Sample,
    Spawning, Throttle, ThrottleMode, Timeout, Until,
};

/// The stages nimsync-stream adds to every [`Stream`].
///
/// Its method names do not clash with those of futures-util's or
/// futures-lite's `StreamExt`, so both can be in scope; take `map`,
/// `filter`, `then`, `zip`, `take` and the rest from there. (tokio-stream's
/// `StreamExt` has its own `timeout`, `throttle` and `chunks_timeout`; with
/// both in scope, call these as `StageExt::timeout(stream, ..)`.)
///
/// The time stages run on nimsync-time's timers, so they work under any
/// executor.
///
/// ```
/// use futures_lite::{stream, StreamExt};
/// use nimsync_stream::{Overflow, StageExt};
///
/// let evens: Vec<u32> = futures_lite::future::block_on(
///     stream::iter(0..100u32)
///         .filter(|n| n % 2 == 0)
///         .buffer(8, Overflow::Block)
///         .map(|n| n / 2)
///         .take(3)
///         .collect(),
/// );
/// assert_eq!(evens, [0, 1, 2]);
/// ```
pub trait StageExt: Stream {
    /// A bounded buffer of `capacity` items with an overflow policy in
    /// front of this stream; see [`Buffer`].
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let got: Vec<u8> = futures_lite::future::block_on(
    ///     stream::iter(1..=6).buffer(2, Overflow::conflate(|a: &mut u8, b| *a += b)).collect(),
    /// );
    /// assert_eq!(got, [1, 2 + 3 + 4 + 5 + 6]);
    /// ```
    fn buffer(self, capacity: usize, overflow: Overflow<Self::Item>) -> Buffer<Self>
    where
        Self: Sized,
    {
        Buffer::new(self, capacity, overflow)
    }

    /// Ends this stream when `stop` completes (a cancel token's
    /// `cancelled()`, a deadline): what futures-util calls `take_until`;
    /// see [`Until`].
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::{channel, Overflow, StageExt};
    ///
    /// let (tx, rx) = channel(8, Overflow::Block);
    /// let (stop_tx, stop_rx) = nimsync_channel::oneshot::channel::<()>();
    /// tx.send(1).unwrap();
    /// let mut s = rx.until(stop_rx);
    /// future::block_on(async {
    ///     assert_eq!(s.next().await, Some(1));
    ///     stop_tx.send(()).unwrap();
    ///     tx.send(2).unwrap();
    ///     assert_eq!(s.next().await, None);
    /// });
    /// // 2 is still in the channel, not lost.
    /// assert_eq!(s.into_inner().into_remainder(), [2]);
    /// ```
    fn until<F>(self, stop: F) -> Until<Self, F>
    where
        F: Future,
        Self: Sized,
    {
        Until::new(self, stop)
    }

    /// Chunks of at most `max` items, each emitted when full or `timeout`
    /// after its first item; see [`ChunksTimeout`].
    ///
    /// # Panics
    ///
    /// If `max` is 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let sizes: Vec<usize> = futures_lite::future::block_on(
    ///     stream::iter(0..10).chunks_timeout(4, Duration::from_secs(1)).map(|c| c.len()).collect(),
    /// );
    /// assert_eq!(sizes, [4, 4, 2]);
    /// ```
    fn chunks_timeout(self, max: usize, timeout: Duration) -> ChunksTimeout<Self>
    where
        Self: Sized,
    {
        ChunksTimeout::new(self, max, timeout)
    }

    /// Emits an item once `quiet` passed without a newer one; see
    /// [`Debounce`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let last: Vec<u8> = futures_lite::future::block_on(
    ///     stream::iter([1, 2, 3]).debounce(Duration::from_millis(1)).collect(),
    /// );
    /// assert_eq!(last, [3]);
    /// ```
    fn debounce(self, quiet: Duration) -> Debounce<Self>
    where
        Self: Sized,
    {
        Debounce::new(self, quiet)
    }

    /// The newest item of each `period`; see [`Sample`].
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let got: Vec<u8> = futures_lite::future::block_on(
    ///     stream::iter([1, 2, 3]).sample(Duration::from_secs(1)).collect(),
    /// );
    /// assert_eq!(got, [3]);
    /// ```
    fn sample(self, period: Duration) -> Sample<Self>
    where
        Self: Sized,
    {
        Sample::new(self, period)
    }

    /// At most `rate`, in bursts of up to `burst` items, with `mode` for
    /// the items above it; see [`Throttle`].
    ///
    /// # Panics
    ///
    /// If `burst` is 0.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Rate, StageExt, ThrottleMode};
    ///
    /// // Lossless: every item passes, paced at 1,000 a second after a burst of 10.
    /// let got: Vec<u32> = futures_lite::future::block_on(
    ///     stream::iter(0..20).throttle(Rate::per_second(1000), 10, ThrottleMode::Shape).collect(),
    /// );
    /// assert_eq!(got, (0..20).collect::<Vec<_>>());
    /// ```
    fn throttle(self, rate: Rate, burst: u32, mode: ThrottleMode) -> Throttle<Self>
    where
        Self: Sized,
    {
        Throttle::new(self, rate, burst, mode)
    }

    /// Each item as `Ok`, and an error whenever `limit` passes without one;
    /// see [`Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let got: Vec<_> = futures_lite::future::block_on(
    ///     stream::iter([1, 2]).timeout(Duration::from_secs(1)).collect(),
    /// );
    /// assert_eq!(got, [Ok(1), Ok(2)]);
    /// ```
    fn timeout(self, limit: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout::new(self, limit)
    }

    /// Runs up to `limit` of this stream's futures at once and yields their
    /// outputs in order; see [`Concurrent`]. (futures-util's `buffered`,
    /// which a limit of 0 hangs.)
    ///
    /// The futures run only while this stage is polled. A consumer that
    /// awaits something else between items stalls every future in flight
    /// meanwhile: their timeouts expire, the connections they hold idle,
    /// and one that waits on the consumer's own progress never finishes.
    /// When that can happen, use
    /// [`concurrent_spawned`](StageExt::concurrent_spawned).
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let squares: Vec<u64> = future::block_on(
    ///     stream::iter(1..=5u64).map(|n| async move { n * n }).concurrent(3).collect(),
    /// );
    /// assert_eq!(squares, [1, 4, 9, 16, 25]);
    /// ```
    fn concurrent(self, limit: usize) -> Concurrent<Self>
    where
        Self: Sized,
        Self::Item: Future,
    {
        Concurrent::new(self, limit)
    }

    /// Runs up to `limit` of this stream's futures at once and yields their
    /// outputs as they finish; see [`ConcurrentUnordered`]. (futures-util's
    /// `buffer_unordered`, which a limit of 0 hangs.) The stall described
    /// at [`concurrent`](StageExt::concurrent) applies here too.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let mut sums: Vec<u64> = future::block_on(
    ///     stream::iter(1..=5u64).map(|n| async move { n + 1 }).concurrent_unordered(2).collect(),
    /// );
    /// sums.sort();
    /// assert_eq!(sums, [2, 3, 4, 5, 6]);
    /// ```
    fn concurrent_unordered(self, limit: usize) -> ConcurrentUnordered<Self>
    where
        Self: Sized,
        Self::Item: Future,
    {
        ConcurrentUnordered::new(self, limit)
    }

    /// Hands each of this stream's futures to `spawn` when it is taken (up
    /// to `limit` in flight) and yields the outputs of the handles `spawn`
    /// returns, in order; see [`Concurrent`].
    ///
    /// The spawned futures run on their executor whatever the consumer
    /// does, so a consumer that awaits something else between items does
    /// not stall them, which [`concurrent`](StageExt::concurrent) would.
    /// `spawn` is any function from a future to a future of its output: a
    /// runtime's spawn with its join handle, or a thread.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// // Each future on a thread of its own; any executor's spawn works.
    /// let spawn = |fut: future::Ready<u32>| {
    ///     let (tx, rx) = nimsync_channel::oneshot::channel();
    ///     std::thread::spawn(move || tx.send(future::block_on(fut)).ok());
    ///     async move { rx.await.unwrap() }
    /// };
    /// let got: Vec<u32> = future::block_on(
    ///     stream::iter(0..4).map(future::ready).concurrent_spawned(2, spawn).collect(),
    /// );
    /// assert_eq!(got, [0, 1, 2, 3]);
    /// ```
    fn concurrent_spawned<F, H>(self, limit: usize, spawn: F) -> Concurrent<Spawning<Self, F>>
    where
        Self: Sized,
        Self::Item: Future,
        F: FnMut(Self::Item) -> H,
        H: Future,
    {
        Concurrent::new(Spawning::new(self, spawn), limit)
    }
}

impl<S: Stream + ?Sized> StageExt for S {}
