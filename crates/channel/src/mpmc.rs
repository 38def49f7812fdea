//! A bounded multi-producer multi-consumer channel.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]; both are `Clone`,
//! `Send` and `Sync` (for `T: Send`) and every operation takes `&self`.
//!
//! ```
//! use nimsync_channel::mpmc;
//!
//! let (tx, rx) = mpmc::channel(16);
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..250 {
//!                 tx.send(p * 1000 + i).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx);
//! let consumers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let rx = rx.clone();
//!         std::thread::spawn(move || rx.iter().count())
//!     })
//!     .collect();
//! for p in producers {
//!     p.join().unwrap();
//! }
//! let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
//! assert_eq!(total, 1000);
//! ```
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
//! Closing sets `mark_bit` in `tail` with one `fetch_or`: every later claim
//! sees it and fails, while receivers drain what was claimed before.

use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::orphan;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Backoff, Ordering, UnsafeCell, fence};
use crate::unwind::Panics;
use crate::waiter::{Registration, WaitQueue, block_thread, notify_all_of, poll_op};

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

/// Creates a bounded MPMC channel with room for exactly `capacity` values.
///
/// # Panics
///
/// Panics if `capacity` is 0 (rendezvous channels are not offered yet: use
/// capacity 1 for the closest behaviour), or larger than
/// [`MAX_CAPACITY`](crate::MAX_CAPACITY), or if the buffer's size in bytes
/// would overflow `isize`.
///
/// # Examples
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u64>(1024);
/// tx.send(1).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    crate::check_capacity::<T>(capacity, "mpmc");
    let mark_bit = (capacity as u64 + 1).next_power_of_two();
    let one_lap = mark_bit * 2;
    let buf = (0..capacity as u64)
        .map(|i| Slot {
            stamp: AtomicU64::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        })
        .collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicU64::new(0)),
        tail: CachePadded::new(AtomicU64::new(0)),
        buf,
        cap: capacity,
        mark_bit,
        one_lap,
        id: next_channel_id(),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        send_wait: CachePadded::new(WaitQueue::new()),
        recv_wait: CachePadded::new(WaitQueue::new()),
        close_wait: WaitQueue::new(),
        values_forsaken: crate::sync::AtomicBool::new(false),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

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
fn next_channel_id() -> u64 {
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
/// NB: one word, so that a `Result<Claim, _>` comes back in registers.
/// With the slot index beside the position, the 24-byte result came back
/// through memory in 8-byte stores that the select read back with 16-byte
/// loads, which could not be forwarded; those loads took 15-17 % of the
/// own samples of `select_async!` over 4 channels fed by 4 tasks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    pos: u64,
}

impl Claim {
    /// The claimed position (lap-encoded).
    pub(crate) fn pos(self) -> u64 {
        self.pos
    }
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
/// - Claimed length plus outstanding permits never exceeds `cap`.
pub(crate) struct Shared<T> {
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
    senders: AtomicUsize,
    receivers: AtomicUsize,
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
    values_forsaken: crate::sync::AtomicBool,
}

// SAFETY: slot values move between threads only through the stamp
// protocol (Release store after write, Acquire load before read), and each
// value is moved out by exactly one receiver: `T: Send` suffices.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever handed to two threads.
unsafe impl<T: Send> Sync for Shared<T> {}

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

