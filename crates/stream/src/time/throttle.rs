//! `throttle`: at most a rate of items, with a burst, shaped, dropped or
//! failed beyond it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use nimsync_time::Sleep;
use pin_project_lite::pin_project;

use crate::metrics::Counters;
use crate::overflow::DropHook;
use crate::{DropReason, Metrics};

/// A rate: `count` items per `per`.
///
/// ```
/// use std::time::Duration;
/// use nimsync_stream::Rate;
///
/// assert_eq!(Rate::per_second(4).interval(), Duration::from_millis(250));
/// assert_eq!(Rate::new(3, Duration::from_millis(30)).interval(), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    count: u32,
    per: Duration,
}

impl Rate {
    /// `count` items per `per`.
    ///
    /// # Panics
    ///
    /// If `count` is 0 or `per` is zero: a rate must let items through.
    /// To stop a stream, use [`until`](crate::StageExt::until); for no
    /// limit, leave the stage out.
    ///
    /// ```
    /// let r = nimsync_stream::Rate::new(10, std::time::Duration::from_secs(1));
    /// assert_eq!(r, nimsync_stream::Rate::per_second(10));
    /// ```
    pub fn new(count: u32, per: Duration) -> Self {
        assert!(
            count > 0 && !per.is_zero(),
            "a throttle rate needs a positive count and a positive period; to stop a stream \
             use `until`, and for no limit leave the stage out"
        );
        Self { count, per }
    }

    /// `count` items per second.
    ///
    /// # Panics
    ///
    /// If `count` is 0 (see [`Rate::new`]).
    ///
    /// ```
    /// assert_eq!(nimsync_stream::Rate::per_second(1).interval().as_secs(), 1);
    /// ```
    pub fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// The time between two items at this rate.
    ///
    /// ```
    /// let r = nimsync_stream::Rate::per_second(1000);
    /// assert_eq!(r.interval(), std::time::Duration::from_millis(1));
    /// ```
    pub fn interval(&self) -> Duration {
        self.per / self.count
    }
}

/// What [`throttle`](crate::StageExt::throttle) does with an item that
/// arrives above the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleMode {
    /// Hold it until the rate allows it: lossless, and the upstream is not
    /// polled meanwhile (backpressure).
    Shape,
    /// Drop it: to the `on_drop` hook with [`DropReason::Throttled`], and
    /// counted.
    Drop,
    /// End the stream: the item goes to the `on_drop` hook with
    /// [`DropReason::Failed`], and [`exceeded`](Throttle::exceeded) is true.
    Fail,
}

pin_project! {
    /// At most a [`Rate`] of items, with bursts of up to `burst` items at
    /// once, and a [`ThrottleMode`] for the items above it: made by
    /// [`StageExt::throttle`](crate::StageExt::throttle).
    ///
    /// The limit is a token bucket of `burst` tokens refilled at the rate
    /// (computed as the generic cell rate algorithm: one instant per
    /// stage, no timer unless an item must wait).
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Rate, StageExt, ThrottleMode};
    ///
    /// // 100 items arrive at once; 5 pass as a burst, the rest are dropped.
    /// let mut s = stream::iter(0..100).throttle(Rate::per_second(1), 5, ThrottleMode::Drop);
    /// let got: Vec<i32> = futures_lite::future::block_on((&mut s).collect());
    /// assert_eq!(got, [0, 1, 2, 3, 4]);
    /// assert_eq!(s.metrics().dropped_throttled, 95);
    /// ```
    pub struct Throttle<S: Stream> {
        #[pin]
        upstream: S,
        interval: Duration,
        // How far ahead of now the bucket's schedule may run: the burst.
        tolerance: Duration,
        mode: ThrottleMode,
        // When the next item conforms at the latest (the theoretical
        // arrival time); `None` before the first item.
        tat: Option<Instant>,
        // Under `Shape`, the item waiting for its turn, and its timer.
        held: Option<S::Item>,
        timer: Option<Sleep>,
        counters: Counters,
        on_drop: Option<DropHook<S::Item>>,
        exceeded: bool,
        done: bool,
    }
}

