//! The ring of an SPSC channel: positions, slots and the close.
//!
//! # Protocol
//!
//! `head` and `tail` are positions in `0 .. 2 * capacity`; slot
//! `pos % capacity` holds the value at position `pos`. The channel is empty
//! when `head == tail` and full when they are `capacity` apart, so all
//! `capacity` slots are usable. The producer writes a slot, then publishes
//! `tail` with `Release`; the consumer loads `tail` with `Acquire` before
//! reading, so the value is visible. The consumer publishes `head` the same
//! way after moving the value out, handing the slot back.
//!
//! `closed` is set (with `Release`) by `close()` or by either endpoint's
//! drop. The producer stores `tail` before it can set `closed`, so a
//! consumer that sees `closed` and then re-loads `tail` sees every value
//! sent before the close: receivers drain, then get `Closed`.
//!
//! The receiver's close and a send already past its `closed` check can
//! race: that send returns `Ok` and its value lands after the close. The
//! receiver never reports it (once it has returned `Closed` it always does),
//! and the value is dropped with the buffer, exactly once, as for a send
//! racing with the receiver's drop.
//!
//! Waiting goes through the crate's wait queues: each publish is followed by
//! the notifier's half of a store-load fence (on Linux only a compiler fence;
//! the waiting side pays with `membarrier`) and one load of the other side's
//! waiter count (the `waiter` module explains why no wake-up is lost).
//! A blocking receive that keeps finding its value within a few spins is
//! at the sender's heels; it then waits for a run of messages before it
//! takes them (`chan::run`), so the two threads stop passing the tail's and
//! the slots' lines back and forth once per message; a blocking send at the
//! receiver's heels (the ring full) waits for a run of free slots likewise.

use core::cell::Cell;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::chan::run::Streak;
use crate::chan::{Chan, CloseChan};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell};
use crate::unwind::Panics;
use crate::waiter::{WaitQueue, notify_all_of};

/// The state both endpoints share.
///
/// # Invariants
///
/// - `head` and `tail` are in `0 .. 2 * cap`; `tail` is written only by the
///   sender, `head` only by the receiver.
/// - The slots at positions `head, head + 1, .., tail - 1` (mod `2 * cap`,
///   slot index `pos % cap`) hold initialised values; every other slot is
///   uninitialised. The sender only writes slots outside that range, the
///   receiver only reads slots inside it.
/// - `closed` goes from false to true once and never back.
pub struct Shared<T> {
    pub(super) head: CachePadded<AtomicUsize>,
    pub(super) tail: CachePadded<AtomicUsize>,
    pub(super) cap: usize,
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    pub(super) closed: AtomicBool,
    /// The receiver (or a select over it) waiting for a message. Padded:
    /// the sender writes its counter on every send in symmetric mode.
    pub(super) recv_wait: CachePadded<WaitQueue>,
    /// The sender (or a select over it) waiting for room. Padded likewise.
    pub(super) send_wait: CachePadded<WaitQueue>,
    /// `closed()` futures.
    close_wait: WaitQueue,
}

// SAFETY: the slots are handed between the two threads by the head/tail
// protocol above (Release publish, Acquire observe); a value moves from the
// sender's thread to the receiver's, so `T: Send` is all that is needed.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever shared between threads.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The state of a new channel with room for `capacity` values (already
    /// checked by `channel`).
    pub(super) fn new(capacity: usize) -> Self {
        let buf = (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            cap: capacity,
            buf,
            closed: AtomicBool::new(false),
            recv_wait: CachePadded::new(WaitQueue::single_notifier().for_capacity(capacity)),
            send_wait: CachePadded::new(WaitQueue::single_notifier().for_capacity(capacity)),
            close_wait: WaitQueue::new(),
        }
    }
}

impl<T> Shared<T> {
    #[inline(always)]
    pub(super) fn next(&self, pos: usize) -> usize {
        if pos + 1 == 2 * self.cap { 0 } else { pos + 1 }
    }

    #[inline(always)]
    pub(super) fn advance(&self, pos: usize, n: usize) -> usize {
        let p = pos + n;
        if p >= 2 * self.cap {
            p - 2 * self.cap
        } else {
            p
        }
    }

