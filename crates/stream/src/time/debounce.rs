//! `debounce`: an item passes only once the upstream has been quiet for a
//! while after it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use nimsync_time::Sleep;
use pin_project_lite::pin_project;

use super::deadline_after;

pin_project! {
    /// Emits an item once `quiet` has passed without a newer one; each
    /// newer item replaces the one waiting and restarts the wait: made by
    /// [`StageExt::debounce`](crate::StageExt::debounce).
    ///
    /// When the upstream ends, the item still waiting is emitted at once, so
    /// the last item is never lost. Replaced items are dropped by design
    /// and counted ([`superseded`](Debounce::superseded)). With a zero
    /// `quiet`, the last of each burst of ready items passes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// // Keystrokes arriving together: only the last one is searched for.
    /// let mut s = stream::iter(["r", "ru", "rus", "rust"]).debounce(Duration::from_millis(5));
    /// let searched: Vec<&str> = futures_lite::future::block_on((&mut s).collect());
    /// assert_eq!(searched, ["rust"]);
    /// assert_eq!(s.superseded(), 3);
    /// ```
    pub struct Debounce<S: Stream> {
        #[pin]
        upstream: S,
        waiting: Option<S::Item>,
        quiet: Duration,
        timer: Option<Sleep>,
        superseded: u64,
        done: bool,
    }
}

impl<S: Stream> Debounce<S> {
    pub(crate) fn new(upstream: S, quiet: Duration) -> Self {
        Self {
            upstream,
            waiting: None,
            quiet,
            timer: None,
            superseded: 0,
            done: false,
        }
    }

    /// Items replaced by a newer one before they could pass.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::stream;
    /// use nimsync_stream::StageExt;
    /// assert_eq!(stream::iter([1]).debounce(Duration::ZERO).superseded(), 0);
    /// ```
    pub fn superseded(&self) -> u64 {
        self.superseded
    }
}

impl<S: Stream> Stream for Debounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        let mut pulled = 0;
        while !*this.done && pulled < super::PULL_BUDGET {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    pulled += 1;
                    if this.waiting.replace(item).is_some() {
                        *this.superseded += 1;
                    }
                    let deadline = deadline_after(*this.quiet);
                    match this.timer {
                        Some(t) => t.reset(deadline),
                        None => *this.timer = Some(nimsync_time::sleep_until(deadline)),
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        if *this.done {
            return Poll::Ready(this.waiting.take());
        }
        if this.waiting.is_some()
            && this
                .timer
                .as_mut()
                .is_some_and(|t| Pin::new(t).poll(cx).is_ready())
        {
            return Poll::Ready(this.waiting.take());
        }
        if pulled == super::PULL_BUDGET {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Debounce<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debounce")
            .field("upstream", &self.upstream)
            .field("waiting", &self.waiting.is_some())
            .field("quiet", &self.quiet)
            .field("superseded", &self.superseded)
            .finish()
    }
}
