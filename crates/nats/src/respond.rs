//! Serving a subject: request-reply responders on a pool of workers.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::Message;
use bytes::Bytes;
use futures_lite::StreamExt;
use tokio::task::{JoinHandle, JoinSet};

use crate::error::check_subject;
use crate::{Client, Error};

/// How a [`Responder`] serves its subject.
///
/// ```
/// let opts = nimsync_nats::ServeOptions::new(8).queue_group("pricing");
/// assert_eq!(opts.workers(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct ServeOptions {
    workers: usize,
    queue_group: Option<String>,
    grace: Duration,
}

impl ServeOptions {
    /// At most `workers` requests handled at once; more wait in the
    /// subscription.
    ///
    /// # Panics
    /// If `workers` is 0 (use 1 to handle one request at a time).
    pub fn new(workers: usize) -> Self {
        assert!(
            workers > 0,
            "ServeOptions::new: 0 workers would serve nothing; use 1 or more"
        );
        Self {
            workers,
            queue_group: None,
            grace: Duration::from_secs(10),
        }
    }

    /// How long a stopping responder waits for the handlers still running
    /// before it aborts them (10 s unless set).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Joins this queue group, so that responders in several processes
    /// share the requests (each request goes to one of them).
    pub fn queue_group(mut self, group: impl Into<String>) -> Self {
        self.queue_group = Some(group.into());
        self
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.workers
    }
}

/// What a responder has done so far.
#[derive(Debug, Default)]
struct Counts {
    served: AtomicU64,
    panicked: AtomicU64,
    no_reply: AtomicU64,
    reply_failed: AtomicU64,
    aborted: AtomicU64,
}

/// A snapshot of a [`Responder`]'s counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ResponderStats {
    /// Requests answered.
    pub served: u64,
    /// Handlers that panicked (their requester gets no reply and times
    /// out).
    pub panicked: u64,
    /// Messages without a reply subject, skipped.
    pub no_reply: u64,
    /// Replies that could not be published.
    pub reply_failed: u64,
    /// Handlers aborted at a stop because they outlasted the grace period
    /// (their requesters get no reply).
    pub aborted: u64,
}

/// A running responder ([`Client::serve`]). Dropping it, or
/// [`stop`](Self::stop), unsubscribes; requests that had arrived are
/// answered, and handlers get the grace period to finish.
///
/// Handlers run on the connection's runtime (the `nimsync-nats` thread
/// unless the client was made on a tokio runtime): a handler that blocks
/// that thread holds up the connection's I/O; spawn blocking work
/// elsewhere.
pub struct Responder {
    task: JoinHandle<()>,
    counts: Arc<Counts>,
    stop: Option<nimsync_channel::oneshot::Sender<()>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Serves `subject`: each request's payload goes to `handler`, whose
    /// answer is the reply. Up to `opts.workers()` handlers run at once on
    /// the connection's runtime; a queue group shares the subject with
    /// responders elsewhere.
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// use nimsync_nats::{Client, ConnectOptions, ServeOptions};
    ///
    /// let client = Client::connect(ConnectOptions::new("127.0.0.1:4222")).await?;
    /// let _upper = client
    ///     .serve("text.upper", ServeOptions::new(4).queue_group("text"), |msg| async move {
    ///         String::from_utf8_lossy(&msg.payload).to_uppercase()
    ///     })
    ///     .await?;
    /// let reply = client.request("text.upper", "hi").await?;
    /// assert_eq!(&reply.payload[..], b"HI");
    /// # Ok::<(), nimsync_nats::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSubject`](crate::ErrorKind::InvalidSubject) for a
    /// bad subject or group name,
    /// [`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected) once the
    /// client is closed.
    pub async fn serve<F, Fut, R>(
        &self,
        subject: impl AsRef<str>,
        opts: ServeOptions,
        handler: F,
    ) -> Result<Responder, Error>
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<Bytes>,
    {
        check_subject(subject.as_ref(), true)?;
        let mut sub = self
            .raw_subscribe(subject.as_ref(), opts.queue_group.clone())
            .await?;
        let inner = self.inner.clone();
        let counts = Arc::new(Counts::default());
        let (stop_tx, mut stop_rx) = nimsync_channel::oneshot::channel::<()>();
        let (c, workers, handler) = (counts.clone(), opts.workers, Arc::new(handler));
        let grace = opts.grace;
        let task = self.host.spawn(async move {
            let mut running = JoinSet::new();
            let handle = |msg: Message, running: &mut JoinSet<()>| {
                let Some(reply) = msg.reply.clone() else {
                    c.no_reply.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let (client, handler, c) = (inner.clone(), handler.clone(), c.clone());
                running.spawn(async move {
                    let answer: Bytes = handler(msg).await.into();
                    match client.publish(reply, answer).await {
                        Ok(()) => c.served.fetch_add(1, Ordering::Relaxed),
                        Err(_) => c.reply_failed.fetch_add(1, Ordering::Relaxed),
                    };
                });
            };
            /// What the loop woke for.
            enum Step {
                Stop,
                Reaped,
                Next(Option<Message>),
            }
            loop {
                // The stop first, and also while every worker is busy: a
                // steady flow of requests or a stuck handler cannot hold
                // it off.
                let step = if running.len() >= workers {
                    let reaped = async {
                        reap(&mut running, &c).await;
                        Step::Reaped
                    };
                    futures_lite::future::or(
                        async {
                            let _ = (&mut stop_rx).await;
                            Step::Stop
                        },
                        reaped,
                    )
                    .await
                } else {
                    futures_lite::future::or(
                        async {
                            let _ = (&mut stop_rx).await;
                            Step::Stop
                        },
                        async { Step::Next(sub.next().await) },
                    )
                    .await
                };
                match step {
                    Step::Reaped => {}
                    Step::Next(Some(msg)) => handle(msg, &mut running),
                    Step::Stop | Step::Next(None) => break,
                }
            }
            // Stopping: unsubscribe, then within the grace period answer
            // what had already arrived and let the handlers finish; abort
            // what is left.
            let _ = sub.unsubscribe().await;
            let finish = async {
                while let Some(msg) = sub.next().await {
                    while running.len() >= workers {
                        reap(&mut running, &c).await;
                    }
                    handle(msg, &mut running);
                }
                while !running.is_empty() {
                    reap(&mut running, &c).await;
                }
            };
            let timed_out = tokio::time::timeout(grace, finish).await.is_err();
            if timed_out {
                running.abort_all();
                while let Some(ended) = running.join_next().await {
                    if ended.is_err() {
                        c.aborted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(Responder {
            task,
            counts,
            stop: Some(stop_tx),
        })
    }
}

/// Waits for one handler to end, counting a panic.
async fn reap(running: &mut JoinSet<()>, counts: &Counts) {
    if let Some(Err(e)) = running.join_next().await
        && e.is_panic()
    {
        counts.panicked.fetch_add(1, Ordering::Relaxed);
    }
}

impl Responder {
    /// Counts so far.
    pub fn stats(&self) -> ResponderStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ResponderStats {
            served: get(&self.counts.served),
            panicked: get(&self.counts.panicked),
            no_reply: get(&self.counts.no_reply),
            reply_failed: get(&self.counts.reply_failed),
            aborted: get(&self.counts.aborted),
        }
    }

    /// Unsubscribes, answers the requests that had already arrived, and
    /// waits until the handlers finish (aborting those that outlast the
    /// grace period).
    pub async fn stop(mut self) -> ResponderStats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.stats()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
