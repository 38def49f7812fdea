//! The hidden items the `select!` macros expand to, beside the arms
//! (`arms.rs`): the fair choice among a macro select's ready arms, the
//! async cooperative budget, and the constructors the expansion calls.
//! Not part of the semver contract.

use core::future::Future;
use core::pin::Pin;
use core::task::Poll;
use std::cell::Cell;

use crate::fairness::below;
use crate::select::Select;
use crate::sync::thread_locals;

thread_locals! {
    /// Whether this thread's last full readiness scan found at least half
    /// of its arms ready (see [`Ready::probe`]).
    static PROBE: Cell<bool> = Cell::new(false);
    /// Async selects since this thread's last budget yield or `Pending`
    /// wait (see [`cooperate`]).
    static SPENT: Cell<u32> = Cell::new(0);
}

impl Select<'_> {
    /// A fair or biased select, for the macros.
    #[doc(hidden)]
    pub fn __with_bias(biased: bool) -> Self {
        Self::with_bias(biased)
    }
}

/// The indices `0..N`, for a select of `N` arms to shuffle. Not part of
/// the semver contract.
#[doc(hidden)]
pub const fn __identity<const N: usize>() -> [usize; N] {
    let mut order = [0; N];
    let mut i = 0;
    while i < N {
        order[i] = i;
        i += 1;
    }
    order
}

/// The ready arms of a macro select of `N` arms, and the choice among
/// them. Not part of the semver contract.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ready<const N: usize> {
    /// The ready arms' indices; the first `count` are valid.
    ready: [usize; N],
    /// How many arms are ready.
    count: usize,
}

impl<const N: usize> Ready<N> {
    /// No arm ready.
    #[inline]
    pub fn new() -> Self {
        Self {
            ready: [0; N],
            count: 0,
        }
    }

    /// Records arm `index` as ready; arms are recorded in arm order.
    #[inline]
    pub fn push(&mut self, index: usize) {
        self.ready[self.count] = index;
        self.count += 1;
    }

    /// The arm an async select tries before reading them all, if any: none
    /// without arms; the first when `biased` or when there is one arm (a
    /// biased select whose first arm is not ready reads it twice); otherwise a
    /// uniformly drawn arm, but only while this thread's last full scan
    /// found at least half of its arms ready ([`learn`](Self::learn)).
    ///
    /// Trying a uniformly drawn arm first and, if it is not ready, choosing
    /// uniformly among all ready arms still chooses each of `r` ready arms
    /// with probability `1/N + (N - r)/N * 1/r = 1/r`. Whether to probe
    /// depends only on earlier selects, so each way is fair on its own.
    ///
    /// The probe spares a select whose arms are mostly ready from reading
    /// every channel, whose lines the senders keep taking away; blocking
    /// selects do not probe, as it bought them nothing with producer
    /// threads and slowed the single-thread loop
    /// (docs/perf-notes.md#async-select-one-probe-and-a-cooperative-budget).
    #[inline]
    pub fn probe(biased: bool) -> Option<usize> {
        if N == 0 {
            None
        } else if biased || N == 1 {
            Some(0)
        } else if PROBE.with(Cell::get) {
            Some(below(N))
        } else {
            None
        }
    }

    /// Records, after a full scan, whether at least half of the arms were
    /// ready, for the next [`probe`](Self::probe); `probed` is what that
    /// call returned for this select. Writes only when the answer changes.
    #[inline]
    pub fn learn(&self, biased: bool, probed: Option<usize>) {
        if !biased && N > 1 && probed.is_some() != (self.count * 2 >= N) {
            PROBE.with(|p| p.set(probed.is_none()));
        }
    }

    /// Takes one of the ready arms out: uniformly at random, or the first
    /// in arm order when `biased`.
    #[inline]
    pub fn pick(&mut self, biased: bool) -> Option<usize> {
        let count = self.count.checked_sub(1)?;
        self.count = count;
        if biased {
            let first = self.ready[0];
            self.ready.copy_within(1..=count, 0);
            return Some(first);
        }
        let k = if count == 0 { 0 } else { below(count + 1) };
        let index = self.ready[k];
        self.ready[k] = self.ready[count];
        Some(index)
    }
}

