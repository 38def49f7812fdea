//! The producing end of a stream channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use nimsync_channel::mpmc;

use super::shared::Shared;
use crate::{Metrics, Overflow, SendError, TrySendError};

/// The producing end of a stream [`channel`](crate::channel); clone it for
/// more producers. The stage ends for its consumer once every sender is
/// dropped and the items held are delivered.
///
/// Only the [`Block`](Overflow::Block) policy ever waits: under the others
/// [`send`](Sender::send), [`send_async`](Sender::send_async) and
/// [`try_send`](Sender::try_send) all apply the policy at once.
///
/// ```
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, rx) = channel(16, Overflow::DropOldest);
/// let producers: Vec<_> = (0..4)
///     .map(|p| {
///         let tx = tx.clone();
///         std::thread::spawn(move || {
///             for i in 0..1000 {
///                 tx.send(p * 1000 + i).unwrap();
///             }
///         })
///     })
///     .collect();
/// drop(tx);
/// producers.into_iter().for_each(|p| p.join().unwrap());
/// let m = rx.metrics();
/// assert_eq!(m.offered, 4000);
/// assert_eq!(m.depth, 16);
/// assert_eq!(m.dropped_oldest, 4000 - 16);
/// ```
pub struct Sender<T> {
    tx: mpmc::Sender<T>,
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    pub(crate) fn new(tx: mpmc::Sender<T>, shared: Arc<Shared<T>>) -> Self {
        Self { tx, shared }
    }

    /// Offers `item` without waiting: under `Block`, a full stage hands it
    /// back in [`TrySendError::Full`]; under the other policies the policy
    /// decides at once.
    ///
    /// # Errors
    ///
    /// `Full` (`Block` only), `Closed` (the stage is closed) or `Overflowed`
    /// (`Fail` only: this item failed the stage), each with the item.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow, TrySendError};
    ///
    /// let (tx, _rx) = channel(1, Overflow::DropNewest);
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap(); // dropped, counted, not an error
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(&self.tx, item)
    }

    /// Sends `item`, blocking the thread while a `Block` stage is full.
    ///
    /// # Errors
    ///
    /// `Closed` (the stage is closed) or `Overflowed` (`Fail` only), each
    /// with the item.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, mut rx) = channel(1, Overflow::Block);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send(i).unwrap(); // waits for the consumer
    ///     }
    /// });
    /// let got: Vec<i32> = std::iter::from_fn(|| rx.recv().ok()).collect();
    /// assert_eq!(got, [0, 1, 2]);
    /// t.join().unwrap();
    /// ```
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        match self.shared.overflow {
            Overflow::Block => match self.tx.send(item) {
                Ok(()) => {
                    self.shared.accepted(&self.tx);
                    Ok(())
                }
                Err(e) => Err(SendError::Closed(e.into_inner())),
            },
            _ => self.try_send(item).map_err(into_send_error),
        }
    }

    /// Sends `item`, waiting while a `Block` stage is full.
    ///
    /// # Errors
    ///
    /// `Closed` (the stage is closed) or `Overflowed` (`Fail` only), each
    /// with the item.
    ///
    /// Only [`Block`](Overflow::Block) waits: under the other policies the
    /// policy is applied when `send_async` is called, and the future only
    /// hands over the outcome.
    ///
    /// # Cancel safety
    ///
    /// Under `Block`, dropping the future before it completes drops the
    /// item unsent (it was never offered, so no counter sees it), and
    /// [`SendFuture::cancel`] takes it back instead. Under the other
    /// policies the item was already sent (or dropped by the policy) when
    /// the future was made; if it came back in an error, `cancel` returns
    /// it.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, mut rx) = channel(2, Overflow::Block);
    /// futures_lite::future::block_on(async {
    ///     tx.send_async(1).await.unwrap();
    ///     assert_eq!(rx.recv_async().await, Ok(1));
    /// });
    /// ```
    pub fn send_async(&self, item: T) -> SendFuture<'_, T> {
        let state = match self.shared.overflow {
            Overflow::Block => State::Waiting(self.tx.send_async(item)),
            _ => State::Done(Some(self.try_send(item).map_err(into_send_error))),
        };
        SendFuture {
            shared: &self.shared,
            tx: &self.tx,
            state,
        }
    }

    /// Closes the stage: later sends fail with `Closed`, and the consumer
    /// still gets the items held. Returns `false` if it was closed already.
    ///
    /// ```
    /// let (tx, mut rx) = nimsync_stream::channel(2, nimsync_stream::Overflow::Block);
    /// tx.send(1).unwrap();
    /// tx.close();
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close(|| self.tx.close())
    }

    /// True once the stage is closed: the consumer is gone, it closed the
    /// stage, or a `Fail` overflow did.
    ///
    /// ```
    /// let (tx, rx) = nimsync_stream::channel::<u8>(2, nimsync_stream::Overflow::Block);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The stage's counters now.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_stream::channel(1, nimsync_stream::Overflow::DropNewest);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.metrics().dropped_newest, 1);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics(self.tx.len())
    }

    /// Items held now.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_stream::channel(4, nimsync_stream::Overflow::Block);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.depth(self.tx.len())
    }

    /// True if nothing is held now.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity the stage was made with.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// assert_eq!(tx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// The stage's overflow policy.
    ///
    /// ```
    /// use nimsync_stream::Overflow;
    /// let (tx, _rx) = nimsync_stream::channel::<u8>(4, Overflow::Fail);
    /// assert!(matches!(tx.overflow(), Overflow::Fail));
    /// ```
    pub fn overflow(&self) -> &Overflow<T> {
        &self.shared.overflow
    }

    /// This producer as a [`futures_sink::Sink`]: see [`SendSink`](super::SendSink).
    ///
    /// ```
    /// use futures_util::SinkExt;
    ///
    /// let (tx, mut rx) = nimsync_stream::channel(4, nimsync_stream::Overflow::Block);
    /// let mut sink = tx.into_sink();
    /// futures_lite::future::block_on(sink.send(1)).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn into_sink(self) -> super::SendSink<T>
    where
        T: Send + 'static,
    {
        super::SendSink::new(self)
    }

    /// True if both senders feed the same stage.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_stream::channel::<u8>(4, nimsync_stream::Overflow::Block);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn into_send_error<T>(e: TrySendError<T>) -> SendError<T> {
    match e {
        TrySendError::Closed(v) => SendError::Closed(v),
        TrySendError::Overflowed(v) => SendError::Overflowed(v),
        TrySendError::Full(_) => unreachable!("only the Block policy reports Full"),
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("overflow", &self.shared.overflow)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// The future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    shared: &'a Shared<T>,
    tx: &'a mpmc::Sender<T>,
    state: State<'a, T>,
}

