//! Timers for async code: `recv_async` on [`After`], [`Tick`] and
//! [`Never`], and [`TickStream`], a ticker as a `futures_core::Stream`.
//!
//! A waiting receive arms one `nimsync-time` sleep at the timer's next
//! deadline, so it works under any executor, and claims the message as a
//! select does (see the module above): a tick or an `after` message goes to
//! one receiver, async or not.

use core::future::{Future, Pending};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::fmt;
use std::time::Instant;

use futures_core::Stream;
use nimsync_channel::RecvError;
use nimsync_time::Sleep;

use super::{After, Never, Tick};

/// The timer an async receive waits on.
#[derive(Debug, Clone, Copy)]
enum Timer<'a> {
    /// One message, at a deadline.
    After(&'a After),
    /// A tick every period.
    Tick(&'a Tick),
}

/// An async receive's state: its timer, the tick it waited for and the
/// sleep that wakes it.
#[derive(Debug)]
struct Waiter<'a> {
    /// The timer.
    timer: Timer<'a>,
    /// The tick this receiver saw in the future (see `Tick::claim`).
    awaited: Option<u64>,
    /// Wakes the task at the timer's next deadline.
    sleep: Option<Sleep>,
}

impl<'a> Waiter<'a> {
    /// A receive on `timer`, not yet polled.
    fn new(timer: Timer<'a>) -> Self {
        Self {
            timer,
            awaited: None,
            sleep: None,
        }
    }

    /// Takes the message if it is due; otherwise sleeps until it is.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        loop {
            let now = Instant::now();
            let due = match self.timer {
                Timer::After(after) => match after.take(now) {
                    Some(at) => return Poll::Ready(at),
                    None if after.is_taken() => {
                        // Taken elsewhere: this receive waits for good, as
                        // a blocking one does. Nothing will wake it.
                        self.sleep = None;
                        return Poll::Pending;
                    }
                    None => after.deadline(),
                },
                Timer::Tick(tick) => match tick.claim(now, &mut self.awaited) {
                    Ok(at) => return Poll::Ready(at),
                    Err(due) => due,
                },
            };
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != due {
                        sleep.reset(due);
                    }
                    sleep
                }
                None => self.sleep.insert(nimsync_time::sleep_until(due)),
            };
            if Pin::new(sleep).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Due (or taken by another receiver meanwhile): look again.
        }
    }
}

/// The future of [`After::recv_async`] and [`Tick::recv_async`]: the
/// timer's next message, the instant it was due.
///
/// It borrows the timer and claims the message only when it completes:
/// dropped before that, it takes nothing, and the message stays for the
/// timer's other receivers. Its output is `Result<Instant, RecvError>`, as
/// every receiver's, and never an error (a timer never closes).
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let timer = nimsync_select::after(Duration::from_millis(2));
/// let fut: nimsync_select::RecvFuture<'_> = timer.recv_async();
/// let due = futures_lite::future::block_on(fut).unwrap();
/// assert!(Instant::now() >= due);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a> {
    /// The receive.
    waiter: Waiter<'a>,
}

impl fmt::Debug for RecvFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("timer", &self.waiter.timer)
            .finish_non_exhaustive()
    }
}

impl Future for RecvFuture<'_> {
    type Output = Result<Instant, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.waiter.poll(cx).map(Ok)
    }
}

/// A ticker's ticks as a `futures_core::Stream`, from [`Tick::stream`]:
/// each item is the instant a tick was due. It never ends.
///
/// It borrows the ticker, so several streams, receives and selects may
/// share one: each tick goes to one of them. (`Tick` is no `Stream`
/// itself: a stream keeps a sleep between polls, which a shared ticker has
/// no place for.)
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
///
/// let ticker = nimsync_select::tick(Duration::from_millis(1));
/// let dues: Vec<_> = futures_lite::future::block_on(ticker.stream().take(3).collect());
/// assert!(dues.windows(2).all(|w| w[1] >= w[0] + ticker.period()));
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct TickStream<'a> {
    /// The receive of the next tick.
    waiter: Waiter<'a>,
}

impl fmt::Debug for TickStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TickStream")
            .field("timer", &self.waiter.timer)
            .finish_non_exhaustive()
    }
}

impl Stream for TickStream<'_> {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.waiter.poll(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl After {
    /// Waits for the deadline and takes the message, without blocking the
    /// thread: the async [`recv`](After::recv). It works under any
    /// executor (a `nimsync-time` sleep wakes it).
    ///
    /// Once the message is taken elsewhere, the future never completes, as
    /// `recv` blocks: bound it with `nimsync_time::timeout` where that may
    /// happen.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let timer = nimsync_select::after(Duration::from_millis(2));
    /// let due = futures_lite::future::block_on(timer.recv_async()).unwrap();
    /// assert_eq!(due, timer.deadline());
    /// assert!(Instant::now() >= start + Duration::from_millis(2));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_> {
        RecvFuture {
            waiter: Waiter::new(Timer::After(self)),
        }
    }
}

impl Tick {
    /// Waits for the next tick and takes it, without blocking the thread:
    /// the async [`recv`](Tick::recv), with its pacing. It works under any
    /// executor (a `nimsync-time` sleep wakes it).
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let ticker = nimsync_select::tick(Duration::from_millis(1));
    /// futures_lite::future::block_on(async {
    ///     let first = ticker.recv_async().await.unwrap();
    ///     let second = ticker.recv_async().await.unwrap();
    ///     assert!(second >= first + ticker.period());
    ///     assert!(Instant::now() >= second);
    /// });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_> {
        RecvFuture {
            waiter: Waiter::new(Timer::Tick(self)),
        }
    }

    /// The ticks as a stream; see [`TickStream`].
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use futures_lite::StreamExt;
    ///
    /// let ticker = nimsync_select::tick(Duration::from_millis(1));
    /// let mut ticks = ticker.stream();
    /// let due = futures_lite::future::block_on(ticks.next()).unwrap();
    /// assert!(Instant::now() >= due);
    /// ```
    pub fn stream(&self) -> TickStream<'_> {
        TickStream {
            waiter: Waiter::new(Timer::Tick(self)),
        }
    }
}

impl<T> Never<T> {
    /// A future that never completes: the async
    /// [`recv`](Never::recv). It is `std`'s [`Pending`], which registers
    /// no waker.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let off = nimsync_select::never::<u8>();
    /// let waited = nimsync_time::timeout(Duration::from_millis(1), off.recv_async());
    /// assert!(futures_lite::future::block_on(waited).is_err());
    /// ```
    pub fn recv_async(&self) -> Pending<Result<T, RecvError>> {
        core::future::pending()
    }
}
