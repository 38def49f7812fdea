//! The `until` stage: a stream that ends when a future completes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

pin_project! {
    /// A stream that ends when a future completes: made by
    /// [`StageExt::until`](crate::StageExt::until).
    ///
    /// The future is polled before each item, so once it has completed no
    /// further item is taken from the upstream; the upstream is not
    /// dropped, and [`into_inner`](Until::into_inner) gives it back with
    /// whatever it still holds.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let s = stream::iter(0..3).chain(stream::pending()).until(future::ready(()));
    /// assert_eq!(future::block_on(s.count()), 0);
    /// ```
    pub struct Until<S, F> {
        #[pin]
        upstream: S,
        #[pin]
        stop: F,
        stopped: bool,
    }
}

impl<S, F> Until<S, F> {
    pub(crate) fn new(upstream: S, stop: F) -> Self {
        Self {
            upstream,
            stop,
            stopped: false,
        }
    }

    /// True once the future has completed and the stream has ended.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let mut s = stream::iter(0..3).until(future::ready(()));
    /// assert_eq!(future::block_on(s.next()), None);
    /// assert!(s.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Gives the upstream back, with the items it still holds.
    ///
    /// ```
    /// use futures_lite::{future, stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let mut s = stream::iter(0..3).until(future::ready(()));
    /// assert_eq!(future::block_on(s.next()), None);
    /// let rest: Vec<i32> = future::block_on(s.into_inner().collect());
    /// assert_eq!(rest, [0, 1, 2]);
    /// ```
    pub fn into_inner(self) -> S {
        self.upstream
    }
}

impl<S: Stream, F: Future> Stream for Until<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.stopped {
            return Poll::Ready(None);
        }
        if this.stop.poll(cx).is_ready() {
            *this.stopped = true;
            return Poll::Ready(None);
        }
        this.upstream.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.stopped {
            (0, Some(0))
        } else {
            (0, self.upstream.size_hint().1)
        }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for Until<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Until")
            .field("upstream", &self.upstream)
            .field("stopped", &self.stopped)
            .finish()
    }
}
