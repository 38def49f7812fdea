//! The JetStream sink: records published in order with bounded in-flight
//! acknowledgements, resent after a lost connection.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::context::{self, PublishAckFuture};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use futures_core::Stream;
use futures_lite::StreamExt;
use nimsync_channel::mpmc;

use super::{JetStream, publish_error};
use crate::error::check_subject;
use crate::{Error, ErrorKind};

/// One message for a [`Sink`]: a payload, an optional message id (the
/// server drops a second message with the same id within the stream's
/// duplicate window), an optional subject (else the sink's), headers.
///
/// ```
/// use nimsync_nats::Record;
///
/// let r = Record::new("order 17 paid").id("order-17").subject("orders.paid");
/// assert_eq!(r.message_id(), Some("order-17"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    payload: Bytes,
    id: Option<String>,
    pub(crate) subject: Option<String>,
    headers: Option<HeaderMap>,
}

impl Record {
    /// A record carrying `payload`.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Self {
            payload: payload.into(),
            ..Self::default()
        }
    }

    /// Sets the message id (`Nats-Msg-Id`), which makes a republish after
    /// a lost acknowledgement harmless.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Publishes to `subject` instead of the sink's subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Adds a header.
    ///
    /// # Panics
    /// If `name` is empty or has a character other than printable ASCII
    /// without `:`, or `value` has a line break: the wire format cannot
    /// carry them.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
            "Record::header: the name {name:?} must be printable ASCII without ':' or spaces"
        );
        assert!(
            !value.contains(['\r', '\n']),
            "Record::header: the value of {name:?} must not contain a line break"
        );
        self.headers
            .get_or_insert_with(HeaderMap::new)
            .insert(name, value);
        self
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The message id, if set.
    pub fn message_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The message for async-nats, expecting `prev` as the stream's last
    /// message id when given.
    fn to_publish_after(&self, prev: Option<&str>) -> PublishMessage {
        match prev {
            Some(prev) => self.to_publish().expected_last_message_id(prev),
            None => self.to_publish(),
        }
    }

    /// The message for async-nats.
    pub(crate) fn to_publish(&self) -> PublishMessage {
        let mut p = PublishMessage::build().payload(self.payload.clone());
        if let Some(h) = &self.headers {
            p = p.headers(h.clone());
        }
        if let Some(id) = &self.id {
            p = p.message_id(id);
        }
        p
    }
}

macro_rules! record_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Record {
            fn from(payload: $t) -> Self {
                Record::new(payload)
            }
        }
    )*};
}
record_from!(Bytes, Vec<u8>, String, &'static str, &'static [u8]);

/// How a [`Sink`] publishes.
///
/// ```
/// use std::time::Duration;
/// let opts = nimsync_nats::SinkOptions::new(512).ack_timeout(Duration::from_secs(2));
/// assert_eq!(opts.max_in_flight(), 512);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    max_in_flight: usize,
    ack_timeout: Duration,
    retries: u32,
    backoff: Duration,
    ordered: bool,
}

impl SinkOptions {
    /// At most `max_in_flight` records published and not yet acknowledged
    /// (as many more wait in the sink); a 5 s acknowledgement timeout; a
    /// failed window is resent up to 10 times, 100 ms apart at first.
    ///
    /// # Panics
    /// If `max_in_flight` is 0 (use 1 to publish one record at a time).
    pub fn new(max_in_flight: usize) -> Self {
        assert!(
            max_in_flight > 0,
            "SinkOptions::new: 0 in flight would publish nothing; use 1 or more"
        );
        Self {
            max_in_flight,
            ack_timeout: Duration::from_secs(5),
            retries: 10,
            backoff: Duration::from_millis(100),
            ordered: false,
        }
    }

    /// Keeps the stream in the sink's order even across a lost connection,
    /// for a sink that is its stream's only writer and whose records all
    /// have ids.
    ///
    /// Records in flight when a connection drops can otherwise land out of
    /// order: the ones the client had not written yet go out on the new
    /// connection before the resent ones the server never got. An ordered
    /// sink sends each record with the id of the record before it as the
    /// stream's expected last id (`Nats-Expected-Last-Msg-Id`), so the
    /// server refuses a record whose predecessor is missing, and the sink
    /// resends from the first one not stored. A record without an id is
    /// refused at `send` ([`ErrorKind::InvalidRecord`]).
    ///
    /// The server remembers ids for the stream's duplicate window: an
    /// ordered sink that stays idle longer than the window across a server
    /// restart finds its last id forgotten and gives up; start a new sink
    /// then.
    pub fn ordered(mut self) -> Self {
        self.ordered = true;
        self
    }

