//! [`SendSink`]: an MPMC sender as a `futures_sink::Sink`.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::Sender;
use crate::chan::SendFuture;
use crate::error::SendError;

/// An MPMC sender as a [`futures_sink::Sink`], for code written against
/// sinks: `StreamExt::forward`, `SinkExt::send` and `send_all`, codecs.
/// Made by [`Sender::into_sink`] or [`Sender::sink`]; it owns its sender,
/// so it counts in [`Sender::sender_count`] while it lives.
///
/// It holds at most one item: `start_send` sends at once when the channel
/// has room (or, on a rendezvous channel, a receiver waits), and otherwise
/// keeps the item until `poll_ready`, `poll_flush` or `poll_close` can
/// send it. `poll_flush` is `Ready` once no item is held, that is, once
/// every item given to the sink is in the channel (rendezvous: taken by a
/// receiver). `poll_close` flushes, then drops the sender: if it was the
/// last one, receivers see the channel end after the values it holds.
///
/// # Errors
///
/// A send into a closed channel fails with [`SendError`] holding the item:
/// from `start_send` when the channel was closed already, from
/// `poll_ready`, `poll_flush` or `poll_close` for the item held.
///
/// # Cancel safety
///
/// Dropping the sink drops the item it holds unsent (after `poll_flush` or
/// `poll_close` returned `Ready`, it holds none); [`cancel`](Self::cancel)
/// hands it back instead. A wake-up the held send had received passes on
/// to the next waiting sender.
///
/// # Panics
///
/// `start_send` while an item is still held (that is, without a `Ready`
/// from `poll_ready` first, as the `Sink` contract asks), and `poll_ready`,
/// `start_send` or `poll_flush` after `poll_close` returned `Ready`, panic
/// with a message saying so.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
///
/// use futures_sink::Sink;
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = nimsync_channel::mpmc::channel(1);
/// let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<i32>>());
/// let mut sink = tx.into_sink();
/// for i in 0..3 {
///     poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)).await.unwrap();
///     Pin::new(&mut sink).start_send(i).unwrap();
/// }
/// // Flushes the item still held, then drops the only sender.
/// poll_fn(|cx| Pin::new(&mut sink).poll_close(cx)).await.unwrap();
/// assert_eq!(consumer.join().unwrap(), [0, 1, 2]);
/// # });
/// ```
pub struct SendSink<T> {
    /// The sender, inside the send of the item held (if any); `None` once
    /// the sink is closed.
    send: Option<SendFuture<Sender<T>>>,
}

impl<T> SendSink<T> {
    pub(super) fn new(sender: Sender<T>) -> Self {
        Self {
            send: Some(SendFuture::idle(sender)),
        }
    }

    /// The sender, or `None` once the sink is closed.
    pub fn sender(&self) -> Option<&Sender<T>> {
        self.send.as_ref().map(SendFuture::handle)
    }

    /// True while the sink holds an item it could not send yet.
    ///
    /// ```
    /// use std::pin::Pin;
    ///
    /// use futures_sink::Sink;
    ///
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let mut sink = tx.into_sink();
    /// Pin::new(&mut sink).start_send(1).unwrap();
    /// assert!(!sink.is_holding());
    /// Pin::new(&mut sink).start_send(2).unwrap(); // full: held
    /// assert!(sink.is_holding());
    /// assert_eq!(sink.cancel(), Some(2));
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_holding(&self) -> bool {
        self.send.as_ref().is_some_and(SendFuture::is_pending)
    }

    /// Takes back the item the sink holds unsent, if any; the sink can go
    /// on sending.
    ///
    /// ```
    /// use std::pin::Pin;
    ///
    /// use futures_sink::Sink;
    ///
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(0); // rendezvous
    /// let mut sink = tx.into_sink();
    /// Pin::new(&mut sink).start_send("hello").unwrap(); // no receiver waits
    /// assert_eq!(sink.cancel(), Some("hello"));
    /// assert_eq!(sink.cancel(), None);
    /// ```
    pub fn cancel(&mut self) -> Option<T> {
        self.send.as_mut().and_then(SendFuture::cancel)
    }

    /// The send, or a panic naming the misuse once the sink is closed.
    fn open(&mut self, what: &str) -> &mut SendFuture<Sender<T>> {
        self.send
            .as_mut()
            .unwrap_or_else(|| panic!("`SendSink::{what}` called after `poll_close` completed"))
    }
}

impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().open("poll_ready").poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let send = self.get_mut().open("start_send");
        assert!(
            !send.is_pending(),
            "`SendSink::start_send` called while an item is still held: \
             wait for `poll_ready` to return `Ready` first"
        );
        match send.handle().try_send(item) {
            Ok(()) => Ok(()),
            Err(crate::error::TrySendError::Full(item)) => {
                send.put(item);
                Ok(())
            }
            Err(crate::error::TrySendError::Closed(item)) => Err(SendError(item)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().open("poll_flush").poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let Some(send) = this.send.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let flushed = core::task::ready!(send.poll_pending(cx));
        this.send = None;
        Poll::Ready(flushed)
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::SendSink")
            .field("closed", &self.send.is_none())
            .field("holding", &self.is_holding())
            .finish()
    }
}

impl<T> Sender<T> {
    /// Turns this sender into a [`SendSink`], a `futures_sink::Sink` (as
    /// flume's `into_sink`).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// use futures_sink::Sink;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = nimsync_channel::mpmc::unbounded();
    /// let mut sink = tx.into_sink();
    /// Pin::new(&mut sink).start_send(7).unwrap();
    /// poll_fn(|cx| Pin::new(&mut sink).poll_close(cx)).await.unwrap();
    /// assert_eq!(rx.recv(), Ok(7));
    /// assert!(rx.recv().is_err(), "the sink held the last sender");
    /// # });
    /// ```
    pub fn into_sink(self) -> SendSink<T> {
        SendSink::new(self)
    }

    /// A [`SendSink`] over a clone of this sender (as flume's `sink`).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(4);
    /// let sink = tx.sink();
    /// assert_eq!(tx.sender_count(), 2);
    /// drop(sink);
    /// assert_eq!(tx.sender_count(), 1);
    /// ```
    pub fn sink(&self) -> SendSink<T> {
        self.clone().into_sink()
    }
}
