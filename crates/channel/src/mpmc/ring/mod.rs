//! The ring of an MPMC channel: slots with sequence stamps, claimed
//! positions, permits, and the positions a select gave up or orphaned.
//!
//! # Protocol
//!
//! A bounded array queue with a sequence stamp per slot (Dmitry Vyukov's
//! design, as crossbeam-channel's array flavor also uses it). `head` and
//! `tail` are lap-encoded positions: the low bits are a slot index in
//! `0 .. cap`, the bit above them (`mark_bit`) marks the channel closed (in
//! `tail` only), and the bits above that count laps. A slot's stamp says
//! which position it is ready for:
//!
//! - `stamp == tail`: free for the sender that claims position `tail`;
//! - `stamp == head + 1`: holds the value for the receiver at `head`;
//! - `stamp == (head + 1) | SKIPPED` (a bit above every position): the
//!   sender that claimed `head` gave it up without writing (a select's send
//!   reservation abandoned, see `nimsync_channel::__select`). The receiver
//!   at `head` claims it like a value, frees the slot for the next lap and
//!   moves on. Until then the position counts in `len`, as a claimed but
//!   unwritten one does.
//!
//! A sender claims a position by compare-and-swapping `tail` forward, writes
//! the value, then stores `stamp = tail + 1` with `Release`. A receiver
//! claims by compare-and-swapping `head` forward, reads (after an `Acquire`
//! load of the stamp), then stores `stamp = head + one_lap` with `Release`,
//! freeing the slot for the next lap. There are exactly `cap` slots.
//!
//! # Permits
//!
//! The 16 bits of the tail word above bit 48 count outstanding [`Permit`]s.
//! A permit is room promised to one sender: it is taken and returned by a
//! compare-and-swap on the same word that claims positions, so "length plus
//! permits never exceeds capacity" is checked atomically with every claim.
//! With no permits outstanding, a send pays nothing for this.
//!
//! A batch of `n` permits (`reserve_many`) is one compare-and-swap adding
//! `n`, so it is all or nothing and the bound holds at every moment. The
//! count has 16 bits: a request for more than 65 535 permits at once, or
//! for more than `cap`, could never be granted, and the endpoints refuse it
//! with an error before asking the ring (`MAX_PERMITS`).
//!
//! Closing sets `mark_bit` in `tail` with one `fetch_or`: every later claim
//! sees it and fails, while receivers drain what was claimed before.
//!
//! Taking and returning permits is in `permits.rs`. Force-sends, which
//! evict the oldest value instead of waiting for room, are in `force.rs`; the ring as a [`Queue`] of the flavor layer, and as
//! a channel of the generic futures, in `adapter.rs`.

mod adapter;
mod force;
mod permits;

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::counts::Counts;
use crate::chan::run;
use crate::error::{TryRecvError, TrySendError};
use crate::orphan;
use crate::sync::{Arc, AtomicBool, AtomicU64, Backoff, Ordering, UnsafeCell, fence};
use crate::unwind::Panics;
use crate::waiter::{WaitQueue, notify_all_of};

/// Bits of the tail word that hold the lap-encoded position.
const POS_MASK: u64 = (1 << 48) - 1;

/// Set in a slot's stamp, above the position bits, when the sender that
/// claimed the position gave it up without writing (a select send arm whose
/// value expression panicked, returned early or was cancelled): the slot
/// holds no value and the receiver at that position skips it.
const SKIPPED: u64 = 1 << 63;
/// One outstanding permit in the tail word.
const ONE_PERMIT: u64 = 1 << 48;
/// Most permits outstanding at once; `reserve` waits beyond that.
const MAX_PERMITS: u64 = (1 << 16) - 1;

/// Wakes `n` waiters of `queue` when dropped: batches notify once, and
/// still notify if they unwind midway.
struct NotifyOnDrop<'a> {
    queue: &'a WaitQueue,
    n: usize,
}

impl Drop for NotifyOnDrop<'_> {
    fn drop(&mut self) {
        self.queue.notify_many(self.n);
    }
}