impl<S: Stream> Throttle<S> {
    pub(crate) fn new(upstream: S, rate: Rate, burst: u32, mode: ThrottleMode) -> Self {
        assert!(
            burst > 0,
            "a throttle needs a burst of at least 1 (one item at a time)"
        );
        let interval = rate.interval();
        Self {
            upstream,
            interval,
            tolerance: interval.checked_mul(burst - 1).unwrap_or(Duration::MAX),
            mode,
            tat: None,
            held: None,
            timer: None,
            counters: Counters::default(),
            on_drop: None,
            exceeded: false,
            done: false,
        }
    }

    /// Calls `hook(item, reason)` for each item the stage drops.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Rate, StageExt, ThrottleMode};
    ///
    /// let dropped = Arc::new(Mutex::new(Vec::new()));
    /// let sink = dropped.clone();
    /// let s = stream::iter(0..4)
    ///     .throttle(Rate::per_second(1), 1, ThrottleMode::Drop)
    ///     .on_drop(move |item, _| sink.lock().unwrap().push(item));
    /// let got: Vec<i32> = futures_lite::future::block_on(s.collect());
    /// assert_eq!(got, [0]);
    /// assert_eq!(*dropped.lock().unwrap(), [1, 2, 3]);
    /// ```
    pub fn on_drop(mut self, hook: impl Fn(S::Item, DropReason) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Arc::new(hook));
        self
    }

    /// Items in, passed and dropped so far (`depth` is 1 while an item
    /// waits under `Shape`).
    ///
    /// ```
    /// use futures_lite::stream;
    /// use nimsync_stream::{Rate, StageExt, ThrottleMode};
    /// let s = stream::iter(0..3).throttle(Rate::per_second(1), 1, ThrottleMode::Shape);
    /// assert_eq!(s.metrics().offered, 0);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.counters.snapshot(usize::from(self.held.is_some()))
    }

    /// True once a `Fail` throttle ended the stream.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Rate, StageExt, ThrottleMode};
    ///
    /// let mut s = stream::iter(0..3).throttle(Rate::per_second(1), 2, ThrottleMode::Fail);
    /// let got: Vec<i32> = futures_lite::future::block_on((&mut s).collect());
    /// assert_eq!(got, [0, 1]);
    /// assert!(s.exceeded());
    /// ```
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

/// Takes a token at `now` if the bucket has one; else says when it will.
fn conform(
    tat: &mut Option<Instant>,
    interval: Duration,
    tolerance: Duration,
    now: Instant,
) -> Result<(), Instant> {
    let due = tat.unwrap_or(now);
    let earliest = due.checked_sub(tolerance).unwrap_or(now);
    if now >= earliest {
        *tat = Some(super::instant_after(due.max(now), interval));
        Ok(())
    } else {
        Err(earliest)
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        let mut pulled = 0;
        loop {
            if this.held.is_some() {
                let timer = this.timer.as_mut().expect("a held item has a timer");
                if Pin::new(timer).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let now = Instant::now();
                if let Err(at) = conform(this.tat, *this.interval, *this.tolerance, now) {
                    // The timer fired a little early for the clock: wait on.
                    this.timer.as_mut().expect("armed").reset(at);
                    continue;
                }
                this.counters.delivered(1);
                return Poll::Ready(this.held.take());
            }
            if *this.done || *this.exceeded {
                return Poll::Ready(None);
            }
            if pulled == super::PULL_BUDGET {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let item = match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => item,
                Poll::Ready(None) => {
                    *this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            };
            pulled += 1;
            this.counters.offered();
            let Err(at) = conform(this.tat, *this.interval, *this.tolerance, Instant::now()) else {
                this.counters.delivered(1);
                return Poll::Ready(Some(item));
            };
            let reason = match this.mode {
                ThrottleMode::Shape => {
                    *this.held = Some(item);
                    this.counters.depth(1);
                    match this.timer {
                        Some(t) => t.reset(at),
                        None => *this.timer = Some(nimsync_time::sleep_until(at)),
                    }
                    continue;
                }
                ThrottleMode::Drop => DropReason::Throttled,
                ThrottleMode::Fail => {
                    *this.exceeded = true;
                    DropReason::Failed
                }
            };
            this.counters.dropped(reason);
            if let Some(hook) = this.on_drop.as_ref() {
                hook(item, reason);
            }
        }
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Throttle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("upstream", &self.upstream)
            .field("interval", &self.interval)
            .field("mode", &self.mode)
            .field("holding", &self.held.is_some())
            .finish()
    }
}
