//! What a stream channel's producers and consumer share, and the send and
//! receive steps of each overflow policy.

use std::task::Waker;

use nimsync_channel::TrySendError as RingFull;
use nimsync_channel::mpmc;

use crate::metrics::{Counters, Metrics};
use crate::overflow::{Conflate, DropHook, UndeliveredHook};
use crate::sync::{AtomicBool, AtomicWaker, Mutex, MutexGuard, Ordering, register_waker};
use crate::{DropReason, Overflow, RecvError, TrySendError};

/// The state behind a stream channel.
///
/// The items live in a bounded nimsync MPMC channel (the *ring*). The
/// overflow policies are built on its operations: `try_send` for `Block`,
/// `DropNewest` and `Fail`, `force_send` (which evicts the oldest item
/// atomically) for `DropOldest`, and a drain through `rx` for
/// `DropBuffer`. `Conflate` adds the [`Spill`]: one item after the ring's,
/// into which new items are folded while the ring is full.
pub(crate) struct Shared<T> {
    /// A weak receiving handle on the ring, for `DropBuffer`'s drain (weak,
    /// so the ring's receiver count stays the consumer's alone).
    rx: mpmc::WeakReceiver<T>,
    pub(crate) overflow: Overflow<T>,
    on_drop: Option<DropHook<T>>,
    on_undelivered: Option<UndeliveredHook<T>>,
    pub(crate) counters: Counters,
    /// The ring's capacity.
    capacity: usize,
    /// Set (before the ring is closed) by the send that failed the stage
    /// under `Fail`.
    failed: AtomicBool,
    spill: Spill<T>,
}

/// The item being conflated, after the ring's items.
///
/// Invariant: `held` is true exactly while `slot.item` is `Some`, both
/// changed under the lock; `held` lets producers and the consumer skip the
/// lock while there is no such item. Once `slot.closed` is set no item
/// enters the slot.
struct Spill<T> {
    held: AtomicBool,
    slot: Mutex<SpillSlot<T>>,
    /// The consumer's waker, woken when an item enters the slot.
    waker: AtomicWaker,
}

struct SpillSlot<T> {
    item: Option<T>,
    closed: bool,
}

impl<T> Shared<T> {
    pub(crate) fn new(
        rx: &mpmc::Receiver<T>,
        overflow: Overflow<T>,
        on_drop: Option<DropHook<T>>,
        on_undelivered: Option<UndeliveredHook<T>>,
    ) -> Self {
        let capacity = rx.max_capacity();
        Self {
            rx: rx.downgrade(),
            overflow,
            on_drop,
            on_undelivered,
            counters: Counters::default(),
            capacity,
            failed: AtomicBool::new(false),
            spill: Spill {
                held: AtomicBool::new(false),
                slot: Mutex::new(SpillSlot {
                    item: None,
                    closed: false,
                }),
                waker: AtomicWaker::new(),
            },
        }
    }

    /// Items held now.
    /// Items held now, given the ring's length.
    pub(crate) fn depth(&self, ring_len: usize) -> usize {
        ring_len + usize::from(self.spill.held.load(Ordering::Acquire))
    }

    /// The counters now, given the ring's length.
    pub(crate) fn metrics(&self, ring_len: usize) -> Metrics {
        let depth = self.depth(ring_len);
        self.counters.depth(depth);
        self.counters.snapshot_derived(depth)
    }

    /// Counts an item the ring took. Nothing to do: `offered` is derived
    /// from the other counters and the depth (docs/perf-notes.md#
    /// stream-counters-off-the-hot-path), and the depth is sampled by the
    /// consumer and at each overflow.
    #[inline(always)]
    pub(crate) fn accepted(&self, _tx: &mpmc::Sender<T>) {}

    /// Records that the ring was full: the high-water mark is its capacity
    /// (plus the spilled item for `Conflate`).
    fn overflowed(&self, extra: usize) {
        self.counters.depth(self.capacity + extra);
    }

    /// Counts a dropped item and hands it to the `on_drop` hook.
    pub(crate) fn drop_item(&self, item: T, reason: DropReason) {
        self.counters.dropped(reason);
        if let Some(hook) = &self.on_drop {
            hook(item, reason);
        }
    }

    /// Counts an item the consumer will never take and hands it to the
    /// `on_undelivered` hook.
    pub(crate) fn undelivered(&self, item: T) {
        self.counters.undelivered();
        if let Some(hook) = &self.on_undelivered {
            hook(item);
        }
    }

