//! The sending endpoint of an SPSC channel.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use std::time::{Duration, Instant};

use super::{ClosedFuture, Permit, Receiver, ReserveFuture, SendFuture, Shared};
use crate::chan::{self, Chan, SendChan, deadline_after, run};
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::sync::{Arc, Ordering};
use crate::waiter::WaitQueue;

/// The sending endpoint of an SPSC channel.
///
/// `Send` when `T: Send`; not `Clone` and not `Sync`. Dropping it closes the
/// channel: the receiver drains what is buffered, then gets `Closed`.
///
/// ```compile_fail
/// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(1);
/// let _second = tx.clone(); // an SPSC sender cannot be cloned
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (tx, _rx) = nimsync_channel::spsc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(tx)); // Rc is not Send
/// ```
pub struct Sender<T> {
    pub(super) shared: Arc<Shared<T>>,
    /// Local copy of `shared.tail` (only this endpoint writes it).
    pub(super) tail: Cell<usize>,
    /// Last `head` seen; the true head is never behind it.
    pub(super) cached_head: Cell<usize>,
    /// Blocking sends in a row that found room promptly after waiting (see
    /// `chan::run`).
    pub(super) streak: run::Streak,
    pub(super) _not_sync: PhantomData<*const ()>,
}

// SAFETY: the `Cell`s are only touched through this endpoint, which moves
// between threads as a whole; `Shared<T>` is `Send + Sync` for `T: Send`.
// The raw-pointer marker exists only to opt out of `Sync`.
unsafe impl<T: Send> Send for Sender<T> {}

impl<T> Sender<T> {
    /// Room left as the sender sees it, refreshing the cached head only when
    /// the cached view says the ring is full.
    #[inline(always)]
    pub(super) fn free(&self) -> usize {
        let s = &*self.shared;
        let tail = self.tail.get();
        let free = s.cap - s.distance(self.cached_head.get(), tail);
        if free != 0 {
            return free;
        }
        let head = s.head.load(Ordering::Acquire);
        self.cached_head.set(head);
        s.cap - s.distance(head, tail)
    }

    /// Room left, always reading the receiver's current head (for batches,
    /// which want every free slot, not just one).
    #[inline]
    pub(super) fn free_fresh(&self) -> usize {
        let s = &*self.shared;
        let head = s.head.load(Ordering::Acquire);
        self.cached_head.set(head);
        s.cap - s.distance(head, self.tail.get())
    }