    /// How long to wait for a record's acknowledgement before resending.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How many times in a row the oldest unacknowledged record may fail
    /// (timeout, lost connection) before the sink gives up and hands the
    /// records back; the wait between tries doubles from the backoff, up
    /// to 5 s.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// The in-flight bound.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

impl Default for SinkOptions {
    /// 256 in flight.
    fn default() -> Self {
        Self::new(256)
    }
}

/// What a sink has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SinkReport {
    /// Records the server acknowledged (each counted once, duplicates
    /// included).
    pub acked: u64,
    /// Of those, acknowledgements that said "duplicate": the server had
    /// stored that id already (a resend after a lost acknowledgement).
    pub duplicates: u64,
    /// Times the unacknowledged window was resent.
    pub resends: u64,
}

/// A sink gave up: the error, and every record it had not had
/// acknowledged, handed back in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    /// Why it gave up.
    pub error: Error,
    /// The records never acknowledged.
    pub undelivered: Vec<Record>,
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} records handed back unacknowledged)",
            self.error,
            self.undelivered.len()
        )
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// What the sink's task reads.
enum Input {
    /// A record to publish.
    Record(Record),
    /// Answer once everything before it is acknowledged.
    Flush(Answer),
}

/// Where a flush's answer goes.
type Answer = nimsync_channel::oneshot::Sender<Result<SinkReport, SinkError>>;

/// Counts and the failure, shared by the handles and the task.
#[derive(Debug, Default)]
struct Shared {
    acked: AtomicU64,
    duplicates: AtomicU64,
    resends: AtomicU64,
    /// Set once the sink gave up, with the records it handed back (taken
    /// by the first flush that reports them).
    failed: Mutex<Option<SinkError>>,
}

impl Shared {
    /// The counts now.
    fn report(&self) -> SinkReport {
        SinkReport {
            acked: self.acked.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            resends: self.resends.load(Ordering::Relaxed),
        }
    }

    /// The error the sink gave up on, if it did (the records stay for the
    /// next flush).
    fn error(&self) -> Option<Error> {
        let failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        failed.as_ref().map(|f| f.error.clone())
    }

    /// The failure, if the sink gave up; takes the handed-back records.
    fn failure(&self) -> Option<SinkError> {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        failed.as_mut().map(|f| SinkError {
            error: f.error.clone(),
            undelivered: std::mem::take(&mut f.undelivered),
        })
    }
}

/// Records published to JetStream with acknowledgements
/// ([`JetStream::sink`]). A record counts as sent only when the server has
/// acknowledged it; until then the sink holds it, and resends it (with the
/// ones after it, in order) when its acknowledgement does not come: after a
/// server restart or a lost connection. Give records an [`id`](Record::id)
/// so that a resent one the server had already stored is recognised and
/// not stored twice.
///
/// Clones share the sink. The sink keeps publishing what it holds when its
/// handles are dropped; [`flush`](Self::flush) waits for it.
#[derive(Clone)]
pub struct Sink {
    tx: mpmc::Sender<Input>,
    subject: Arc<str>,
    max_payload: usize,
    ordered: bool,
    shared: Arc<Shared>,
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

impl JetStream {
    /// A sink publishing to `subject` (a record may name its own).
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// use nimsync_nats::{Client, ConnectOptions, Record, SinkOptions, StreamSpec};
    ///
    /// let js = Client::connect(ConnectOptions::new("127.0.0.1:4222")).await?.jetstream();
    /// js.create_stream(&StreamSpec::new("LOGS", ["logs.>"])).await?;
    /// let sink = js.sink("logs.app", SinkOptions::default());
    /// for i in 0..1000 {
    ///     sink.send(Record::new(format!("line {i}")).id(format!("app-{i}"))).await.unwrap();
    /// }
    /// let report = sink.flush().await.unwrap();
    /// assert_eq!(report.acked, 1000);
    /// # Ok::<(), nimsync_nats::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn sink(&self, subject: impl Into<String>, opts: SinkOptions) -> Sink {
        let (tx, rx) = mpmc::channel(opts.max_in_flight);
        let shared = Arc::new(Shared::default());
        // The context starts a task on the connection's runtime.
        let entered = self.client.host.enter();
        let ctx = async_nats::jetstream::context::ContextBuilder::new()
            // Awaited acknowledgements (and the publish's own enqueue) wait
            // `timeout`; `ack_timeout` is for ones never awaited (a resend
            // replaces them). Room for a window and its resend.
            .timeout(opts.ack_timeout)
            .ack_timeout(opts.ack_timeout)
            .max_ack_inflight(2 * opts.max_in_flight + 16)
            .build(self.client.inner.clone());
        drop(entered);
        let subject: String = subject.into();
        let ordered = opts.ordered;
        let task = Task {
            ctx,
            subject: subject.clone(),
            opts,
            shared: shared.clone(),
            window: VecDeque::new(),
            last_acked: None,
        };
        drop(self.client.host.spawn(task.run(rx)));
        Sink {
            tx,
            subject: subject.into(),
            max_payload: self.client.max_payload(),
            ordered,
            shared,
        }
    }
}

