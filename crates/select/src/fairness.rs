//! The fair choice among ready operations: the thread's random number
//! generator and the draws made from it.
//!
//! A fair select chooses each of its ready operations with equal
//! probability. The [`Select`] builder tries its operations in a random
//! order drawn one position at a time and takes the first ready one (the
//! first ready operation of a uniformly random order is uniform among the
//! ready ones); the macros read which arms are ready and draw one of them
//! (`Ready`, in the macro support). A biased select takes the first ready
//! operation in the order they were added instead.

use std::cell::Cell;

use fastrand::Rng;

use crate::operand::addr_of;
use crate::select::Select;
use crate::sync::thread_locals;

/// The indices `0..64`, which a select of up to 64 operations shuffles.
const IDENTITY: [u8; 64] = {
    let mut order = [0; 64];
    let mut i = 0;
    while i < 64 {
        order[i] = i as u8;
        i += 1;
    }
    order
};

/// The generator's state before the thread's first draw: 0, "seed on
/// first use". Under loom every execution of a model must make the same
/// choices for the same schedule, or loom cannot replay and branch it: the
/// order comes from a fixed seed, in a loom thread-local that each
/// execution starts afresh.
#[cfg(not(loom))]
const FIRST_STATE: u64 = 0;
#[cfg(loom)]
const FIRST_STATE: u64 = 0x9E37_79B9_7F4A_7C15;

thread_locals! {
    /// The state of the thread's generator (a `fastrand::Rng`, whose whole
    /// state is one word) for the fair order; 0 until seeded.
    static RNG: Cell<u64> = Cell::new(FIRST_STATE);
}

/// A random number from the thread's generator.
fn random() -> u64 {
    RNG.with(|state| {
        let mut current = state.get();
        if current == 0 {
            current = seed();
        }
        let mut rng = Rng::with_seed(current);
        let x = rng.u64(..);
        state.set(rng.get_seed());
        x
    })
}

/// Seeds this thread's generator, so that a test can replay the same fair
/// choices. Not part of the semver contract.
#[doc(hidden)]
pub fn __seed_thread_rng(seed: u64) {
    RNG.with(|rng| rng.set(seed | 1));
}

/// A non-zero seed that differs between threads and runs: a stack
/// address hashed with std's randomly keyed hasher.
///
/// Not the wall clock, which Miri's isolation (kept on by `cargo xtask
/// miri`) refuses: `RandomState` takes its keys from the OS once per
/// thread (Miri supplies them too) and changes them for every new
/// instance.
fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    let marker = 0u8;
    RandomState::new().hash_one(addr_of(&marker)) | 1
}

/// A uniformly random number below `n` (at most 2^32): the high half of
/// a draw, scaled by multiplication instead of division.
pub(crate) fn below(n: usize) -> usize {
    (((random() >> 32) * n as u64) >> 32) as usize
}

/// One step of a lazily drawn Fisher-Yates shuffle: swaps into position
/// `k` of `order` an index drawn uniformly from positions `k..`. `bits`
/// holds `halves` unused 32-bit draws.
#[inline(always)]
fn shuffle_step<I>(order: &mut [I], k: usize, bits: &mut u64, halves: &mut u8) {
    let left = order.len() - k;
    if left > 1 {
        if *halves == 0 {
            *bits = random();
            *halves = 2;
        }
        // 32 random bits scaled to `0..left`: a bias of at most
        // left / 2^32.
        let j = k + (((*bits & 0xFFFF_FFFF) * left as u64) >> 32) as usize;
        *bits >>= 32;
        *halves -= 1;
        order.swap(k, j);
    }
}

/// Calls `f` on the indices in `order` (the indices `0..order.len()`) in
/// a random order (a Fisher-Yates shuffle drawn one position at a time,
/// so that a select stops drawing at its first ready operation; the first
/// ready operation of a uniformly random order is uniform among the ready
/// ones), until `f` returns `Some`.
#[inline(always)]
fn in_random_order<I: Copy + Into<usize>, R>(
    order: &mut [I],
    mut f: impl FnMut(usize) -> Option<R>,
) -> Option<R> {
    let (mut bits, mut halves) = (0, 0);
    for k in 0..order.len() {
        shuffle_step(order, k, &mut bits, &mut halves);
        if let Some(r) = f(order[k].into()) {
            return Some(r);
        }
    }
    None
}

impl Select<'_> {
    /// Calls `f` on the operations until it returns `Some`: in a fresh
    /// random order, or in the order they were added when biased.
    pub(crate) fn first_of<R>(&self, f: impl FnMut(usize) -> Option<R>) -> Option<R> {
        let n = self.len;
        if self.biased || n <= 1 {
            return (0..n).find_map(f);
        }
        // Tried in a lazily drawn random order, stopping at the first
        // ready one, rather than all checked before a draw: with channels
        // fed from other cores each check is a cache miss and the first
        // one tried is usually ready
        // (docs/perf-notes.md#select-macros-reserve-their-arms-directly).
        if n <= 64 {
            let mut order = IDENTITY;
            in_random_order(&mut order[..n], f)
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            in_random_order(&mut order, f)
        }
    }
}