    /// Offers `item` under the stage's policy without waiting.
    pub(crate) fn try_send(&self, tx: &mpmc::Sender<T>, item: T) -> Result<(), TrySendError<T>> {
        match &self.overflow {
            Overflow::Block => match tx.try_send(item) {
                Ok(()) => self.accepted(tx),
                Err(RingFull::Full(item)) => {
                    self.overflowed(0);
                    return Err(TrySendError::Full(item));
                }
                Err(RingFull::Closed(item)) => return Err(TrySendError::Closed(item)),
            },
            Overflow::DropOldest => match tx.force_send(item) {
                Ok(evicted) => {
                    self.accepted(tx);
                    // The stage makes no permits, so what comes back is
                    // always an older item, never `item` itself.
                    if let Some(oldest) = evicted {
                        self.overflowed(0);
                        self.drop_item(oldest, DropReason::Oldest);
                    }
                }
                Err(e) => return Err(TrySendError::Closed(e.into_inner())),
            },
            Overflow::DropNewest => match tx.try_send(item) {
                Ok(()) => self.accepted(tx),
                Err(RingFull::Full(item)) => {
                    self.overflowed(0);
                    self.drop_item(item, DropReason::Newest);
                }
                Err(RingFull::Closed(item)) => return Err(TrySendError::Closed(item)),
            },
            Overflow::DropBuffer => {
                let mut item = item;
                loop {
                    match tx.try_send(item) {
                        Ok(()) => break self.accepted(tx),
                        Err(RingFull::Full(back)) => {
                            item = back;
                            self.overflowed(0);
                            // No receiver to upgrade: the consumer is gone,
                            // and the ring closed with it.
                            // At most a capacity's worth: what other
                            // producers send meanwhile is not this
                            // overflow's to clear.
                            if let Some(rx) = self.rx.upgrade() {
                                for _ in 0..self.capacity {
                                    let Ok(old) = rx.try_recv() else { break };
                                    self.drop_item(old, DropReason::Buffer);
                                }
                            }
                        }
                        Err(RingFull::Closed(item)) => return Err(TrySendError::Closed(item)),
                    }
                }
            }
            Overflow::Fail => match tx.try_send(item) {
                Ok(()) => self.accepted(tx),
                Err(RingFull::Full(item)) => {
                    self.overflowed(0);
                    self.counters.rejected();
                    self.failed.store(true, Ordering::Release);
                    tx.close();
                    return Err(TrySendError::Overflowed(item));
                }
                Err(RingFull::Closed(item)) => return Err(TrySendError::Closed(item)),
            },
            Overflow::Conflate(fold) => return self.conflate(tx, item, fold),
        }
        Ok(())
    }

    /// `Conflate`: into the ring while it has room and nothing is being
    /// conflated, else into the spill (folded into its item, if any).
    fn conflate(
        &self,
        tx: &mpmc::Sender<T>,
        mut item: T,
        fold: &Conflate<T>,
    ) -> Result<(), TrySendError<T>> {
        loop {
            // Whether the ring refused the item in this round.
            let mut ring_full = false;
            if !self.spill.held.load(Ordering::Acquire) {
                match tx.try_send(item) {
                    Ok(()) => {
                        self.accepted(tx);
                        return Ok(());
                    }
                    Err(RingFull::Closed(back)) => return Err(TrySendError::Closed(back)),
                    Err(RingFull::Full(back)) => {
                        item = back;
                        ring_full = true;
                    }
                }
            }
            let mut slot = self.lock_spill();
            if slot.closed {
                return Err(TrySendError::Closed(item));
            }
            match &mut slot.item {
                Some(newest) => {
                    fold.fold(newest, item);
                    self.counters.conflated();
                    return Ok(());
                }
                None if ring_full => {
                    slot.item = Some(item);
                    self.spill.held.store(true, Ordering::Release);
                    drop(slot);
                    self.overflowed(1);
                    self.spill.waker.wake();
                    return Ok(());
                }
                // The spilled item this send was going to fold into was
                // taken meanwhile: try the ring again first, so that the
                // spill only ever follows a ring that was full.
                None => {}
            }
        }
    }

    fn lock_spill(&self) -> MutexGuard<'_, SpillSlot<T>> {
        self.spill.slot.lock()
    }

    /// Takes the spilled item, if any. Only the consumer calls this, after
    /// the ring came up empty.
    pub(crate) fn take_spill(&self) -> Option<T> {
        if !self.spill.held.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = self.lock_spill();
        self.spill.held.store(false, Ordering::Release);
        slot.item.take()
    }

    /// Registers the consumer's waker for a spilled item. Only
    /// `Conflate` spills, so no other policy registers.
    pub(crate) fn register_spill(&self, waker: &Waker) -> bool {
        if self.spills() {
            register_waker(&self.spill.waker, waker);
            true
        } else {
            false
        }
    }

    /// True under `Conflate`, the one policy that uses the spill.
    pub(crate) fn spills(&self) -> bool {
        matches!(self.overflow, Overflow::Conflate(_))
    }

    /// Closes the stage for producers: later sends get `Closed`; what it
    /// holds stays for the consumer.
    pub(crate) fn close(&self, ring_close: impl FnOnce() -> bool) -> bool {
        if self.spills() {
            self.lock_spill().closed = true;
        }
        ring_close()
    }

    /// How the stream ended, once the ring is closed and drained.
    pub(crate) fn end(&self) -> RecvError {
        if self.failed.load(Ordering::Acquire) {
            RecvError::Overflowed
        } else {
            RecvError::Closed
        }
    }
}
