//! [`RecvManyFuture`]: an async batch receive, tokio's `recv_many`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::flavor::FlavorRef;
use crate::error::{RecvError, TryRecvError};
use crate::waiter::{Registration, poll_op};

/// A future that waits until at least one value is buffered, then moves up
/// to `limit` of them into a buffer: returned by
/// [`Receiver::recv_many_async`](super::Receiver::recv_many_async).
///
/// # Cancel safety
///
/// Cancel safe: values move into the buffer only in the poll that returns
/// `Ready`, so dropping the future loses none, and a wake-up it had
/// received passes on to the next waiting receiver.
#[must_use = "futures do nothing unless polled"]
pub struct RecvManyFuture<'a, T> {
    queue: FlavorRef<'a, T>,
    buf: &'a mut Vec<T>,
    limit: usize,
    registration: Registration,
    /// Set when `poll` returned `Ready`.
    done: bool,
}

impl<'a, T> RecvManyFuture<'a, T> {
    pub(super) fn new(queue: FlavorRef<'a, T>, buf: &'a mut Vec<T>, limit: usize) -> Self {
        Self {
            queue,
            buf,
            limit,
            registration: Registration::new(),
            done: false,
        }
    }
}

impl<T> Future for RecvManyFuture<'_, T> {
    type Output = Result<usize, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let poll = poll_recv_many(this.queue, &mut this.registration, cx, this.buf, this.limit);
        this.done = poll.is_ready();
        poll
    }
}

/// One poll of a batch receive through `registration`, shared by the
/// future and [`Receiver::poll_recv_many`](super::Receiver::poll_recv_many):
/// `Ready(Ok(0))` for a `limit` of 0, `Ready(Ok(n))` with `n >= 1` values
/// moved into `buf`, `Ready(Err(RecvError))` once closed and drained,
/// otherwise `Pending` with `cx`'s waker registered.
pub(super) fn poll_recv_many<T>(
    queue: FlavorRef<'_, T>,
    registration: &mut Registration,
    cx: &mut Context<'_>,
    buf: &mut Vec<T>,
    limit: usize,
) -> Poll<Result<usize, RecvError>> {
    if limit == 0 {
        return Poll::Ready(Ok(0));
    }
    poll_op(registration, queue.recv_wait(), cx, || {
        match queue.try_recv_many(buf, limit) {
            Ok(n) => Some(Ok(n)),
            Err(TryRecvError::Closed) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    })
}

/// Terminated once `poll` returned `Ready`.
impl<T> futures_core::FusedFuture for RecvManyFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for RecvManyFuture<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel_and_pass_on(self.queue.recv_wait());
    }
}

impl<T> fmt::Debug for RecvManyFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::RecvManyFuture")
            .field("limit", &self.limit)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
