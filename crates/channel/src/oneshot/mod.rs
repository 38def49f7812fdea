//! A channel for exactly one value.
//!
//! [`channel`] returns a [`Sender`] whose [`send`](Sender::send) consumes
//! it, and a [`Receiver`] that is itself a future of the value. It can also
//! be received by blocking ([`Receiver::recv`]) or polled without waiting
//! ([`Receiver::try_recv`]).
//!
//! ```
//! use nimsync_channel::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! std::thread::spawn(move || tx.send("done").unwrap());
//! assert_eq!(rx.recv(), Ok("done"));
//! ```

use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

mod state;

use state::{Inner, RX_CLOSED, TX_DONE, VALUE};

use crate::chan;
use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use crate::sync::{
    Arc, AtomicBool, AtomicU8, AtomicWaker, Ordering, UnsafeCell, register_waker, take_waker,
};
use crate::waiter::{Registration, WaitQueue, poll_op};

/// Creates a oneshot channel.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = nimsync_channel::oneshot::channel();
/// tx.send(42).unwrap();
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicU8::new(0),
        value: UnsafeCell::new(MaybeUninit::uninit()),
        rx_task: AtomicWaker::new(),
        recv_wait: WaitQueue::new(),
        close_wait: WaitQueue::new(),
    });
    (
        Sender {
            inner: Arc::clone(&inner),
            polled: None,
        },
        Receiver {
            inner,
            registered: false,
            done: AtomicBool::new(false),
        },
    )
}

/// The sending half of a oneshot channel. [`send`](Sender::send) consumes
/// it; dropping it unsent closes the channel.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (tx, _rx) = nimsync_channel::oneshot::channel::<Rc<u8>>();
/// std::thread::spawn(move || drop(tx)); // Rc is not Send
/// ```
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
    /// The waker registration of [`poll_closed`](Sender::poll_closed),
    /// made on its first `Pending` (boxed: most senders never poll).
    polled: Option<Box<Registration>>,
}

