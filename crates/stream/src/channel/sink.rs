//! The stream channel's producer as a `futures_sink::Sink`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Sender;
use crate::SendError;

/// A send under way: the producer's future, boxed so the sink owns it.
type Sending<T> = Pin<Box<dyn Future<Output = Result<(), SendError<T>>> + Send>>;

/// A stream [`Sender`] as a [`futures_sink::Sink`], for `SinkExt::send`,
/// `send_all` and `StreamExt::forward`: made by [`Sender::into_sink`].
///
/// `start_send` hands the item to the stage's policy at once if it can;
/// under [`Block`](crate::Overflow::Block) on a full stage it keeps the
/// send going, and `poll_ready` and `poll_flush` finish it. `poll_close`
/// finishes it and drops this producer (the stage ends for its consumer
/// once every producer is gone); it does not close the stage for the
/// other producers. As with any `Sink`, flush or close it before dropping
/// it: a sink dropped while a `Block` send is still waiting drops that
/// item unsent, as a dropped [`SendFuture`](crate::SendFuture) does (it
/// was never offered, so no counter sees it).
///
/// ```
/// use futures_lite::{future, stream, StreamExt};
/// use futures_util::SinkExt;
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, rx) = channel(2, Overflow::Block);
/// let consumer = std::thread::spawn(move || future::block_on(rx.collect::<Vec<u32>>()));
/// future::block_on(async {
///     let mut sink = tx.into_sink();
///     sink.send_all(&mut stream::iter((0..10).map(Ok))).await.unwrap();
///     sink.close().await.unwrap();
/// });
/// assert_eq!(consumer.join().unwrap(), (0..10).collect::<Vec<_>>());
/// ```
pub struct SendSink<T> {
    tx: Option<Sender<T>>,
    sending: Option<Sending<T>>,
}

impl<T: Send + 'static> SendSink<T> {
    pub(crate) fn new(tx: Sender<T>) -> Self {
        Self {
            tx: Some(tx),
            sending: None,
        }
    }

    /// Drives the send under way, if any.
    fn poll_sending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let Some(sending) = self.sending.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let r = std::task::ready!(sending.as_mut().poll(cx));
        self.sending = None;
        Poll::Ready(r)
    }
}

impl<T: Send + 'static> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_sending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        assert!(
            this.sending.is_none(),
            "`start_send` called before `poll_ready` returned `Ready`"
        );
        let Some(tx) = this.tx.as_ref() else {
            return Err(SendError::Closed(item));
        };
        match tx.try_send(item) {
            Ok(()) => Ok(()),
            Err(crate::TrySendError::Full(item)) => {
                let tx = tx.clone();
                this.sending = Some(Box::pin(async move { tx.send_async(item).await }));
                Ok(())
            }
            Err(crate::TrySendError::Closed(item)) => Err(SendError::Closed(item)),
            Err(crate::TrySendError::Overflowed(item)) => Err(SendError::Overflowed(item)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_sending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let r = std::task::ready!(this.poll_sending(cx));
        this.tx = None;
        Poll::Ready(r)
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("open", &self.tx.is_some())
            .field("sending", &self.sending.is_some())
            .finish()
    }
}
