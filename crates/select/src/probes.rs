//! Counters the loom models read to check that the paths they exist for
//! were explored; they add up over every execution of a model.
//!
//! They are std thread-locals on purpose: loom runs all the threads of a
//! model on the OS thread of its test, so each test counts only its own
//! model's events, even while the test harness runs other models in
//! parallel.

use std::cell::Cell;
use std::thread::LocalKey;

std::thread_local! {
    /// How often a blocking select went to park.
    pub(crate) static PARKS: Cell<usize> = const { Cell::new(0) };
    /// How often a select passed a wake-up on to another waiter.
    pub(crate) static PASSED_ON: Cell<usize> = const { Cell::new(0) };
}

/// Adds one to `probe`.
pub(crate) fn hit(probe: &'static LocalKey<Cell<usize>>) {
    probe.with(|n| n.set(n.get() + 1));
}

/// The count of `probe` on this thread so far.
pub(crate) fn count(probe: &'static LocalKey<Cell<usize>>) -> usize {
    probe.with(Cell::get)
}
