//! `timeout`: an error when the next item is late.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use nimsync_time::{Elapsed, Sleep};
use pin_project_lite::pin_project;

use super::deadline_after;

pin_project! {
    /// Each item as `Ok`, and an `Err(Elapsed)` whenever `limit` passes
    /// without one: made by [`StageExt::timeout`](crate::StageExt::timeout).
    ///
    /// The wait starts when the stage is first polled and again after each
    /// item or error; the stream goes on after an error (stop at the first
    /// with `take_while` or `?` in a loop). It ends when the upstream ends.
    /// A zero `limit` reports an error whenever the upstream is not ready
    /// at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let mut s = stream::iter([1, 2]).chain(stream::pending()).timeout(Duration::from_millis(5));
    /// futures_lite::future::block_on(async {
    ///     assert_eq!(s.next().await.unwrap(), Ok(1));
    ///     assert_eq!(s.next().await.unwrap(), Ok(2));
    ///     assert!(s.next().await.unwrap().is_err()); // nothing more within 5 ms
    /// });
    /// ```
    pub struct Timeout<S> {
        #[pin]
        upstream: S,
        limit: Duration,
        timer: Option<Sleep>,
    }
}

impl<S> Timeout<S> {
    pub(crate) fn new(upstream: S, limit: Duration) -> Self {
        Self {
            upstream,
            limit,
            timer: None,
        }
    }

    /// Gives the upstream back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::stream;
    /// use nimsync_stream::StageExt;
    /// let _upstream = stream::iter([1]).timeout(Duration::from_secs(1)).into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.upstream
    }
}

impl<S: Stream> Stream for Timeout<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let limit = *this.limit;
        let timer = this
            .timer
            .get_or_insert_with(|| nimsync_time::sleep_until(deadline_after(limit)));
        match this.upstream.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                timer.reset(deadline_after(limit));
                Poll::Ready(Some(Ok(item)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if Pin::new(&mut *timer).poll(cx).is_ready() {
                    let deadline = timer.deadline();
                    timer.reset(deadline_after(limit));
                    Poll::Ready(Some(Err(Elapsed::new(deadline))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.upstream.size_hint().0, None)
    }
}

impl<S: fmt::Debug> fmt::Debug for Timeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("upstream", &self.upstream)
            .field("limit", &self.limit)
            .finish()
    }
}
