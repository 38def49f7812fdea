//! A connection to a NATS server, usable from any executor.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::{Message, Subject};
use bytes::Bytes;
use tokio::runtime::Handle;

use crate::error::{check_subject, from_nats};
use crate::host::{self, Hosted};
use crate::{ConnectOptions, Error, ErrorKind, IntoSubject};

/// A connection to a NATS server. Cheap to clone: clones share the
/// connection, which reconnects by itself after a server restart or a
/// network failure (publishes made while it is down are buffered).
///
/// Every future it returns can be awaited from any executor: nimsync's
/// runtime, tokio, smol, or a plain thread under any `block_on` (see the
/// crate documentation for where the socket runs).
///
/// ```no_run
/// # futures_lite::future::block_on(async {
/// use nimsync_nats::{Client, ConnectOptions};
///
/// let client = Client::connect(ConnectOptions::new("nats://127.0.0.1:4222")).await?;
/// client.publish("greetings", "hello").await?;
/// client.flush().await?;
/// # Ok::<(), nimsync_nats::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: async_nats::Client,
    pub(crate) host: Handle,
    request_timeout: Duration,
    /// Set by [`close`](Self::close), shared by the clones: publishes fail.
    closed: Arc<AtomicBool>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.is_connected())
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the server `opts` names, logging in with its
    /// credentials.
    ///
    /// # Errors
    /// [`ErrorKind::BadUrl`] for an address that does not parse,
    /// [`ErrorKind::Unreachable`] when no server answers within the connect
    /// timeout, [`ErrorKind::NotAuthorized`] when the server refuses the
    /// credentials, [`ErrorKind::BadCredentials`] for an unreadable
    /// credentials file, [`ErrorKind::Tls`] for a failed handshake.
    pub async fn connect(opts: ConnectOptions) -> Result<Client, Error> {
        let host = host::handle();
        let url = opts.url.clone();
        let (deadline, request_timeout) = (opts.connect_timeout, opts.request_timeout);
        let connect = Hosted::new(&host, async move {
            // Inside the runtime: reading a credentials file uses it.
            let nats = opts.to_nats().await?;
            let addrs: Vec<async_nats::ServerAddr> = url
                .split(',')
                .map(|u| u.trim().parse::<async_nats::ServerAddr>())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::new(ErrorKind::BadUrl, format!("{url:?}: {e}")))?;
            match tokio::time::timeout(deadline, nats.connect(addrs)).await {
                Ok(connected) => connected.map_err(|e| {
                    let e = from_nats(e);
                    // A refused certificate arrives as an I/O error.
                    let text = e.detail().to_ascii_lowercase();
                    if e.kind() == ErrorKind::Unreachable
                        && ["certificate", "handshake", "tls alert"]
                            .iter()
                            .any(|w| text.contains(w))
                    {
                        Error::new(ErrorKind::Tls, e.detail())
                    } else {
                        e
                    }
                }),
                Err(_) => Err(Error::new(
                    ErrorKind::Unreachable,
                    format!("{url}: no answer within {deadline:?}"),
                )),
            }
        });
        let inner = connect.await?;
        Ok(Client {
            inner,
            host,
            request_timeout,
            closed: Arc::default(),
        })
    }

    /// The async-nats client underneath, for what this crate does not wrap.
    /// Its futures need a tokio runtime.
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner
    }

    /// Whether the connection is up now (it reconnects by itself when not).
    pub fn is_connected(&self) -> bool {
        self.inner.connection_state() == async_nats::connection::State::Connected
    }

    /// Whether [`close`](Self::close) was called on this client or a
    /// clone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The largest payload the server accepts, in bytes.
    pub fn max_payload(&self) -> usize {
        self.inner.max_payload()
    }

    /// An async-nats subscription to a checked subject, in `queue_group`
    /// if given.
    pub(crate) async fn raw_subscribe(
        &self,
        subject: &str,
        queue_group: Option<String>,
    ) -> Result<async_nats::Subscriber, Error> {
        let subject = Subject::from(subject);
        let inner = &self.inner;
        self.hosted(async {
            match queue_group {
                Some(group) => inner.queue_subscribe(subject, group).await,
                None => inner.subscribe(subject).await,
            }
        })
        .await
        .map_err(from_nats)
    }

    /// Runs `fut` with the connection's runtime entered.
    pub(crate) fn hosted<F: Future>(&self, fut: F) -> Hosted<F> {
        Hosted::new(&self.host, fut)
    }

    /// Publishes `payload` to `subject` (at most once: core NATS keeps no
    /// copy; use [`JetStream`](crate::JetStream) for acknowledged
    /// publishes). Returns once the message is queued for the socket; waits
    /// while async-nats's queue to the connection's thread is full.
    ///
    /// The subject is an [`IntoSubject`]: a literal or a `String` costs no
    /// copy.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSubject`], [`ErrorKind::TooLarge`] (over the
    /// server's `max_payload`), [`ErrorKind::Disconnected`] once the client
    /// is closed.
    pub fn publish(
        &self,
        subject: impl IntoSubject,
        payload: impl Into<Bytes>,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        // Checked when called; the future only queues the message (one
        // state machine around async-nats's, which checks the size).
        let (subject, payload) = (subject.into_subject(), payload.into());
        let checked = check_subject(subject.as_str(), false).and_then(|()| self.check_open());
        let len = payload.len();
        async move {
            checked?;
            self.inner
                .publish(subject, payload)
                .await
                .map_err(|e| self.publish_error(e, len))
        }
    }

    /// Publishes a checked message.
    pub(crate) async fn send(&self, subject: Subject, payload: Bytes) -> Result<(), Error> {
        self.check_open()?;
        let len = payload.len();
        // A core publish only pushes onto async-nats's queue to the
        // connection's task (no timer, no socket), so it is awaited here
        // without entering the connection's runtime: the caller's thread
        // queues each message itself, as a task on that runtime would.
        self.inner
            .publish(subject, payload)
            .await
            .map_err(|e| self.publish_error(e, len))
    }

    /// [`ErrorKind::Disconnected`] once [`close`](Self::close) was called.
    fn check_open(&self) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::new(ErrorKind::Disconnected, "the client is closed"));
        }
        Ok(())
    }

    /// A failed publish of `len` bytes as this crate's error.
    #[cold]
    fn publish_error(&self, e: async_nats::PublishError, len: usize) -> Error {
        let e = from_nats(e);
        if e.kind() != ErrorKind::TooLarge {
            return e;
        }
        Error::new(
            ErrorKind::TooLarge,
            format!(
                "a payload of {len} bytes; the server takes at most {} (its \
                 max_payload): split it, or raise max_payload in the server's \
                 configuration",
                self.max_payload()
            ),
        )
    }

    /// Waits until everything published so far has been written to the
    /// connection. The server then handles it in order; a message published
    /// to one's own subscription and received back shows that it has
    /// handled everything sent before it.
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when the connection is closed.
    pub async fn flush(&self) -> Result<(), Error> {
        self.hosted(self.inner.flush())
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, e.to_string()))
    }

    /// Sends a request and waits for one reply, until the client's request
    /// timeout or the caller's nimsync-group deadline
    /// ([`nimsync_group::current_deadline`]), whichever comes first.
    ///
    /// # Errors
    /// [`ErrorKind::NoResponders`] when nobody serves the subject (known at
    /// once), [`ErrorKind::TimedOut`] at the deadline,
    /// [`ErrorKind::InvalidSubject`], [`ErrorKind::TooLarge`],
    /// [`ErrorKind::Disconnected`].
    pub async fn request(
        &self,
        subject: impl AsRef<str>,
        payload: impl Into<Bytes>,
    ) -> Result<Message, Error> {
        let own = Instant::now().checked_add(self.request_timeout);
        self.request_by(subject.as_ref(), payload.into(), own).await
    }

    /// [`request`](Self::request) with this timeout instead of the
    /// client's (the group deadline still applies when earlier).
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub async fn request_timeout(
        &self,
        subject: impl AsRef<str>,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let own = Instant::now().checked_add(timeout);
        self.request_by(subject.as_ref(), payload.into(), own).await
    }

    /// A request bounded by the earlier of `own` and the group deadline.
    async fn request_by(
        &self,
        subject: &str,
        payload: Bytes,
        own: Option<Instant>,
    ) -> Result<Message, Error> {
        check_subject(subject, false)?;
        let deadline = match (own, nimsync_group::current_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(Error::new(
                ErrorKind::TimedOut,
                format!("request to {subject}: the deadline had passed before it was sent"),
            ));
        }
        // The wait is bounded on nimsync-time, as the caller's scope is: at
        // a shared deadline the request reports its own error.
        let request = async_nats::Request::new().payload(payload).timeout(None);
        let reply = self.hosted(self.inner.send_request(Subject::from(subject), request));
        let reply = match deadline {
            Some(at) => nimsync_time::timeout_at(at, reply).await.map_err(|_| {
                Error::new(
                    ErrorKind::TimedOut,
                    format!("request to {subject}: no reply before the deadline"),
                )
            })?,
            None => reply.await,
        };
        reply.map_err(|e| {
            let e = from_nats(e);
            Error::new(e.kind(), format!("request to {subject}: {}", e.detail()))
        })
    }

    /// Writes out everything published so far, then
    /// closes the connection: subscriptions end, and later publishes on
    /// this client or its clones fail with [`ErrorKind::Disconnected`].
    ///
    /// # Errors
    /// [`ErrorKind::Disconnected`] when it was already closed or the flush
    /// failed.
    pub async fn close(&self) -> Result<(), Error> {
        let flushed = self.flush().await;
        self.closed.store(true, Ordering::Release);
        flushed?;
        self.hosted(self.inner.drain())
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, e.to_string()))
    }
}
