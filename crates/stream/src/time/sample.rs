//! `sample`: the newest item of each period.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use nimsync_time::{Interval, MissedTickBehavior};
use pin_project_lite::pin_project;

pin_project! {
    /// Emits, at the end of each `period`, the newest item that arrived
    /// during it (nothing for a period with no item): made by
    /// [`StageExt::sample`](crate::StageExt::sample).
    ///
    /// Older items of a period are dropped by design and counted
    /// ([`superseded`](Sample::superseded)). When the upstream ends, the
    /// newest item not yet emitted is emitted at once.
    ///
    /// # Panics
    ///
    /// [`StageExt::sample`](crate::StageExt::sample) panics if `period` is
    /// zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// // Ten readings at once, sampled every minute: the stream ends
    /// // first, and its newest reading is kept.
    /// let mut s = stream::iter(0..10).sample(Duration::from_secs(60));
    /// let got: Vec<i32> = futures_lite::future::block_on((&mut s).collect());
    /// assert_eq!(got, [9]);
    /// assert_eq!(s.superseded(), 9);
    /// ```
    pub struct Sample<S: Stream> {
        #[pin]
        upstream: S,
        newest: Option<S::Item>,
        ticks: Interval,
        superseded: u64,
        done: bool,
    }
}

impl<S: Stream> Sample<S> {
    pub(crate) fn new(upstream: S, period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "`sample` needs a positive period; to pass every item, leave the stage out"
        );
        let mut ticks = nimsync_time::interval_at(super::deadline_after(period), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Self {
            upstream,
            newest: None,
            ticks,
            superseded: 0,
            done: false,
        }
    }

    /// Items replaced by a newer one in their period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::stream;
    /// use nimsync_stream::StageExt;
    /// assert_eq!(stream::iter([1]).sample(Duration::from_secs(1)).superseded(), 0);
    /// ```
    pub fn superseded(&self) -> u64 {
        self.superseded
    }
}

impl<S: Stream> Stream for Sample<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        let mut pulled = 0;
        while !*this.done && pulled < super::PULL_BUDGET {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    pulled += 1;
                    if this.newest.replace(item).is_some() {
                        *this.superseded += 1;
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        if *this.done {
            return Poll::Ready(this.newest.take());
        }
        // Each tick that finds nothing is passed; polling again arms the
        // next one.
        while this.ticks.poll_tick(cx).is_ready() {
            if let Some(item) = this.newest.take() {
                return Poll::Ready(Some(item));
            }
        }
        if pulled == super::PULL_BUDGET {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Sample<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sample")
            .field("upstream", &self.upstream)
            .field("holding", &self.newest.is_some())
            .field("period", &self.ticks.period())
            .field("superseded", &self.superseded)
            .finish()
    }
}
