//! [`timeout`], [`timeout_at`] and [`Elapsed`].

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::fmt;
use std::time::{Duration, Instant};

use crate::sleep::{Sleep, far_future, sleep_until};

/// Runs `future` for at most `duration`: resolves to its output, or to
/// [`Elapsed`] when the time runs out first (the future is then dropped with
/// the `Timeout`).
///
/// The future is polled before the timer on every poll, so an output that is
/// ready when the deadline passes is still returned.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_time::{sleep, timeout};
///
/// futures_lite::future::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
///     let slow = sleep(Duration::from_secs(60));
///     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    timeout_at(deadline, future)
}

/// Runs `future` until `deadline`; see [`timeout`].
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// let never = std::future::pending::<()>();
/// let result = futures_lite::future::block_on(nimsync_time::timeout_at(deadline, never));
/// assert!(result.is_err());
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// A future with a deadline; see [`timeout`].
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The deadline.
    ///
    /// # Examples
    /// ```
    /// let deadline = std::time::Instant::now();
    /// assert_eq!(nimsync_time::timeout_at(deadline, async {}).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The wrapped future.
    ///
    /// # Examples
    /// ```
    /// let t = nimsync_time::timeout(std::time::Duration::from_secs(1), std::future::ready(3));
    /// assert!(futures_lite::future::block_on(t.into_inner()) == 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The wrapped future, by reference.
    ///
    /// # Examples
    /// ```
    /// let t = nimsync_time::timeout(std::time::Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let deadline = this.sleep.deadline();
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed { deadline })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future
/// finished.
///
/// The future was dropped unfinished. Give the operation a longer timeout,
/// or handle the timeout as the failure it is for the caller.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let never = std::future::pending::<()>();
/// let err = futures_lite::future::block_on(nimsync_time::timeout(Duration::from_millis(1), never))
///     .unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    /// The deadline that passed.
    deadline: Instant,
}

impl Elapsed {
    /// The error for `deadline`, for code that enforces a deadline by
    /// other means than [`Timeout`] (a select over a sleep, a group that
    /// aborts its children) and reports it the same way.
    ///
    /// # Examples
    /// ```
    /// let deadline = std::time::Instant::now();
    /// assert_eq!(nimsync_time::Elapsed::new(deadline).deadline(), deadline);
    /// ```
    pub fn new(deadline: Instant) -> Self {
        Self { deadline }
    }

    /// The deadline that passed.
    ///
    /// # Examples
    /// ```
    /// let deadline = std::time::Instant::now();
    /// let never = std::future::pending::<()>();
    /// let err = futures_lite::future::block_on(nimsync_time::timeout_at(deadline, never)).unwrap_err();
    /// assert_eq!(err.deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