    #[inline(always)]
    pub(super) fn distance(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + 2 * self.cap - from
        }
    }

    #[inline(always)]
    pub(super) fn slot(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
        let i = if pos >= self.cap { pos - self.cap } else { pos };
        debug_assert!(i < self.buf.len());
        // SAFETY: `pos < 2 * cap`, so `i < cap == buf.len()`.
        unsafe { self.buf.get_unchecked(i) }
    }

    #[inline(always)]
    pub(super) fn slot_index(&self, pos: usize) -> usize {
        if pos >= self.cap { pos - self.cap } else { pos }
    }

    /// # Safety
    /// As [`write`](Self::write), for the slot with index `idx < cap`.
    #[inline(always)]
    pub(super) unsafe fn write_slot(&self, idx: usize, value: T) {
        debug_assert!(idx < self.buf.len());
        // SAFETY: `idx < cap == buf.len()`; exclusivity as in `write`.
        let slot = unsafe { self.buf.get_unchecked(idx) };
        // SAFETY: forwarded from the caller.
        slot.with_mut(|p| unsafe { (*p).write(value) });
    }

    /// Copies `src` into the slots from index `idx` on, wrapping to slot 0
    /// at the end of the buffer: at most two `memcpy`s.
    ///
    /// # Safety
    /// The caller is the sender, `idx < cap`, `src.len() <= cap`, and the
    /// `src.len()` slots from `idx` on (wrapping) are outside the
    /// initialised range.
    #[inline]
    pub(super) unsafe fn write_copies(&self, idx: usize, src: &[T])
    where
        T: Copy,
    {
        debug_assert!(idx < self.cap && src.len() <= self.cap);
        let first = src.len().min(self.cap - idx);
        #[cfg(not(loom))]
        {
            // `UnsafeCell` (the facade's and core's) and `MaybeUninit` are
            // transparent, so the buffer is laid out as `[T; cap]`; the
            // pointer comes from the whole slice, whose cells allow writes
            // through a shared reference.
            let base = self.buf.as_ptr().cast::<T>().cast_mut();
            // SAFETY: `idx + first <= cap` and `src.len() - first <= idx`
            // (the ring is not full there, per the caller), so both ranges
            // are inside the buffer, outside the initialised range, and
            // apart from `src`, which the caller borrows from elsewhere.
            unsafe {
                core::ptr::copy_nonoverlapping(src.as_ptr(), base.add(idx), first);
                core::ptr::copy_nonoverlapping(src.as_ptr().add(first), base, src.len() - first);
            }
        }
        #[cfg(loom)]
        for (k, v) in src.iter().enumerate() {
            let i = if k < first { idx + k } else { k - first };
            // SAFETY: forwarded from the caller; `i < cap`.
            unsafe { self.write_slot(i, *v) };
        }
    }

    /// # Safety
    /// As [`read`](Self::read), for the slot with index `idx < cap`.
    #[inline(always)]
    pub(super) unsafe fn read_slot(&self, idx: usize) -> T {
        debug_assert!(idx < self.buf.len());
        // SAFETY: `idx < cap == buf.len()`; exclusivity as in `read`.
        let slot = unsafe { self.buf.get_unchecked(idx) };
        // SAFETY: forwarded from the caller.
        slot.with(|p| unsafe { (*p).assume_init_read() })
    }

    /// # Safety
    /// The caller is the sender and the slot at `pos` is outside the
    /// initialised range (the ring is not full at `pos`).
    #[inline(always)]
    pub(super) unsafe fn write(&self, pos: usize, value: T) {
        // SAFETY: per the caller's contract, nobody reads this slot until
        // `tail` is published past it.
        self.slot(pos).with_mut(|p| unsafe { (*p).write(value) });
    }

    /// # Safety
    /// The caller is the receiver and `pos` is inside the initialised range.
    #[inline(always)]
    pub(super) unsafe fn read(&self, pos: usize) -> T {
        // SAFETY: per the caller's contract the slot is initialised and the
        // sender does not touch it until `head` is published past it.
        self.slot(pos).with(|p| unsafe { (*p).assume_init_read() })
    }

    pub(super) fn close(&self) -> bool {
        let was = self.closed.swap(true, Ordering::AcqRel);
        notify_all_of(&[&self.recv_wait, &self.send_wait, &self.close_wait]);
        !was
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Waits for a run (`chan::run`) for one endpoint with this `streak`:
    /// `peer` is the other endpoint's position (the tail for the receiver,
    /// the head for the sender), `cache` the endpoint's copy of it, which
    /// keeps what the looks read, and `run` what a position read counts
    /// (messages buffered, or free slots).
    pub(super) fn wait_for_run(
        &self,
        streak: &Streak,
        peer: &AtomicUsize,
        cache: &Cell<usize>,
        run: impl Fn(usize) -> usize,
    ) {
        streak.wait_for_run(|| {
            let pos = peer.load(Ordering::Acquire);
            cache.set(pos);
            (!self.is_closed()).then(|| run(pos))
        });
    }

    pub(super) fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        let head = self.head.load(Ordering::Acquire);
        self.distance(head, tail).min(self.cap)
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Drops what is still buffered, every value even if one's drop
        // panics (the first panic is raised again afterwards).
        let mut panics = Panics::new();
        let mut pos = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        while pos != tail {
            // SAFETY: `pos` is in the initialised range and both endpoints
            // are gone, so nobody else touches the slot; each position is
            // visited once.
            let value = unsafe { self.read(pos) };
            panics.run(|| drop(value));
            pos = self.next(pos);
        }
        panics.finish();
    }
}

impl<T> Chan for Shared<T> {
    const FLAVOR: &'static str = "spsc";
}

impl<T> CloseChan for Shared<T> {
    fn is_closed(&self) -> bool {
        Shared::is_closed(self)
    }
    fn close_wait(&self) -> &WaitQueue {
        &self.close_wait
    }
}

impl<T> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}
