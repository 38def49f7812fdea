//! What every bounded stage counts.

use crossbeam_utils::CachePadded;

use crate::DropReason;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of a bounded stage's counters, from `metrics()`.
///
/// Every item offered to a stage is accounted for exactly once:
///
/// `offered = delivered + dropped() + conflated + rejected + undelivered + depth`
///
/// where an item a [`Conflate`](crate::Overflow::conflate) policy merged
/// counts as conflated, and one a [`Fail`](crate::Overflow::Fail) policy
/// refused (handed back to its producer) as rejected. Sends on a closed
/// stage hand the item back and are not offered. While producers and the
/// consumer run, the counters are read one after the other, so the figures
/// are exact only once the stage is quiet.
///
/// The stream channel keeps its producers' path free of shared counters:
/// each figure is counted where it happens (deliveries by the consumer,
/// drops and rejections on their own rare paths), `offered` is derived
/// from them and the depth by the equation above, and the high-water mark
/// is sampled: at every overflow (when it is the capacity), every 64 items
/// the consumer takes, and by every `metrics()` call. The `buffer` and
/// `throttle` stages, which run on one task, count every figure.
///
/// ```
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, mut rx) = channel(2, Overflow::DropNewest);
/// for i in 0..5 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.try_recv(), Ok(0));
/// let m = rx.metrics();
/// assert_eq!((m.offered, m.delivered, m.dropped_newest, m.depth), (5, 1, 3, 1));
/// assert_eq!(m.high_water, 2);
/// assert_eq!(m.offered, m.delivered + m.dropped() + m.depth as u64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Items given to the stage (sends that did not find it closed).
    pub offered: u64,
    /// Items the consumer took.
    pub delivered: u64,
    /// Items evicted by [`DropOldest`](crate::Overflow::DropOldest).
    pub dropped_oldest: u64,
    /// New items refused by [`DropNewest`](crate::Overflow::DropNewest).
    pub dropped_newest: u64,
    /// Items cleared by [`DropBuffer`](crate::Overflow::DropBuffer).
    pub dropped_buffer: u64,
    /// Items that failed a failing [`buffer`](crate::StageExt::buffer) or
    /// [`throttle`](crate::StageExt::throttle) stage and went to its
    /// `on_drop` hook.
    pub dropped_failed: u64,
    /// Items above the rate of a dropping
    /// [`throttle`](crate::StageExt::throttle).
    pub dropped_throttled: u64,
    /// Items merged into another by a
    /// [`Conflate`](crate::Overflow::conflate) policy.
    pub conflated: u64,
    /// Items refused by [`Fail`](crate::Overflow::Fail) and handed back to
    /// their producer in an error.
    pub rejected: u64,
    /// Items the stage held when its consumer went away, handed to the
    /// `on_undelivered` hook or returned by `into_remainder`.
    pub undelivered: u64,
    /// Items held now.
    pub depth: usize,
    /// The most items held at once so far (sampled by the stream channel,
    /// see above).
    pub high_water: usize,
}

impl Metrics {
    /// Every item dropped, whatever the reason.
    ///
    /// ```
    /// let m = nimsync_stream::Metrics::default();
    /// assert_eq!(m.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_oldest
            + self.dropped_newest
            + self.dropped_buffer
            + self.dropped_failed
            + self.dropped_throttled
    }
}

/// The counters behind [`Metrics`], shared by a stage's producers and its
/// consumer. Each is only ever incremented; relaxed ordering, as they
/// order nothing else.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Written by every producer.
    offered: CachePadded<AtomicU64>,
    /// Written by the one consumer.
    delivered: CachePadded<AtomicU64>,
    /// The rare events, written together.
    dropped_oldest: AtomicU64,
    dropped_newest: AtomicU64,
    dropped_buffer: AtomicU64,
    dropped_failed: AtomicU64,
    dropped_throttled: AtomicU64,
    conflated: AtomicU64,
    rejected: AtomicU64,
    undelivered: AtomicU64,
    high_water: AtomicUsize,
}

impl Default for Counters {
    fn default() -> Self {
        let zero = || AtomicU64::new(0);
        Self {
            offered: CachePadded::new(zero()),
            delivered: CachePadded::new(zero()),
            dropped_oldest: zero(),
            dropped_newest: zero(),
            dropped_buffer: zero(),
            dropped_failed: zero(),
            dropped_throttled: zero(),
            conflated: zero(),
            rejected: zero(),
            undelivered: zero(),
            high_water: AtomicUsize::new(0),
        }
    }
}

impl Counters {
    pub(crate) fn offered(&self) {
        self.offered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` deliveries and returns the new total; only the consumer
    /// calls this, so a load and a store do (no read-modify-write on the
    /// consumer's path).
    pub(crate) fn delivered(&self, n: u64) -> u64 {
        let d = self.delivered.load(Ordering::Relaxed) + n;
        self.delivered.store(d, Ordering::Relaxed);
        d
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        let counter = match reason {
            DropReason::Oldest => &self.dropped_oldest,
            DropReason::Newest => &self.dropped_newest,
            DropReason::Buffer => &self.dropped_buffer,
            DropReason::Failed => &self.dropped_failed,
            DropReason::Throttled => &self.dropped_throttled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        tracing::trace!(target: "nimsync_stream", reason = ?reason, "a stream stage dropped an item");
    }

    pub(crate) fn conflated(&self) {
        self.conflated.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        tracing::warn!(
            target: "nimsync_stream",
            "a stream stage overflowed under the Fail policy and closed"
        );
    }

    pub(crate) fn undelivered(&self) {
        self.undelivered.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "nimsync_stream",
            "a stream stage went away holding an item (handed to on_undelivered or into_remainder)"
        );
    }

    /// Raises the high-water mark to `depth` if it is higher.
    pub(crate) fn depth(&self, depth: usize) {
        if depth > self.high_water.load(Ordering::Relaxed) {
            self.high_water.fetch_max(depth, Ordering::Relaxed);
        }
    }

    /// A snapshot whose `offered` is derived from the other counters and
    /// `depth`, for a stage that does not count what it takes (the stream
    /// channel, where a counter every producer writes would cost more than
    /// the send).
    pub(crate) fn snapshot_derived(&self, depth: usize) -> Metrics {
        let mut m = self.snapshot(depth);
        m.offered =
            m.delivered + m.dropped() + m.conflated + m.rejected + m.undelivered + depth as u64;
        m
    }

    pub(crate) fn snapshot(&self, depth: usize) -> Metrics {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Metrics {
            offered: r(&self.offered),
            delivered: r(&self.delivered),
            dropped_oldest: r(&self.dropped_oldest),
            dropped_newest: r(&self.dropped_newest),
            dropped_buffer: r(&self.dropped_buffer),
            dropped_failed: r(&self.dropped_failed),
            dropped_throttled: r(&self.dropped_throttled),
            conflated: r(&self.conflated),
            rejected: r(&self.rejected),
            undelivered: r(&self.undelivered),
            depth,
            high_water: self.high_water.load(Ordering::Relaxed).max(depth),
        }
    }
}