impl<T> Sender<T> {
    /// Sends the value, consuming the sender. Never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was dropped or
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{oneshot, SendError};
    ///
    /// let (tx, rx) = oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(1), Err(SendError(1)));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let inner = &*self.inner;
        // SAFETY: `VALUE` is not set (this sender has not sent), so nobody
        // reads the cell until the compare-and-swap below publishes it.
        inner.value.with_mut(|p| unsafe { (*p).write(value) });
        let mut state = inner.state.load(Ordering::Acquire);
        loop {
            if state & RX_CLOSED != 0 {
                // SAFETY: never published, so the value is still ours.
                let v = inner.value.with(|p| unsafe { (*p).assume_init_read() });
                return Err(SendError(v)); // `Drop` sets TX_DONE.
            }
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE | TX_DONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(s) => state = s,
            }
        }
        inner.wake_receiver();
        Ok(())
    }

    /// True once the receiver was dropped or closed; a send would fail.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & RX_CLOSED != 0
    }

    /// Resolves once the receiver is dropped or closed: the result is no
    /// longer wanted, so work on it can stop.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::oneshot::channel::<u8>();
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture::new(&self.inner)
    }

    /// Polls for the receiver's close or drop, as tokio's `poll_closed`:
    /// `Ready(())` once a send would fail, otherwise `Pending` with `cx`'s
    /// waker woken at the close. The sender keeps one waker, the last one
    /// polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::Poll;
    /// use futures_lite::future::{block_on, poll_fn};
    /// let (mut tx, rx) = nimsync_channel::oneshot::channel::<u8>();
    /// block_on(async {
    ///     assert!(poll_fn(|cx| Poll::Ready(tx.poll_closed(cx).is_pending())).await);
    ///     drop(rx);
    ///     poll_fn(|cx| tx.poll_closed(cx)).await;
    /// });
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &*self.inner;
        let registration = self.polled.get_or_insert_with(Default::default);
        poll_op(registration, &inner.close_wait, cx, || {
            (inner.state.load(Ordering::Acquire) & RX_CLOSED != 0).then_some(())
        })
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(registration) = &mut self.polled {
            registration.cancel_and_pass_on(&self.inner.close_wait);
        }
        let prev = self.inner.state.fetch_or(TX_DONE, Ordering::AcqRel);
        if prev & TX_DONE == 0 {
            self.inner.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Future returned by [`Sender::closed`]; resolves once the receiver is
/// dropped or closed.
pub type ClosedFuture<'a, T> = chan::ClosedFuture<&'a Inner<T>>;

/// The receiving half of a oneshot channel; a future of the value.
///
/// Polling it again after it returned `Ready` panics.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (_tx, rx) = nimsync_channel::oneshot::channel::<Rc<u8>>();
/// std::thread::spawn(move || drop(rx)); // Rc is not Send
/// ```
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// The future's waker is in `inner.rx_task` (set by a `Pending` poll,
    /// cleared when it is taken back out).
    registered: bool,
    /// Set once the value was taken (or the final `Closed` returned). An
    /// atomic so that a `&Receiver` can be shared between threads; only
    /// the receiver itself sets it, and the value's arrival is ordered by
    /// `state`, so relaxed accesses do.
    done: AtomicBool,
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] while the sender may still send,
    /// [`TryRecvError::Closed`] when it never will (dropped unsent, or the
    /// value was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{oneshot, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let res = self.inner.try_recv();
        if res.is_ok() {
            self.done.store(true, Ordering::Relaxed);
        }
        res
    }

    fn recv_deadline_opt(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let res = chan::recv_deadline(&*self.inner, deadline);
        if res.is_ok() {
            self.done.store(true, Ordering::Relaxed);
        }
        res
    }

    /// Blocks the thread until the value arrives.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender was dropped without sending.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::oneshot::channel::<u8>();
    /// drop(tx);
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(mut self) -> Result<T, RecvError> {
        self.recv_deadline_opt(None).map_err(|_| RecvError)
    }

    /// Blocks for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] (the receiver stays usable) or
    /// [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, mut rx) = nimsync_channel::oneshot::channel();
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(1));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(Instant::now().checked_add(timeout))
    }

    /// Closes the channel from the receiving side: a later `send` fails and
    /// hands its value back. A value sent before the close can still be
    /// received.
    ///
    /// ```
    /// let (tx, mut rx) = nimsync_channel::oneshot::channel::<u8>();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(nimsync_channel::SendError(1)));
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn close(&mut self) {
        let prev = self.inner.state.fetch_or(RX_CLOSED, Ordering::AcqRel);
        if prev & RX_CLOSED == 0 {
            self.inner.close_wait.notify_all();
        }
    }

    /// True while there is no value to take: not sent yet, already taken,
    /// or never to come (the sender was dropped). False from the send
    /// until the value is received.
    ///
    /// ```
    /// let (tx, mut rx) = nimsync_channel::oneshot::channel::<u8>();
    /// assert!(rx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & VALUE == 0
    }

    /// True once the value was taken, or the channel can no longer deliver
    /// one.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::oneshot::channel::<u8>();
    /// drop(tx);
    /// assert!(rx.is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.done.load(Ordering::Relaxed) || {
            let s = self.inner.state.load(Ordering::Acquire);
            s & VALUE == 0 && s & (TX_DONE | RX_CLOSED) != 0
        }
    }
}

/// The same as [`Receiver::is_terminated`]: a receiver that is terminated
/// must not be polled again.
impl<T> futures_core::FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        Receiver::is_terminated(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done.load(Ordering::Relaxed),
            "oneshot::Receiver polled after it completed: the value can be received only once"
        );
        let inner = &*this.inner;
        let attempt = || match inner.try_recv() {
            Ok(v) => Poll::Ready(Ok(v)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
        };
        let mut res = attempt();
        if res.is_pending() {
            // Register, then look again: a send after the look wakes the
            // waker registered here (see the state's protocol).
            register_waker(&inner.rx_task, cx.waker());
            this.registered = true;
            res = attempt();
        }
        if res.is_ready() {
            this.done.store(true, Ordering::Relaxed);
            this.unregister();
        }
        res
    }
}

impl<T> Receiver<T> {
    /// Takes the future's waker back out of the waker cell: a receiver
    /// that stopped waiting is not woken later, and the waker is not kept
    /// until the sender goes.
    fn unregister(&mut self) {
        if core::mem::take(&mut self.registered) {
            drop(take_waker(&self.inner.rx_task));
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.unregister();
        self.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        Arc::as_ptr(&self.inner) as *const () as usize as u64
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        &self.inner.recv_wait
    }
    pub(crate) fn check_ready(&self) -> Result<(), TryRecvError> {
        if self.inner.is_ready() {
            let s = self.inner.state.load(Ordering::Acquire);
            if s & VALUE != 0 {
                Ok(())
            } else {
                Err(TryRecvError::Closed)
            }
        } else {
            Err(TryRecvError::Empty)
        }
    }
    pub(crate) fn finish_recv(&self) -> Result<T, RecvError> {
        self.done.store(true, Ordering::Relaxed);
        self.inner.try_recv().map_err(|_| RecvError)
    }
}
