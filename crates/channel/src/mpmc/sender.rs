//! The sending endpoint of an MPMC channel.

use core::fmt;
use std::time::{Duration, Instant};

use super::counts::Side;
use super::{
    Claim, ClosedFuture, Flavor, OwnedPermit, Permit, PermitIterator, ReserveFuture,
    ReserveManyFuture, ReserveOwnedFuture, SendFuture, WeakSender,
};
use crate::chan::{CloseChan, RecvChan, SendChan, deadline_after};
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::waiter::WaitQueue;

/// The sending endpoint of an MPMC channel. Cloning it adds a sender.
///
/// The channel closes when the last sender is dropped (receivers drain what
/// is buffered, then get `Closed`) or when anyone calls `close()`.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (tx, _rx) = nimsync_channel::mpmc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(tx)); // Rc is not Send
/// ```
pub struct Sender<T> {
    pub(super) flavor: Flavor<T>,
}

impl<T> Sender<T> {
    /// Sends `value` if there is room, without waiting. On a rendezvous
    /// channel (`channel(0)`): only if a receiver is waiting right now,
    /// which is handed the value.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// # drop(rx);
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.flavor.queue().try_send(value)
    }

    /// Sends `value`, blocking the thread while the channel is full. On a
    /// rendezvous channel: until a receiver takes the value.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// t.join().unwrap();
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.flavor
            .queue()
            .send_deadline(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value`, blocking for at most `timeout` while the channel is
    /// full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with
    /// the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.flavor
            .queue()
            .send_deadline(value, deadline_after(timeout))
    }

    /// Sends `value`, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`send_timeout`](Self::send_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// assert!(tx.send_deadline(1, Instant::now() + Duration::from_millis(1)).is_ok());
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.flavor.queue().send_deadline(value, Some(deadline))
    }

    /// Sends `value`, waiting asynchronously while the channel is full.
    ///
    /// The future keeps the value until the moment it is written into the
    /// channel; [`SendFuture::cancel`](SendFuture) hands it back if it was not sent yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent; a
    /// wake-up it had received passes on to the next waiting sender. To keep
    /// the value, call [`SendFuture::cancel`](SendFuture) instead of dropping. On a
    /// rendezvous channel the value is handed to a waiting receiver only in
    /// the poll that returns `Ready`, so a pending future that is dropped
    /// has handed nothing over and drops its value exactly once.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send_async(1).await.unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(1));
    /// # });
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self.flavor.queue(), value)
    }

    /// Returns a [`Permit`] if length plus outstanding permits leaves room.
    /// On a rendezvous channel: if a receiver is waiting, which the permit
    /// claims for its value (no other send can take it) until it is used
    /// or dropped.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` or [`TrySendError::Closed`]`(())`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.try_send(9).unwrap_err().is_full()); // the room is promised
    /// permit.send(1).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.flavor.queue().try_reserve()?;
        Ok(Permit::new(self.flavor.queue()))
    }

    /// Waits for room for one value and returns a [`Permit`] that holds it:
    /// other senders cannot take that room until the permit is used or
    /// dropped. On a rendezvous channel it waits for a receiver to wait,
    /// and the permit holds that receiver.
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(0);
    /// let t = std::thread::spawn(move || rx.recv());
    /// let permit = tx.reserve().await.unwrap(); // a receiver waits
    /// permit.send(1).unwrap();
    /// assert_eq!(t.join().unwrap(), Ok(1));
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no room is held until the future completes.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`]`(())` when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// permit.send("x").unwrap();
    /// assert_eq!(rx.recv(), Ok("x"));
    /// # });
    /// ```
    pub fn reserve(&self) -> ReserveFuture<'_, T> {
        ReserveFuture::new(self.flavor.queue())
    }

    /// Sends values from `iter` while there is room, waking waiting
    /// receivers once at the end. An item is taken from `iter` only after a
    /// position for it is claimed, so what does not fit stays in `iter`
    /// (that is why it is [`Peekable`](core::iter::Peekable)).
    ///
    /// Returns how many values were sent (0 only if `iter` was empty).
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` when there was no room for even one
    /// value, [`TrySendError::Closed`]`(())` when the channel is closed; in
    /// both cases nothing was taken from `iter`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// let mut it = (0..5).peekable();
    /// assert_eq!(tx.try_send_iter(&mut it), Ok(2));
    /// assert_eq!(it.next(), Some(2));
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        self.flavor.queue().try_send_iter(iter)
    }

    /// Sends every value of `iter`, blocking whenever the channel is full.
    ///
    /// # Errors
    ///
    /// When the channel closes, [`SendError`] holds the iterator with the
    /// values not yet sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// let t = std::thread::spawn(move || tx.send_iter(0..100u32).map_err(|_| ()));
    /// assert_eq!(rx.iter().sum::<u32>(), 4950);
    /// t.join().unwrap().unwrap();
    /// ```
    pub fn send_iter<I: IntoIterator<Item = T>>(
        &self,
        iter: I,
    ) -> Result<(), SendError<core::iter::Peekable<I::IntoIter>>> {
        let mut iter = iter.into_iter().peekable();
        if self.flavor.queue().send_iter(&mut iter) {
            Ok(())
        } else {
            Err(SendError(iter))
        }
    }

    /// Closes the channel for every endpoint. Later sends fail with the
    /// value handed back; receivers drain what is buffered, then get
    /// `Closed`.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!rx.close());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.flavor.queue().close()
    }

    /// True once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.flavor.queue().is_closed()
    }

    /// Resolves once the channel is closed (for example, when the last
    /// receiver is gone).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture::new(self.flavor.queue())
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.flavor.queue().len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no send could find room now: every slot is taken by a
    /// buffered value or promised to an outstanding [`Permit`]. Always
    /// false for an [`unbounded`](super::unbounded) channel; always true
    /// for a rendezvous channel (`channel(0)`), as in crossbeam: it has no
    /// room, even while a receiver waits.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.is_full());
    /// drop(permit);
    /// assert!(!tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.capacity() == 0 || !self.flavor.queue().has_room()
    }

    /// The number of slots, exactly as given to [`channel`](super::channel);
    /// `usize::MAX` (no bound) for an [`unbounded`](super::unbounded)
    /// channel.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(10);
    /// assert_eq!(tx.capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.flavor.queue().capacity()
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.flavor.queue().id() == other.flavor.queue().id()
    }
}

