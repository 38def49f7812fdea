//! The receiving endpoint of an SPSC channel.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use std::time::{Duration, Instant};

use super::{IntoIter, Iter, RecvFuture, RecvStream, Sender, Shared, TryIter};
use crate::chan::{self, Chan, Handle, RecvChan, deadline_after, run};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::sync::{Arc, Ordering};
use crate::unwind::Panics;
use crate::waiter::WaitQueue;

/// The receiving endpoint of an SPSC channel.
///
/// `Send` when `T: Send`; not `Clone` and not `Sync`. Dropping it closes the
/// channel and drops whatever is still buffered.
///
/// ```compile_fail
/// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
/// let _second = rx.clone(); // an SPSC receiver cannot be cloned
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (_tx, rx) = nimsync_channel::spsc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(rx)); // Rc is not Send
/// ```
pub struct Receiver<T> {
    pub(super) shared: Arc<Shared<T>>,
    /// Local copy of `shared.head` (only this endpoint writes it).
    pub(super) head: Cell<usize>,
    /// Last `tail` seen; the true tail is never behind it.
    pub(super) cached_tail: Cell<usize>,
    /// Set once this receiver reported `Closed`: from then on it always
    /// does, even if a send that raced with the close lands later (such a
    /// value is dropped with the buffer).
    pub(super) finished: Cell<bool>,
    /// Set while a [`Drain`] is out (and for good if one was leaked): the
    /// shared head may lag behind `head` until the drain's drop publishes
    /// it.
    pub(super) lent: Cell<bool>,
    /// Blocking receives in a row whose value came promptly (see
    /// `chan::run`).
    pub(super) streak: run::Streak,
    pub(super) _not_sync: PhantomData<*const ()>,
}

// SAFETY: as for `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}

impl<T> Receiver<T> {
    /// Number of values the receiver can take without looking at the
    /// shared tail again; refreshes the cache when it reads zero.
    #[inline(always)]
    pub(super) fn available(&self) -> usize {
        let s = &*self.shared;
        let head = self.head.get();
        let n = s.distance(head, self.cached_tail.get());
        if n != 0 {
            return n;
        }
        if self.finished.get() {
            return 0;
        }
        let tail = s.tail.load(Ordering::Acquire);
        self.cached_tail.set(tail);
        s.distance(head, tail)
    }

    /// Like `available`, but tells "empty" from "closed and drained".
    #[inline(always)]
    pub(super) fn ready(&self) -> Result<usize, TryRecvError> {
        // Once finished, `cached_tail == head` and `available` checks
        // `finished` before it looks at the shared tail, so the fast path
        // needs no extra test.
        let n = self.available();
        if n != 0 {
            return Ok(n);
        }
        self.ready_slow()
    }

    #[cold]
    fn ready_slow(&self) -> Result<usize, TryRecvError> {
        if self.finished.get() {
            return Err(TryRecvError::Closed);
        }
        if self.lent.get() {
            self.publish_head();
        }
        if !self.shared.is_closed() {
            return Err(TryRecvError::Empty);
        }
        // Values sent before the close were published before `closed`.
        match self.available() {
            0 => {
                self.finished.set(true);
                self.cached_tail.set(self.head.get());
                Err(TryRecvError::Closed)
            }
            n => Ok(n),
        }
    }

    /// Like `ready`, but always reads the sender's current tail (for
    /// batches, which want everything buffered).
    pub(super) fn ready_fresh(&self) -> Result<usize, TryRecvError> {
        if !self.finished.get() {
            self.cached_tail
                .set(self.shared.tail.load(Ordering::Acquire));
        }
        self.ready()
    }

    /// Publishes the local head after a [`Drain`] was leaked (its drop
    /// publishes otherwise), and wakes the sender, which may wait for the
    /// room. Called when the receiver finds the ring empty while `lent` is
    /// set, so the room is never withheld while the receiver waits.
    #[cold]
    #[inline(never)]
    pub(super) fn publish_head(&self) {
        self.lent.set(false);
        let s = &*self.shared;
        let head = self.head.get();
        // Only this endpoint writes the shared head: a relaxed load reads
        // back its own last store.
        if s.head.load(Ordering::Relaxed) != head {
            s.head.store(head, Ordering::Release);
            s.send_wait.notify_one();
        }
    }

