//! The list flavor of an MPMC channel: an unbounded queue kept as a linked
//! list of blocks of slots, made by [`unbounded`](super::unbounded).
//!
//! # Protocol
//!
//! The queue is a singly linked list of blocks, each holding `BLOCK_CAP`
//! slots (255; 3 under loom). Positions count every message ever claimed;
//! each block covers one *lap* of `LAP = BLOCK_CAP + 1` positions, and the
//! lap's last position (offset `BLOCK_CAP`) is no slot: a head or tail word
//! at that offset means "moving to the next block, wait". The `head` and
//! `tail` each hold a position word and a pointer to the block the position
//! is in. A position word keeps the position in its bits 16 and up (so it
//! wraps by itself), and below that:
//!
//! - in `tail`, bit 0 marks the channel closed, and bits 1 to 15 count
//!   *pending* sends: sends promised to the channel that have no position
//!   yet (a select's send reservation, and a value handed back to its
//!   sender by a receiver that gave up on it, below). Receivers report
//!   `Closed` only when the channel is closed, drained up to the tail and
//!   nothing is pending, all read from the tail word at once;
//! - in `head`, bits 0 to 7 hold an offset in the head's block below which
//!   every slot is known to be claimed by a sender (`BLOCK_CAP`: the tail
//!   is in a later block). A receiver whose position is below it claims
//!   without reading the tail; one that reads the tail records what it
//!   saw there, so a receiver reads the tail once per run of sends, not
//!   once per message.
//!
//! Each slot has a state word of bits: `WRITTEN` (its value is there),
//! `READ` (its receiver is done with it), `DESTROY` (the block is being
//! freed and this slot's receiver must go on freeing it) and `GIVEN_UP` (its
//! receiver gave up waiting for the value).
//!
//! **Send.** A sender claims the tail position by compare-and-swap, then
//! writes the value and sets `WRITTEN`. The sender that claims a block's
//! last slot allocates the next block beforehand, and after its claim
//! stores the tail's block pointer, moves the tail word past the lap's
//! non-slot position, and links the block to the next. Senders that find
//! the tail at that position wait for these three stores (a few
//! instructions of a thread inside the channel's own code). A send never
//! waits for a receiver: memory grows instead.
//!
//! **Receive.** A receiver claims the head position by compare-and-swap,
//! after checking the tail unless the head's bit says the tail is ahead.
//! The receiver of a block's last slot waits for the block's link to the
//! next and moves the head there. It then waits a bounded number of steps
//! for its slot's `WRITTEN` bit. If the sender that claimed the slot has
//! not written it by then (it was descheduled between its claim and its
//! write), the receiver adds a pending send to the tail word and sets
//! `GIVEN_UP` in the slot, and reports `Empty`: the sender, finding
//! `GIVEN_UP` when it sets `WRITTEN`, takes its value back, finishes the
//! slot as its receiver would, and sends the value again at the tail (even
//! past a close, consuming the pending send), waking a receiver. A receiver
//! that finds the channel closed when it would give up waits for the
//! writer instead, so that a receiver that has seen `Closed` never sees a
//! value after it. One sender's values keep their order: its next send
//! starts after the value is sent again.
//!
//! **Waiting for a run.** A blocking receive that finds the channel empty
//! after a streak of receives whose values came promptly waits, looking
//! now and then, until a run of messages is buffered, and takes it reading
//! the tail once (see `wait_for_run`): a receiver that takes each message
//! as it lands moves the tail's line between the cores on every send.
//!
//! **Freeing blocks.** A block is freed once every slot is done with. The
//! receiver of its last slot (every other slot has been claimed by then)
//! walks the other slots: at the first one not `READ` it sets `DESTROY`
//! and stops, and that slot's receiver, finding `DESTROY` when it sets
//! `READ`, goes on from the next slot. Whoever reaches the end frees the
//! block. A receive reservation held by a select pins its block until it
//! is committed or resolved as an orphan.
//!
//! **Memory.** Memory is freed as receivers drain, except one retired
//! block kept as the spare for the next block the tail needs (so a steady
//! stream neither allocates nor frees): with a stalled consumer
//! the queue grows without bound, one block of `BLOCK_CAP` slots (each
//! `size_of::<T>()` plus a state word, the block aligned to 256 bytes) per
//! 255 values (4 KiB for an 8-byte `T`); `len()` reports how many are
//! buffered. An empty channel holds one block, and up to one spare.
//!
//! # Select reservations and permits
//!
//! A send never lacks room, so a select's send reservation and a permit
//! hold no slot. A send reservation counts as pending in the tail word (so
//! a close does not end the channel under it); its commit claims a position
//! past a close and consumes it, and giving it up only removes it. A
//! permit is a promise that the send will not fail for lack of room: its
//! send fails only if the channel closed since. A receive reservation is a
//! claimed, written slot; a select claims one only if its value is there
//! (a slot still being written is given up at once, as above), and one
//! dropped without its endpoint is recorded in the `orphan` list with its
//! slot's address and resolved by the next receiver that finds the channel
//! empty, or by the channel's drop.