    /// True if a receive would find a message (possibly one still being
    /// written) or the close: two loads, without `len`'s retry. A message
    /// sent or taken between the loads may be misjudged; a select checks
    /// again after registering, and a sender that finishes after the
    /// registration notifies it.
    ///
    /// NB: replacing `!is_empty() || is_closed()` (four loads and a retry
    /// loop) in the select's readiness scan, together with a try before
    /// `Select::select` enters its wait loop, took about 35 instructions
    /// off each select (callgrind, single-thread scenario) and moved the
    /// select over 4 MPMC channels from 13.7 to 16.1 M selects/s, with
    /// crossbeam's `Select` at 17.3-17.5 M in both runs.
    ///
    /// NB: the slot at the head is checked first, and the tail only when
    /// that slot holds no message. A receive needs that slot's line anyway,
    /// while the tail's line moves to a sender's core on every send. With
    /// four channels fed from the other core, this takes one cache miss off
    /// each select: `select_async!` over 4 fed channels went from 2.4-2.6 to
    /// 3.8-4.4 M selects/s (8 interleaved pairs of runs).
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
    pub(crate) fn give_up(&self, claim: Claim, receive: bool) -> bool {
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
    pub(crate) fn forsake_values_if_last(this: &Arc<Self>) {
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
    /// NB: the common case, a written slot at the head claimed at the
    /// first try, is inlined into the caller (a select's direct attempt);
    /// everything else goes through `start_recv_with`'s loop, which the
    /// compiler has kept out of line there.
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
                // NB: tested last, on the high bit alone, with the rest out
                // of line: comparing with `(head + 1) | SKIPPED` ahead of the
                // empty check cost the single-thread select loop about 10 %
                // (33.5 against 37.5 M selects/s, 8 interleaved pairs).
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

    /// Takes a permit if length plus permits leaves room.
    fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        let mut backoff = Backoff::new();
        let mut word = self.tail.load(Ordering::SeqCst);
        loop {
            let pos = word & POS_MASK;
            if pos & self.mark_bit != 0 {
                return Err(TrySendError::Closed(()));
            }
            let permits = word >> 48;
            let head = self.head.load(Ordering::SeqCst);
            let again = self.tail.load(Ordering::SeqCst);
            if again != word {
                // The tail moved between the loads: no consistent snapshot.
                word = again;
                continue;
            }
            if permits == MAX_PERMITS || self.len_of(head, pos) + permits as usize >= self.cap {
                return Err(TrySendError::Full(()));
            }
            match self.tail.compare_exchange_weak(
                word,
                word + ONE_PERMIT,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(()),
                Err(w) => {
                    word = w;
                    backoff.spin();
                }
            }
        }
    }

    /// Gives back a permit that was not used.
    fn release_permit(&self) {
        self.tail.fetch_sub(ONE_PERMIT, Ordering::SeqCst);
        self.send_wait.notify_one();
    }

    /// Marks the channel closed and wakes every waiter.
    fn close(&self) -> bool {
        let prev = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        notify_all_of(&[&self.send_wait, &self.recv_wait, &self.close_wait]);
        prev & self.mark_bit == 0
    }

    fn send_deadline(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut slot = Some(value);
        let res = block_thread(&self.send_wait, deadline, || {
            match self.try_send(slot.take().expect("value present while sending")) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(v)) => Some(Err(v)),
                Err(TrySendError::Full(v)) => {
                    slot = Some(v);
                    None
                }
            }
        });
        match res {
            Some(Ok(())) => Ok(()),
            Some(Err(v)) => Err(SendTimeoutError::Closed(v)),
            None => Err(SendTimeoutError::Timeout(
                slot.take().expect("value kept on timeout"),
            )),
        }
    }

    fn recv_deadline(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let res = block_thread(&self.recv_wait, deadline, || match self.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Closed) => Some(Err(RecvTimeoutError::Closed)),
            Err(TryRecvError::Empty) => None,
        });
        res.unwrap_or(Err(RecvTimeoutError::Timeout))
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

