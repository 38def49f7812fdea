//! The receiving endpoint of an MPMC channel.

use core::fmt;
use std::time::{Duration, Instant};

use super::{Claim, IntoIter, Iter, RecvFuture, RecvStream, Sender, Shared, TryIter};
use crate::chan::{self, Handle, deadline_after};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::sync::{Arc, Ordering};
use crate::unwind::Panics;
use crate::waiter::{WaitQueue, block_thread};

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
    pub(super) shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
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
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.try_recv()
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
        chan::recv_deadline(&*self.shared, None).map_err(|_| RecvError)
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
        chan::recv_deadline(&*self.shared, deadline_after(timeout))
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
        chan::recv_deadline(&*self.shared, Some(deadline))
    }

    /// Takes a value, waiting asynchronously while the channel is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is only taken in the poll that returns it, so
    /// dropping the future loses no message, and a wake-up it had received
    /// passes on to the next waiting receiver.
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
        RecvFuture::new(&self.shared)
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
        self.shared.try_recv_many(buf, limit)
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
        let res = block_thread(&self.shared.recv_wait, None, || {
            match self.shared.try_recv_many(buf, limit) {
                Ok(n) => Some(Ok(n)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            }
        });
        res.unwrap_or(Err(RecvError))
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
        Iter::new(&self.shared)
    }

    /// A non-blocking iterator over what is buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter::new(&self.shared)
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
        self.shared.close()
    }

    /// True once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
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

    /// True when every slot is taken.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`](super::channel).
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(3);
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// True if `sender` belongs to the same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel_as_sender(&tx));
    /// ```
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &sender.shared)
    }
}

impl<T> Clone for Receiver<T> {
    /// Adds a receiver; each value still goes to exactly one receiver.
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can receive any more: close, then drop what is
            // buffered now, every value even if a waker or a value's drop
            // panics (the first panic is raised again afterwards). A slot
            // still being written is left for the shared state's drop.
            let mut panics = Panics::new();
            panics.run(|| {
                self.shared.close();
            });
            while let Ok(claim) = self.shared.start_recv_nowait() {
                // SAFETY: a fresh claim from `start_recv_nowait`.
                let value = unsafe { self.shared.read_quiet(claim) };
                panics.run(|| drop(value));
            }
            // Senders still waiting were woken by the close.
            panics.finish();
        }
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

/// An owned receiver reaches its channel through the shared state (for
/// `IntoIter` and `RecvStream`).
impl<T> Handle for Receiver<T> {
    const OWNED: bool = true;
    type Chan = Shared<T>;
    #[inline(always)]
    fn chan(&self) -> &Shared<T> {
        &self.shared
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        self.shared.id
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        &self.shared.recv_wait
    }
    /// Claims the next message for a select. A slot a sender has claimed
    /// but not written yet counts as empty: the select tries its other
    /// operations (or registers, and the writer's notify wakes it) instead
    /// of spinning on a writer that may be descheduled.
    pub(crate) fn start_recv(&self) -> Result<Claim, TryRecvError> {
        self.shared.start_recv_nowait()
    }
    pub(crate) fn recv_ready(&self) -> bool {
        self.shared.recv_ready()
    }
    pub(crate) fn keeper(&self) -> crate::select::Keeper {
        crate::select::Keeper::new(Arc::clone(&self.shared))
    }
    pub(crate) fn finish_recv(&self, claim: Claim) -> T {
        assert!(
            self.shared.index_of(claim) < self.shared.cap,
            "select token with a slot index outside this channel"
        );
        // SAFETY: receive claims reach here only through a `Token` that this
        // channel (its unique id is checked) filled in `start_recv`, marked
        // as a receive, and that is consumed by this call.
        unsafe { self.shared.read(claim) }
    }
}
