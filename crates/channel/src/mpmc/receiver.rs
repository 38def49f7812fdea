//! The receiving endpoint of an MPMC channel.

use core::fmt;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::counts::Side;
use super::{
    Claim, Flavor, IntoIter, Iter, RecvFuture, RecvManyFuture, RecvStream, Sender, TryIter,
    WeakReceiver,
};
use crate::chan::{CloseChan, Handle, RecvChan, deadline_after};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::waiter::{Registration, WaitQueue, poll_op};

/// The receiving endpoint of an MPMC channel. Cloning it adds a receiver;
/// each value goes to exactly one receiver.
///
/// When the last receiver is dropped the channel closes and what is
/// buffered is dropped.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(rx)); // Rc is not Send
/// ```
pub struct Receiver<T> {
    pub(super) flavor: Flavor<T>,
    /// The waker registration of [`poll_recv`](Receiver::poll_recv) and
    /// [`poll_recv_many`](Receiver::poll_recv_many), made on their first
    /// `Pending`: boxed, so that a receiver that is never polled stays
    /// small.
    polled: Option<Box<Registration>>,
}

impl<T> Receiver<T> {
    /// A receiver of `flavor`'s channel (the caller counted it).
    pub(super) fn of(flavor: Flavor<T>) -> Self {
        Self {
            flavor,
            polled: None,
        }
    }

    /// Polls for a value, as tokio's `poll_recv`: `Ready(Some(v))` when one
    /// is buffered (on a rendezvous channel: offered by a waiting sender),
    /// `Ready(None)` once the channel is closed and drained, otherwise
    /// `Pending`, with `cx`'s waker woken when a value may have arrived.
    /// For hand-written futures and streams; the receiver keeps one waker,
    /// the last one polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::Poll;
    /// use futures_lite::future::{block_on, poll_fn};
    /// let (tx, mut rx) = nimsync_channel::mpmc::channel(2);
    /// block_on(async {
    ///     assert!(poll_fn(|cx| Poll::Ready(rx.poll_recv(cx).is_pending())).await);
    ///     tx.send(1).unwrap();
    ///     assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(1));
    ///     drop(tx);
    ///     assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, None);
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let queue = self.flavor.queue();
        let registration = self.polled.get_or_insert_with(Default::default);
        poll_op(registration, queue.recv_wait(), cx, || {
            match queue.try_recv() {
                Ok(v) => Some(Some(v)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => None,
            }
        })
    }

    /// Polls for up to `limit` values, as tokio's `poll_recv_many`: moves
    /// what is buffered (at least one) into `buf` and returns how many;
    /// `Ready(0)` once the channel is closed and drained, or for a `limit`
    /// of 0; otherwise `Pending`, as [`poll_recv`](Receiver::poll_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::future::{block_on, poll_fn};
    /// let (tx, mut rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// drop(tx);
    /// let mut buf = Vec::new();
    /// block_on(async {
    ///     assert_eq!(poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 2)).await, 2);
    ///     assert_eq!(poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 2)).await, 1);
    ///     assert_eq!(poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 2)).await, 0);
    /// });
    /// assert_eq!(buf, [1, 2, 3]);
    /// ```
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let queue = self.flavor.queue();
        let registration = self.polled.get_or_insert_with(Default::default);
        super::recv_many::poll_recv_many(queue, registration, cx, buf, limit)
            .map(|res| res.unwrap_or(0))
    }

    /// Takes a value if one is buffered, without waiting. On a rendezvous
    /// channel: if a sender is waiting with one.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.flavor.queue().try_recv()
    }

    /// Takes a value, blocking the thread while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.flavor
            .queue()
            .recv_deadline(None)
            .map_err(|_| RecvError)
    }

    /// Takes a value, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.flavor.queue().recv_deadline(deadline_after(timeout))
    }

    /// Takes a value, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.flavor.queue().recv_deadline(Some(deadline))
    }

    /// Takes a value, waiting asynchronously while the channel is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is only taken in the poll that returns it, so
    /// dropping the future loses no message, and a wake-up it had received
    /// passes on to the next waiting receiver. On a rendezvous channel a
    /// value handed to a pending future that is then dropped stays in the
    /// channel for the next receiver.
    ///
    /// # Errors
    ///
    /// Resolves to [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(2));
    /// # });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self.flavor.queue())
    }

    /// Moves up to `limit` buffered values into `buf`, waking waiting
    /// senders once at the end, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(8);
    /// tx.send_iter(0..5).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    /// assert_eq!(buf, [0, 1, 2]);
    /// ```
    pub fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        self.flavor.queue().try_recv_many(buf, limit)
    }

    /// Moves up to `limit` values into `buf`, blocking until at least one is
    /// buffered.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(8);
    /// tx.send_iter([1, 2]).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 8), Ok(2));
    /// ```
    pub fn recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        if limit == 0 {
            return Ok(0);
        }
        self.flavor.queue().recv_many(buf, limit)
    }

    /// Moves up to `limit` values into `buf`, waiting asynchronously until
    /// at least one is buffered (tokio's `recv_many`). Resolves to the
    /// number moved: at least one, or 0 only for a `limit` of 0.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: values move into `buf` only in the poll that returns
    /// them.
    ///
    /// # Errors
    ///
    /// Resolves to [`RecvError`] once the channel is closed and drained;
    /// `buf` is then left as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(8);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many_async(&mut buf, 2).await, Ok(2));
    /// assert_eq!(rx.recv_many_async(&mut buf, 2).await, Ok(1));
    /// assert_eq!(buf, [1, 2, 3]);
    /// drop(tx);
    /// assert!(rx.recv_many_async(&mut buf, 2).await.is_err());
    /// # });
    /// ```
    pub fn recv_many_async<'a>(
        &'a self,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> RecvManyFuture<'a, T> {
        RecvManyFuture::new(self.flavor.queue(), buf, limit)
    }

    /// A blocking iterator: yields values until the channel is closed and
    /// drained.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter::new(self.flavor.queue())
    }

    /// A non-blocking iterator over what is buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter::new(self.flavor.queue())
    }

    /// Turns the receiver into a [`futures_core::Stream`] that ends when the
    /// channel is closed and drained.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.into_stream().collect::<Vec<_>>().await, [1, 2]);
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream::new(self)
    }

    /// Closes the channel for every endpoint: sends fail from now on and
    /// hand their value back; what is buffered can still be received.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn close(&self) -> bool {
        self.flavor.queue().close()
    }

    /// True once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.flavor.queue().is_closed()
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.flavor.queue().len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no slot is free: each holds a buffered value or is
    /// promised to an outstanding permit, the same answer as
    /// [`Sender::is_full`](super::Sender::is_full). Always false for an
    /// [`unbounded`](super::unbounded) channel, always true for a
    /// rendezvous channel (`channel(0)`).
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// assert_eq!(rx.recv(), Ok(1));
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(rx.is_full(), "the only slot is promised");
    /// drop(permit);
    /// assert!(!rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        let queue = self.flavor.queue();
        queue.capacity() == 0 || !queue.has_room()
    }

    /// The number of slots, exactly as given to [`channel`](super::channel);
    /// `usize::MAX` (no bound) for an [`unbounded`](super::unbounded)
    /// channel, which is never full.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(3);
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.flavor.queue().capacity()
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.flavor.queue().id() == other.flavor.queue().id()
    }

    /// True if `sender` belongs to the same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel_as_sender(&tx));
    /// ```
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.flavor.queue().id() == sender.flavor.queue().id()
    }
}

