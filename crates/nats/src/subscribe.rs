//! Core-NATS subscriptions as nimsync streams, under an overflow policy.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_nats::Message;
use futures_lite::StreamExt;
use nimsync_stream::{DropReason, Metrics, Overflow};
use tokio::task::JoinHandle;

use crate::error::check_subject;
use crate::{Client, Error};

/// A hook given each message a subscription drops.
type DropHook = Arc<dyn Fn(Message, DropReason) + Send + Sync>;

/// How a [`Subscription`] buffers messages its consumer has not taken yet.
///
/// ```
/// use nimsync_nats::SubscribeOptions;
/// use nimsync_stream::Overflow;
///
/// // Keep the newest 1,000 readings when the consumer falls behind.
/// let opts = SubscribeOptions::new(1000, Overflow::DropOldest).queue_group("sensors");
/// assert_eq!(opts.capacity(), 1000);
/// ```
pub struct SubscribeOptions {
    capacity: usize,
    overflow: Overflow<Message>,
    queue_group: Option<String>,
    on_drop: Option<DropHook>,
}

impl fmt::Debug for SubscribeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscribeOptions")
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("queue_group", &self.queue_group)
            .field("on_drop", &self.on_drop.is_some())
            .finish()
    }
}

impl SubscribeOptions {
    /// A buffer of `capacity` messages under `overflow` (the nimsync-stream
    /// policies: `Block` holds the subscription back, the drop policies
    /// keep it moving and count what they drop, `Fail` ends the stream).
    ///
    /// # Panics
    /// If `capacity` is 0 (use 1 for the smallest buffer).
    pub fn new(capacity: usize, overflow: Overflow<Message>) -> Self {
        assert!(
            capacity > 0,
            "SubscribeOptions::new: capacity 0 buffers nothing; use 1 or more"
        );
        Self {
            capacity,
            overflow,
            queue_group: None,
            on_drop: None,
        }
    }

    /// Joins this queue group: each message goes to one member of the
    /// group, across processes.
    pub fn queue_group(mut self, group: impl Into<String>) -> Self {
        self.queue_group = Some(group.into());
        self
    }

    /// Hands each dropped message, with the reason, to `hook` (drops are
    /// counted in [`Subscription::metrics`] either way).
    pub fn on_drop(mut self, hook: impl Fn(Message, DropReason) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Arc::new(hook));
        self
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for SubscribeOptions {
    /// 1,024 messages under `Block`.
    fn default() -> Self {
        Self::new(1024, Overflow::Block)
    }
}

/// Messages on a subject, as a [`Stream`](futures_core::Stream) of
/// [`Message`]s. Dropping it unsubscribes.
///
/// Under `Overflow::Block`, a consumer that falls behind holds the messages
/// in the connection's subscription buffer, and past that the client drops
/// them (core NATS is at-most-once: the server does not wait); under the
/// drop policies the buffer here drops them, counted by reason in
/// [`metrics`](Self::metrics).
pub struct Subscription {
    rx: nimsync_stream::Receiver<Message>,
    pump: JoinHandle<()>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Subscribes to `subject` (wildcards `*` and `>` allowed), buffering as
    /// `opts` says.
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use nimsync_nats::{Client, ConnectOptions, SubscribeOptions};
    ///
    /// let client = Client::connect(ConnectOptions::new("127.0.0.1:4222")).await?;
    /// let mut sub = client.subscribe("logs.>", SubscribeOptions::default()).await?;
    /// while let Some(msg) = sub.next().await {
    ///     println!("{}: {:?}", msg.subject, msg.payload);
    /// }
    /// # Ok::<(), nimsync_nats::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSubject`](crate::ErrorKind::InvalidSubject) for a
    /// bad subject or queue group name,
    /// [`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected) once the
    /// client is closed.
    pub async fn subscribe(
        &self,
        subject: impl AsRef<str>,
        opts: SubscribeOptions,
    ) -> Result<Subscription, Error> {
        check_subject(subject.as_ref(), true)?;
        let sub = self
            .raw_subscribe(subject.as_ref(), opts.queue_group)
            .await?;
        let mut builder = nimsync_stream::Builder::new(opts.capacity, opts.overflow);
        if let Some(hook) = opts.on_drop {
            builder = builder.on_drop(move |m, why| hook(m, why));
        }
        let (tx, rx) = builder.build();
        let pump = self.host.spawn(async move {
            let mut sub = sub;
            while let Some(msg) = sub.next().await {
                if tx.send_async(msg).await.is_err() {
                    break;
                }
            }
        });
        Ok(Subscription { rx, pump })
    }
}

impl Subscription {
    /// The buffer's counts: messages offered, delivered, dropped by reason,
    /// depth and high-water mark.
    pub fn metrics(&self) -> Metrics {
        self.rx.metrics()
    }

    /// The next message, or `None` once the subscription has ended (the
    /// client closed, or a `Fail` policy overflowed) and the buffer is
    /// empty.
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv_async().await.ok()
    }

    /// Unsubscribes; the messages already buffered can still be taken,
    /// then the stream ends.
    pub fn unsubscribe(&self) {
        self.pump.abort();
    }
}

impl futures_core::Stream for Subscription {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.pump.abort();
    }
}