mod adapter;
mod block;

use core::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use self::block::{Block, DESTROY, GIVEN_UP, READ, Slot, WRITTEN};
use super::counts::Counts;
use crate::chan::run;
use crate::error::{TryRecvError, TrySendError};
use crate::orphan;
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, Backoff, Ordering, fence};
use crate::unwind::Panics;
use crate::waiter::{WaitQueue, notify_all_of};

/// Positions per block: its slots and the one position between blocks.
const LAP: u64 = if cfg!(loom) { 4 } else { 256 };
/// Slots per block.
const BLOCK_CAP: usize = LAP as usize - 1;
/// A block's alignment (its `repr(align)`): the offsets of its slots fit
/// below it.
const BLOCK_ALIGN: usize = 256;
const _: () = assert!(BLOCK_CAP < BLOCK_ALIGN && align_of::<Block<()>>() == BLOCK_ALIGN);
/// The position's lowest bit in a position word.
const SHIFT: u32 = 16;
/// One position.
const ONE: u64 = 1 << SHIFT;
/// `tail`: the channel is closed.
const MARK: u64 = 1;
/// `head`: the bits of the offset below which the head's block is known
/// to be claimed (`BLOCK_CAP`: the whole block).
const KNOWN_MASK: u64 = 0xff;
const _: () = assert!(BLOCK_CAP as u64 <= KNOWN_MASK && KNOWN_MASK < ONE);
/// One pending send in `tail`.
const ONE_PENDING: u64 = 2;
/// The pending-send count's bits in `tail`.
const PENDING_MASK: u64 = ONE - ONE_PENDING;

/// The position in a position word.
#[inline(always)]
fn pos(word: u64) -> u64 {
    word >> SHIFT
}

/// The offset in its block of a position word's position.
#[inline(always)]
fn offset(word: u64) -> usize {
    (pos(word) % LAP) as usize
}

/// The lap (block number) of a position word's position.
#[inline(always)]
fn lap(word: u64) -> u64 {
    pos(word) / LAP
}

/// The pending sends counted in a tail word.
#[inline(always)]
fn pending(word: u64) -> u64 {
    (word & PENDING_MASK) / ONE_PENDING
}

/// A position word and the block its position is in.
struct End<T> {
    index: AtomicU64,
    block: AtomicPtr<Block<T>>,
    /// The head's only: blocking receives in a row whose value came
    /// promptly (up to `run::RUN_STREAK`); see `wait_for_run`.
    streak: run::Streak,
}

impl<T> End<T> {
    fn new(first: *mut Block<T>) -> Self {
        Self {
            index: AtomicU64::new(0),
            block: AtomicPtr::new(first),
            streak: run::Streak::new(),
        }
    }
}

/// A claimed slot: its block and offset.
type SlotRef<T> = (*mut Block<T>, usize);

/// A select's reservation on a list channel: a receive's claimed, written
/// slot (the block's address with the offset in its low bits), or for a
/// send, nothing but the pending count it added.
///
/// One word, so a `Result<Claim, _>` comes back in registers, as the array
/// ring's claim does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    at: NonNull<()>,
}