impl<T> Clone for Receiver<T> {
    /// Adds a receiver; each value still goes to exactly one receiver.
    fn clone(&self) -> Self {
        Self::of(self.flavor.clone_receiver())
    }
}

impl<T> Drop for Receiver<T> {
    /// The last receiver closes the channel and drops what is buffered.
    /// A pending [`poll_recv`](Receiver::poll_recv) registration is ended
    /// first, passing on a wake-up it had been given.
    fn drop(&mut self) {
        if let Some(registration) = &mut self.polled {
            registration.cancel_and_pass_on(self.flavor.queue().recv_wait());
        }
        self.flavor.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter::new(self)
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// An owned receiver reaches its channel through its flavor (for
/// `IntoIter` and `RecvStream`).
impl<T> Handle for Receiver<T> {
    const OWNED: bool = true;
    type Chan = Flavor<T>;
    #[inline(always)]
    fn chan(&self) -> &Flavor<T> {
        &self.flavor
    }
}

/// Capacity and endpoint queries, weak receivers.
impl<T> Receiver<T> {
    /// The number of slots, as given to [`channel`](super::channel): the
    /// same as [`capacity`](Self::capacity) (see
    /// [`Sender::max_capacity`]).
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(3);
    /// assert_eq!(rx.max_capacity(), 3);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.flavor.queue().capacity()
    }

    /// The slots a send could use now: the capacity minus buffered values
    /// minus outstanding permits, a snapshot; `usize::MAX` on an unbounded
    /// channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(3);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.free_capacity(), 2);
    /// ```
    pub fn free_capacity(&self) -> usize {
        self.flavor.queue().free_capacity()
    }

    /// The number of live senders (tokio's `sender_strong_count`).
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.flavor.counts().senders()
    }

    /// The number of live receivers, this one included.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let _rx2 = rx.clone();
    /// assert_eq!(rx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.flavor.counts().receivers()
    }

    /// The number of live [`WeakSender`](super::WeakSender)s (tokio's
    /// `sender_weak_count`).
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let _weak = tx.downgrade();
    /// assert_eq!(rx.weak_sender_count(), 1);
    /// ```
    pub fn weak_sender_count(&self) -> usize {
        self.flavor.counts().weak_senders()
    }

    /// The number of live [`WeakReceiver`]s.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let _weak = rx.downgrade();
    /// assert_eq!(rx.weak_receiver_count(), 1);
    /// ```
    pub fn weak_receiver_count(&self) -> usize {
        self.flavor.counts().weak_receivers()
    }

    /// A [`WeakReceiver`] of this channel, which does not keep it open.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert!(weak.upgrade().unwrap().same_channel(&rx));
    /// ```
    pub fn downgrade(&self) -> WeakReceiver<T> {
        WeakReceiver {
            flavor: self.flavor.downgrade(Side::Recv),
        }
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        self.flavor.queue().id()
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        self.flavor.queue().recv_wait()
    }
    /// Claims the next message for a select (see
    /// `Queue::select_reserve_recv`).
    pub(crate) fn start_recv(&self) -> Result<Claim, TryRecvError> {
        self.flavor.queue().select_reserve_recv()
    }
    pub(crate) fn recv_ready(&self) -> bool {
        self.flavor.queue().recv_ready()
    }
    pub(crate) fn keeper(&self) -> crate::select::Keeper {
        self.flavor.keeper()
    }
    pub(crate) fn finish_recv(&self, claim: Claim) -> T {
        // SAFETY: receive claims reach here only through a `Token` that this
        // channel (its unique id is checked) filled in `start_recv`, marked
        // as a receive, and that is consumed by this call.
        unsafe { self.flavor.queue().select_commit_recv(claim) }
    }
}
