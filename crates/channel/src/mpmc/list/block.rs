//! The list's blocks: their slots, the slot states, and the walk that
//! frees a block or hands it to the receiver still reading it (the
//! protocol is described in `mod.rs`).

use core::mem::MaybeUninit;
use core::ptr;

use super::BLOCK_CAP;
use crate::sync::UnsafeCell;
use crate::sync::{AtomicPtr, AtomicUsize, Backoff, Ordering};

/// Slot state: the value is written.
pub(super) const WRITTEN: usize = 1;
/// Slot state: the receiver is done with the slot.
pub(super) const READ: usize = 2;
/// Slot state: the block is being freed; this slot's receiver goes on.
pub(super) const DESTROY: usize = 4;
/// Slot state: the receiver gave up waiting for the value; the sender
/// sends it again.
pub(super) const GIVEN_UP: usize = 8;

/// One slot of a block.
pub(super) struct Slot<T> {
    /// `WRITTEN`, `READ`, `DESTROY` and `GIVEN_UP` bits.
    pub(super) state: AtomicUsize,
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
}

/// A block of slots. Aligned to `BLOCK_ALIGN` so that a receive claim can
/// keep the slot's offset in the low bits of the block's address.
#[repr(align(256))]
pub(super) struct Block<T> {
    /// The next block, linked by the sender that claimed this block's last
    /// slot.
    pub(super) next: AtomicPtr<Block<T>>,
    pub(super) slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    pub(super) fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                state: AtomicUsize::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
        })
    }

    /// Waits for the link to the next block and returns it.
    ///
    /// # Safety
    /// `this` is live, and its last slot has been claimed by a sender.
    pub(super) unsafe fn wait_next(this: *const Self) -> *mut Self {
        let mut backoff = Backoff::new();
        loop {
            // SAFETY: forwarded from the caller.
            let next = unsafe { (*this).next.load(Ordering::Acquire) };
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Walks the slots from `start` on: true once all are done with (the
    /// caller then owns the block, to free or keep as the spare); false at
    /// a slot still in use, which gets `DESTROY`, and whose receiver goes
    /// on from there.
    ///
    /// # Safety
    /// `this` is live and every slot before `start`, and the last slot, are
    /// done with; if this returns false the caller touches the block no
    /// more.
    pub(super) unsafe fn destroy(this: *mut Self, start: usize) -> bool {
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is live until this loop says otherwise.
            let slot = unsafe { &(*this).slots[i] };
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                // That slot's receiver goes on.
                return false;
            }
        }
        true
    }

    /// Makes a block whose slots are all done with as good as new.
    ///
    /// # Safety
    /// The caller owns the block: no other thread holds it.
    pub(super) unsafe fn reset(this: *mut Self) {
        // SAFETY: forwarded from the caller.
        let block = unsafe { &*this };
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in &block.slots {
            slot.state.store(0, Ordering::Relaxed);
        }
    }
}
