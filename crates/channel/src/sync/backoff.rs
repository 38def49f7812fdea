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
    /// The last step; then the caller parks.
    yield_limit: u32,
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
    /// [`spin_contended`](Self::spin_contended)'s last growing step.
    const CONTENDED_SPIN_LIMIT: u32 = 6;
    const YIELD_LIMIT: u32 = if cfg!(loom) { 1 } else { 20 };
    /// A thread that has just unparked another thread, and now waits for
    /// that thread's answer ([`Backoff::after_waking`]), yields this much
    /// longer before it parks: the woken thread is on its way.
    const WOKEN_YIELD_LIMIT: u32 = if cfg!(loom) { 1 } else { 80 };

    /// A backoff for waiting on another thread inside the channel protocol
    /// (a slot claimed but not yet written or read).
    pub(crate) const fn new() -> Self {
        Self {
            step: 0,
            spin_limit: Self::SPIN_LIMIT,
            yield_limit: Self::YIELD_LIMIT,
        }
    }

    /// A backoff for a blocked operation before it registers and parks.
    pub(crate) const fn before_parking() -> Self {
        Self {
            step: 0,
            spin_limit: Self::PARK_SPIN_LIMIT,
            yield_limit: Self::YIELD_LIMIT,
        }
    }

    /// A backoff for a blocked operation before it parks: on a channel
    /// where every message is a hand-off (`handoff`: one or two slots),
    /// longer when this thread has unparked another thread since its last
    /// wait (see [`note_woke_thread`]); [`before_parking`](Self::before_parking)
    /// otherwise. (On larger channels the longer wait cost the blocking
    /// MPMC rows up to half their throughput: a full buffer does not wait
    /// on one woken thread.)
    ///
    /// Without it, a sender and a receiver sharing one slot fell into a
    /// regime where each parked every time: the sender woke the parked
    /// receiver, found the slot still full while the receiver was waking
    /// up, gave up its spin before the receiver ran, and parked; the
    /// receiver then did the same the other way
    /// (docs/perf-notes.md#a-thread-that-woke-another-waits-longer-for-it).
    #[inline]
    pub(crate) fn for_blocked_thread(handoff: bool) -> Self {
        if take_woke_thread() && handoff {
            Self {
                step: 0,
                spin_limit: Self::PARK_SPIN_LIMIT,
                yield_limit: Self::WOKEN_YIELD_LIMIT,
            }
        } else {
            Self::before_parking()
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
        if self.step <= self.yield_limit {
            self.step += 1;
        }
    }

    /// Spins with no yield, for retrying a lost compare-and-swap.
    #[inline]
    pub(crate) fn spin(&mut self) {
        self.spin_up_to(Self::SPIN_LIMIT);
    }

    /// Spins with no yield, longer than [`spin`](Self::spin) (up to 64
    /// hints), for retrying a compare-and-swap that several threads keep
    /// contending for: the unbounded list's tail, which every send moves
    /// (docs/perf-notes.md#the-unbounded-receiver-waits-for-a-run-of-messages).
    #[inline]
    pub(crate) fn spin_contended(&mut self) {
        self.spin_up_to(Self::CONTENDED_SPIN_LIMIT);
    }

    /// Spins `2^step` hints, the step growing up to `limit`.
    #[inline(always)]
    fn spin_up_to(&mut self, limit: u32) {
        for _ in 0..1u32 << self.step.min(limit) {
            spin_hint();
        }
        if self.step <= limit {
            self.step += 1;
        }
    }

    /// True once spinning has stopped paying and the caller should park.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        // Under loom a yield runs the other threads to completion first, so
        // spinning would hide the parking path from the model: park at once.
        cfg!(loom) || self.step > self.yield_limit
    }
}

#[cfg(not(loom))]
std::thread_local! {
    /// Set when this thread unparks a parked thread, taken by its next
    /// blocked wait.
    static WOKE_THREAD: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Records that this thread has just unparked another thread.
#[inline]
pub(crate) fn note_woke_thread() {
    #[cfg(not(loom))]
    WOKE_THREAD.with(|w| w.set(true));
}

/// Whether this thread unparked another since the last call (and forgets
/// it). Always false under loom, whose threads share the OS thread's
/// thread-locals.
#[inline]
fn take_woke_thread() -> bool {
    #[cfg(not(loom))]
    {
        WOKE_THREAD.with(|w| w.replace(false))
    }
    #[cfg(loom)]
    {
        false
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Snoozes until the backoff says to park.
    fn steps(mut b: Backoff) -> u32 {
        let mut n = 0;
        while !b.is_completed() {
            b.snooze();
            n += 1;
        }
        n
    }

    #[test]
    fn a_thread_that_woke_another_waits_longer_on_a_handoff_channel_only_once() {
        let plain = steps(Backoff::before_parking());
        note_woke_thread();
        assert!(
            steps(Backoff::for_blocked_thread(false)) == plain,
            "a larger channel keeps the usual wait"
        );
        assert_eq!(
            steps(Backoff::for_blocked_thread(true)),
            plain,
            "the hint was taken by the previous wait"
        );
        note_woke_thread();
        let longer = steps(Backoff::for_blocked_thread(true));
        assert!(longer > plain, "{longer} steps against {plain}");
        assert_eq!(steps(Backoff::for_blocked_thread(true)), plain);
    }
}
