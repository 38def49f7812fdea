//! The JetStream source: a durable pull consumer read as a stream, fetching
//! as many messages as its buffer has room for.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{self, AckPolicy, pull};
use async_nats::jetstream::message::AckKind;
use bytes::Bytes;
use futures_lite::StreamExt;
use nimsync_channel::mpmc;
use tokio::task::JoinHandle;

use super::JetStream;
use crate::host::Hosted;
use crate::{Client, Error, ErrorKind};

/// How a [`Source`] reads its stream.
///
/// ```
/// use std::time::Duration;
/// use nimsync_nats::SourceOptions;
///
/// let opts = SourceOptions::new("billing").batch(256).ack_wait(Duration::from_secs(10));
/// assert_eq!(opts.consumer(), "billing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    consumer: String,
    batch: usize,
    max_wait: Duration,
    ack_wait: Duration,
    max_deliver: Option<u32>,
    max_ack_pending: Option<u32>,
    filter: Option<String>,
    from_new: bool,
}

impl SourceOptions {
    /// Reads through the durable consumer `consumer` (created on first use,
    /// then resumed where it left off, by this process or another): up to
    /// 128 messages fetched ahead, fetches that wait up to 1 s for
    /// messages, a 30 s acknowledgement wait, every message of the stream.
    pub fn new(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
            batch: 128,
            max_wait: Duration::from_secs(1),
            ack_wait: Duration::from_secs(30),
            max_deliver: None,
            max_ack_pending: None,
            filter: None,
            from_new: false,
        }
    }

    /// The most messages fetched ahead of the consumer: the buffer's size
    /// and the largest fetch (each fetch asks for the room left).
    ///
    /// # Panics
    /// If `n` is 0 (use 1 to fetch one message at a time).
    pub fn batch(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "SourceOptions::batch: 0 would fetch nothing; use 1 or more"
        );
        self.batch = n;
        self
    }

    /// How long one fetch waits for messages when the stream has none.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait.max(Duration::from_millis(10));
        self
    }

    /// How long the server waits for a delivery's acknowledgement before
    /// delivering it again (to this consumer or another process's).
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.ack_wait = wait;
        self
    }

    /// Stops redelivering a message after `n` deliveries.
    pub fn max_deliver(mut self, n: u32) -> Self {
        self.max_deliver = Some(n);
        self
    }

    /// The most deliveries not yet acknowledged at once, across every
    /// process reading this consumer (the server's default is 1,000).
    pub fn max_ack_pending(mut self, n: u32) -> Self {
        self.max_ack_pending = Some(n);
        self
    }

    /// Only messages on subjects matching `filter`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// A new consumer starts with messages published after it was
    /// created, rather than the stream's first.
    pub fn from_new(mut self) -> Self {
        self.from_new = true;
        self
    }

    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The async-nats consumer configuration.
    fn config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(self.consumer.clone()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver.map_or(-1, i64::from),
            max_ack_pending: self.max_ack_pending.map_or(0, i64::from),
            filter_subject: self.filter.clone().unwrap_or_default(),
            deliver_policy: if self.from_new {
                consumer::DeliverPolicy::New
            } else {
                consumer::DeliverPolicy::All
            },
            ..Default::default()
        }
    }
}

/// One message from a [`Source`], to acknowledge once processed.
///
/// Dropping it unacknowledged tells the server at once to deliver it again
/// (a negative acknowledgement), so a consumer that stops or panics
/// mid-message loses nothing.
pub struct Delivery {
    msg: Option<async_nats::jetstream::Message>,
    client: Arc<Client>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject())
            .field("stream_sequence", &self.stream_sequence())
            .field("payload_len", &self.payload().len())
            .finish()
    }
}

impl Delivery {
    /// The message (present until acknowledged).
    fn message(&self) -> &async_nats::jetstream::Message {
        self.msg
            .as_ref()
            .expect("a delivery holds its message until it is acknowledged")
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.message().payload
    }

    /// The subject it was published to.
    pub fn subject(&self) -> &str {
        self.message().subject.as_str()
    }