    #[inline(always)]
    pub(super) fn pop_unchecked(&self) -> T {
        let s = &*self.shared;
        let head = self.head.get();
        // SAFETY: the caller saw `head != tail`, so the slot is initialised.
        let v = unsafe { s.read(head) };
        let next = s.next(head);
        self.head.set(next);
        s.head.store(next, Ordering::Release);
        s.send_wait.notify_one();
        v
    }

    #[inline(always)]
    pub(super) fn try_recv_ref(&self) -> Result<T, TryRecvError> {
        self.ready()?;
        Ok(self.pop_unchecked())
    }

    /// Takes a value if one is buffered, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{spsc, TryRecvError};
    ///
    /// let (mut tx, mut rx) = spsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.try_recv_ref()
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
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv(), Ok(7));
    /// assert!(rx.recv().is_err()); // the sender is gone
    /// ```
    pub fn recv(&mut self) -> Result<T, RecvError> {
        chan::recv_deadline(&*self, None).map_err(|_| RecvError)
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
    /// use nimsync_channel::{spsc, RecvTimeoutError};
    ///
    /// let (_tx, mut rx) = spsc::channel::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(2)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        chan::recv_deadline(&*self, deadline_after(timeout))
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
    /// let (_tx, mut rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        chan::recv_deadline(&*self, Some(deadline))
    }

    /// Takes a value, waiting asynchronously while the channel is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is only taken in the poll that returns it, so
    /// dropping the future loses no message, and a wake-up it had received
    /// passes on to the next waiter.
    ///
    /// # Errors
    ///
    /// Resolves to [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(1));
    /// # });
    /// ```
    pub fn recv_async(&mut self) -> RecvFuture<'_, T> {
        RecvFuture::new(self)
    }

    /// A blocking iterator: yields values until the channel is closed and
    /// drained.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&mut self) -> Iter<'_, T> {
        Iter::new(self)
    }

    /// A non-blocking iterator over what is buffered right now.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// ```
    pub fn try_iter(&mut self) -> TryIter<'_, T> {
        TryIter::new(self)
    }

    /// Turns the receiver into a [`futures_core::Stream`] that ends when the
    /// channel is closed and drained.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # futures_lite::future::block_on(async {
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.into_stream().collect::<Vec<_>>().await, [1, 2]);
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream::new(self)
    }

    /// Closes the channel from the receiving side: sends fail from now on
    /// and hand their value back; what is buffered can still be received.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn close(&mut self) -> bool {
        self.shared.close()
    }

    /// True once either side closed the channel or dropped its endpoint.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every slot is taken.
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`](super::channel).
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(3);
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` is the sender of this same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(rx.same_channel(&tx));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of slots, as given to [`channel`](super::channel): the
    /// same as [`capacity`](Self::capacity), under tokio's name for the
    /// total. The free room is [`free_capacity`](Self::free_capacity).
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.max_capacity(), 4);
    /// assert_eq!(rx.free_capacity(), 3);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.shared.cap
    }

    /// The slots a send could use now: the capacity minus buffered values
    /// (tokio's `capacity()`), a snapshot. A `Permit` takes no room until
    /// it sends, as only this sender fills the ring.
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.max_capacity(), 4);
    /// assert_eq!(rx.free_capacity(), 3);
    /// ```
    pub fn free_capacity(&self) -> usize {
        self.shared.cap.saturating_sub(self.len())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A leaked `Drain` may have moved values out without publishing the
        // shared head: publish it, so the shared state never drops them.
        self.shared.head.store(self.head.get(), Ordering::Release);
        // Close, then drop what is buffered now rather than when the sender
        // goes: every value, even if a waker or a value's drop panics (the
        // first panic is raised again afterwards).
        let mut panics = Panics::new();
        panics.run(|| {
            self.shared.close();
        });
        while let Ok(v) = self.try_recv_ref() {
            panics.run(|| drop(v));
        }
        panics.finish();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Receiver")
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

impl<'a, T> IntoIterator for &'a mut Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> Chan for Receiver<T> {
    const FLAVOR: &'static str = "spsc";
}

impl<T> RecvChan for Receiver<T> {
    type Item = T;
    #[inline(always)]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        self.try_recv_ref()
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        &self.shared.recv_wait
    }
    fn len(&self) -> usize {
        self.shared.len()
    }
    #[inline(always)]
    fn before_waiting(&self) {
        // At the sender's heels, reading the tail on every message makes
        // the sender wait for its own line.
        let s = &*self.shared;
        let head = self.head.get();
        s.wait_for_run(&self.streak, &s.tail, &self.cached_tail, |tail| {
            s.distance(head, tail)
        });
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        self.streak.note(tries);
    }
}