impl Sink {
    /// Hands `record` to the sink, waiting while it holds its limit of
    /// records (backpressure).
    ///
    /// # Errors
    /// This record, handed back: with [`ErrorKind::InvalidSubject`] or
    /// [`ErrorKind::TooLarge`] (the sink goes on), or with the error the
    /// sink gave up on.
    pub async fn send(&self, record: impl Into<Record>) -> Result<(), SinkError> {
        let record = self.checked(record.into())?;
        match self.tx.send_async(Input::Record(record)).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.refused(e.into_inner())),
        }
    }

    /// [`send`](Self::send) for plain threads: blocks while the sink is
    /// full.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_blocking(&self, record: impl Into<Record>) -> Result<(), SinkError> {
        let record = self.checked(record.into())?;
        match self.tx.send(Input::Record(record)) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.refused(e.into_inner())),
        }
    }

    /// `record`, or an error handing it back when its subject is invalid
    /// or its payload larger than the server takes (the sink goes on).
    fn checked(&self, record: Record) -> Result<Record, SinkError> {
        let subject = record.subject.as_deref().unwrap_or(&self.subject);
        // What the server counts: the payload and the headers, with room
        // for the id and the expected-last-id headers the sink adds.
        let headers: usize = record
            .headers
            .iter()
            .flat_map(|h| h.iter())
            .map(|(k, vs)| {
                vs.iter()
                    .map(|v| AsRef::<str>::as_ref(k).len() + v.as_str().len() + 4)
                    .sum::<usize>()
            })
            .sum();
        let ids = 2 * (record.id.as_ref().map_or(0, String::len) + 32);
        let size = record.payload.len() + headers + ids + 12;
        let error = match check_subject(subject, false) {
            Err(e) => e,
            Ok(()) if self.ordered && record.id.is_none() => Error::new(
                ErrorKind::InvalidRecord,
                format!(
                    "a record to {subject} without an id: an ordered sink chains records by id \
                     (give it Record::id)"
                ),
            ),
            Ok(()) if size > self.max_payload => Error::new(
                ErrorKind::TooLarge,
                format!(
                    "{size} bytes to {subject}; the server takes {}",
                    self.max_payload
                ),
            ),
            Ok(()) => return Ok(record),
        };
        Err(SinkError {
            error,
            undelivered: vec![record],
        })
    }

    /// The error for a record the task no longer takes.
    fn refused(&self, input: Input) -> SinkError {
        let error = self.shared.error().unwrap_or_else(ended);
        let undelivered = match input {
            Input::Record(r) => vec![r],
            Input::Flush(_) => Vec::new(),
        };
        SinkError { error, undelivered }
    }

    /// Sends every item of `stream`, then [`flush`](Self::flush)es.
    ///
    /// # Errors
    /// When the sink gives up: the error and every record not acknowledged
    /// (the rest of the stream is not read).
    pub async fn send_all<S, T>(&self, stream: S) -> Result<SinkReport, SinkError>
    where
        S: Stream<Item = T>,
        T: Into<Record>,
    {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(mut e) = self.send(item).await {
                if let Some(f) = self.shared.failure() {
                    e.undelivered.splice(0..0, f.undelivered);
                }
                return Err(e);
            }
        }
        self.flush().await
    }

    /// Waits until every record sent before this call is acknowledged, and
    /// returns the counts.
    ///
    /// # Errors
    /// When the sink gave up: the error and the records it never had
    /// acknowledged (handed back to the first flush that asks).
    pub async fn flush(&self) -> Result<SinkReport, SinkError> {
        let (tx, rx) = nimsync_channel::oneshot::channel();
        let answered = match self.tx.send_async(Input::Flush(tx)).await {
            Ok(()) => rx.await.ok(),
            Err(_) => None,
        };
        answered.unwrap_or_else(|| {
            // The task is gone: it gave up (the failure says why), or its
            // runtime stopped under it.
            Err(self.shared.failure().unwrap_or_else(|| SinkError {
                error: ended(),
                undelivered: Vec::new(),
            }))
        })
    }

    /// The counts so far.
    pub fn report(&self) -> SinkReport {
        self.shared.report()
    }
}

