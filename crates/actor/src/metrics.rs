//! Per-actor counters and the [`ActorMetrics`] snapshot.

use crate::error::Failure;
use crate::sync::{AtomicU64, Ordering};

/// Counters of one actor, kept across restarts.
#[derive(Debug)]
pub(crate) struct Counters {
    processed: AtomicU64,
    failures: AtomicU64,
    dead_letters: AtomicU64,
    restarts: AtomicU64,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            processed: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        }
    }

    /// One message handled (or failed on). Only the running incarnation
    /// writes it, so a load and a store do.
    #[inline]
    pub(crate) fn processed(&self, n: u64) {
        self.processed.store(
            self.processed.load(Ordering::Relaxed) + n,
            Ordering::Relaxed,
        );
    }
    pub(crate) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(
        &self,
        depth: usize,
        capacity: Option<usize>,
        last_failure: Option<Failure>,
    ) -> ActorMetrics {
        ActorMetrics {
            processed: self.processed.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            depth,
            capacity,
            last_failure,
        }
    }
}

/// A snapshot of one actor's counters, kept across its restarts.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler};
///
/// struct Sink;
/// impl Actor for Sink {}
/// impl Handler<u8> for Sink {
///     type Reply = ();
///     async fn handle(&mut self, _: u8, _: &mut Context<Self>) {}
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let sink = nimsync_actor::spawn(Sink);
///     for n in 0..10u8 {
///         sink.tell(n).await.unwrap();
///     }
///     sink.ask(0u8).await.unwrap(); // the tells before it are handled
///     let m = sink.metrics();
///     assert_eq!((m.processed, m.failures, m.dead_letters, m.depth), (11, 0, 0, 0));
///     assert_eq!(m.capacity, Some(64));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorMetrics {
    /// Messages taken up by a handler, across incarnations (including
    /// those whose handler failed, and one being handled now).
    pub processed: u64,
    /// Incarnations that failed.
    pub failures: u64,
    /// Messages that went to the dead letters.
    pub dead_letters: u64,
    /// Restarts by its supervisor.
    pub restarts: u64,
    /// Messages queued now.
    pub depth: usize,
    /// The mailbox's bound, `None` if unbounded.
    pub capacity: Option<usize>,
    /// The last failure, if any.
    pub last_failure: Option<Failure>,
}