/// An owned receiver is its own channel handle (for `IntoIter` and
/// `RecvStream`).
impl<T> Handle for Receiver<T> {
    const OWNED: bool = true;
    type Chan = Self;
    #[inline(always)]
    fn chan(&self) -> &Self {
        self
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        Arc::as_ptr(&self.shared) as *const () as usize as u64
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        &self.shared.recv_wait
    }
    pub(crate) fn check_ready(&self) -> Result<(), TryRecvError> {
        self.ready().map(|_| ())
    }
    pub(crate) fn finish_recv(&self) -> T {
        // Only this endpoint consumes, so what `check_ready` saw is still
        // there; check anyway rather than trust the caller.
        assert!(
            self.available() != 0,
            "spsc select commit without a buffered value"
        );
        self.pop_unchecked()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::chan::run::{RUN, RUN_STREAK};

    /// Records the prompt waits that put a receiver at its sender's heels.
    fn at_the_heels(rx: &Receiver<u64>) {
        (0..RUN_STREAK).for_each(|_| RecvChan::after_waiting(rx, 2));
    }

    #[test]
    fn a_receiver_at_the_heels_waits_for_a_run_and_keeps_the_tail_it_saw() {
        let (tx, rx) = crate::spsc::channel(64);
        at_the_heels(&rx);
        for v in 0..RUN as u64 {
            tx.try_send_ref(v).unwrap();
        }
        RecvChan::before_waiting(&rx);
        assert_eq!(rx.streak.get(), RUN_STREAK, "a run keeps the streak");
        assert_eq!(
            rx.cached_tail.get(),
            RUN,
            "the run is known without another look at the tail"
        );
        for v in 0..RUN as u64 {
            assert_eq!(rx.try_recv_ref(), Ok(v));
        }

        tx.try_send_ref(7).unwrap();
        RecvChan::before_waiting(&rx);
        assert_eq!(rx.streak.get(), 0, "one message is a reply, not a stream");
        assert_eq!(rx.try_recv_ref(), Ok(7));

        at_the_heels(&rx);
        drop(tx);
        RecvChan::before_waiting(&rx);
        assert_eq!(rx.streak.get(), 0, "a closed channel ends the streak");
        assert_eq!(rx.try_recv_ref(), Err(TryRecvError::Closed));
    }

    #[test]
    fn a_sender_at_the_heels_waits_for_room_and_keeps_the_head_it_saw() {
        let (tx, rx) = crate::spsc::channel::<u64>(64);
        let at_the_heels = |tx: &Sender<u64>| {
            (0..RUN_STREAK).for_each(|_| crate::chan::SendChan::after_waiting(tx, 2));
        };
        at_the_heels(&tx);
        (0..64).for_each(|v| tx.try_send_ref(v).unwrap());
        for v in 0..RUN as u64 {
            assert_eq!(rx.try_recv_ref(), Ok(v));
        }
        crate::chan::SendChan::before_waiting(&tx);
        assert_eq!(tx.streak.get(), RUN_STREAK, "a run of free slots");
        assert_eq!(
            tx.cached_head.get(),
            RUN,
            "the room is known without another look"
        );

        (0..RUN as u64 - 1).for_each(|v| tx.try_send_ref(v).unwrap());
        crate::chan::SendChan::before_waiting(&tx);
        assert_eq!(tx.streak.get(), 0, "one free slot at a time");

        at_the_heels(&tx);
        drop(rx);
        crate::chan::SendChan::before_waiting(&tx);
        assert_eq!(tx.streak.get(), 0, "a closed channel ends the streak");
    }

    #[test]
    fn a_slow_value_ends_the_streak() {
        let (_tx, rx) = crate::spsc::channel::<u64>(4);
        at_the_heels(&rx);
        RecvChan::after_waiting(&rx, 100);
        assert_eq!(rx.streak.get(), 0);
    }
}