// SAFETY: a claim is an address that only the channel that issued it
// dereferences, under its protocol.
unsafe impl Send for Claim {}
// SAFETY: as above; `&Claim` gives access to nothing.
unsafe impl Sync for Claim {}

impl Claim {
    /// A send reservation: a pending send, no slot.
    fn send() -> Self {
        Self {
            at: NonNull::dangling(),
        }
    }

    fn slot<T>((block, offset): SlotRef<T>) -> Self {
        debug_assert!(offset < BLOCK_ALIGN);
        let at = block.cast::<()>().map_addr(|a| a | offset);
        Self {
            // SAFETY: blocks come from `Box`, never null.
            at: unsafe { NonNull::new_unchecked(at) },
        }
    }

    fn slot_ref<T>(self) -> SlotRef<T> {
        let p = self.at.as_ptr();
        (
            p.map_addr(|a| a & !(BLOCK_ALIGN - 1)).cast::<Block<T>>(),
            p.addr() & (BLOCK_ALIGN - 1),
        )
    }
}

/// The state every endpoint of a list channel shares.
///
/// # Invariants
///
/// - `head.block` is the block of `head.index`'s position (or, while the
///   head word is at a lap's last position, the one before its move), and
///   likewise for `tail`; every block from `head.block` on is linked by
///   `next` up to `tail.block`, and is live.
/// - A slot's value is initialised exactly when its state has `WRITTEN`
///   and neither `READ` nor a completed hand-back: from its sender's write
///   until its receiver (or the sender it gave the slot back to) moves it
///   out.
/// - A block behind `head.block` stays in the list's use exactly while one
///   of its slots is not done with: claimed and not yet read, or held by a
///   select's receive reservation. Then the thread that finished its last
///   slot owns it, resets it and keeps it in `spare` (freeing the spare it
///   replaces).
/// - `spare` is null or the only pointer to a live block that is linked
///   nowhere, its `next` null and every slot's state 0; the sender that
///   swaps it out owns it.
/// - In the head word, every slot of the head's block below the recorded
///   offset has been claimed by a sender.
/// - The tail word's pending count equals the select send reservations not
///   yet committed or given up plus the slots given back and not yet sent
///   again.
pub struct Shared<T> {
    id: u64,
    head: CachePadded<End<T>>,
    tail: CachePadded<End<T>>,
    counts: Counts,
    /// Unused by sends, which never wait; a close wakes it as the contract
    /// says.
    send_wait: WaitQueue,
    /// Receivers (and selects) waiting for a value. Padded: senders read
    /// it on every send.
    recv_wait: CachePadded<WaitQueue>,
    /// `closed()` futures.
    close_wait: WaitQueue,
    /// Set when the last reference is a select's keeper: the drop then
    /// leaves the values alone (see `Keeper`).
    values_forsaken: AtomicBool,
    /// A retired block kept for the next sender that needs one (null if
    /// none), so that a steady stream neither allocates nor frees: a block
    /// freed by a receiver's thread and allocated by a sender's takes the
    /// allocator's lock of the sender's arena on both.
    spare: CachePadded<AtomicPtr<Block<T>>>,
}