/// The sending endpoint of an MPMC channel. Cloning it adds a sender.
///
/// The channel closes when the last sender is dropped (receivers drain what
/// is buffered, then get `Closed`) or when anyone calls `close()`.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (tx, _rx) = nimsync_channel::mpmc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(tx)); // Rc is not Send
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving endpoint of an MPMC channel. Cloning it adds a receiver;
/// each value goes to exactly one receiver.
///
/// When the last receiver is dropped the channel closes and what is
/// buffered is dropped.
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(rx)); // Rc is not Send
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T> Sender<T> {
    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// # drop(rx);
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(value)
    }

    /// Sends `value`, blocking the thread while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// t.join().unwrap();
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.shared
            .send_deadline(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value`, blocking for at most `timeout` while the channel is
    /// full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with
    /// the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.shared.send_deadline(value, deadline_after(timeout))
    }

    /// Sends `value`, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`send_timeout`](Self::send_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// assert!(tx.send_deadline(1, Instant::now() + Duration::from_millis(1)).is_ok());
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.shared.send_deadline(value, Some(deadline))
    }

    /// Sends `value`, waiting asynchronously while the channel is full.
    ///
    /// The future keeps the value until the moment it is written into the
    /// channel; [`SendFuture::cancel`] hands it back if it was not sent yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent; a
    /// wake-up it had received passes on to the next waiting sender. To keep
    /// the value, call [`SendFuture::cancel`] instead of dropping.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send_async(1).await.unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(1));
    /// # });
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            shared: &self.shared,
            value: Some(value),
            registration: Registration::new(),
        }
    }

    /// Returns a [`Permit`] if length plus outstanding permits leaves room.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` or [`TrySendError::Closed`]`(())`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.try_send(9).unwrap_err().is_full()); // the room is promised
    /// permit.send(1).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.shared.try_reserve()?;
        Ok(Permit {
            shared: &self.shared,
        })
    }

    /// Waits for room for one value and returns a [`Permit`] that holds it:
    /// other senders cannot take that room until the permit is used or
    /// dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no room is held until the future completes.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`]`(())` when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// permit.send("x").unwrap();
    /// assert_eq!(rx.recv(), Ok("x"));
    /// # });
    /// ```
    pub fn reserve(&self) -> ReserveFuture<'_, T> {
        ReserveFuture {
            shared: &self.shared,
            registration: Registration::new(),
            done: false,
        }
    }

    /// Sends values from `iter` while there is room, waking waiting
    /// receivers once at the end. An item is taken from `iter` only after a
    /// position for it is claimed, so what does not fit stays in `iter`
    /// (that is why it is [`Peekable`](core::iter::Peekable)).
    ///
    /// Returns how many values were sent (0 only if `iter` was empty).
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` when there was no room for even one
    /// value, [`TrySendError::Closed`]`(())` when the channel is closed; in
    /// both cases nothing was taken from `iter`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// let mut it = (0..5).peekable();
    /// assert_eq!(tx.try_send_iter(&mut it), Ok(2));
    /// assert_eq!(it.next(), Some(2));
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        self.shared.try_send_iter(iter)
    }

    /// Sends every value of `iter`, blocking whenever the channel is full.
    ///
    /// # Errors
    ///
    /// When the channel closes, [`SendError`] holds the iterator with the
    /// values not yet sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// let t = std::thread::spawn(move || tx.send_iter(0..100u32).map_err(|_| ()));
    /// assert_eq!(rx.iter().sum::<u32>(), 4950);
    /// t.join().unwrap().unwrap();
    /// ```
    pub fn send_iter<I: IntoIterator<Item = T>>(
        &self,
        iter: I,
    ) -> Result<(), SendError<core::iter::Peekable<I::IntoIter>>> {
        let mut iter = iter.into_iter().peekable();
        while iter.peek().is_some() {
            let res = block_thread(&self.shared.send_wait, None, || {
                match self.shared.try_send_iter(&mut iter) {
                    Ok(_) => Some(true),
                    Err(TrySendError::Closed(())) => Some(false),
                    Err(TrySendError::Full(())) => None,
                }
            });
            if res != Some(true) {
                return Err(SendError(iter));
            }
        }
        Ok(())
    }

    /// Closes the channel for every endpoint. Later sends fail with the
    /// value handed back; receivers drain what is buffered, then get
    /// `Closed`.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!rx.close());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// True once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Resolves once the channel is closed (for example, when the last
    /// receiver is gone).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            registration: Registration::new(),
        }
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no send could find room now: every slot is taken by a
    /// buffered value or promised to an outstanding [`Permit`].
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.is_full());
    /// drop(permit);
    /// assert!(!tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        !self.shared.has_room()
    }

    /// The number of slots, exactly as given to [`channel`].
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(10);
    /// assert_eq!(tx.capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    /// Adds a sender; the channel stays open until the last one is dropped.
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Takes a value if one is buffered, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.try_recv()
    }

    /// Takes a value, blocking the thread while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.shared.recv_deadline(None).map_err(|_| RecvError)
    }

    /// Takes a value, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.shared.recv_deadline(deadline_after(timeout))
    }

    /// Takes a value, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.shared.recv_deadline(Some(deadline))
    }

    /// Takes a value, waiting asynchronously while the channel is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is only taken in the poll that returns it, so
    /// dropping the future loses no message, and a wake-up it had received
    /// passes on to the next waiting receiver.
    ///
    /// # Errors
    ///
    /// Resolves to [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(2));
    /// # });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            shared: &self.shared,
            registration: Registration::new(),
        }
    }

    /// Moves up to `limit` buffered values into `buf`, waking waiting
    /// senders once at the end, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(8);
    /// tx.send_iter(0..5).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    /// assert_eq!(buf, [0, 1, 2]);
    /// ```
    pub fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        self.shared.try_recv_many(buf, limit)
    }

    /// Moves up to `limit` values into `buf`, blocking until at least one is
    /// buffered.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(8);
    /// tx.send_iter([1, 2]).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 8), Ok(2));
    /// ```
    pub fn recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        if limit == 0 {
            return Ok(0);
        }
        let res = block_thread(&self.shared.recv_wait, None, || {
            match self.shared.try_recv_many(buf, limit) {
                Ok(n) => Some(Ok(n)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            }
        });
        res.unwrap_or(Err(RecvError))
    }

    /// A blocking iterator: yields values until the channel is closed and
    /// drained.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// A non-blocking iterator over what is buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Turns the receiver into a [`futures_core::Stream`] that ends when the
    /// channel is closed and drained.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # futures_lite::future::block_thread(async {
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.into_stream().collect::<Vec<_>>().await, [1, 2]);
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream {
            rx: self,
            registration: Registration::new(),
        }
    }

    /// Closes the channel for every endpoint: sends fail from now on and
    /// hand their value back; what is buffered can still be received.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// True once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every slot is taken.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`].
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(3);
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// True if `sender` belongs to the same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.same_channel_as_sender(&tx));
    /// ```
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &sender.shared)
    }
}