enum State<'a, T> {
    /// `Block`, waiting for room.
    Waiting(mpmc::SendFuture<'a, T>),
    /// Decided when the future was made; `None` once returned.
    Done(Option<Result<(), SendError<T>>>),
}

impl<T> SendFuture<'_, T> {
    /// Stops the send and hands the item back: the item a `Block` send is
    /// still waiting to send, or one the send failed with (which `await`
    /// would have returned in the error); `None` if the item was sent.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// let (tx, _rx) = channel(1, Overflow::Block);
    /// tx.send(1).unwrap();
    /// let mut fut = tx.send_async(2);
    /// futures_lite::future::block_on(futures_lite::future::poll_once(&mut fut));
    /// assert_eq!(fut.cancel(), Some(2));
    /// ```
    pub fn cancel(&mut self) -> Option<T> {
        match &mut self.state {
            State::Waiting(fut) => fut.cancel(),
            State::Done(result) => match result.take() {
                Some(Err(e)) => Some(e.into_inner()),
                other => {
                    *result = other;
                    None
                }
            },
        }
    }
}

// The item is never pinned: it is moved into the channel or handed back.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::Waiting(fut) => Pin::new(fut).poll(cx).map(|r| match r {
                Ok(()) => {
                    this.shared.accepted(this.tx);
                    Ok(())
                }
                Err(e) => Err(SendError::Closed(e.into_inner())),
            }),
            State::Done(result) => Poll::Ready(
                result
                    .take()
                    .expect("`SendFuture` polled after it completed"),
            ),
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendFuture")
    }
}