// SAFETY: values move between threads only through the slot protocol
// (Release of `WRITTEN` after the write, Acquire before the read), each
// moved out once: `T: Send` suffices.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever shared.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// An empty channel with its first block.
    pub(super) fn new() -> Self {
        let first = Box::into_raw(Block::new());
        Self {
            id: super::ring::next_channel_id(),
            head: CachePadded::new(End::new(first)),
            tail: CachePadded::new(End::new(first)),
            counts: Counts::new(),
            send_wait: WaitQueue::new(),
            recv_wait: CachePadded::new(WaitQueue::new()),
            close_wait: WaitQueue::new(),
            values_forsaken: AtomicBool::new(false),
            spare: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// A block for the tail to move to: the spare if there is one.
    fn new_block(&self) -> Box<Block<T>> {
        if !self.spare.load(Ordering::Relaxed).is_null() {
            // Acquire: the reset of the block's slots by the thread that
            // kept it happens before this thread's writes to them.
            let spare = self.spare.swap(ptr::null_mut(), Ordering::AcqRel);
            if !spare.is_null() {
                // SAFETY: a kept block is owned by the spare pointer, which
                // this swap emptied; it came from `Box`.
                return unsafe { Box::from_raw(spare) };
            }
        }
        Block::new()
    }

    /// Keeps a block whose slots are all done with as the spare, freeing
    /// the spare it replaces.
    ///
    /// # Safety
    /// The caller owns the block and touches it no more.
    unsafe fn retire(&self, block: *mut Block<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { Block::reset(block) };
        // Release: the reset happens before the sender that takes it
        // writes the slots.
        let old = self.spare.swap(block, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: the swap took the old spare's ownership.
            drop(unsafe { Box::from_raw(old) });
        }
    }

    /// Claims the tail position. `pending`: the claim consumes one pending
    /// send, and goes ahead even if the channel is closed.
    fn start_send(&self, pending: bool) -> Result<SlotRef<T>, TrySendError<()>> {
        let mut backoff = Backoff::new();
        let mut word = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next: Option<Box<Block<T>>> = None;
        loop {
            if word & MARK != 0 && !pending {
                return Err(TrySendError::Closed(()));
            }
            let offset = offset(word);
            if offset == BLOCK_CAP {
                // The sender of the last slot is linking the next block.
                backoff.snooze();
                word = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next.is_none() {
                next = Some(self.new_block());
            }
            let mut new = word.wrapping_add(ONE);
            if pending {
                debug_assert!(pending_of(word) != 0);
                new -= ONE_PENDING;
            }
            match self.tail.index.compare_exchange_weak(
                word,
                new,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = Box::into_raw(next.take().expect("allocated above"));
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(ONE, Ordering::Release);
                        // SAFETY: the claimed slot keeps the block live.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    return Ok((block, offset));
                }
                Err(w) => {
                    word = w;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin_contended();
                }
            }
        }
    }

    /// Writes `value` into a claimed slot and wakes a receiver; if the
    /// slot's receiver gave it up, sends the value again at the tail.
    ///
    /// # Safety
    /// `slot` came from `start_send` and has not been written.
    unsafe fn write(&self, mut slot: SlotRef<T>, mut value: T) {
        loop {
            // SAFETY: forwarded from the caller, then a fresh claim.
            match unsafe { self.publish(slot, value) } {
                None => break,
                Some(back) => {
                    value = back;
                    slot = self.resend_claim();
                }
            }
        }
        self.recv_wait.notify_one();
    }

    /// Writes and marks the slot written. Returns the value if the slot's
    /// receiver had given it up; the slot is then done with.
    ///
    /// # Safety
    /// As [`write`](Self::write).
    #[inline(always)]
    unsafe fn publish(&self, (block, offset): SlotRef<T>, value: T) -> Option<T> {
        // SAFETY: the claim keeps the block live and gives this thread the
        // slot until `WRITTEN` is set.
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: as above.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // An add, not an or: only this sender sets `WRITTEN`, once, and an
        // add that returns the old state is one locked instruction where an
        // or that does is a load and a compare-and-swap loop.
        let prev = slot.state.fetch_add(WRITTEN, Ordering::AcqRel);
        debug_assert!(prev & WRITTEN == 0, "a slot written twice");
        if prev & GIVEN_UP == 0 {
            return None;
        }
        // SAFETY: the receiver gave the slot up before `WRITTEN`, so it
        // never reads it: the value is still this thread's.
        Some(unsafe { self.take_back((block, offset)) })
    }

    /// Takes a written value back out of a slot its receiver gave up, and
    /// finishes the slot as its receiver would.
    ///
    /// # Safety
    /// The slot has `WRITTEN | GIVEN_UP`, and the caller wrote it.
    #[cold]
    #[inline(never)]
    unsafe fn take_back(&self, (block, offset): SlotRef<T>) -> T {
        // SAFETY: forwarded from the caller.
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: as above; the write precedes this read on this thread.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: the slot is done with; this thread touches it no more.
        unsafe { self.finish_read((block, offset)) };
        value
    }

    /// A position for a value sent again: consumes the pending send its
    /// receiver added when it gave the slot up.
    #[cold]
    #[inline(never)]
    fn resend_claim(&self) -> SlotRef<T> {
        self.start_send(true)
            .expect("a pending send claims a position even when closed")
    }

    /// Claims the head position.
    fn start_recv(&self) -> Result<SlotRef<T>, TryRecvError> {
        let mut backoff = Backoff::new();
        let mut word = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = offset(word);
            if offset == BLOCK_CAP {
                // The receiver of the last slot is moving the head on.
                backoff.snooze();
                word = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new = word.wrapping_add(ONE);
            if offset >= (word & KNOWN_MASK) as usize {
                fence(Ordering::SeqCst);
                let tail = self.tail.index.load(Ordering::Relaxed);
                if pos(word) == pos(tail) {
                    if tail & MARK != 0 {
                        if pending_of(tail) == 0 {
                            // Acquire for the relaxed load of the close, as
                            // the ring does: a receiver that reports
                            // `Closed` sees what the closing thread did.
                            fence(Ordering::Acquire);
                            return Err(TryRecvError::Closed);
                        }
                        if self.resolve_orphaned_sends() {
                            continue;
                        }
                    }
                    if orphan::any() {
                        let mut panics = Panics::new();
                        self.resolve_orphaned_receives(&mut panics);
                        panics.finish();
                    }
                    return Err(TryRecvError::Empty);
                }
                // Every slot of this block below the tail's offset (all of
                // them if the tail is in a later block) is claimed.
                let known = if lap(word) == lap(tail) {
                    pos(tail) % LAP
                } else {
                    BLOCK_CAP as u64
                };
                debug_assert!(known > offset as u64);
                new = (new & !KNOWN_MASK) | known;
            }
            match self.head.index.compare_exchange_weak(
                word,
                new,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: the claimed slot keeps the block live, and
                        // its sender links the next block.
                        let next = unsafe { Block::wait_next(block) };
                        let mut next_index = (new & !KNOWN_MASK).wrapping_add(ONE);
                        // SAFETY: the next block holds no claimed receive
                        // yet, so it is live.
                        if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                            next_index |= BLOCK_CAP as u64;
                        }
                        self.head.block.store(next, Ordering::Release);
                        self.head.index.store(next_index, Ordering::Release);
                    }
                    return Ok((block, offset));
                }
                Err(w) => {
                    word = w;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Waits for a claimed slot's value. `steps`: how long to wait before
    /// giving the slot back to its sender (`None` if it did; the channel
    /// is empty at this position until the sender sends the value again).
    /// A closed channel's slot is waited for to the end.
    ///
    /// # Safety
    /// `slot` came from `start_recv` and has not been read.
    unsafe fn await_written(&self, (block, offset): SlotRef<T>, patient: bool) -> Option<()> {
        // SAFETY: the claim keeps the block live.
        let slot = unsafe { &(*block).slots[offset] };
        if slot.state.load(Ordering::Acquire) & WRITTEN != 0 {
            return Some(());
        }
        self.await_written_slow(slot, patient)
    }

    #[cold]
    #[inline(never)]
    fn await_written_slow(&self, slot: &Slot<T>, patient: bool) -> Option<()> {
        let mut waited = Backoff::new();
        let mut give_up = true;
        loop {
            if give_up && (!patient || waited.is_completed()) {
                let word = self.tail.index.fetch_add(ONE_PENDING, Ordering::SeqCst);
                if word & MARK == 0 && Self::mark_given_up(slot) {
                    return None;
                }
                // Written meanwhile, or closed: a receiver that saw
                // `Closed` must not see this value later, so wait for it.
                self.release_pending();
                give_up = false;
            }
            if slot.state.load(Ordering::Acquire) & WRITTEN != 0 {
                return Some(());
            }
            waited.snooze();
        }
    }

    /// Sets `GIVEN_UP` unless the slot is written (a freeing block may
    /// have set `DESTROY` meanwhile); true if it did.
    fn mark_given_up(slot: &Slot<T>) -> bool {
        let mut state = slot.state.load(Ordering::Acquire);
        while state & WRITTEN == 0 {
            match slot.state.compare_exchange_weak(
                state,
                state | GIVEN_UP,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(s) => state = s,
            }
        }
        false
    }

    /// Moves the value out of a claimed, written slot and finishes it.
    ///
    /// # Safety
    /// `slot` came from `start_recv`, `await_written` returned `Some` for
    /// it, and it has not been read.
    unsafe fn read(&self, slot: SlotRef<T>) -> T {
        let (block, offset) = slot;
        // SAFETY: the claim keeps the block live and makes this thread the
        // slot's only reader; the Acquire load of `WRITTEN` saw the write.
        let value = unsafe { &(*block).slots[offset] }
            .value
            .with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: this thread is done with the slot.
        unsafe { self.finish_read(slot) };
        value
    }

    /// Marks a slot done with, and retires its block if it was the last.
    ///
    /// # Safety
    /// The caller claimed the slot, is done with it, and touches it no more.
    unsafe fn finish_read(&self, (block, offset): SlotRef<T>) {
        let owned = if offset + 1 == BLOCK_CAP {
            // SAFETY: the last slot: every other slot has been claimed.
            unsafe { Block::destroy(block, 0) }
        } else {
            // SAFETY: the claim keeps the block live until `READ`.
            let slot = unsafe { &(*block).slots[offset] };
            // An add: only this slot's reader sets `READ`, once (see
            // `publish`).
            let prev = slot.state.fetch_add(READ, Ordering::AcqRel);
            debug_assert!(prev & READ == 0, "a slot read twice");
            // SAFETY: if `DESTROY` is set, the block's freeing stopped at
            // this slot.
            prev & DESTROY != 0 && unsafe { Block::destroy(block, offset + 1) }
        };
        if owned {
            // SAFETY: every slot is done with; this thread owns the block.
            unsafe { self.retire(block) };
        }
    }

    /// Removes one pending send; wakes every receiver if the channel is
    /// closed (one may be waiting for the last pending send to report
    /// `Closed`).
    fn release_pending(&self) {
        let word = self.tail.index.fetch_sub(ONE_PENDING, Ordering::SeqCst);
        if word & MARK != 0 {
            self.recv_wait.notify_all();
        }
    }

    /// Removes the pending sends of this channel's orphaned send
    /// reservations; true if there were any.
    #[cold]
    #[inline(never)]
    fn resolve_orphaned_sends(&self) -> bool {
        if !orphan::any() {
            return false;
        }
        let taken = orphan::take_addrs(self.id, orphan::Side::Send);
        for _ in &taken {
            self.release_pending();
        }
        !taken.is_empty()
    }

    /// Drops the values of this channel's orphaned receive reservations
    /// and finishes their slots.
    #[cold]
    #[inline(never)]
    fn resolve_orphaned_receives(&self, panics: &mut Panics) {
        for at in orphan::take_addrs(self.id, orphan::Side::Recv)
            .into_iter()
            .flatten()
        {
            let slot = Claim { at: at.0 }.slot_ref::<T>();
            // SAFETY: the orphaned reservation claimed this written slot
            // and never read it; taking the orphan made this thread its
            // only reader, and the unread slot keeps its block live.
            let value = unsafe { self.read(slot) };
            panics.run(|| drop(value));
        }
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.start_send(false) {
            Ok(slot) => {
                // SAFETY: a fresh claim.
                unsafe { self.write(slot, value) };
                Ok(())
            }
            Err(_) => Err(TrySendError::Closed(value)),
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let slot = self.start_recv()?;
        // SAFETY: a fresh claim.
        match unsafe { self.await_written(slot, true) } {
            // SAFETY: written, not read.
            Some(()) => Ok(unsafe { self.read(slot) }),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Called by a blocking receive that found the channel empty: once the
    /// receivers are at the senders' heels, waits for a run of messages
    /// (`chan::run`), which the head's known-claimed offset then lets them
    /// take reading the tail once.
    fn wait_for_run(&self) {
        self.head.streak.wait_for_run(|| {
            // The head first: the tail read after it is never behind it.
            let head = self.head.index.load(Ordering::Acquire);
            let tail = self.tail.index.load(Ordering::Acquire);
            (tail & MARK == 0).then(|| count_between(head, tail))
        });
    }

    fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                return count_between(head, tail);
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK != 0
    }

    fn close(&self) -> bool {
        let prev = self.tail.index.fetch_or(MARK, Ordering::SeqCst);
        notify_all_of(&[&self.send_wait, &self.recv_wait, &self.close_wait]);
        prev & MARK == 0
    }
}

/// The pending sends in a tail word (named for the call sites).
#[inline(always)]
fn pending_of(word: u64) -> u64 {
    pending(word)
}

/// Slots between a head and a tail word: positions, less the one between
/// blocks in each lap crossed.
fn count_between(head: u64, tail: u64) -> usize {
    /// A word at a lap's last position counts as the next lap's first.
    fn slot_pos(word: u64) -> u64 {
        let p = pos(word);
        if p % LAP == BLOCK_CAP as u64 {
            p + 1
        } else {
            p
        }
    }
    const MASK: u64 = (1 << (64 - SHIFT)) - 1;
    let (h, t) = (slot_pos(head), slot_pos(tail));
    let n = t.wrapping_sub(h) & MASK;
    let laps = (t / LAP).wrapping_sub(h / LAP) & (MASK / LAP);
    (n - laps) as usize
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Every endpoint and keeper is gone: nothing runs concurrently.
        let forsaken = self.values_forsaken.load(Ordering::Relaxed);
        let mut panics = Panics::new();
        if orphan::any() {
            for at in orphan::take_addrs(self.id, orphan::Side::Recv)
                .into_iter()
                .flatten()
            {
                let slot = Claim { at: at.0 }.slot_ref::<T>();
                // SAFETY: an orphaned reservation's slot is written, unread,
                // and keeps its block live; this is its only resolution.
                let value = unsafe { &(*slot.0).slots[slot.1] }
                    .value
                    .with(|p| unsafe { (*p).assume_init_read() });
                if forsaken {
                    core::mem::forget(value);
                } else {
                    panics.run(|| drop(value));
                }
                // SAFETY: done with the slot.
                unsafe { self.finish_read(slot) };
            }
            orphan::take_addrs(self.id, orphan::Side::Send);
        }
        let mut word = self.head.index.load(Ordering::Relaxed) & !KNOWN_MASK;
        let end = self.tail.index.load(Ordering::Relaxed);
        let mut block = self.head.block.load(Ordering::Relaxed);
        while pos(word) != pos(end) {
            let offset = offset(word);
            if offset == BLOCK_CAP {
                // SAFETY: blocks from the head's on are live and linked.
                let next = unsafe { (*block).next.load(Ordering::Relaxed) };
                // SAFETY: every slot of this block is walked; nobody else
                // holds it.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            } else if !forsaken && core::mem::needs_drop::<T>() {
                // SAFETY: as above.
                let slot = unsafe { &(*block).slots[offset] };
                if slot.state.load(Ordering::Relaxed) & WRITTEN != 0 {
                    // SAFETY: written and, being at or after the head,
                    // never claimed by a receiver; visited once.
                    let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                    panics.run(|| drop(value));
                }
            }
            word = word.wrapping_add(ONE);
        }
        // SAFETY: the tail's block, live, and nobody else holds it.
        drop(unsafe { Box::from_raw(block) });
        let spare = self.spare.load(Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the spare is owned by the pointer, and nothing else
            // runs.
            drop(unsafe { Box::from_raw(spare) });
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
mod tests;
