//! The run wait: how a blocking receive at its senders' heels lets a run of
//! messages build up before it takes them, and how a blocking send at its
//! receivers' heels lets a run of free slots build up.
//!
//! A receive that takes each message as it lands reads the sender's
//! position (and the slot) while the sender writes them: both lines move
//! between the cores on every message, and each side waits for the other's
//! store. A receive that finds the channel empty after a streak of waits
//! whose value came promptly is in that state; it then looks at what is
//! buffered every [`RUN_POLL_HINTS`] spin hints while the count grows, and
//! takes the run with one read of the sender's position. A wait that ends
//! with one message or none (a reply, or senders that stopped) ends the
//! streak, so request-reply traffic pays for one look per streak. A send
//! that finds a bounded channel full is the mirror: each send writes the
//! slot a receive has just given back; it looks at the free room instead.
//! docs/perf-notes.md ("The unbounded receiver waits for a run of
//! messages" and what follows it) has the measurements behind the figures.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::sync::spin_hint;

/// Blocking receives (or sends) in a row whose value (or room) came within
/// [`PROMPT_TRIES`] tries, after which a receive that finds the channel
/// empty (or a send that finds it full) waits for a run.
pub(crate) const RUN_STREAK: u8 = 4;
/// Tries within which a waiting receive's value counts as prompt: it came
/// during the first few spins of the wait (see `Backoff::before_parking`).
const PROMPT_TRIES: u32 = 4;
/// Messages buffered that end the wait for a run at once.
pub(crate) const RUN: usize = 16;
/// Spin-loop hints between two looks at what is buffered (about 0.8 us
/// where a hint takes 12 ns).
const RUN_POLL_HINTS: u32 = 64;
/// Looks at what is buffered before a receive stops waiting for a run.
const RUN_POLLS: u32 = 4;

/// A streak: blocking receives (or sends) in a row whose value (or room)
/// came promptly, up to [`RUN_STREAK`]. A channel keeps one per side that
/// waits for runs; an SPSC endpoint keeps its own.
///
/// A hint, never part of a protocol: whatever value a receive reads, it
/// only decides whether that receive spins a little before it waits, so
/// relaxed accesses suffice, and it is a plain atomic even under loom (the
/// models do not explore it; the wait itself is off there).
#[derive(Debug, Default)]
pub(crate) struct Streak(AtomicU8);

impl Streak {
    /// A streak of zero.
    pub(crate) const fn new() -> Self {
        Self(AtomicU8::new(0))
    }

    /// The streak now.
    #[inline(always)]
    pub(crate) fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    /// Records that a blocking receive got its value (or a send its room)
    /// on its `tries`-th try (the first try is 1). Writes only when the
    /// streak changes, so a steady stream leaves the line shared.
    #[inline]
    pub(crate) fn note(&self, tries: u32) {
        let streak = self.get();
        let new = if tries <= PROMPT_TRIES {
            (streak + 1).min(RUN_STREAK)
        } else {
            0
        };
        if new != streak {
            self.0.store(new, Ordering::Relaxed);
        }
    }

    /// Called by a blocking receive that found the channel empty (or a
    /// send that found it full): once the streak is full, waits while a run
    /// builds up. `buffered` returns the messages buffered now (the free
    /// slots, for a send), or `None` once the channel is closed. A wait
    /// that ends with one or none ends the streak.
    #[inline(always)]
    pub(crate) fn wait_for_run(&self, buffered: impl FnMut() -> Option<usize>) {
        if !cfg!(loom) && self.get() >= RUN_STREAK && !wait_for_run(buffered) {
            self.0.store(0, Ordering::Relaxed);
        }
    }
}

/// Looks at what is buffered every [`RUN_POLL_HINTS`] hints until a run
/// of [`RUN`] is there, the count stops growing, the channel is closed or
/// [`RUN_POLLS`] looks are done. Returns false when it saw one message or
/// none at the end.
#[cold]
#[inline(never)]
fn wait_for_run(mut buffered: impl FnMut() -> Option<usize>) -> bool {
    let mut seen = 0;
    for _ in 0..RUN_POLLS {
        for _ in 0..RUN_POLL_HINTS {
            spin_hint();
        }
        let Some(now) = buffered() else {
            break;
        };
        let lone = seen == 0 && now == 1;
        let stalled = now != 0 && now == seen;
        seen = now;
        if now >= RUN || lone || stalled {
            break;
        }
    }
    seen > 1
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn full() -> Streak {
        let s = Streak::new();
        (0..RUN_STREAK).for_each(|_| s.note(PROMPT_TRIES));
        s
    }

    #[test]
    fn prompt_values_build_a_streak_and_a_slow_one_ends_it() {
        let s = Streak::new();
        for i in 1..=RUN_STREAK + 2 {
            s.note(PROMPT_TRIES);
            assert_eq!(s.get(), i.min(RUN_STREAK));
        }
        s.note(PROMPT_TRIES + 1);
        assert_eq!(s.get(), 0);
    }

    #[test]
    fn no_wait_before_the_streak_is_full() {
        let s = Streak::new();
        s.note(1);
        let mut looks = 0;
        s.wait_for_run(|| {
            looks += 1;
            Some(0)
        });
        assert_eq!(looks, 0);
        assert_eq!(s.get(), 1, "the streak is left as it was");
    }

    #[test]
    fn the_wait_stops_at_a_run_a_lone_message_a_stall_or_a_close() {
        let s = full();
        let mut looks = 0;
        s.wait_for_run(|| {
            looks += 1;
            Some(RUN)
        });
        assert_eq!(looks, 1, "a full run ends the wait at once");
        assert_eq!(s.get(), RUN_STREAK);

        let mut counts = [2, 5, 5, 9].into_iter();
        s.wait_for_run(|| counts.next());
        assert_eq!(counts.next(), Some(9), "it stopped when the count stalled");
        assert_eq!(s.get(), RUN_STREAK, "a slower stream is still a stream");

        looks = 0;
        s.wait_for_run(|| {
            looks += 1;
            Some(1)
        });
        assert_eq!(looks, 1, "one message is a reply");
        assert_eq!(s.get(), 0, "and ends the streak");

        let s = full();
        looks = 0;
        s.wait_for_run(|| {
            looks += 1;
            Some(0)
        });
        assert_eq!(looks, RUN_POLLS, "nothing came in any look");
        assert_eq!(s.get(), 0);

        let s = full();
        s.wait_for_run(|| None);
        assert_eq!(s.get(), 0, "closed");
    }
}