/// The error for a sink whose task ended without giving up (its runtime
/// shut down).
fn ended() -> Error {
    Error::new(
        ErrorKind::Disconnected,
        "the sink's task has ended (its runtime shut down); records it held were not acknowledged",
    )
}

/// A record published and waiting for its acknowledgement.
struct Pending {
    record: Record,
    /// The acknowledgement to wait for; `None` when the publish itself
    /// failed (the record is resent with the window).
    ack: Option<PublishAckFuture>,
}

/// The task that publishes a sink's records, on the connection's runtime.
struct Task {
    ctx: context::Context,
    subject: String,
    opts: SinkOptions,
    shared: Arc<Shared>,
    /// Records published and not yet acknowledged, in publish order.
    window: VecDeque<Pending>,
    /// The id of the last record acknowledged (an ordered sink's next
    /// record after it expects it).
    last_acked: Option<String>,
}

/// A publish failure, and whether resending may cure it: a lost
/// connection, a missing acknowledgement, or (for an ordered sink) a
/// predecessor the server does not have yet.
fn classify(subject: &str, e: &context::PublishError) -> (Error, bool) {
    let wrong_last = e.kind() == context::PublishErrorKind::WrongLastMessageId;
    let e = publish_error(subject, e);
    let transient = wrong_last || e.is_transient();
    (e, transient)
}

/// A boxed acknowledgement wait.
type AckWait = Pin<
    Box<
        dyn Future<
                Output = Result<async_nats::jetstream::publish::PublishAck, context::PublishError>,
            > + Send,
    >,
>;

impl Task {
    /// Reads inputs until every handle is gone, publishing and waiting for
    /// acknowledgements; gives up after too many failures in a row.
    async fn run(mut self, rx: mpmc::Receiver<Input>) {
        let mut open = true;
        while open || !self.window.is_empty() {
            // Fill the window from the inputs without waiting, or wait for
            // one when there is nothing to acknowledge.
            while open && self.window.len() < self.opts.max_in_flight {
                let input = if self.window.is_empty() {
                    match rx.recv_async().await {
                        Ok(i) => i,
                        Err(_) => {
                            open = false;
                            break;
                        }
                    }
                } else {
                    match rx.try_recv() {
                        Ok(i) => i,
                        Err(_) => break,
                    }
                };
                match input {
                    Input::Record(r) => {
                        let prev = self
                            .window
                            .back()
                            .map_or(self.last_acked.clone(), |p| p.record.id.clone());
                        let ack = self.publish(&r, prev.as_deref()).await;
                        match ack {
                            Ok(ack) => self.window.push_back(Pending { record: r, ack }),
                            Err(error) => return self.give_up(error, Some(r), &rx, None),
                        }
                    }
                    Input::Flush(answer) => {
                        if let Err(error) = self.drain_window().await {
                            return self.give_up(error, None, &rx, Some(answer));
                        }
                        let _ = answer.send(Ok(self.shared.report()));
                    }
                }
            }
            if let Err(error) = self.ack_front().await {
                return self.give_up(error, None, &rx, None);
            }
        }
    }