impl<T> Clone for Receiver<T> {
    /// Adds a receiver; each value still goes to exactly one receiver.
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can receive any more: close, then drop what is
            // buffered now, every value even if a waker or a value's drop
            // panics (the first panic is raised again afterwards). A slot
            // still being written is left for the shared state's drop.
            let mut panics = Panics::new();
            panics.run(|| {
                self.shared.close();
            });
            while let Ok(claim) = self.shared.start_recv_nowait() {
                // SAFETY: a fresh claim from `start_recv_nowait`.
                let value = unsafe { self.shared.read_quiet(claim) };
                panics.run(|| drop(value));
            }
            // Senders still waiting were woken by the close.
            panics.finish();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Future returned by [`Sender::send_async`].
///
/// Holds the value until it is written into the channel.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    shared: &'a Shared<T>,
    value: Option<T>,
    registration: Registration,
}

impl<T> SendFuture<'_, T> {
    /// Stops the send and hands the value back, or `None` if it was already
    /// sent (or returned in an error).
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// let mut fut = tx.send_async(2);
    /// assert!(futures_lite::future::poll_once(&mut fut).await.is_none());
    /// assert_eq!(fut.cancel(), Some(2));
    /// # });
    /// ```
    pub fn cancel(&mut self) -> Option<T> {
        self.registration.cancel_and_pass_on(&self.shared.send_wait);
        self.value.take()
    }
}

// The value is never pinned: it is moved out by `poll` and `cancel`.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        let value = &mut this.value;
        assert!(value.is_some(), "`SendFuture` polled after it completed");
        poll_op(
            &mut this.registration,
            &shared.send_wait,
            cx,
            || match shared.try_send(value.take().expect("value present while pending")) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(v)) => Some(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    *value = Some(v);
                    None
                }
            },
        )
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel_and_pass_on(&self.shared.send_wait);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::SendFuture")
            .field("pending", &self.value.is_some())
            .finish()
    }
}

/// Future returned by [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    shared: &'a Shared<T>,
    registration: Registration,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        poll_op(
            &mut this.registration,
            &shared.recv_wait,
            cx,
            || match shared.try_recv() {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            },
        )
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel_and_pass_on(&self.shared.recv_wait);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::RecvFuture")
    }
}

/// Future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless polled"]
pub struct ReserveFuture<'a, T> {
    shared: &'a Shared<T>,
    registration: Registration,
    done: bool,
}

impl<'a, T> Future for ReserveFuture<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`ReserveFuture` polled after it completed");
        let shared = this.shared;
        let res = poll_op(
            &mut this.registration,
            &shared.send_wait,
            cx,
            || match shared.try_reserve() {
                Ok(()) => Some(Ok(Permit { shared })),
                Err(TrySendError::Closed(())) => Some(Err(SendError(()))),
                Err(TrySendError::Full(())) => None,
            },
        );
        if res.is_ready() {
            this.done = true;
        }
        res
    }
}

impl<T> Drop for ReserveFuture<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel_and_pass_on(&self.shared.send_wait);
    }
}

impl<T> fmt::Debug for ReserveFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::ReserveFuture")
    }
}

