//! Time operators on nimsync-time's timers, so they run under any executor:
//! [`ChunksTimeout`], [`Debounce`], [`Sample`], [`Throttle`] and
//! [`Timeout`].
//!
//! Each pulls at most [`PULL_BUDGET`] items from an upstream that is always
//! ready before it looks at its timer, so a busy upstream cannot keep its
//! timer from firing.

mod chunks;
mod debounce;
mod sample;
mod throttle;
mod timeout;

pub use chunks::ChunksTimeout;
pub use debounce::Debounce;
pub use sample::Sample;
pub use throttle::{Rate, Throttle, ThrottleMode};
pub use timeout::Timeout;

/// Items pulled in one poll before a stage looks at its timer and yields.
pub(crate) const PULL_BUDGET: usize = 256;

/// `now + d`, or far ahead when that overflows.
pub(crate) fn deadline_after(d: std::time::Duration) -> std::time::Instant {
    instant_after(std::time::Instant::now(), d)
}

/// `at + d`, or far ahead (a century) when that overflows.
pub(crate) fn instant_after(at: std::time::Instant, d: std::time::Duration) -> std::time::Instant {
    at.checked_add(d)
        .unwrap_or_else(|| at + std::time::Duration::from_secs(86_400 * 365 * 100))
}
