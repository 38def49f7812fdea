//! Running a stream of futures with a concurrency limit: in order, as they
//! finish, or spawned on an executor.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::Merge;

fn check_limit(limit: usize) {
    assert!(
        limit > 0,
        "a concurrency limit must be at least 1 (1 runs the futures one at a time)"
    );
}

/// A future of a [`Concurrent`] stage: running, or finished and waiting
/// for its turn to be yielded.
enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(F::Output),
}

pin_project! {
    /// Runs up to `limit` futures of the upstream at once and yields their
    /// outputs in the upstream's order: made by
    /// [`StageExt::concurrent`](crate::StageExt::concurrent) and
    /// [`StageExt::concurrent_spawned`](crate::StageExt::concurrent_spawned).
    ///
    /// It takes futures from the upstream until `limit` are in flight,
    /// whether or not the oldest has finished.
    pub struct Concurrent<S: Stream>
    where
        S::Item: Future,
    {
        #[pin]
        upstream: S,
        in_flight: VecDeque<Slot<S::Item>>,
        limit: usize,
        done: bool,
    }
}

impl<S: Stream> Concurrent<S>
where
    S::Item: Future,
{
    pub(crate) fn new(upstream: S, limit: usize) -> Self {
        check_limit(limit);
        Self {
            upstream,
            in_flight: VecDeque::with_capacity(limit.min(1024)),
            limit,
            done: false,
        }
    }

    /// Futures taken from the upstream and not yet yielded.
    ///
    /// ```
    /// use futures_lite::{future, stream};
    /// use nimsync_stream::StageExt;
    /// let s = stream::iter([future::ready(1)]).concurrent(4);
    /// assert_eq!(s.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

impl<S: Stream> Stream for Concurrent<S>
where
    S::Item: Future,
{
    type Item = <S::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        while !*this.done && this.in_flight.len() < *this.limit {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(fut)) => this.in_flight.push_back(Slot::Running(Box::pin(fut))),
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        for slot in this.in_flight.iter_mut() {
            if let Slot::Running(fut) = slot {
                if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                    *slot = Slot::Done(out);
                }
            }
        }
        if matches!(this.in_flight.front(), Some(Slot::Done(_))) {
            if let Some(Slot::Done(out)) = this.in_flight.pop_front() {
                // Room for another future: take it on the next poll.
                cx.waker().wake_by_ref();
                return Poll::Ready(Some(out));
            }
        }
        if *this.done && this.in_flight.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Concurrent<S>
where
    S::Item: Future,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Concurrent")
            .field("upstream", &self.upstream)
            .field("in_flight", &self.in_flight.len())
            .field("limit", &self.limit)
            .finish()
    }
}

pin_project! {
    /// A future as a stream of its one output, for the unordered stage's
    /// merge.
    struct Once<F> {
        #[pin]
        fut: Option<F>,
    }
}

impl<F: Future> Stream for Once<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let mut this = self.project();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let out = std::task::ready!(fut.poll(cx));
        this.fut.set(None);
        Poll::Ready(Some(out))
    }
}

pin_project! {
    /// Runs up to `limit` futures of the upstream at once and yields their
    /// outputs as they finish: made by
    /// [`StageExt::concurrent_unordered`](crate::StageExt::concurrent_unordered).
    ///
    /// The futures in flight sit in a [`Merge`], so a wake-up polls only
    /// the future it was for.
    pub struct ConcurrentUnordered<S: Stream>
    where
        S::Item: Future,
    {
        #[pin]
        upstream: S,
        running: Merge<Once<S::Item>>,
        // Futures taken and not yet yielded (a finished one stays in the
        // merge until it is polled once more, so its count would lag).
        in_flight: usize,
        limit: usize,
        done: bool,
    }
}

impl<S: Stream> ConcurrentUnordered<S>
where
    S::Item: Future,
{
    pub(crate) fn new(upstream: S, limit: usize) -> Self {
        check_limit(limit);
        Self {
            upstream,
            running: Merge::new(),
            in_flight: 0,
            limit,
            done: false,
        }
    }

    /// Futures taken from the upstream whose outputs are not yet yielded.
    ///
    /// ```
    /// use futures_lite::{future, stream};
    /// use nimsync_stream::StageExt;
    /// let s = stream::iter([future::ready(1)]).concurrent_unordered(4);
    /// assert_eq!(s.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

impl<S: Stream> Stream for ConcurrentUnordered<S>
where
    S::Item: Future,
{
    type Item = <S::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        while !*this.done && *this.in_flight < *this.limit {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(fut)) => {
                    *this.in_flight += 1;
                    this.running.push(Once { fut: Some(fut) });
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        match Pin::new(&mut *this.running).poll_next(cx) {
            Poll::Ready(Some(out)) => {
                *this.in_flight -= 1;
                // Room for another future: take it on the next poll.
                cx.waker().wake_by_ref();
                Poll::Ready(Some(out))
            }
            // Nothing running: the end if the upstream ended, else the
            // fill above polled it (it had room) and it will wake this task.
            Poll::Ready(None) if *this.done => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for ConcurrentUnordered<S>
where
    S::Item: Future,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentUnordered")
            .field("upstream", &self.upstream)
            .field("in_flight", &self.in_flight)
            .field("limit", &self.limit)
            .finish()
    }
}

pin_project! {
    /// The upstream's futures, each handed to a spawn function when taken;
    /// the stream of the handles it returns.
    pub struct Spawning<S, F> {
        #[pin]
        upstream: S,
        spawn: F,
    }
}

impl<S, F> Spawning<S, F> {
    pub(crate) fn new(upstream: S, spawn: F) -> Self {
        Self { upstream, spawn }
    }
}

impl<S, F, H> Stream for Spawning<S, F>
where
    S: Stream,
    S::Item: Future,
    F: FnMut(S::Item) -> H,
    H: Future,
{
    type Item = H;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<H>> {
        let this = self.project();
        this.upstream
            .poll_next(cx)
            .map(|fut| fut.map(|f| (this.spawn)(f)))
    }
}

impl<S: fmt::Debug, F> fmt::Debug for Spawning<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawning")
            .field("upstream", &self.upstream)
            .finish()
    }
}