    /// Writes `value` at the tail and publishes it. The caller checked that
    /// there is room.
    #[inline(always)]
    pub(super) fn push_unchecked(&self, value: T) {
        let s = &*self.shared;
        let tail = self.tail.get();
        // SAFETY: the caller saw room, and only this endpoint writes, so the
        // slot at `tail` is outside the initialised range.
        unsafe { s.write(tail, value) };
        let next = s.next(tail);
        self.tail.set(next);
        s.tail.store(next, Ordering::Release);
        s.recv_wait.notify_one();
    }

    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when every slot is taken,
    /// [`TrySendError::Closed`] when the channel is closed; both hand the
    /// value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{spsc, TrySendError};
    ///
    /// let (mut tx, _rx) = spsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    #[inline]
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send_ref(value)
    }

    #[inline(always)]
    pub(super) fn try_send_ref(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.shared.is_closed() {
            return Err(TrySendError::Closed(value));
        }
        if self.free() == 0 {
            return Err(TrySendError::Full(value));
        }
        self.push_unchecked(value);
        Ok(())
    }

    /// Sends `value`, blocking the thread while the channel is full.
    ///
    /// Spins briefly, then parks until the receiver makes room.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// let t = std::thread::spawn(move || {
    ///     tx.send(1).unwrap();
    ///     tx.send(2).unwrap(); // waits until the receiver takes 1
    /// });
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(rx.recv(), Ok(2));
    /// t.join().unwrap();
    /// ```
    pub fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        chan::send_deadline(&*self, value, None).map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value`, blocking for at most `timeout` while the channel is
    /// full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], both
    /// with the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::{spsc, SendTimeoutError};
    ///
    /// let (mut tx, _rx) = spsc::channel(1);
    /// tx.send(1).unwrap();
    /// let err = tx.send_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(err, SendTimeoutError::Timeout(2));
    /// ```
    pub fn send_timeout(&mut self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        chan::send_deadline(&*self, value, deadline_after(timeout))
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
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(1);
    /// assert!(tx.send_deadline(1, Instant::now() + Duration::from_millis(1)).is_ok());
    /// ```
    pub fn send_deadline(
        &mut self,
        value: T,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<T>> {
        chan::send_deadline(&*self, value, Some(deadline))
    }

    /// Sends `value`, waiting asynchronously while the channel is full.
    ///
    /// The future keeps the value until the moment it is written into the
    /// channel; [`SendFuture::cancel`](SendFuture) hands it back if it was not sent yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent and
    /// loses no wake-up. To keep the value, call [`SendFuture::cancel`](SendFuture)
    /// instead of dropping.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send_async(5).await.unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(5));
    /// # });
    /// ```
    pub fn send_async(&mut self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self, value)
    }

    /// Waits for room for one value and returns a [`Permit`] to send it
    /// without waiting.
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
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// permit.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// # });
    /// ```
    pub fn reserve(&mut self) -> ReserveFuture<'_, T> {
        ReserveFuture::new(self)
    }

    /// Returns a [`Permit`] if there is room right now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` or [`TrySendError::Closed`]`(())`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.try_reserve().unwrap().send(1).unwrap();
    /// assert!(tx.try_reserve().unwrap_err().is_full());
    /// # drop(rx);
    /// ```
    pub fn try_reserve(&mut self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.check_ready()?;
        Ok(Permit::new(self))
    }

    /// Closes the channel. Later sends fail with the value handed back; the
    /// receiver drains what is buffered, then gets `Closed`.
    ///
    /// Returns true if this call closed it, false if it was already closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&mut self) -> bool {
        self.shared.close()
    }

    /// True once either side closed the channel or dropped its endpoint.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Resolves once the channel is closed (typically: the receiver is
    /// gone). Useful to stop producing work nobody will take.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (mut tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&mut self) -> ClosedFuture<'_, T> {
        ClosedFuture::new(&self.shared)
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every slot is taken.
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`](super::channel).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(5);
    /// assert_eq!(tx.capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` is the receiver of this same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// let (_tx2, rx2) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(tx.same_channel(&rx));
    /// assert!(!tx.same_channel(&rx2));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of slots, as given to [`channel`](super::channel): the
    /// same as [`capacity`](Self::capacity), under tokio's name for the
    /// total. The free room is [`free_capacity`](Self::free_capacity).
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.max_capacity(), 4);
    /// assert_eq!(tx.free_capacity(), 3);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.shared.cap
    }

    /// The slots a send could use now: the capacity minus buffered values
    /// (tokio's `capacity()`), a snapshot. A `Permit` takes no room until
    /// it sends, as only this sender fills the ring.
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.max_capacity(), 4);
    /// assert_eq!(tx.free_capacity(), 3);
    /// ```
    pub fn free_capacity(&self) -> usize {
        self.shared.cap.saturating_sub(self.len())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Chan for Sender<T> {
    const FLAVOR: &'static str = "spsc";
}

impl<T> SendChan for Sender<T> {
    type Item = T;
    #[inline(always)]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send_ref(value)
    }
    #[inline(always)]
    fn send_wait(&self) -> &WaitQueue {
        &self.shared.send_wait
    }
    #[inline(always)]
    fn before_waiting(&self) {
        // The mirror of the receiver's wait: at the receiver's heels, wait
        // for a run of free slots.
        let s = &*self.shared;
        let tail = self.tail.get();
        s.wait_for_run(&self.streak, &s.head, &self.cached_head, |head| {
            s.cap - s.distance(head, tail)
        });
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        self.streak.note(tries);
    }
}

impl<T> Sender<T> {
    pub(crate) fn addr(&self) -> u64 {
        Arc::as_ptr(&self.shared) as *const () as usize as u64
    }
    pub(crate) fn send_wait(&self) -> &WaitQueue {
        &self.shared.send_wait
    }
    pub(crate) fn check_ready(&self) -> Result<(), TrySendError<()>> {
        if self.shared.is_closed() {
            Err(TrySendError::Closed(()))
        } else if self.free() == 0 {
            Err(TrySendError::Full(()))
        } else {
            Ok(())
        }
    }
    pub(crate) fn finish_send(&self, value: T) {
        // Only this endpoint produces, so the room `check_ready` saw is still
        // there; check anyway rather than trust the caller.
        assert!(self.free() != 0, "spsc select commit without room");
        self.push_unchecked(value);
    }
}
