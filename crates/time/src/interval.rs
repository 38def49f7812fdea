//! [`interval`], [`interval_at`] and the missed-tick policy.

use core::future::Future;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::sleep::{Sleep, far_future, sleep_until};

/// A tick counts as missed when it is handled later than this after its
/// scheduled instant; smaller delays are scheduling noise.
const LATE_THRESHOLD: Duration = Duration::from_millis(5);

/// What an [`Interval`] does when ticks were missed (its owner polled it
/// late, for example because a tick's work took longer than the period).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Deliver every missed tick at once, as fast as they are polled, until
    /// the interval is back on its original schedule. The default.
    #[default]
    Burst,
    /// Deliver one tick now and schedule the next a full period from now:
    /// the schedule shifts by the delay.
    Delay,
    /// Deliver one tick now and skip the missed ones: the next tick is the
    /// next one on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The instant of the tick after the one scheduled at `scheduled` and
    /// delivered at `now`.
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => later(scheduled, period),
            MissedTickBehavior::Delay => later(now, period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / period.as_nanos() + 1;
                let offset = period.as_nanos().saturating_mul(periods);
                later(
                    scheduled,
                    Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX)),
                )
            }
        }
    }
}

/// `at + by`, or an instant too far ahead to come when that overflows.
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by).unwrap_or_else(far_future)
}

/// Ticks every `period`; the first tick completes at once.
///
/// # Panics
/// If `period` is zero: an interval needs a positive period.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// futures_lite::future::block_on(async {
///     let start = Instant::now();
///     let mut every = nimsync_time::interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         every.tick().await;
///     }
///     // Ticks at 0, 2 and 4 ms.
///     assert!(start.elapsed() >= Duration::from_millis(4));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero: an interval needs a positive period.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now() + Duration::from_millis(3);
/// let mut every = nimsync_time::interval_at(start, Duration::from_secs(1));
/// let first = futures_lite::future::block_on(every.tick());
/// assert_eq!(first, start);
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "nimsync_time::interval needs a non-zero period (got 0); \
         use a loop with yield instead of a zero-period interval"
    );
    Interval {
        period,
        sleep: sleep_until(start),
        missed: MissedTickBehavior::default(),
    }
}

/// A stream of evenly spaced ticks; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    /// The time between ticks.
    period: Duration,
    /// Completes at the next scheduled tick.
    sleep: Sleep,
    /// The policy for late ticks.
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// # Examples
    /// ```
    /// let mut every = nimsync_time::interval(std::time::Duration::from_millis(1));
    /// let a = futures_lite::future::block_on(every.tick());
    /// let b = futures_lite::future::block_on(every.tick());
    /// assert_eq!(b - a, std::time::Duration::from_millis(1));
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: the poll form of [`Interval::tick`], for
    /// hand-written futures and streams.
    ///
    /// # Examples
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut every = nimsync_time::interval(std::time::Duration::from_secs(60));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(every.poll_tick(&mut cx).is_ready()); // the first tick is immediate
    /// assert!(every.poll_tick(&mut cx).is_pending());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        let next = if now > later(scheduled, LATE_THRESHOLD) {
            self.missed.next(scheduled, now, self.period)
        } else {
            later(scheduled, self.period)
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    /// ```
    /// let mut every = nimsync_time::interval(std::time::Duration::from_secs(60));
    /// every.reset();
    /// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// assert!(every.poll_tick(&mut cx).is_pending());
    /// ```
    pub fn reset(&mut self) {
        self.sleep.reset(later(Instant::now(), self.period));
    }

    /// The period.
    ///
    /// # Examples
    /// ```
    /// let every = nimsync_time::interval(std::time::Duration::from_secs(2));
    /// assert_eq!(every.period(), std::time::Duration::from_secs(2));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    ///
    /// # Examples
    /// ```
    /// use nimsync_time::MissedTickBehavior;
    /// let every = nimsync_time::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks.
    ///
    /// # Examples
    /// ```
    /// use nimsync_time::MissedTickBehavior;
    /// let mut every = nimsync_time::interval(std::time::Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_tick_policies() {
        let t0 = Instant::now();
        let period = Duration::from_millis(10);
        let now = t0 + Duration::from_millis(35);
        assert_eq!(MissedTickBehavior::Burst.next(t0, now, period), t0 + period);
        assert_eq!(
            MissedTickBehavior::Delay.next(t0, now, period),
            now + period
        );
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, now, period),
            t0 + Duration::from_millis(40)
        );
        // Exactly on a multiple: the next one strictly after.
        let on = t0 + Duration::from_millis(30);
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, on, period),
            t0 + Duration::from_millis(40)
        );
    }
}
