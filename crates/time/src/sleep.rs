//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::fmt;
use std::time::{Duration, Instant};

use crate::driver;
use crate::entry::Entry;
use crate::sync::Arc;
use crate::wheel::Key;

/// Waits until `duration` has elapsed.
///
/// The returned future is armed when first polled; it completes no earlier
/// than `duration` after the call, and at most about one tick (1 ms) plus
/// the OS's scheduling latency later. It works under any executor.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// futures_lite::future::block_on(nimsync_time::sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    sleep_until(now.checked_add(duration).unwrap_or_else(far_future))
}

/// Waits until `deadline`.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// futures_lite::future::block_on(nimsync_time::sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
        key: None,
    }
}

/// An instant so far ahead it never comes (about a century).
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 100)
}

/// A future that completes at a deadline; see [`sleep`].
///
/// Dropping it before it fires disarms it in O(1); [`Sleep::reset`] moves it
/// in O(1). It is `Unpin`.
///
/// # Unwind safety
/// A sleep is neither `UnwindSafe` nor `RefUnwindSafe` (tokio's is
/// neither), and so neither are [`Timeout`](crate::Timeout) and
/// [`Interval`](crate::Interval), which hold one. A poll stores the
/// task's waker in the timer's entry, and a waker that panics while it is
/// cloned there (or the waker it replaces, while it is dropped) leaves the
/// entry's waker slot locked: the sleep never wakes a task again, though a
/// poll after the deadline still completes it. A sleep that such a panic
/// went through must be replaced, not polled again.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// When it completes.
    deadline: Instant,
    /// The wheel entry, allocated when first armed.
    entry: Option<Arc<Entry>>,
    /// The entry's wheel key while armed.
    key: Option<Key>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}

impl Sleep {
    /// The instant this sleep completes at.
    ///
    /// # Examples
    /// ```
    /// let deadline = std::time::Instant::now();
    /// assert_eq!(nimsync_time::sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed (by the clock; a poll may still
    /// return `Pending` for up to a tick until the wheel fires it).
    ///
    /// # Examples
    /// ```
    /// let sleep = nimsync_time::sleep(std::time::Duration::ZERO);
    /// assert!(sleep.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.entry.as_ref().is_some_and(|e| e.is_fired()) || Instant::now() >= self.deadline
    }

    /// Moves the deadline, whether or not the sleep completed already. While
    /// it is pending, the task that last polled it is woken at the new
    /// deadline; a sleep that had completed is armed again and completes
    /// when polled after the new deadline.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let mut sleep = nimsync_time::sleep(Duration::from_secs(3600));
    /// let soon = Instant::now() + Duration::from_millis(2);
    /// sleep.reset(soon);
    /// futures_lite::future::block_on(&mut sleep);
    /// assert!(Instant::now() >= soon);
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(entry) = &self.entry {
            self.key = driver::rearm(entry, self.key.take(), deadline);
        }
    }

    /// Polls the sleep from a `&mut` (it is `Unpin`).
    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(entry) = &self.entry {
            return if entry.fired_or_register(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let entry = Entry::new();
        if entry.fired_or_register(cx.waker()) {
            return Poll::Ready(());
        }
        self.key = driver::arm(&entry, self.deadline);
        let fired = entry.is_fired();
        self.entry = Some(entry);
        if fired {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_sleep(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(entry), Some(key)) = (&self.entry, self.key) {
            if entry.is_armed() {
                driver::disarm(entry, key);
            }
        }
    }
}
