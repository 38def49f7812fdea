//! A short, bounded spin before a caller gives up and parks.

use super::{spin_hint, yield_now};

/// Spins for a short, bounded time before a caller gives up and parks.
///
/// Mirrors crossbeam-utils' `Backoff`, but routes each step through the
/// facade so loom can schedule other threads.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
    /// The last step that spins; later steps yield.
    spin_limit: u32,
}

impl Backoff {
    /// Waits inside the channel protocol (a slot claimed and not yet
    /// written or read) spin 2 steps (7 spin-loop hints), then yield: long
    /// pause loops can be slow to hand the core back to the thread being
    /// waited for (docs/perf-notes.md#short-spin-then-yield-then-park-syncbackoff).
    const SPIN_LIMIT: u32 = 2;
    /// A thread about to park ([`Backoff::before_parking`]) spins 4 steps
    /// (31 hints): fewer leave the blocking round trip in yields, more
    /// lengthen its tail (docs/perf-notes.md#short-spin-then-yield-then-park-syncbackoff).
    const PARK_SPIN_LIMIT: u32 = 4;
    const YIELD_LIMIT: u32 = if cfg!(loom) { 1 } else { 20 };

    /// A backoff for waiting on another thread inside the channel protocol
    /// (a slot claimed but not yet written or read).
    pub(crate) const fn new() -> Self {
        Self {
            step: 0,
            spin_limit: Self::SPIN_LIMIT,
        }
    }

    /// A backoff for a blocked operation before it registers and parks.
    pub(crate) const fn before_parking() -> Self {
        Self {
            step: 0,
            spin_limit: Self::PARK_SPIN_LIMIT,
        }
    }

    /// Waits a little longer each call: spins at first, then yields.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= self.spin_limit && !cfg!(loom) {
            for _ in 0..1u32 << self.step {
                spin_hint();
            }
        } else {
            yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Spins with no yield, for retrying a lost compare-and-swap.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(Self::SPIN_LIMIT) {
            spin_hint();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// True once spinning has stopped paying and the caller should park.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        // Under loom a yield runs the other threads to completion first, so
        // spinning would hide the parking path from the model: park at once.
        cfg!(loom) || self.step > Self::YIELD_LIMIT
    }
}