/// A fresh, process-unique channel id.
pub(super) fn next_channel_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One slot of the ring.
struct Slot<T> {
    /// The position this slot is ready for (see the module docs).
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A claimed position, with its lap; its slot is at
/// [`Shared::index_of`] the claim.
///
/// One word, so that a `Result<Claim, _>` comes back in registers: a wider
/// result went through memory in stores the select read back with loads
/// the processor could not forward
/// (docs/perf-notes.md#select-codegen-inlined-direct-path-the-winner-by-reference-one-word-claims).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    pos: u64,
}

/// The state every endpoint shares.
///
/// # Invariants
///
/// - `head` and the position part of `tail` are `lap | index` with
///   `index < cap`; `tail` may also carry `mark_bit` (closed) and, above bit
///   48, the number of outstanding permits.
/// - A slot's value is initialised exactly when its stamp is `pos + 1` for
///   the position `pos` last claimed by a sender, until the receiver that
///   claims `pos` moves it out. A stamp of `(pos + 1) | SKIPPED` marks a
///   position whose sender gave it up: no value, and the receiver that
///   claims `pos` frees the slot without reading it.
/// - Claimed length plus outstanding permits never exceeds `cap`, except
///   by one for each force-send between its claim of room that permits
///   had promised and its eviction (see `force.rs`).
pub struct Shared<T> {
    /// A process-unique id, so a select token can name its channel even
    /// after the channel is gone and its memory reused.
    id: u64,
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    buf: Box<[Slot<T>]>,
    cap: usize,
    /// `(cap + 1).next_power_of_two()`: the closed flag in `tail`.
    mark_bit: u64,
    /// `2 * mark_bit`: added to a position to move it one lap on.
    one_lap: u64,
    counts: Counts,
    /// Blocking sends in a row that found room promptly after waiting: a
    /// hint for the wait for room (`chan::run`). Written only when it
    /// changes.
    send_streak: run::Streak,
    /// Senders (and permit requests, and selects) waiting for room. Padded:
    /// receivers write its counter on every receive in symmetric mode.
    send_wait: CachePadded<WaitQueue>,
    /// Receivers (and selects) waiting for a value. Padded likewise.
    recv_wait: CachePadded<WaitQueue>,
    /// `closed()` futures.
    close_wait: WaitQueue,
    /// Set when the last reference to this state is a select's [`Keeper`]
    /// (every endpoint is gone, and the values' lifetimes may be over):
    /// the drop then leaves buffered values alone instead of dropping them.
    ///
    /// [`Keeper`]: crate::select::Keeper
    values_forsaken: AtomicBool,
}