impl<const N: usize> Default for Ready<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Async selects a thread may run, since the last one that returned
/// `Pending`, before one of them yields to its executor.
pub(crate) const COOPERATIVE_BUDGET: u32 = 128;

/// The cooperative budget of `select_async!`: spends one unit of the
/// calling thread's budget; every [`COOPERATIVE_BUDGET`]th select yields
/// to the executor once (wakes its task and returns `Pending`) before it
/// reads its arms, so a task whose arms are always ready does not keep the
/// tasks queued behind it on the same worker from running. A select that
/// returns `Pending` while it waits resets the count ([`Waits`]): its task
/// yielded anyway. Not part of the semver contract.
///
/// A consumer whose arms are always ready never waits, so the producer
/// tasks it wakes queue behind it on its worker; yielding every 128
/// selects, as tokio's own channels do, lets them run
/// (docs/perf-notes.md#async-select-one-probe-and-a-cooperative-budget).
#[doc(hidden)]
#[inline]
pub fn cooperate() -> Cooperate {
    let yield_now = SPENT.with(|spent| {
        let n = spent.get() + 1;
        let spent_all = n >= COOPERATIVE_BUDGET;
        spent.set(if spent_all { 0 } else { n });
        spent_all
    });
    Cooperate { yield_now }
}

/// The future [`cooperate`] returns: `Pending` once (after waking its
/// task) when the budget was spent, else `Ready` at once.
#[doc(hidden)]
#[derive(Debug)]
#[must_use = "the budget is only honoured when the future is awaited"]
pub struct Cooperate {
    yield_now: bool,
}

impl Future for Cooperate {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<()> {
        if self.yield_now {
            self.yield_now = false;
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// A select's waiting future, which resets the thread's cooperative budget
/// (see [`cooperate`]) whenever it returns `Pending`. Not part of the
/// semver contract.
#[doc(hidden)]
#[derive(Debug)]
pub struct Waits<F>(pub F);

impl<F: Future + Unpin> Future for Waits<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<F::Output> {
        let poll = Pin::new(&mut self.0).poll(cx);
        if poll.is_pending() {
            SPENT.with(|spent| spent.set(0));
        }
        poll
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Ready;

    /// The probe of `select_async!` engages after a full check found at least
    /// half of the arms ready, disengages after one that found fewer, and
    /// always names the first arm for biased and single-arm selects.
    #[test]
    fn the_probe_follows_the_last_full_check() {
        // A fresh thread: nothing learned yet.
        std::thread::spawn(|| {
            assert_eq!(Ready::<4>::probe(false), None, "no probe before a check");
            assert_eq!(Ready::<4>::probe(true), Some(0), "biased tries arm 0");
            assert_eq!(Ready::<1>::probe(false), Some(0), "one arm is tried");
            assert_eq!(Ready::<0>::probe(false), None, "no arm, no probe");

            let mut half = Ready::<4>::new();
            half.push(1);
            half.push(3);
            half.learn(false, None);
            let mut drawn = [0u32; 4];
            for _ in 0..400 {
                let arm = Ready::<4>::probe(false).expect("probing after a half-ready check");
                drawn[arm] += 1;
            }
            assert!(
                drawn.iter().all(|&n| n > 50),
                "the probe draws every arm: {drawn:?}"
            );

            let mut one = Ready::<4>::new();
            one.push(2);
            one.learn(false, Some(0));
            assert_eq!(
                Ready::<4>::probe(false),
                None,
                "a mostly idle check stops it"
            );

            // A biased select neither probes at random nor changes what the
            // fair ones learned.
            half.learn(true, None);
            assert_eq!(Ready::<4>::probe(false), None);
        })
        .join()
        .unwrap();
    }
}
