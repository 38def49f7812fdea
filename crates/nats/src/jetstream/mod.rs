//! JetStream: persisted streams, acknowledged publishes, pull consumers.

mod sink;
mod source;

use std::fmt;
use std::time::Duration;

use async_nats::jetstream::{self, context, stream};

use crate::error::check_subject;
use crate::{Client, Error, ErrorKind};

pub use sink::{Record, Sink, SinkError, SinkOptions, SinkReport};
pub use source::{Delivery, Source, SourceOptions, SourceStats};

/// JetStream on a [`Client`]'s connection: streams that persist what is
/// published to their subjects, and consumers that read them back.
#[derive(Clone)]
pub struct JetStream {
    pub(crate) ctx: context::Context,
    pub(crate) client: Client,
}

impl fmt::Debug for JetStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStream")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// Where a stream keeps its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// On disk: survives a server restart.
    #[default]
    File,
    /// In memory: lost when the server stops.
    Memory,
}

/// A stream to create: its name, the subjects it captures, how it keeps
/// them.
///
/// ```
/// use std::time::Duration;
/// use nimsync_nats::StreamSpec;
///
/// let spec = StreamSpec::new("LOGS", ["logs.>"]).duplicate_window(Duration::from_secs(120));
/// assert_eq!(spec.name(), "LOGS");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    name: String,
    subjects: Vec<String>,
    storage: Storage,
    duplicate_window: Duration,
    max_messages: Option<u64>,
    max_bytes: Option<u64>,
    max_age: Option<Duration>,
}

impl StreamSpec {
    /// A stream named `name` (no spaces, dots or wildcards) capturing
    /// `subjects`, on disk, with a 2-minute duplicate window and no limits.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        subjects: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            subjects: subjects.into_iter().map(Into::into).collect(),
            storage: Storage::File,
            duplicate_window: Duration::from_secs(120),
            max_messages: None,
            max_bytes: None,
            max_age: None,
        }
    }

    /// Where the messages are kept.
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// How long the server remembers message ids ([`Record::id`]) to drop
    /// a republished duplicate.
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// Keeps at most this many messages (the oldest go first).
    pub fn max_messages(mut self, n: u64) -> Self {
        self.max_messages = Some(n);
        self
    }

    /// Keeps at most this many bytes (the oldest go first).
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// Drops messages older than this.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The async-nats configuration.
    fn config(&self) -> stream::Config {
        let limit = |n: Option<u64>| n.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        stream::Config {
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            storage: match self.storage {
                Storage::File => stream::StorageType::File,
                Storage::Memory => stream::StorageType::Memory,
            },
            duplicate_window: self.duplicate_window,
            max_messages: limit(self.max_messages),
            max_bytes: limit(self.max_bytes),
            max_age: self.max_age.unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// What the server said when it stored a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PubAck {
    /// The stream that stored it.
    pub stream: String,
    /// Its sequence number in that stream.
    pub sequence: u64,
    /// Whether the server had already stored a message with this id within
    /// the duplicate window (and so did not store it again).
    pub duplicate: bool,
}

impl Client {
    /// JetStream on this connection, with a 5 s timeout for its API calls
    /// and publish acknowledgements.
    pub fn jetstream(&self) -> JetStream {
        // The context starts a task on the connection's runtime.
        let _entered = self.host.enter();
        JetStream {
            ctx: context::ContextBuilder::new()
                .timeout(Duration::from_secs(5))
                .build(self.inner.clone()),
            client: self.clone(),
        }
    }
}

impl JetStream {
    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the stream `spec` describes, or finds it if a stream of that
    /// name exists already (its configuration is left as it is).
    ///
    /// # Errors
    /// [`ErrorKind::JetStream`] when the server refuses (JetStream not
    /// enabled, an invalid name, subjects another stream captures),
    /// [`ErrorKind::TimedOut`] when it does not answer.
    pub async fn create_stream(&self, spec: &StreamSpec) -> Result<(), Error> {
        let cfg = spec.config();
        self.client
            .hosted(self.ctx.get_or_create_stream(cfg))
            .await
            .map(drop)
            .map_err(|e| js_error(&spec.name, e.kind().to_string(), create_kind(&e.kind())))
    }

    /// Deletes the stream `name` and everything it stored.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such stream, others as
    /// [`create_stream`](Self::create_stream).
    pub async fn delete_stream(&self, name: &str) -> Result<(), Error> {
        self.client
            .hosted(self.ctx.delete_stream(name))
            .await
            .map(drop)
            .map_err(|e| {
                let text = e.to_string();
                let kind = if text.contains("not found") {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::JetStream
                };
                js_error(name, text, kind)
            })
    }

    /// How many messages the stream `name` holds now.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such stream.
    pub async fn stream_messages(&self, name: &str) -> Result<u64, Error> {
        let ctx = &self.ctx;
        self.client
            .hosted(async {
                let mut s = ctx
                    .get_stream(name)
                    .await
                    .map_err(|e| js_error(name, e.to_string(), ErrorKind::NotFound))?;
                s.info()
                    .await
                    .map(|i| i.state.messages)
                    .map_err(|e| js_error(name, e.to_string(), ErrorKind::JetStream))
            })
            .await
    }

    /// Publishes one record and waits until the server has stored it.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no stream captures the subject,
    /// [`ErrorKind::TimedOut`] when no acknowledgement came in time (it may
    /// still have been stored: publish again with the same
    /// [`Record::id`] and the server drops the duplicate),
    /// [`ErrorKind::InvalidSubject`], [`ErrorKind::TooLarge`].
    pub async fn publish(
        &self,
        subject: impl AsRef<str>,
        record: impl Into<Record>,
    ) -> Result<PubAck, Error> {
        let (subject, record) = (subject.as_ref(), record.into());
        check_subject(record.subject.as_deref().unwrap_or(subject), false)?;
        let ctx = &self.ctx;
        self.client
            .hosted(async {
                let subject = record.subject.as_deref().unwrap_or(subject);
                let ack = ctx
                    .send_publish(subject.to_owned(), record.to_publish())
                    .await
                    .map_err(|e| publish_error(subject, &e))?;
                ack.await
                    .map(to_pub_ack)
                    .map_err(|e| publish_error(subject, &e))
            })
            .await
    }
}

/// The server's acknowledgement as ours.
pub(crate) fn to_pub_ack(a: jetstream::publish::PublishAck) -> PubAck {
    PubAck {
        stream: a.stream,
        sequence: a.sequence,
        duplicate: a.duplicate,
    }
}

/// A JetStream error about `what`.
fn js_error(what: &str, text: String, kind: ErrorKind) -> Error {
    Error::new(kind, format!("{what}: {text}"))
}

/// The kind of a stream-creation failure.
fn create_kind(k: &context::CreateStreamErrorKind) -> ErrorKind {
    use context::CreateStreamErrorKind as K;
    match k {
        K::TimedOut => ErrorKind::TimedOut,
        K::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::JetStream,
    }
}

/// A publish or acknowledgement failure for `subject`.
pub(crate) fn publish_error(subject: &str, e: &context::PublishError) -> Error {
    use context::PublishErrorKind as K;
    let kind = match e.kind() {
        K::StreamNotFound => ErrorKind::NotFound,
        K::TimedOut => ErrorKind::TimedOut,
        K::BrokenPipe => ErrorKind::Disconnected,
        K::MaxPayloadExceeded => ErrorKind::TooLarge,
        _ if e.to_string().contains("invalid subject") => ErrorKind::InvalidSubject,
        _ => ErrorKind::JetStream,
    };
    Error::new(kind, format!("publish to {subject}: {e}"))
}
