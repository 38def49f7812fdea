//! The sending endpoint of an MPMC channel.

use core::fmt;
use std::time::{Duration, Instant};

use super::{Claim, ClosedFuture, Flavor, Permit, ReserveFuture, SendFuture};
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
    /// channel; [`SendFuture::cancel`] hands it back if it was not sent yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent; a
    /// wake-up it had received passes on to the next waiting sender. To keep
    /// the value, call [`SendFuture::cancel`] instead of dropping. On a
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
    /// buffered value or promised to an outstanding [`Permit`]. Always true
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

    /// The number of slots, exactly as given to [`channel`](super::channel).
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
