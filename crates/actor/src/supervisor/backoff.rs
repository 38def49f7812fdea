//! Restart backoff and the restart-intensity window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a supervisor waits before restarting a failed child: an
/// exponential delay from `min` to `max`, spread by `jitter`, reset once
/// the child has run for `reset_after`.
///
/// The n-th restart in a row of one child waits
/// `min(max, min * 2^(n-1))`, then multiplied by a random factor in
/// `[1 - jitter, 1 + jitter]` (capped at `max`).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_actor::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
/// assert_eq!(backoff.delay(1, 0.5), Duration::from_millis(10));
/// assert_eq!(backoff.delay(3, 0.5), Duration::from_millis(40));
/// assert_eq!(backoff.delay(30, 0.5), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    jitter: f64,
    reset_after: Duration,
}

impl Backoff {
    /// Exponential backoff from `min` to `max`, no jitter, reset after
    /// `max * 2` of healthy running.
    ///
    /// # Panics
    /// If `min > max`.
    ///
    /// # Examples
    /// See [`Backoff`].
    pub fn new(min: Duration, max: Duration) -> Self {
        assert!(min <= max, "backoff min {min:?} is above its max {max:?}");
        Self {
            min,
            max,
            jitter: 0.0,
            reset_after: max.saturating_mul(2),
        }
    }

    /// Spreads each delay by up to `fraction` either way (0.0 to 1.0), so
    /// children failing together do not restart together.
    ///
    /// # Panics
    /// If `fraction` is not within 0.0..=1.0.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let b = nimsync_actor::Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).jitter(0.2);
    /// assert_eq!(b.delay(1, 0.0), Duration::from_millis(80));
    /// assert_eq!(b.delay(1, 1.0), Duration::from_millis(120));
    /// ```
    pub fn jitter(mut self, fraction: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&fraction),
            "backoff jitter must be a fraction within 0.0..=1.0, got {fraction}"
        );
        self.jitter = fraction;
        self
    }

    /// A child that ran at least this long before failing starts again
    /// from `min`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let b = nimsync_actor::Backoff::new(Duration::ZERO, Duration::from_secs(1))
    ///     .reset_after(Duration::from_secs(30));
    /// assert_eq!(b.reset_period(), Duration::from_secs(30));
    /// ```
    pub fn reset_after(mut self, healthy: Duration) -> Self {
        self.reset_after = healthy;
        self
    }

    /// The reset period.
    ///
    /// # Examples
    /// See [`Backoff::reset_after`].
    pub fn reset_period(&self) -> Duration {
        self.reset_after
    }

    /// The delay before the `attempt`-th restart in a row (from 1), with
    /// `unit` in 0.0..=1.0 picking the jitter (0.5 is none).
    ///
    /// # Examples
    /// See [`Backoff`].
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let base = self
            .min
            .checked_mul(1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max)
            .min(self.max);
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        base.mul_f64(factor).min(self.max)
    }
}

/// The restart-intensity window: at most `max` restarts within `within`.
#[derive(Debug)]
pub(crate) struct Intensity {
    max: u32,
    within: Duration,
    log: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max: u32, within: Duration) -> Self {
        Self {
            max,
            within,
            log: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; false if it goes over the limit.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        self.log.push_back(now);
        while let Some(&first) = self.log.front() {
            if now.saturating_duration_since(first) >= self.within {
                self.log.pop_front();
            } else {
                break;
            }
        }
        self.log.len() <= self.max as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_counts_only_recent_restarts() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = Intensity::new(2, 5 * s);
        assert!(w.admit(t0));
        assert!(w.admit(t0 + s));
        assert!(!w.admit(t0 + 2 * s), "a third within 5 s is one too many");
        let mut w = Intensity::new(2, 5 * s);
        assert!(w.admit(t0));
        assert!(w.admit(t0 + s));
        assert!(w.admit(t0 + 5 * s), "the first has left the window");
        assert!(!w.admit(t0 + 5 * s + s / 2));
    }

    #[test]
    fn intensity_zero_refuses_the_first_restart() {
        assert!(!Intensity::new(0, Duration::from_secs(1)).admit(Instant::now()));
    }

    #[test]
    fn backoff_doubles_caps_and_saturates() {
        let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(100));
        let delays: Vec<_> = (1..=9).map(|n| b.delay(n, 0.5).as_millis()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 100, 100]);
        assert_eq!(b.delay(u32::MAX, 0.5), Duration::from_millis(100));
        let j = b.jitter(1.0);
        assert_eq!(j.delay(1, 0.0), Duration::ZERO);
        assert_eq!(j.delay(7, 1.0), Duration::from_millis(100));
    }
}
