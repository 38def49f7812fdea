//! Core publishes made off the connection's runtime, handed to it in
//! batches.
//!
//! A publish awaited on a thread that is not a tokio worker would otherwise
//! push each message into async-nats's command queue from that thread,
//! waking the I/O thread per message and freeing on it what the caller
//! allocated. The outbox is a bounded nimsync MPMC queue instead: callers
//! push messages (waiting when it is full: backpressure); one task on the
//! connection's runtime takes them in batches and publishes each there.
//! Order is kept per caller; a flush goes through the same queue, so it
//! covers every message queued before it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use async_nats::Subject;
use bytes::Bytes;
use nimsync_channel::{mpmc, oneshot};
use tokio::runtime::Handle;

use crate::{Error, ErrorKind};

/// Messages the outbox holds before a publish waits.
const CAPACITY: usize = 4096;

/// The most messages the task takes at once.
const BATCH: usize = 256;

/// The room a publisher that found the outbox full waits for.
const REFILL: usize = 64;

/// What the outbox carries.
pub(crate) enum Out {
    /// A message to publish.
    Publish(Subject, Bytes),
    /// Answer once everything before it is written to the server.
    Flush(oneshot::Sender<Result<(), Error>>),
}

/// A client's outbox, started on first use.
#[derive(Clone, Default)]
pub(crate) struct Outbox {
    tx: Arc<OnceLock<mpmc::Sender<Out>>>,
    /// Set by [`Client::close`](crate::Client::close): pushes fail.
    closed: Arc<AtomicBool>,
}

impl Outbox {
    /// The queue, starting its task on `host` the first time.
    fn sender(&self, host: &Handle, client: &async_nats::Client) -> &mpmc::Sender<Out> {
        self.tx.get_or_init(|| {
            let (tx, rx) = mpmc::channel(CAPACITY);
            drop(host.spawn(drain(rx, client.clone())));
            tx
        })
    }

    /// Whether a publish has gone through the outbox yet.
    pub(crate) fn started(&self) -> bool {
        self.tx.get().is_some()
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Refuses every later push.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Queues `out`, waiting while the outbox is full.
    pub(crate) async fn push(
        &self,
        host: &Handle,
        client: &async_nats::Client,
        out: Out,
    ) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Disconnected, "the client is closed"));
        }
        let closed = || Error::new(ErrorKind::Disconnected, "the client is closed");
        let tx = self.sender(host, client);
        match tx.try_send(out) {
            Ok(()) => Ok(()),
            Err(nimsync_channel::TrySendError::Full(out)) => {
                // Full: wait until a batch's worth of room is free, not one
                // slot, so that the I/O thread wakes a waiting publisher
                // once per batch instead of once per message.
                let mut permits = tx.reserve_many(REFILL).await.map_err(|_| closed())?;
                let permit = permits
                    .next()
                    .expect("reserve_many(REFILL) grants REFILL permits");
                permit.send(out).map_err(|_| closed())
            }
            Err(_) => Err(closed()),
        }
    }
}

/// Publishes what the outbox holds, in batches, until every client handle
/// is gone.
async fn drain(rx: mpmc::Receiver<Out>, client: async_nats::Client) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Ok(first) = rx.recv_async().await {
        batch.push(first);
        let _ = rx.try_recv_many(&mut batch, BATCH - 1);
        for out in batch.drain(..) {
            match out {
                // The subject and size were checked when queued; a publish
                // fails only once the client is closed.
                Out::Publish(subject, payload) => drop(client.publish(subject, payload).await),
                Out::Flush(answer) => {
                    // Queued behind every publish before it; answered by
                    // its own task, so a flush waiting out a lost
                    // connection holds up no publisher.
                    let client = client.clone();
                    drop(tokio::spawn(async move {
                        let flushed = client
                            .flush()
                            .await
                            .map_err(|e| Error::new(ErrorKind::Disconnected, e.to_string()));
                        let _ = answer.send(flushed);
                    }));
                }
            }
        }
    }
}

thread_local! {
    /// The subject this thread published to last, reused while it is the
    /// same (a clone shares its bytes instead of allocating).
    static LAST_SUBJECT: RefCell<Option<Subject>> = const { RefCell::new(None) };
}

/// `subject` as async-nats's type, reusing this thread's last one when
/// equal.
pub(crate) fn subject(subject: &str) -> Subject {
    LAST_SUBJECT.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(s) if s.as_str() == subject => s.clone(),
            _ => {
                let s = Subject::from(subject);
                *last = Some(s.clone());
                s
            }
        }
    })
}