// SAFETY: slot values move between threads only through the stamp
// protocol (Release store after write, Acquire load before read), and each
// value is moved out by exactly one receiver: `T: Send` suffices.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever handed to two threads.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The state of a new channel with room for `capacity` values (already
    /// checked by `channel`).
    pub(super) fn new(capacity: usize) -> Self {
        let mark_bit = (capacity as u64 + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        let buf = (0..capacity as u64)
            .map(|i| Slot {
                stamp: AtomicU64::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Self {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            buf,
            cap: capacity,
            mark_bit,
            one_lap,
            id: next_channel_id(),
            counts: Counts::new(),
            send_streak: run::Streak::new(),
            send_wait: CachePadded::new(WaitQueue::new().for_capacity(capacity)),
            recv_wait: CachePadded::new(WaitQueue::new().for_capacity(capacity)),
            close_wait: WaitQueue::new(),
            values_forsaken: AtomicBool::new(false),
        }
    }
}

impl<T> Shared<T> {
    /// The position after `pos` (same lap or the next one).
    #[inline(always)]
    fn next_pos(&self, pos: u64) -> u64 {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.cap as u64 {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap) & POS_MASK
        }
    }

    /// The slot index of a position claimed in this channel.
    #[inline(always)]
    fn index_of(&self, claim: Claim) -> usize {
        (claim.pos & (self.mark_bit - 1)) as usize
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < self.buf.len());
        // SAFETY: indices come from `pos & (mark_bit - 1)` of positions whose
        // index part is always `< cap == buf.len()`.
        unsafe { self.buf.get_unchecked(index) }
    }

    /// Values claimed by senders and not yet claimed by receivers, given a
    /// consistent `head` and tail position.
    fn len_of(&self, head: u64, tail: u64) -> usize {
        let hix = (head & (self.mark_bit - 1)) as usize;
        let tix = (tail & (self.mark_bit - 1)) as usize;
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if (tail & !self.mark_bit) == head {
            0
        } else {
            self.cap
        }
    }

    fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst) & POS_MASK;
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) & POS_MASK == tail {
                return self.len_of(head, tail);
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    /// Called by a blocking send that found the channel full: once the
    /// senders are at the receivers' heels (each send writing the slot a
    /// receive has just given back, and reading the head the receive has
    /// just moved), waits for a run of free slots (`chan::run`).
    fn wait_for_room(&self) {
        self.send_streak.wait_for_run(|| {
            // The head first: a tail that moved on since only makes the
            // room look smaller.
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            (tail & self.mark_bit == 0)
                .then(|| self.cap.saturating_sub(self.len_of(head, tail & POS_MASK)))
        });
    }

    /// True if a receive would find a message (possibly one still being
    /// written) or the close: two loads, without `len`'s retry. A message
    /// sent or taken between the loads may be misjudged; a select checks
    /// again after registering, and a sender that finishes after the
    /// registration notifies it.
    ///
    /// It replaces `!is_empty() || is_closed()` (four loads and a retry
    /// loop) in the select's readiness scan, which runs once per select
    /// (docs/perf-notes.md#mpmc-readiness-in-two-loads). The slot at the
    /// head is checked first, and the tail only when that slot holds no
    /// message: a receive needs that slot's line anyway, while the tail's
    /// line moves to a sender's core on every send
    /// (docs/perf-notes.md#mpmc-readiness-in-two-loads).
    fn recv_ready(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let slot = self.slot((head & (self.mark_bit - 1)) as usize);
        if slot.stamp.load(Ordering::SeqCst) == head + 1 {
            return true;
        }
        let tail = self.tail.load(Ordering::SeqCst) & POS_MASK;
        tail & !self.mark_bit != head || tail & self.mark_bit != 0
    }

    /// True if a plain send would find room: buffered values plus
    /// outstanding permits leave a slot.
    fn has_room(&self) -> bool {
        let (word, head) = loop {
            let word = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == word {
                break (word, head);
            }
        };
        let permits = (word >> 48) as usize;
        self.len_of(head, word & POS_MASK & !self.mark_bit) + permits < self.cap
    }

    /// Claims a position to send into.
    ///
    /// `with_permit`: the caller holds a permit, which this claim consumes;
    /// room is then guaranteed, so the claim waits out a slow receiver
    /// instead of reporting `Full`.
    ///
    /// Without a permit the claim never waits unboundedly for another
    /// thread: a slot that a receiver has claimed but not emptied yet, or
    /// that a sender of the previous lap has claimed but not written, is
    /// waited out for a bounded number of steps, then reported `Full` (it
    /// is: the send cannot complete until that thread acts, and its read or
    /// write wakes a sender that waits). So a thread that holds a select
    /// reservation on this channel, or one that was descheduled or died
    /// mid-operation, never makes `try_send` or `send_timeout` spin forever.
    fn start_send(&self, with_permit: bool) -> Result<Claim, TrySendError<()>> {
        let mut backoff = Backoff::new();
        // Steps spent waiting for another thread (not retrying a lost race).
        let mut waited = Backoff::new();
        let mut word = self.tail.load(Ordering::Relaxed);
        loop {
            let pos = word & POS_MASK;
            if pos & self.mark_bit != 0 {
                return Err(TrySendError::Closed(()));
            }
            let permits = word >> 48;
            let others = permits - u64::from(with_permit);
            let index = (pos & (self.mark_bit - 1)) as usize;
            let slot = self.slot(index);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == pos {
                if others != 0 {
                    // Room promised to permit holders is not ours to take.
                    // Judge it on a consistent (head, tail) snapshot.
                    let head = self.head.load(Ordering::SeqCst);
                    let again = self.tail.load(Ordering::SeqCst);
                    if again != word {
                        word = again;
                        continue;
                    }
                    if self.len_of(head, pos) + others as usize >= self.cap {
                        if with_permit {
                            backoff.snooze();
                            word = self.tail.load(Ordering::Relaxed);
                            continue;
                        }
                        return Err(TrySendError::Full(()));
                    }
                }
                let new = self.next_pos(pos) | ((permits - u64::from(with_permit)) << 48);
                match self.tail.compare_exchange_weak(
                    word,
                    new,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(Claim { pos }),
                    Err(w) => {
                        word = w;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) & POS_MASK == pos + 1 {
                let previous = self.previous_lap(pos);
                if stamp & SKIPPED != 0 && self.head.load(Ordering::SeqCst) == previous {
                    // Last lap's position here was given up, holds no
                    // value and is the head: pass it as a receiver would,
                    // then look again.
                    self.skip(previous, stamp);
                    continue;
                }
                // The slot still holds last lap's value: full, unless a
                // receiver has claimed it and is moving it out right now.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) & POS_MASK == pos && !with_permit {
                    return Err(TrySendError::Full(()));
                }
                if waited.is_completed() {
                    if self.resolve_orphan(self.previous_lap(pos), orphan::Side::Recv) {
                        continue;
                    }
                    if !with_permit {
                        return Err(TrySendError::Full(()));
                    }
                }
                waited.snooze();
                word = self.tail.load(Ordering::Relaxed);
            } else {
                // Another sender claimed this position (the tail we read is
                // stale: look again), or the previous lap's sender of this
                // slot has not written it yet (the ring is full up to it).
                let again = self.tail.load(Ordering::Relaxed);
                if again == word {
                    if waited.is_completed() {
                        if self.resolve_orphan(self.previous_lap(pos), orphan::Side::Send) {
                            continue;
                        }
                        if !with_permit {
                            return Err(TrySendError::Full(()));
                        }
                    }
                    waited.snooze();
                }
                word = again;
            }
        }
    }

    /// Writes into a claimed slot and publishes it.
    ///
    /// # Safety
    /// `claim` came from `start_send` and has not been written yet.
    unsafe fn write(&self, claim: Claim, value: T) {
        let slot = self.slot(self.index_of(claim));
        // SAFETY: the claim gives this thread the slot exclusively until the
        // stamp below publishes it.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.stamp.store(claim.pos + 1, Ordering::Release);
        self.recv_wait.notify_one();
    }

    /// Writes into a claimed slot and publishes it without waking anyone;
    /// the caller wakes receivers for the whole batch.
    ///
    /// # Safety
    /// As [`write`](Self::write).
    unsafe fn write_quiet(&self, claim: Claim, value: T) {
        let slot = self.slot(self.index_of(claim));
        // SAFETY: as in `write`.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.stamp.store(claim.pos + 1, Ordering::Release);
    }

    /// Passes the position `head` if its sender gave it up (`stamp` is the
    /// slot's stamp as read): claims it like a value, frees the slot for
    /// the next lap and wakes a sender waiting for room. Returns the head
    /// to look at next, or `None` if the stamp marks another lap's
    /// position (a receiver is passing it right now). Out of line: it runs
    /// only after a select abandoned a send.
    #[cold]
    #[inline(never)]
    fn skip(&self, head: u64, stamp: u64) -> Option<u64> {
        if stamp != (head + 1) | SKIPPED {
            return None;
        }
        let next = self.next_pos(head);
        match self
            .head
            .compare_exchange(head, next, Ordering::SeqCst, Ordering::Relaxed)
        {
            Ok(_) => {
                let slot = self.slot((head & (self.mark_bit - 1)) as usize);
                slot.stamp.store(
                    head.wrapping_add(self.one_lap) & POS_MASK,
                    Ordering::Release,
                );
                self.send_wait.notify_one();
                Some(next)
            }
            Err(current) => Some(current),
        }
    }

    /// Resolves the reservation at `pos` if a select token orphaned it (see
    /// the `orphan` module): gives up an orphaned send position, or drops
    /// an orphaned receive position's value and frees its slot. True if
    /// it did, and the caller should look at the slot again.
    #[cold]
    #[inline(never)]
    fn resolve_orphan(&self, pos: u64, side: orphan::Side) -> bool {
        if !orphan::any() || !orphan::take(self.id, pos, side) {
            return false;
        }
        let claim = Claim { pos };
        match side {
            orphan::Side::Send => self.abandon(claim),
            orphan::Side::Recv => {
                // SAFETY: the orphaned token claimed `pos` to receive and
                // never read it; taking the orphan made this thread the
                // only one to resolve it.
                let value = unsafe { self.read(claim) };
                drop(value);
            }
        }
        true
    }

    /// Gives up a select's reservation for a `SelectedOperation` dropped
    /// without its endpoint. Touches no value: a send position is marked
    /// skipped; a receive position is left to the channel's own
    /// operations (an orphan, see the `orphan` module), whose value they
    /// drop when they reach it. Either way a waiting sender is woken (and,
    /// for a send, a receiver), since the position may be what it waits
    /// on. Returns true if a message was lost (a receive).
    fn give_up(&self, claim: Claim, receive: bool) -> bool {
        if receive {
            orphan::adopt(self.id, claim.pos, orphan::Side::Recv);
        } else {
            // Marks the position skipped and wakes a receiver.
            self.abandon(claim);
        }
        // A sender may wait for the room the position holds: one that laps
        // onto it passes or resolves it.
        self.send_wait.notify_one();
        receive
    }

    /// Called by a keeper about to drop what may be the last reference:
    /// if it is, the values are left alone by the drop.
    fn forsake_values_if_last(this: &Arc<Self>) {
        if Arc::strong_count(this) == 1 {
            this.values_forsaken.store(true, Ordering::Relaxed);
        }
    }

    /// The same slot's position one lap earlier.
    #[inline]
    fn previous_lap(&self, pos: u64) -> u64 {
        pos.wrapping_sub(self.one_lap) & POS_MASK
    }

    /// Gives up a claimed position without writing it: marks the slot
    /// skipped, so the receiver at that position frees it and moves on,
    /// and wakes a receiver that may be waiting on it.
    #[cold]
    fn abandon(&self, claim: Claim) {
        let slot = self.slot(self.index_of(claim));
        slot.stamp
            .store((claim.pos + 1) | SKIPPED, Ordering::Release);
        self.recv_wait.notify_one();
    }

    fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        // Wakes one receiver per value published, even if `iter` panics.
        let mut sent = NotifyOnDrop {
            queue: &self.recv_wait,
            n: 0,
        };
        loop {
            if iter.peek().is_none() {
                return Ok(sent.n);
            }
            let claim = match self.start_send(false) {
                Ok(c) => c,
                Err(e) if sent.n == 0 => return Err(e),
                Err(_) => return Ok(sent.n),
            };
            let v = iter.next().expect("peeked above");
            // SAFETY: a fresh claim from `start_send`.
            unsafe { self.write_quiet(claim, v) };
            sent.n += 1;
        }
    }

    /// Claims a position to receive from.
    fn start_recv(&self) -> Result<Claim, TryRecvError> {
        self.start_recv_with(true)
    }

    /// Like `start_recv`, but reports `Empty` instead of waiting for a
    /// sender that has claimed the next slot and not written it yet.
    ///
    /// The common case, a written slot at the head claimed at the first
    /// try, is inlined into the caller (a select's direct attempt), so that
    /// `start_recv_with`'s loop can stay out of line there
    /// (docs/perf-notes.md#select-codegen-inlined-direct-path-the-winner-by-reference-one-word-claims).
    #[inline]
    fn start_recv_nowait(&self) -> Result<Claim, TryRecvError> {
        let head = self.head.load(Ordering::Relaxed);
        let stamp = self
            .slot((head & (self.mark_bit - 1)) as usize)
            .stamp
            .load(Ordering::Acquire);
        if head + 1 == stamp
            && self
                .head
                .compare_exchange_weak(
                    head,
                    self.next_pos(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Ok(Claim { pos: head });
        }
        self.start_recv_with(false)
    }

    /// Claims a position to receive from. Never waits unboundedly for
    /// another thread: a slot a sender has claimed but not written yet, or
    /// one the previous lap's receiver has claimed but not emptied, is
    /// waited out for a bounded number of steps (none without
    /// `wait_for_writer`), then reported `Empty`. It is empty at that
    /// moment, as the value's send has not completed, and the sender's
    /// write wakes a receiver that waits. A receiver only retries without
    /// bound while other receivers move the head on.
    fn start_recv_with(&self, wait_for_writer: bool) -> Result<Claim, TryRecvError> {
        let mut backoff = Backoff::new();
        // Steps spent waiting for another thread (not retrying a lost race).
        let mut waited = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = (head & (self.mark_bit - 1)) as usize;
            let slot = self.slot(index);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if head + 1 == stamp {
                match self.head.compare_exchange_weak(
                    head,
                    self.next_pos(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(Claim { pos: head }),
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Nothing written here yet: empty, unless a sender has
                // claimed the slot and is writing it right now.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed) & POS_MASK;
                if tail & !self.mark_bit == head {
                    return Err(if tail & self.mark_bit != 0 {
                        // The close was read with a relaxed load: this
                        // fence makes it an acquire, so a receiver that
                        // reports `Closed` sees everything the closing
                        // thread did before the close.
                        fence(Ordering::Acquire);
                        TryRecvError::Closed
                    } else {
                        TryRecvError::Empty
                    });
                }
                if !wait_for_writer || waited.is_completed() {
                    if self.resolve_orphan(head, orphan::Side::Send) {
                        continue;
                    }
                    return Err(TryRecvError::Empty);
                }
                waited.snooze();
                head = self.head.load(Ordering::Relaxed);
            } else if stamp & SKIPPED != 0 {
                // Given up by its sender (`stamp == (head + 1) | SKIPPED`),
                // or a stale read of a position another receiver passed.
                // Tested last, on the high bit alone, with the rest out of
                // line, so that the common cases pay no extra compare
                // (docs/perf-notes.md#mpmc-skipped-positions-tested-last).
                match self.skip(head, stamp) {
                    Some(next) => head = next,
                    None => {
                        // A stale head, or the previous lap's receiver is
                        // passing this slot: as in the last branch.
                        let again = self.head.load(Ordering::Relaxed);
                        if again == head {
                            if !wait_for_writer || waited.is_completed() {
                                return Err(TryRecvError::Empty);
                            }
                            waited.snooze();
                        }
                        head = again;
                    }
                }
            } else {
                // Another receiver took this position (the head we read is
                // stale: look again), or the previous lap's receiver of this
                // slot has not emptied it yet (nothing can have been sent
                // into it: empty at this position).
                let again = self.head.load(Ordering::Relaxed);
                if again == head {
                    if !wait_for_writer || waited.is_completed() {
                        if self.resolve_orphan(self.previous_lap(head), orphan::Side::Recv) {
                            continue;
                        }
                        return Err(TryRecvError::Empty);
                    }
                    waited.snooze();
                } else {
                    backoff.snooze();
                }
                head = again;
            }
        }
    }

    /// Moves the value out of a claimed slot and frees the slot.
    ///
    /// # Safety
    /// `claim` came from `start_recv` and has not been read yet.
    unsafe fn read(&self, claim: Claim) -> T {
        // SAFETY: forwarded from the caller.
        let value = unsafe { self.read_quiet(claim) };
        self.send_wait.notify_one();
        value
    }

    /// [`read`](Self::read) without waking a sender; the caller wakes
    /// senders for the whole batch.
    ///
    /// # Safety
    /// As [`read`](Self::read).
    unsafe fn read_quiet(&self, claim: Claim) -> T {
        let slot = self.slot(self.index_of(claim));
        // SAFETY: the claim gives this thread the slot exclusively, and the
        // Acquire load of the stamp in `start_recv` saw the writer's Release.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.stamp.store(
            claim.pos.wrapping_add(self.one_lap) & POS_MASK,
            Ordering::Release,
        );
        value
    }

    #[inline]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.start_send(false) {
            Ok(claim) => {
                // SAFETY: a fresh claim from `start_send`.
                unsafe { self.write(claim, value) };
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(value)),
        }
    }

    #[inline]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        let claim = self.start_recv()?;
        // SAFETY: a fresh claim from `start_recv`.
        Ok(unsafe { self.read(claim) })
    }

    /// Marks the channel closed and wakes every waiter.
    fn close(&self) -> bool {
        let prev = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        notify_all_of(&[
            &self.send_wait,
            &self.recv_wait,
            &self.close_wait,
            self.counts.batch_wait(),
        ]);
        prev & self.mark_bit == 0
    }

    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        // Wakes one sender per slot freed, even if `push` panics.
        let mut n = NotifyOnDrop {
            queue: &self.send_wait,
            n: 0,
        };
        loop {
            if n.n == limit {
                return Ok(n.n);
            }
            let claim = match self.start_recv() {
                Ok(c) => c,
                Err(e) if n.n == 0 => return Err(e),
                Err(_) => return Ok(n.n),
            };
            // SAFETY: a fresh claim from `start_recv`.
            let v = unsafe { self.read_quiet(claim) };
            n.n += 1;
            buf.push(v);
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Every endpoint is gone, so nothing runs concurrently: walk the
        // positions from head to tail and drop each written value. A
        // position claimed but never written (only a select reservation
        // leaked with `mem::forget` leaves one) is skipped rather than
        // waited for. A value whose drop panics does not stop the walk.
        let mut panics = Panics::new();
        let orphans = if orphan::any() {
            orphan::take_channel(self.id)
        } else {
            Vec::new()
        };
        if self.values_forsaken.load(Ordering::Relaxed) {
            // Only a select's keeper was left: the values may borrow data
            // that is gone, so they are not touched (see `Keeper`).
            return;
        }
        {
            // Receive reservations orphaned by select tokens (before the
            // head): their values are still in their slots.
            for pos in orphans {
                let slot = self.slot((pos & (self.mark_bit - 1)) as usize);
                if slot.stamp.load(Ordering::Acquire) == pos + 1 {
                    // SAFETY: the orphaned token claimed `pos` and never
                    // read it, and with every endpoint gone nobody else can.
                    let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                    panics.run(|| drop(value));
                }
            }
        }
        let mut pos = self.head.load(Ordering::Relaxed);
        let end = self.tail.load(Ordering::Relaxed) & POS_MASK & !self.mark_bit;
        while pos != end {
            let slot = self.slot((pos & (self.mark_bit - 1)) as usize);
            if slot.stamp.load(Ordering::Acquire) == pos + 1 {
                // SAFETY: the stamp says a sender wrote this slot for `pos`
                // and no receiver claimed it (head is at or before `pos`);
                // with every endpoint gone this is the only access, and each
                // position is visited once.
                let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                panics.run(|| drop(value));
            }
            pos = self.next_pos(pos);
        }
        panics.finish();
    }
}

impl<T> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::chan::SendChan;
    use crate::chan::run::{RUN, RUN_STREAK};

    #[test]
    fn a_sender_at_the_heels_waits_for_room_and_a_lone_free_slot_ends_the_streak() {
        let s = Shared::<u64>::new(64);
        let at_the_heels = |s: &Shared<u64>| {
            (0..RUN_STREAK).for_each(|_| SendChan::after_waiting(s, 2));
        };
        at_the_heels(&s);
        (0..64).for_each(|v| s.try_send(v).unwrap());
        for v in 0..RUN as u64 {
            assert_eq!(s.try_recv(), Ok(v));
        }
        SendChan::before_waiting(&s);
        assert_eq!(s.send_streak.get(), RUN_STREAK, "a run of free slots");

        (0..RUN as u64 - 1).for_each(|v| s.try_send(v).unwrap());
        SendChan::before_waiting(&s);
        assert_eq!(s.send_streak.get(), 0, "one free slot at a time");

        at_the_heels(&s);
        s.close();
        SendChan::before_waiting(&s);
        assert_eq!(s.send_streak.get(), 0, "a closed channel ends the streak");
    }
}