    /// Its headers, if any.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.message().headers.as_ref()
    }

    /// The id it was published with ([`Record::id`](crate::Record::id)).
    pub fn message_id(&self) -> Option<&str> {
        self.headers()?.get("Nats-Msg-Id").map(|v| v.as_str())
    }

    /// Its sequence number in the stream (each stored message has its own:
    /// equal sequences mean a redelivery).
    pub fn stream_sequence(&self) -> u64 {
        self.message().info().map_or(0, |i| i.stream_sequence)
    }

    /// How many times it has been delivered (1 the first time).
    pub fn delivered(&self) -> u64 {
        self.message()
            .info()
            .map_or(1, |i| u64::try_from(i.delivered).unwrap_or(1))
    }

    /// Sends an acknowledgement kind, consuming the message: a publish to
    /// its reply subject,
    /// or with `confirmed` a request the server answers.
    async fn finish(mut self, kind: AckKind, confirmed: bool) -> Result<(), Error> {
        let msg = self.msg.take().expect("a delivery holds its message");
        if !confirmed && let Some(reply) = msg.reply.clone() {
            return self.client.send(reply, kind.into()).await;
        }
        Hosted::new(&self.client.host, msg.double_ack_with(kind))
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, format!("acknowledgement: {e}")))
    }

    /// Acknowledges it: processed, not to be delivered again.
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when the connection is closed (the
    /// server then delivers it again after the ack wait).
    pub async fn ack(self) -> Result<(), Error> {
        self.finish(AckKind::Ack, false).await
    }

    /// Acknowledges it and waits for the server to confirm: when this
    /// returns `Ok`, it will not be delivered again.
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] or a timeout when no confirmation came
    /// (it may be delivered again).
    pub async fn ack_confirmed(self) -> Result<(), Error> {
        self.finish(AckKind::Ack, true).await
    }

    /// Asks for it to be delivered again, after `delay` if given.
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when the connection is closed.
    pub async fn nak(self, delay: Option<Duration>) -> Result<(), Error> {
        self.finish(AckKind::Nak(delay), false).await
    }

    /// Tells the server never to deliver it again (a poison message).
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when the connection is closed.
    pub async fn term(self) -> Result<(), Error> {
        self.finish(AckKind::Term, false).await
    }

    /// Tells the server that work on it goes on: its ack wait starts over.
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when the connection is closed.
    pub async fn in_progress(&self) -> Result<(), Error> {
        let msg = self.message();
        Hosted::new(&self.client.host, msg.ack_with(AckKind::Progress))
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, format!("progress: {e}")))
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(msg) = self.msg.take() {
            drop(self.client.host.spawn(async move {
                let _ = msg.ack_with(AckKind::Nak(None)).await;
            }));
        }
    }
}

/// What a [`Source`] has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SourceStats {
    /// Messages fetched.
    pub fetched: u64,
    /// Fetch requests sent.
    pub fetches: u64,
    /// Fetches that failed (a lost connection, a restarting server); each
    /// is retried.
    pub fetch_errors: u64,
}

/// Counts shared by a source and its fetcher, and why it ended.
#[derive(Debug, Default)]
struct Counts {
    fetched: AtomicU64,
    fetches: AtomicU64,
    fetch_errors: AtomicU64,
    ended: Mutex<Option<Error>>,
}

impl Counts {
    /// Records why the fetcher stops; the stream ends after the deliveries
    /// it buffered.
    fn end(&self, why: Error) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    }
}

/// Whether a fetch failure ends the source: the client was closed, or the
/// consumer or its stream is gone. Anything else (a lost connection, a
/// restarting server) is retried.
fn terminal(client: &Client, text: &str) -> Option<Error> {
    if client.is_closed() {
        return Some(Error::new(ErrorKind::Disconnected, "the client was closed"));
    }
    let lower = text.to_ascii_lowercase();
    ["consumer deleted", "consumer not found", "stream not found"]
        .iter()
        .any(|gone| lower.contains(gone))
        .then(|| Error::new(ErrorKind::NotFound, format!("fetch: {text}")))
}

