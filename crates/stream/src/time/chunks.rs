//! `chunks_timeout`: items gathered into chunks of at most `n`, each sent
//! when full or when its first item has waited long enough.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use nimsync_time::Sleep;
use pin_project_lite::pin_project;

use super::deadline_after;

pin_project! {
    /// Chunks of at most `n` items, each emitted when full or `timeout`
    /// after its first item arrived: made by
    /// [`StageExt::chunks_timeout`](crate::StageExt::chunks_timeout).
    ///
    /// The timer starts at a chunk's first item, so an idle stream emits
    /// nothing (never an empty chunk); when the upstream ends, the last,
    /// partial chunk is emitted. With a zero timeout, a chunk holds the
    /// items that were ready together (up to `n`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::StageExt;
    ///
    /// let chunks: Vec<Vec<u32>> = futures_lite::future::block_on(
    ///     stream::iter(1..=7).chunks_timeout(3, Duration::from_secs(60)).collect(),
    /// );
    /// assert_eq!(chunks, [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    /// ```
    pub struct ChunksTimeout<S: Stream> {
        #[pin]
        upstream: S,
        chunk: Vec<S::Item>,
        max: usize,
        timeout: Duration,
        // Armed while `chunk` is not empty.
        timer: Option<Sleep>,
        done: bool,
    }
}

impl<S: Stream> ChunksTimeout<S> {
    pub(crate) fn new(upstream: S, max: usize, timeout: Duration) -> Self {
        assert!(
            max > 0,
            "`chunks_timeout` needs a chunk size of at least 1; for one item at a time, \
             leave the stage out"
        );
        Self {
            upstream,
            chunk: Vec::new(),
            max,
            timeout,
            timer: None,
            done: false,
        }
    }
}

impl<S: Stream> Stream for ChunksTimeout<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        let mut pulled = 0;
        while !*this.done && pulled < super::PULL_BUDGET {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    pulled += 1;
                    if this.chunk.is_empty() {
                        let deadline = deadline_after(*this.timeout);
                        match this.timer {
                            Some(t) => t.reset(deadline),
                            None => *this.timer = Some(nimsync_time::sleep_until(deadline)),
                        }
                        this.chunk.reserve(*this.max);
                    }
                    this.chunk.push(item);
                    if this.chunk.len() == *this.max {
                        return Poll::Ready(Some(mem::take(this.chunk)));
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        if this.chunk.is_empty() {
            return if *this.done {
                Poll::Ready(None)
            } else {
                if pulled == super::PULL_BUDGET {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            };
        }
        let due = *this.done
            || this
                .timer
                .as_mut()
                .is_some_and(|t| Pin::new(t).poll(cx).is_ready());
        if due {
            return Poll::Ready(Some(mem::take(this.chunk)));
        }
        if pulled == super::PULL_BUDGET {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for ChunksTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunksTimeout")
            .field("upstream", &self.upstream)
            .field("held", &self.chunk.len())
            .field("max", &self.max)
            .field("timeout", &self.timeout)
            .finish()
    }
}
