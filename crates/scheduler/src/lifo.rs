//! The LIFO slot: one task a worker runs next, which other workers may
//! steal.
//!
//! # Invariants
//! The slot holds either null or a pointer made by `Runnable::into_raw`
//! that nobody else owns: the slot owns it. Only the owner worker makes the
//! slot non-null; every access that takes a pointer out is a `swap`, so
//! ownership moves whole from the slot to exactly one caller.

use std::fmt;
use std::ptr::{NonNull, null_mut};

use crate::sync::{AtomicPtr, Ordering};
use crate::task::harness::Runnable;

/// A stealable one-task slot.
pub(crate) struct Lifo {
    /// Null, or an owned raw runnable.
    slot: AtomicPtr<()>,
}

impl fmt::Debug for Lifo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifo")
            .field("occupied", &!self.is_empty())
            .finish()
    }
}

impl Lifo {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self {
            slot: AtomicPtr::new(null_mut()),
        }
    }

    /// Puts `runnable` in the slot and returns the task it displaced. Only
    /// the owner worker calls this.
    pub(crate) fn swap(&self, runnable: Runnable) -> Option<Runnable> {
        let new = runnable.into_raw().as_ptr();
        if self.slot.load(Ordering::Relaxed).is_null() {
            // Only the owner fills the slot and stealers only empty it, so
            // an empty slot stays empty until this store, and a release
            // store spares every same-worker wake-up a locked instruction
            // (docs/perf-notes.md#lifo-push-without-a-locked-instruction).
            self.slot.store(new, Ordering::Release);
            return None;
        }
        Self::own(self.slot.swap(new, Ordering::AcqRel))
    }

    /// Takes the task in the slot.
    pub(crate) fn take(&self) -> Option<Runnable> {
        if self.is_empty() {
            return None;
        }
        Self::own(self.slot.swap(null_mut(), Ordering::AcqRel))
    }

    /// Whether the slot looked empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.slot.load(Ordering::Acquire).is_null()
    }

    /// Takes ownership of a pointer swapped out of the slot.
    fn own(ptr: *mut ()) -> Option<Runnable> {
        let ptr = NonNull::new(ptr)?;
        // SAFETY: a non-null value in the slot came from `into_raw` and is
        // owned by the slot; the swap that returned it moved that ownership
        // to us alone (module invariants).
        Some(unsafe { Runnable::from_raw(ptr) })
    }
}

impl Drop for Lifo {
    fn drop(&mut self) {
        drop(self.take());
    }
}