/// A JetStream consumer as a [`Stream`](futures_core::Stream) of
/// [`Delivery`]s ([`JetStream::source`]).
///
/// A fetcher on the connection's runtime asks the server for as many
/// messages as the source's buffer has room for, and waits for room before
/// asking again: a slow consumer slows the fetching, nothing piles up.
/// Lost connections and server restarts are retried (counted in
/// [`stats`](Self::stats)); messages fetched and not acknowledged are
/// delivered again by the server. Dropping the source stops the fetcher and
/// hands the buffered messages back to the server.
pub struct Source {
    rx: mpmc::RecvStream<Delivery>,
    counts: Arc<Counts>,
    fetcher: JoinHandle<()>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl JetStream {
    /// Reads the stream `stream` through the durable consumer `opts` names,
    /// creating it if needed.
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use nimsync_nats::{Client, ConnectOptions, SourceOptions};
    ///
    /// let js = Client::connect(ConnectOptions::new("127.0.0.1:4222")).await?.jetstream();
    /// let mut source = js.source("LOGS", SourceOptions::new("indexer")).await?;
    /// while let Some(delivery) = source.next().await {
    ///     println!("{:?}", delivery.payload());
    ///     delivery.ack().await?;
    /// }
    /// # Ok::<(), nimsync_nats::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such stream,
    /// [`ErrorKind::JetStream`] when the server refuses the consumer (a
    /// consumer of that name exists with another configuration).
    pub async fn source(&self, stream: &str, opts: SourceOptions) -> Result<Source, Error> {
        let ctx = &self.ctx;
        let config = opts.config();
        let wanted = config.clone();
        let consumer = self
            .client
            .hosted(async {
                let s = ctx.get_stream(stream).await.map_err(|e| {
                    Error::new(ErrorKind::NotFound, format!("stream {stream}: {e}"))
                })?;
                s.get_or_create_consumer(&opts.consumer, config)
                    .await
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::JetStream,
                            format!("consumer {} on {stream}: {e}", opts.consumer),
                        )
                    })
            })
            .await?;
        // An existing consumer is resumed as it is: refuse one whose
        // delivery settings differ from what was asked for.
        let have = &consumer.cached_info().config;
        if have.ack_wait != wanted.ack_wait
            || have.filter_subject != wanted.filter_subject
            || have.max_deliver != wanted.max_deliver
        {
            return Err(Error::new(
                ErrorKind::JetStream,
                format!(
                    "consumer {} on {stream} exists with another configuration (ack wait {:?}, \
                     filter {:?}, max deliver {}): delete it or use another name",
                    opts.consumer, have.ack_wait, have.filter_subject, have.max_deliver
                ),
            ));
        }
        let (tx, rx) = mpmc::channel(opts.batch);
        let counts = Arc::new(Counts::default());
        let client = Arc::new(self.client.clone());
        let fetcher =
            self.client
                .host
                .spawn(fetch(consumer, tx, opts.max_wait, counts.clone(), client));
        Ok(Source {
            rx: rx.into_stream(),
            counts,
            fetcher,
        })
    }
}

/// Fetches while the source is open: waits for room, asks for that many
/// messages, forwards them; retries failures with a growing pause.
async fn fetch(
    consumer: consumer::Consumer<pull::Config>,
    tx: mpmc::Sender<Delivery>,
    max_wait: Duration,
    counts: Arc<Counts>,
    client: Arc<Client>,
) {
    let mut pause = Duration::from_millis(50);
    loop {
        // Demand: wait until the buffer has room, then ask for all of it.
        match tx.reserve().await {
            Ok(permit) => drop(permit),
            Err(_) => return,
        }
        let room = tx.free_capacity().max(1);
        counts.fetches.fetch_add(1, Ordering::Relaxed);
        let batch = consumer
            .batch()
            .max_messages(room)
            .expires(max_wait)
            .messages()
            .await;
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                if let Some(end) = terminal(&client, &e.to_string()) {
                    return counts.end(end);
                }
                counts.fetch_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let mut failed = false;
        while let Some(item) = batch.next().await {
            match item {
                Ok(msg) => {
                    counts.fetched.fetch_add(1, Ordering::Relaxed);
                    let delivery = Delivery {
                        msg: Some(msg),
                        client: client.clone(),
                    };
                    // The only sender, and it asked for no more than the
                    // room there was: the send finds room unless the source
                    // is gone (then the delivery's drop hands it back).
                    if tx.send_async(delivery).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if let Some(end) = terminal(&client, &e.to_string()) {
                        return counts.end(end);
                    }
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            counts.fetch_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        } else {
            pause = Duration::from_millis(50);
        }
    }
}

impl Source {
    /// Counts so far.
    pub fn stats(&self) -> SourceStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SourceStats {
            fetched: get(&self.counts.fetched),
            fetches: get(&self.counts.fetches),
            fetch_errors: get(&self.counts.fetch_errors),
        }
    }

    /// Why the source ended, once it has: its client was closed
    /// ([`ErrorKind::Disconnected`]) or its consumer or stream deleted
    /// ([`ErrorKind::NotFound`]). `None` while it runs.
    pub fn error(&self) -> Option<Error> {
        self.counts
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next delivery: waits for one; `None` once the source has ended
    /// ([`error`](Self::error) says why) and its buffer is empty.
    pub async fn recv(&mut self) -> Option<Delivery> {
        self.next().await
    }
}

impl futures_core::Stream for Source {
    type Item = Delivery;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.fetcher.abort();
    }
}