/// Room for one value, promised to its holder until [`Permit::send`] or
/// drop: other senders (`try_send`, `is_full`) see the channel as one slot
/// fuller while it lives; `len` counts buffered values only.
///
/// Hold permits briefly; each one is capacity nobody else can use.
pub struct Permit<'a, T> {
    shared: &'a Shared<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the
    /// permit was granted.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.try_reserve().unwrap().send(5).unwrap();
    /// assert_eq!(rx.recv(), Ok(5));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let shared = self.shared;
        core::mem::forget(self);
        match shared.start_send(true) {
            Ok(claim) => {
                // SAFETY: a fresh claim from `start_send`.
                unsafe { shared.write(claim, value) };
                Ok(())
            }
            Err(_) => {
                shared.release_permit();
                Err(SendError(value))
            }
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.shared.release_permit();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::Permit")
    }
}

/// Future returned by [`Sender::closed`]; resolves once the channel is
/// closed.
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    registration: Registration,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = this.shared;
        poll_op(&mut this.registration, &shared.close_wait, cx, || {
            shared.is_closed().then_some(())
        })
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel(&self.shared.close_wait);
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::Closed")
    }
}

/// Blocking iterator returned by [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator returned by [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator, from `Receiver::into_iter`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The receiver as a [`futures_core::Stream`], from
/// [`Receiver::into_stream`].
pub struct RecvStream<T> {
    rx: Receiver<T>,
    registration: Registration,
}

impl<T> RecvStream<T> {
    /// Gives the receiver back.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let rx = rx.into_stream().into_inner();
    /// assert_eq!(rx.capacity(), 1);
    /// ```
    pub fn into_inner(mut self) -> Receiver<T> {
        self.registration
            .cancel_and_pass_on(&self.rx.shared.recv_wait);
        self.rx.clone()
    }
}

impl<T> futures_core::Stream for RecvStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let shared = &*this.rx.shared;
        poll_op(
            &mut this.registration,
            &shared.recv_wait,
            cx,
            || match shared.try_recv() {
                Ok(v) => Some(Some(v)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => None,
            },
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rx.len(), None)
    }
}

impl<T> Drop for RecvStream<T> {
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(&self.rx.shared.recv_wait);
    }
}

impl<T> fmt::Debug for RecvStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::RecvStream")
            .field("rx", &self.rx)
            .finish()
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        self.shared.id
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        &self.shared.recv_wait
    }
    /// Claims the next message for a select. A slot a sender has claimed
    /// but not written yet counts as empty: the select tries its other
    /// operations (or registers, and the writer's notify wakes it) instead
    /// of spinning on a writer that may be descheduled.
    pub(crate) fn start_recv(&self) -> Result<Claim, TryRecvError> {
        self.shared.start_recv_nowait()
    }
    pub(crate) fn recv_ready(&self) -> bool {
        self.shared.recv_ready()
    }
    pub(crate) fn keeper(&self) -> crate::select::Keeper {
        crate::select::Keeper::new(Arc::clone(&self.shared))
    }
    pub(crate) fn finish_recv(&self, claim: Claim) -> T {
        assert!(
            self.shared.index_of(claim) < self.shared.cap,
            "select token with a slot index outside this channel"
        );
        // SAFETY: receive claims reach here only through a `Token` that this
        // channel (its unique id is checked) filled in `start_recv`, marked
        // as a receive, and that is consumed by this call.
        unsafe { self.shared.read(claim) }
    }
}

impl<T> Sender<T> {
    pub(crate) fn addr(&self) -> u64 {
        self.shared.id
    }
    pub(crate) fn send_wait(&self) -> &WaitQueue {
        &self.shared.send_wait
    }
    pub(crate) fn start_send(&self) -> Result<Claim, TrySendError<()>> {
        self.shared.start_send(false)
    }
    pub(crate) fn finish_send(&self, claim: Claim, value: T) {
        assert!(
            self.shared.index_of(claim) < self.shared.cap,
            "select token with a slot index outside this channel"
        );
        // SAFETY: send claims reach here only through a `Token` that this
        // channel (its unique id is checked) filled in `start_send`, marked
        // as a send, and that is consumed by this call.
        unsafe { self.shared.write(claim, value) }
    }
    pub(crate) fn keeper(&self) -> crate::select::Keeper {
        crate::select::Keeper::new(Arc::clone(&self.shared))
    }
    pub(crate) fn abandon_claim(&self, claim: Claim) {
        assert!(
            self.shared.index_of(claim) < self.shared.cap,
            "select token with a slot index outside this channel"
        );
        self.shared.abandon(claim);
    }
}