/// An owned sender reaches its channel through its flavor (for
/// `SendSink`).
impl<T> crate::chan::Handle for Sender<T> {
    type Chan = Flavor<T>;
    #[inline(always)]
    fn chan(&self) -> &Flavor<T> {
        &self.flavor
    }
}

impl<T> Clone for Sender<T> {
    /// Adds a sender; the channel stays open until the last one is dropped.
    fn clone(&self) -> Self {
        Self {
            flavor: self.flavor.clone_sender(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.flavor.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Batch and owned permits, drop-oldest sends, capacity and endpoint
/// queries, weak senders.
impl<T> Sender<T> {
    /// Takes `n` [`Permit`]s at once if length plus outstanding permits
    /// leaves room for all of them, or none; the [`PermitIterator`] hands
    /// them out one at a time and gives back the rest when dropped.
    ///
    /// [`reserve_many`](Self::reserve_many) waits for the room instead.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` when there is no room for `n` now, and
    /// also when `n` exceeds the capacity or 65 535 (the most permits the
    /// ring counts): such a request could never be granted, so it fails at
    /// once. [`TrySendError::Closed`]`(())` when the channel is closed.
    /// `n == 0` succeeds with no permits on an open channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(3);
    /// for (i, permit) in tx.try_reserve_many(3).unwrap().enumerate() {
    ///     permit.send(i).unwrap();
    /// }
    /// assert!(tx.try_reserve_many(1).unwrap_err().is_full());
    /// assert!(tx.try_reserve_many(4).unwrap_err().is_full()); // never fits
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        match self.flavor.queue().try_reserve_many(n) {
            None => Err(TrySendError::Full(())),
            Some(res) => res.map(|()| PermitIterator::new(self.flavor.queue(), n)),
        }
    }

    /// Waits until it holds `n` [`Permit`]s and returns them as a
    /// [`PermitIterator`], which hands them out one at a time and gives
    /// back the rest when dropped.
    ///
    /// The permits are gathered one at a time as room frees, and held
    /// meanwhile: other senders see that room as taken. One batch gathers
    /// at a time; later `reserve_many` calls wait for it to complete (in no
    /// promised order among themselves). Senders that do not wait
    /// (`try_send`, `force_send`) may take room it was waiting for.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives back every permit it gathered and lets the
    /// next batch gather; a wake-up it had received passes on.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`]`(())` when the channel is closed, and at
    /// once when `n` exceeds the capacity or 65 535 (the most permits the
    /// ring counts), which could never be granted. `n == 0` resolves to no
    /// permits on an open channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// tx.send(0).unwrap();
    /// let t = std::thread::spawn(move || rx.iter().take(3).collect::<Vec<_>>());
    /// for (i, permit) in tx.reserve_many(2).await.unwrap().enumerate() {
    ///     permit.send(i + 1).unwrap();
    /// }
    /// assert_eq!(t.join().unwrap(), [0, 1, 2]);
    /// assert!(tx.reserve_many(3).await.is_err()); // never fits
    /// # });
    /// ```
    pub fn reserve_many(&self, n: usize) -> ReserveManyFuture<'_, T> {
        ReserveManyFuture::new(self.flavor.queue(), n)
    }

    /// Returns an [`OwnedPermit`], which owns this sender, if length plus
    /// outstanding permits leaves room.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the sender.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.send(1).unwrap();
    /// let tx = tx.try_reserve_owned().unwrap_err().into_inner(); // full
    /// assert_eq!(rx.recv(), Ok(1));
    /// # drop(tx);
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.flavor.queue().try_reserve() {
            Ok(()) => Ok(OwnedPermit::new(self)),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Waits for room for one value and returns an [`OwnedPermit`] that
    /// holds it and owns this sender, so it can move into another task.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no room is held until the future completes. Dropping
    /// the future drops the sender.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`]`(())` when the channel is closed; the
    /// sender is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.send("x").unwrap();
    /// assert_eq!(rx.recv(), Ok("x"));
    /// # drop(tx);
    /// # });
    /// ```
    pub fn reserve_owned(self) -> ReserveOwnedFuture<T> {
        ReserveOwnedFuture::new(self)
    }

    /// Sends `value` without waiting: if the channel is full, the oldest
    /// buffered value is taken out (no receiver gets it) and returned, so
    /// the newest values are kept (a drop-oldest buffer).
    ///
    /// Returns `Ok(None)` if there was room, `Ok(Some(oldest))` if a value
    /// was evicted. If outstanding permits promise all the room and nothing
    /// is buffered, there is nothing older to evict and `value` itself
    /// comes back in `Ok(Some(value))`.
    ///
    /// It never waits for room, so it has no blocking, async or select
    /// form. It may wait out another thread that is midway through an
    /// operation on the slot it needs (a receiver moving the oldest value
    /// out), as [`Permit::send`] does; do not call it while holding a
    /// select's reservation on this channel.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value only when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// assert_eq!(tx.force_send(1), Ok(None));
    /// assert_eq!(tx.force_send(2), Ok(None));
    /// assert_eq!(tx.force_send(3), Ok(Some(1))); // full: 1 is evicted
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2, 3]);
    /// ```
    pub fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>> {
        self.flavor.queue().force_send(value)
    }

    /// The number of slots, as given to [`channel`](super::channel): the
    /// same as [`capacity`](Self::capacity). (tokio's `capacity()` is the
    /// free room; nimsync's, as crossbeam's, is the total. The free room is
    /// [`free_capacity`](Self::free_capacity).)
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(10);
    /// assert_eq!(tx.max_capacity(), 10);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.flavor.queue().capacity()
    }

