//! The state of a oneshot channel and its flag protocol.
//!
//! # Protocol
//!
//! One atomic byte of flags: `VALUE` (a value is stored and not yet taken),
//! `TX_DONE` (the sender sent or was dropped) and `RX_CLOSED` (the receiver
//! closed or was dropped). The sender writes the value into the cell, then
//! sets `VALUE | TX_DONE` with a compare-and-swap that fails if `RX_CLOSED`
//! is set; on failure it still owns the value and hands it back. A receiver
//! takes the value by clearing `VALUE` with a `fetch_and` and reads it only
//! if that cleared the bit (a `Receiver` is `Sync` and select reaches it
//! through `&self`, so two threads may try at once: one wins, the other
//! finds the value gone). Whoever finds `VALUE` set when the shared state
//! is freed drops the value. So the value is taken, handed back, or dropped
//! exactly once.
//!
//! # Waiting
//!
//! The receiver's future waits in `rx_task`, a single waker cell: the
//! future is polled through `&mut`, so one task at a time registers, and it
//! registers and then checks the state again. A blocking receive and a
//! select wait in `recv_wait`. The sender (or its drop) sets its flags and
//! then wakes both, so whichever way the receiver waits, either its check
//! after registering sees the flags or the wake finds it registered. The
//! future keeps clear of the wait queue's lock and its per-wait
//! allocation, which an actor's ask pays on every round trip
//! (docs/perf-notes.md#the-oneshot-future-waits-in-a-waker-cell).

use core::mem::MaybeUninit;

use crate::chan::{Chan, CloseChan, RecvChan};
use crate::error::TryRecvError;
use crate::sync::{AtomicU8, AtomicWaker, Ordering, UnsafeCell};
use crate::waiter::WaitQueue;

/// A value is stored and not yet taken.
pub(super) const VALUE: u8 = 1;
/// The sender sent or was dropped.
pub(super) const TX_DONE: u8 = 2;
/// The receiver closed or was dropped.
pub(super) const RX_CLOSED: u8 = 4;

/// The state both halves share.
///
/// # Invariants
///
/// `value` is initialised exactly while `state & VALUE != 0`, while the
/// sender has written it but not yet published `VALUE` (then only the
/// sender touches it), or from a receiver's clearing of `VALUE` until it
/// has moved the value out (then only that receiver touches it).
pub struct Inner<T> {
    pub(super) state: AtomicU8,
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
    /// The receiver's future waiting for the value.
    pub(super) rx_task: AtomicWaker,
    /// The receiver blocking, or a select over it, waiting for the value.
    pub(super) recv_wait: WaitQueue,
    /// `Sender::closed()` futures.
    pub(super) close_wait: WaitQueue,
}

// SAFETY: the value moves from the sender's thread to the receiver's through
// the flag protocol (Release publish, Acquire observe): `T: Send` suffices.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; no `&T` is ever shared.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.state.load(Ordering::Acquire);
        if state & VALUE != 0 {
            // Taken by clearing `VALUE` first: a `Receiver` is `Sync`, and
            // the select hooks reach it through `&self`, so two threads
            // may try at once; the one whose `fetch_and` clears the bit
            // owns the value.
            state = self.state.fetch_and(!VALUE, Ordering::AcqRel);
            if state & VALUE != 0 {
                // SAFETY: `VALUE` was published with Release after the
                // write, and this thread cleared it: nobody else reads the
                // value, and the drop of `Inner` leaves it alone.
                let v = self.value.with(|p| unsafe { (*p).assume_init_read() });
                return Ok(v);
            }
        }
        if state & (TX_DONE | RX_CLOSED) != 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    pub(super) fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) & (VALUE | TX_DONE | RX_CLOSED) != 0
    }

    /// Wakes the receiver, however it waits, after the sender set its
    /// flags.
    pub(super) fn wake_receiver(&self) {
        self.rx_task.wake();
        self.recv_wait.notify_all();
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        if self.state.load(Ordering::Acquire) & VALUE != 0 {
            // SAFETY: `VALUE` is set, so the value is initialised and not
            // taken; both endpoints are gone.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Chan for Inner<T> {
    const FLAVOR: &'static str = "oneshot";
}

impl<T> RecvChan for Inner<T> {
    type Item = T;
    #[inline(always)]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        Inner::try_recv(self)
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        &self.recv_wait
    }
    fn len(&self) -> usize {
        usize::from(self.state.load(Ordering::Acquire) & VALUE != 0)
    }
}

impl<T> CloseChan for Inner<T> {
    fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & RX_CLOSED != 0
    }
    fn close_wait(&self) -> &WaitQueue {
        &self.close_wait
    }
}

impl<T> core::fmt::Debug for Inner<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}
