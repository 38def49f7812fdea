//! The consuming end of a stream channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use nimsync_channel::TryRecvError as RingEmpty;
use nimsync_channel::mpmc;

use super::shared::Shared;
use crate::block::block_on;
use crate::{Metrics, RecvError, TryRecvError};

/// How often (in items received) the consumer samples the depth for the
/// high-water mark.
const SAMPLE_EVERY: u64 = 64;

/// The consuming end of a stream [`channel`](crate::channel): a
/// [`futures_core::Stream`] of the items, with blocking and non-blocking
/// receives beside it.
///
/// There is one consumer (receives take `&mut self`); fan out behind it with
/// a worker pool or a broadcast if several tasks must take items.
///
/// # Dropping it
///
/// Dropping the receiver closes the stage (producers get `Closed`) and
/// hands every item it still holds to the `on_undelivered` hook, counted in
/// [`Metrics::undelivered`]; [`into_remainder`](Receiver::into_remainder)
/// returns them instead. No item is lost in either case.
///
/// # Cancel safety
///
/// [`recv_async`](Receiver::recv_async) and the stream's `next()` are
/// cancel safe: an item is taken only when the future completes.
///
/// ```
/// use futures_lite::StreamExt;
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, rx) = channel(8, Overflow::Block);
/// std::thread::spawn(move || {
///     for i in 0..100u32 {
///         tx.send(i).unwrap();
///     }
/// });
/// let sum: u32 = futures_lite::future::block_on(rx.fold(0, |a, b| a + b));
/// assert_eq!(sum, 4950);
/// ```
pub struct Receiver<T> {
    stream: mpmc::RecvStream<T>,
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    pub(crate) fn new(rx: mpmc::Receiver<T>, shared: Arc<Shared<T>>) -> Self {
        Self {
            stream: rx.into_stream(),
            shared,
        }
    }

    /// Takes an item if one is held now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is held now, or
    /// [`TryRecvError::Ended`] once the stream has ended.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow, TryRecvError};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// tx.send("a").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("a"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let ring = self.stream.get_ref();
        match ring.try_recv() {
            Ok(item) => Ok(self.delivered(item)),
            // A send still writing its claimed slot is ahead of the
            // spilled item: the spill waits for the ring to be empty.
            Err(RingEmpty::Empty) if !ring.is_empty() => Err(TryRecvError::Empty),
            Err(e) => match self.shared.take_spill() {
                Some(item) => Ok(self.delivered(item)),
                None if e == RingEmpty::Empty => Err(TryRecvError::Empty),
                None => Err(TryRecvError::Ended(self.shared.end())),
            },
        }
    }

    /// Waits for an item, blocking the thread.
    ///
    /// # Errors
    ///
    /// The [`RecvError`] that ended the stream, once every item held has
    /// been received.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow, RecvError};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv(), Ok(7));
    /// assert_eq!(rx.recv(), Err(RecvError::Closed));
    /// ```
    pub fn recv(&mut self) -> Result<T, RecvError> {
        if self.shared.spills() {
            // A spilled item wakes a waker, not a parked receiver.
            return block_on(self.recv_async());
        }
        match self.stream.get_ref().recv() {
            Ok(item) => Ok(self.delivered(item)),
            Err(_) => Err(self.shared.end()),
        }
    }

    /// Waits for an item.
    ///
    /// # Errors
    ///
    /// The [`RecvError`] that ended the stream, once every item held has
    /// been received.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes takes no item.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// futures_lite::future::block_on(async {
    ///     tx.send_async(1).await.unwrap();
    ///     assert_eq!(rx.recv_async().await, Ok(1));
    /// });
    /// ```
    pub fn recv_async(&mut self) -> RecvFuture<'_, T> {
        RecvFuture { rx: self }
    }

    /// Polls for an item: the step behind [`recv_async`](Self::recv_async)
    /// and the stream, for hand-written futures.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(rx.poll_recv(&mut cx).is_pending());
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(3)));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        match Pin::new(&mut self.stream).poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Ok(self.delivered(item))),
            // The ring is closed and drained: a spilled item comes last.
            Poll::Ready(None) => Poll::Ready(match self.shared.take_spill() {
                Some(item) => Ok(self.delivered(item)),
                None => Err(self.shared.end()),
            }),
            Poll::Pending => {
                // Register before looking, so a spill made after the look
                // wakes this waker. The spilled item comes after every item
                // of the ring, including one a send is still writing (that
                // write wakes this task through the ring).
                if self.shared.register_spill(cx.waker()) && self.stream.get_ref().is_empty() {
                    if let Some(item) = self.shared.take_spill() {
                        return Poll::Ready(Ok(self.delivered(item)));
                    }
                }
                Poll::Pending
            }
        }
    }

    fn delivered(&self, item: T) -> T {
        // The high-water mark is sampled here every `SAMPLE_EVERY` items
        // (and at every overflow by the producers): reading the depth
        // reads the producers' cache lines.
        if self.shared.counters.delivered(1) % SAMPLE_EVERY == 0 {
            self.shared.counters.depth(self.len());
        }
        item
    }

    /// Closes the stage: producers' later sends fail with `Closed`, and the
    /// items held are still received. Returns `false` if it was closed
    /// already.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow, RecvError, SendError};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// tx.send(1).unwrap();
    /// assert!(rx.close());
    /// assert_eq!(tx.send(2), Err(SendError::Closed(2)));
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(rx.recv(), Err(RecvError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close(|| self.stream.get_ref().close())
    }

    /// Closes the stage and returns every item it still holds, oldest
    /// first, counted as undelivered (the `on_undelivered` hook does not
    /// see them).
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, rx) = channel(4, Overflow::Block);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.into_remainder(), [1, 2]);
    /// assert!(tx.is_closed());
    /// ```
    pub fn into_remainder(self) -> Vec<T> {
        let mut rest = Vec::new();
        self.drain(|item| rest.push(item));
        for _ in &rest {
            self.shared.counters.undelivered();
        }
        rest
    }

    /// Closes the stage and passes each item it holds to `f`.
    fn drain(&self, mut f: impl FnMut(T)) {
        self.close();
        let rx = self.stream.get_ref();
        loop {
            match rx.try_recv() {
                Ok(item) => f(item),
                Err(RingEmpty::Closed) => break,
                // A send that claimed its slot before the close is still
                // writing it (the ring reports `Closed` only once every
                // claimed slot is read). Only this crate's senders use the
                // ring, and each writes right after its claim.
                Err(RingEmpty::Empty) => std::thread::yield_now(),
            }
        }
        if let Some(item) = self.shared.take_spill() {
            f(item);
        }
    }

    /// The stage's counters now.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, mut rx) = channel(4, Overflow::Block);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.metrics().depth, 1);
    /// rx.try_recv().unwrap();
    /// assert_eq!(rx.metrics().delivered, 1);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics(self.stream.get_ref().len())
    }

    /// Items held now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_stream::channel(4, nimsync_stream::Overflow::Block);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.depth(self.stream.get_ref().len())
    }

    /// True if nothing is held now.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity the stage was made with.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// assert_eq!(rx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.stream.get_ref().max_capacity()
    }

    /// True once the stage is closed for producers (every producer gone,
    /// [`close`](Self::close) called, or a `Fail` overflow).
    ///
    /// ```
    /// let (tx, rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.stream.get_ref().is_closed()
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = Arc::clone(&self.shared);
        self.drain(|item| shared.undelivered(item));
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("overflow", &self.shared.overflow)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// The future of [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecvFuture")
    }
}
