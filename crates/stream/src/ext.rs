//! The extension trait that adds nimsync-stream's stages to every stream.

use std::future::Future;

use futures_core::Stream;

use crate::{Buffer, Overflow, Until};

/// The stages nimsync-stream adds to every [`Stream`].
///
/// Its method names do not clash with those of futures-util's or
/// futures-lite's `StreamExt`, so both can be in scope; take `map`,
/// `filter`, `then`, `zip`, `take` and the rest from there.
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
}

impl<S: Stream + ?Sized> StageExt for S {}
