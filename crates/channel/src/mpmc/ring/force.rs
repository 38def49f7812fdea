//! Force-sends on the ring: a send that never waits for room.
//!
//! # Protocol
//!
//! `force_send` never waits for room: when the ring is full it takes the
//! oldest value out and puts its own in. Three cases, by the tail's slot:
//!
//! - **Free** (`stamp == tail`), no permits outstanding: an ordinary claim
//!   and write.
//! - **Full of values** (`stamp == head + 1` with `head` one lap behind
//!   `tail`): the oldest value sits in the very slot the send needs. The
//!   force-send claims it as a receiver would (compare-and-swap `head`
//!   forward from exactly that position), then moves the tail's position
//!   past the slot (a compare-and-swap that keeps the closed flag and the
//!   permits), swaps its value for the old one and stores
//!   `stamp = tail + 1`. Between the two claims the slot's stamp is neither
//!   free for the tail nor a value for the new head, so no sender, receiver
//!   or other force-send can take it; a receiver that races for the same
//!   oldest value loses or wins the one `head` compare-and-swap, and the
//!   force-send that loses waits for that receiver to free the slot, then
//!   sends into it without evicting. A permit is never granted during
//!   that window (`try_reserve_many` wants the tail's slot free), so
//!   length plus permits stays within `cap`. If the channel closes in the
//!   window, the send had claimed its room first and completes; receivers
//!   there see `Empty` (the new head's slot holds no value for them), not
//!   `Closed`, and then receive the new value.
//! - **Free, but permits promise the room**: the force-send claims the
//!   slot anyway and writes, so for a moment length plus permits exceeds
//!   `cap` by one for each such force-send, and every other sender and
//!   permit request sees the channel full, which it is. It then takes
//!   values from the head (possibly its own, if nothing older was
//!   buffered) until length plus permits is within `cap` again, and returns
//!   the one it took. Two such force-sends that look at the same excess at
//!   once may both evict, one value more than needed: never a value lost or
//!   duplicated.
//!
//! A force-send waits out another thread that is midway through an
//! operation on the slot it needs (a receiver moving the oldest value out,
//! a sender writing it), as a permit's send does; it never waits for room.

use core::mem::MaybeUninit;

use super::{Claim, POS_MASK, SKIPPED, Shared};
use crate::error::SendError;
use crate::orphan;
use crate::sync::{Backoff, Ordering};

impl<T> Shared<T> {
    /// Sends `value` without waiting for room: when the ring is full,
    /// takes the oldest value out and returns it (see the protocol in this
    /// module's docs). `SendError` only when the channel is closed.
    pub(super) fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>> {
        let mut backoff = Backoff::new();
        // Steps spent waiting for another thread (not retrying a lost race).
        let mut waited = Backoff::new();
        let mut word = self.tail.load(Ordering::Relaxed);
        loop {
            let pos = word & POS_MASK;
            if pos & self.mark_bit != 0 {
                return Err(SendError(value));
            }
            let permits = word >> 48;
            let slot = self.slot((pos & (self.mark_bit - 1)) as usize);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == pos {
                // The tail's slot is free: claim it, even if permits hold
                // the room (then evict below).
                let new = self.next_pos(pos) | (permits << 48);
                match self.tail.compare_exchange_weak(
                    word,
                    new,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: a fresh claim of position `pos`.
                        unsafe { self.write(Claim { pos }, value) };
                        if permits == 0 {
                            // A free slot without permits is room.
                            return Ok(None);
                        }
                        return Ok(self.evict_while_over());
                    }
                    Err(w) => {
                        word = w;
                        backoff.spin();
                    }
                }
                continue;
            }
            let previous = self.previous_lap(pos);
            if stamp.wrapping_add(self.one_lap) & POS_MASK == pos + 1 {
                // The slot holds last lap's position (the ring is full),
                // or a receiver is moving that value out.
                let head = self.head.load(Ordering::SeqCst);
                if stamp & SKIPPED != 0 {
                    // Given up by its sender: pass it as `start_send` does.
                    if head != previous || self.skip(previous, stamp).is_none() {
                        waited.snooze();
                    }
                } else if head == previous {
                    // Full of values: claim the oldest as a receiver would.
                    // While the head is past it and the tail is not, no one
                    // else can claim the slot: its stamp is neither free nor
                    // a value at the new head.
                    if self
                        .head
                        .compare_exchange(
                            previous,
                            self.next_pos(previous),
                            Ordering::SeqCst,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        self.advance_tail_past(pos);
                        // SAFETY: the head claim gave this thread the value
                        // of `previous` (its stamp, read with Acquire, showed
                        // it written), and the tail claim the slot for `pos`.
                        let old = slot.value.with_mut(|p| unsafe {
                            core::mem::replace(&mut *p, MaybeUninit::new(value)).assume_init()
                        });
                        slot.stamp.store(pos + 1, Ordering::Release);
                        self.recv_wait.notify_one();
                        return Ok(Some(old));
                    }
                    backoff.spin();
                } else {
                    // A receiver has claimed the value and is moving it
                    // out; the slot is this send's next. Wait it out, as a
                    // permit's send does.
                    if waited.is_completed() && self.resolve_orphan(previous, orphan::Side::Recv) {
                        word = self.tail.load(Ordering::Relaxed);
                        continue;
                    }
                    waited.snooze();
                }
                word = self.tail.load(Ordering::Relaxed);
            } else {
                // Another sender claimed this position (the tail we read is
                // stale), or the previous lap's sender of this slot has not
                // written it yet: wait for it.
                let again = self.tail.load(Ordering::Relaxed);
                if again == word {
                    if waited.is_completed() && self.resolve_orphan(previous, orphan::Side::Send) {
                        continue;
                    }
                    waited.snooze();
                } else {
                    backoff.spin();
                }
                word = again;
            }
        }
    }

    /// Moves the tail's position from `pos` to the next one, keeping the
    /// closed flag and the permits. Only a force-send that holds the head
    /// claim of `pos`'s slot calls it, and nothing else can move the
    /// position meanwhile (a claim needs the slot's stamp to be `pos`).
    fn advance_tail_past(&self, pos: u64) {
        let next = self.next_pos(pos);
        let mut word = self.tail.load(Ordering::Relaxed);
        loop {
            debug_assert_eq!(word & POS_MASK & !self.mark_bit, pos);
            let new = (word & !POS_MASK) | (word & self.mark_bit) | next;
            match self
                .tail
                .compare_exchange_weak(word, new, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(w) => word = w,
            }
        }
    }

    /// After a force-send claimed room that permits had promised: while
    /// values plus permits exceed the capacity, takes the oldest value
    /// (possibly the force-send's own) and returns it. Waits out a value
    /// still being written at the head, as a permit's send waits out a slow
    /// receiver.
    #[cold]
    fn evict_while_over(&self) -> Option<T> {
        let mut waited = Backoff::new();
        loop {
            let (word, head) = loop {
                let word = self.tail.load(Ordering::SeqCst);
                let head = self.head.load(Ordering::SeqCst);
                if self.tail.load(Ordering::SeqCst) == word {
                    break (word, head);
                }
            };
            let permits = (word >> 48) as usize;
            if self.len_of(head, word & POS_MASK & !self.mark_bit) + permits <= self.cap {
                return None;
            }
            match self.start_recv() {
                // SAFETY: a fresh claim from `start_recv`.
                Ok(claim) => return Some(unsafe { self.read(claim) }),
                Err(_) => waited.snooze(),
            }
        }
    }
}
