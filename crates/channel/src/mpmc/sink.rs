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
/// send it. So `poll_ready` is `Ready` while nothing is held, even on a
/// full channel: `StreamExt::forward` takes one item more from its stream
/// than the channel has room for, and that item is the one held (dropping
/// the `Forward` future drops it, as its `# Cancel safety` says).
/// `poll_flush` is `Ready` once no item is held, that is, once every item
/// given to the sink is in the channel (rendezvous: handed to a waiting
/// receiver). `poll_close` flushes, then drops the sender: if it was the
/// last one, receivers see the channel end after the values it holds.
/// After that, `poll_ready`, `poll_flush` and `poll_close` are `Ready(Ok)`
/// and `start_send` hands its item back in [`SendError`].
///
/// Cloning a sink clones its sender, not the item it holds.
///
/// # Errors
///
/// A send into a closed channel (or through a closed sink) fails with
/// [`SendError`] holding the item: from `start_send` when the channel was
/// closed already, from `poll_ready`, `poll_flush` or `poll_close` for the
/// item held.
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
/// from `poll_ready` first, as the `Sink` contract asks) panics with a
/// message saying so, rather than drop or replace either item.
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
#[must_use = "sinks do nothing unless polled"]
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

    /// Sends what is held, if anything; `Ready(Ok)` once closed.
    fn poll_held(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        match self.send.as_mut() {
            Some(send) => send.poll_pending(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// A sink over a clone of the sender, holding nothing (a closed sink's
/// clone is closed too).
impl<T> Clone for SendSink<T> {
    fn clone(&self) -> Self {
        Self {
            send: self.sender().map(|s| SendFuture::idle(s.clone())),
        }
    }
}

impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_held(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let Some(send) = self.get_mut().send.as_mut() else {
            return Err(SendError(item));
        };
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
        self.get_mut().poll_held(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let flushed = core::task::ready!(this.poll_held(cx));
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