    /// Publishes a record; `Ok(None)` for a transient failure (resent with
    /// the window), `Err` for one that will fail again.
    async fn publish(
        &self,
        r: &Record,
        prev: Option<&str>,
    ) -> Result<Option<PublishAckFuture>, Error> {
        let subject = r.subject.as_deref().unwrap_or(&self.subject);
        let prev = prev.filter(|_| self.opts.ordered && r.id.is_some());
        let msg = r.to_publish_after(prev);
        match self.ctx.send_publish(subject.to_owned(), msg).await {
            Ok(ack) => Ok(Some(ack)),
            Err(e) => {
                let (e, transient) = classify(subject, &e);
                if transient { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Waits for every record in the window to be acknowledged.
    async fn drain_window(&mut self) -> Result<(), Error> {
        while !self.window.is_empty() {
            self.ack_front().await?;
        }
        Ok(())
    }

    /// Waits for the oldest record's acknowledgement; on a transient
    /// failure waits, then resends the whole window in order, up to the
    /// retry limit.
    async fn ack_front(&mut self) -> Result<(), Error> {
        let mut failures = 0u32;
        loop {
            let Some(front) = self.window.front_mut() else {
                return Ok(());
            };
            let subject = front
                .record
                .subject
                .clone()
                .unwrap_or_else(|| self.subject.clone());
            let outcome = match front.ack.take() {
                Some(ack) => {
                    let wait: AckWait = ack.into_future();
                    wait.await.map_err(|e| classify(&subject, &e))
                }
                None => Err((
                    Error::new(
                        ErrorKind::Disconnected,
                        format!("publish to {subject}: not sent"),
                    ),
                    true,
                )),
            };
            match outcome {
                Ok(ack) => {
                    if let Some(done) = self.window.pop_front() {
                        self.last_acked = done.record.id;
                    }
                    self.shared.acked.fetch_add(1, Ordering::Relaxed);
                    if ack.duplicate {
                        self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                Err((_, true)) if failures < self.opts.retries => {
                    failures += 1;
                    let pause = self
                        .opts
                        .backoff
                        .saturating_mul(1 << (failures - 1).min(16))
                        .min(Duration::from_secs(5));
                    tokio::time::sleep(pause).await;
                    if self.ctx.client().connection_state()
                        != async_nats::connection::State::Connected
                    {
                        // Resending into a dead connection would only queue
                        // copies: wait for it (the pause grows meanwhile).
                        continue;
                    }
                    self.resend().await?;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Publishes every record in the window again, in order, replacing the
    /// acknowledgements awaited.
    async fn resend(&mut self) -> Result<(), Error> {
        self.shared.resends.fetch_add(1, Ordering::Relaxed);
        let mut prev = self.last_acked.clone();
        for p in &mut self.window {
            p.ack = None;
        }
        for i in 0..self.window.len() {
            let ack = self
                .publish(&self.window[i].record, prev.as_deref())
                .await?;
            if ack.is_none() {
                // The connection failed again: the rest waits for the next
                // pass.
                break;
            }
            self.window[i].ack = ack;
            prev.clone_from(&self.window[i].record.id);
        }
        Ok(())
    }

    /// Gives up: records the failure with every record held (the window,
    /// `extra`, and the inputs queued), stops taking inputs, and answers
    /// the flushes queued and `flush` (the first of them gets the
    /// records; a later flush gets the error alone).
    fn give_up(
        &mut self,
        error: Error,
        extra: Option<Record>,
        rx: &mpmc::Receiver<Input>,
        flush: Option<Answer>,
    ) {
        // The failure is on record before the inputs close, so a send or
        // flush that finds them closed finds it.
        let mut failed = self
            .shared
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut undelivered: Vec<Record> = self.window.drain(..).map(|p| p.record).collect();
        undelivered.extend(extra);
        rx.close();
        let mut flushes: Vec<Answer> = flush.into_iter().collect();
        while let Ok(input) = rx.try_recv() {
            match input {
                Input::Record(r) => undelivered.push(r),
                Input::Flush(f) => flushes.push(f),
            }
        }
        *failed = Some(SinkError { error, undelivered });
        drop(failed);
        for f in flushes {
            if let Some(failure) = self.shared.failure() {
                let _ = f.send(Err(failure));
            }
        }
    }
}