    /// The slots a send could use now: the capacity minus buffered values
    /// minus outstanding permits (tokio's `capacity()`), a snapshot;
    /// `usize::MAX` on an unbounded channel.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// let _permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.free_capacity(), 2);
    /// ```
    pub fn free_capacity(&self) -> usize {
        self.flavor.queue().free_capacity()
    }

    /// The number of live senders, this one included (tokio's
    /// `strong_count`).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.flavor.counts().senders()
    }

    /// The number of live receivers.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.flavor.counts().receivers()
    }

    /// The number of live [`WeakSender`]s (tokio's `weak_count`).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let _weak = tx.downgrade();
    /// assert_eq!(tx.weak_sender_count(), 1);
    /// ```
    pub fn weak_sender_count(&self) -> usize {
        self.flavor.counts().weak_senders()
    }

    /// A [`WeakSender`] of this channel, which does not keep it open.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().unwrap().same_channel(&tx));
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            flavor: self.flavor.downgrade(Side::Send),
        }
    }

    /// True if `receiver` belongs to the same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(tx.same_channel_as_receiver(&rx));
    /// ```
    pub fn same_channel_as_receiver(&self, receiver: &super::Receiver<T>) -> bool {
        self.flavor.queue().id() == receiver.flavor.queue().id()
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Sender<T> {
    pub(crate) fn addr(&self) -> u64 {
        self.flavor.queue().id()
    }
    pub(crate) fn send_wait(&self) -> &WaitQueue {
        self.flavor.queue().send_wait()
    }
    pub(crate) fn start_send(&self) -> Result<Claim, TrySendError<()>> {
        self.flavor.queue().select_reserve_send()
    }
    pub(crate) fn finish_send(&self, claim: Claim, value: T) {
        // SAFETY: send claims reach here only through a `Token` that this
        // channel (its unique id is checked) filled in `start_send`, marked
        // as a send, and that is consumed by this call.
        unsafe { self.flavor.queue().select_commit_send(claim, value) }
    }
    pub(crate) fn keeper(&self) -> crate::select::Keeper {
        self.flavor.keeper()
    }
    pub(crate) fn abandon_claim(&self, claim: Claim) {
        self.flavor.queue().select_abandon_send(claim);
    }
    /// True if a send would find room now (on a rendezvous channel: a
    /// receiver waits), for a select's readiness check.
    pub(crate) fn has_room(&self) -> bool {
        self.flavor.queue().has_room()
    }
}
