//! The registry of live tasks: every live task's waker, sharded by id, so
//! shutdown can reach idle tasks and drop their futures, and `abort` can
//! wake a task. It also counts the tasks for the metrics.
//!
//! A task's shard is its id block's, so a thread's spawns in a row share
//! one. A shard's slots are pages of [`PAGE`] wakers that never move, and a
//! slot's only per-task cost is its waker: whether the slot still belongs to
//! a task is the task header's released flag, written under the shard lock
//! (docs/perf-notes.md#heap-bytes-per-idle-task).
//!
//! # Invariants
//! - Every task's header owns an `Arc` of the structure that holds its
//!   [`Registry`] and is dropped only after the future, so the registry
//!   outlives every task in it and every holder of its header.
//! - A task's registry slot holds its waker from spawn until its future is
//!   dropped; the future's drop empties the slot, once, and sets the
//!   header's released flag in the same critical section.
//! - The header's abort and released flags are written only under the lock
//!   of the task's shard.

use core::task::Waker;

use crossbeam_utils::CachePadded;

use super::harness::{MAX_INDEX, RELEASED, TaskMeta};
use super::id::{ID_BLOCK, Id};
use crate::sync::{Mutex, MutexGuard, Ordering};

/// Slots per page of a shard: a 512-byte page, below the allocator's
/// large-chunk size (docs/perf-notes.md#task-ids-in-blocks-per-thread).
const PAGE: usize = 32;

/// A page of slots: `Some` while the task is alive and its waker was not
/// taken by shutdown.
type Page = [Option<Waker>; PAGE];

/// The slots of one shard.
#[derive(Debug, Default)]
struct Slab {
    /// The slots, in pages that never move or shrink.
    #[expect(
        clippy::vec_box,
        reason = "a growing Vec of pages would leave up to half its capacity unused, which the \
                  boxed pages avoid (docs/perf-notes.md#heap-bytes-per-idle-task)"
    )]
    pages: Vec<Box<Page>>,
    /// Slots handed out so far (the others are past the end).
    high: u32,
    /// Vacant slots below `high`.
    free: Vec<u32>,
    /// Taken slots.
    len: usize,
    /// Tasks inserted.
    spawned: u64,
    /// Tasks removed after finishing with their output.
    completed: u64,
    /// Tasks removed after a panic.
    panicked: u64,
    /// Tasks removed without finishing.
    cancelled: u64,
}

impl Slab {
    /// Slot `index`.
    #[inline]
    fn slot(&mut self, index: u32) -> &mut Option<Waker> {
        let index = index as usize;
        &mut self.pages[index / PAGE][index % PAGE]
    }

    /// Every slot handed out so far.
    fn slots(&mut self) -> impl Iterator<Item = &mut Option<Waker>> {
        let high = self.high as usize;
        self.pages
            .iter_mut()
            .flat_map(|page| page.iter_mut())
            .take(high)
    }
}

/// How a task's future ended, counted when its slot is freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Dropped before finishing (abort or shutdown).
    Cancelled,
    /// Finished with its output.
    Completed,
    /// Panicked.
    Panicked,
}

/// Task counts summed over a registry's shards.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    /// Tasks spawned.
    pub(crate) spawned: u64,
    /// Tasks that finished with their output.
    pub(crate) completed: u64,
    /// Tasks that panicked.
    pub(crate) panicked: u64,
    /// Tasks dropped before finishing.
    pub(crate) cancelled: u64,
    /// Tasks whose future is not dropped yet.
    pub(crate) alive: u64,
}

/// The number of registry shards (two under loom, to keep models small).
const SHARDS: usize = if cfg!(loom) { 2 } else { 32 };

/// Every live task's waker, so shutdown can reach idle tasks and drop
/// their futures, and `abort` can wake a task.
#[derive(Debug)]
pub(crate) struct Registry {
    /// Sharded by task id.
    shards: Box<[CachePadded<Mutex<Slab>>]>,
}

/// A task's slot in a registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// The shard.
    shard: u32,
    /// The index in the shard.
    index: u32,
}

impl Slot {
    /// Slot `index` of the shard task `id` belongs to.
    #[inline]
    pub(crate) fn new(id: Id, index: u32) -> Self {
        Self {
            shard: shard_of(id),
            index,
        }
    }
}

/// The shard of task `id`: its id block's, so the tasks one thread spawns
/// in a row share a shard (see [`ID_BLOCK`]).
#[inline]
fn shard_of(id: Id) -> u32 {
    ((id.as_u64() / ID_BLOCK) % SHARDS as u64) as u32
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(Slab::default())))
                .collect(),
        }
    }

    /// Locks one shard.
    fn lock(&self, shard: u32) -> MutexGuard<'_, Slab> {
        self.shards[shard as usize].lock()
    }

    /// Reserves a slot for task `id`, creates the task with `spawn` (which
    /// gets the slot's index in the shard), and stores its waker in the
    /// slot.
    pub(crate) fn insert<R>(&self, id: Id, spawn: impl FnOnce(u32) -> (R, Waker)) -> R {
        let mut slab = self.lock(shard_of(id));
        let index = match slab.free.pop() {
            Some(index) => index,
            None => {
                let index = slab.high;
                assert!(index <= MAX_INDEX, "fewer than 2^28 live tasks per shard");
                if index as usize % PAGE == 0 {
                    slab.pages.push(Box::new([const { None }; PAGE]));
                }
                slab.high += 1;
                index
            }
        };
        slab.len += 1;
        slab.spawned += 1;
        let (result, waker) = spawn(index);
        *slab.slot(index) = Some(waker);
        result
    }

    /// Empties the slot of the task whose header is `meta`, once, when its
    /// future is dropped; the waker is returned to be dropped after the
    /// lock.
    pub(crate) fn remove(&self, meta: &TaskMeta, outcome: Outcome) -> Option<Waker> {
        let slot = meta.slot();
        let mut slab = self.lock(slot.shard);
        debug_assert_eq!(meta.state().load(Ordering::Relaxed) & RELEASED, 0);
        meta.set_released_locked();
        slab.len -= 1;
        match outcome {
            Outcome::Cancelled => slab.cancelled += 1,
            Outcome::Completed => slab.completed += 1,
            Outcome::Panicked => slab.panicked += 1,
        }
        slab.free.push(slot.index);
        slab.slot(slot.index).take()
    }

    /// Sets the abort flag of the task whose header is `meta` and returns
    /// a clone of its waker, unless its future already freed its slot.
    pub(crate) fn abort(&self, meta: &TaskMeta) -> Option<Waker> {
        let slot = meta.slot();
        let mut slab = self.lock(slot.shard);
        if meta.state().load(Ordering::Relaxed) & RELEASED != 0 {
            return None;
        }
        meta.set_aborted_locked();
        slab.slot(slot.index).clone()
    }

    /// Takes every waker out (the slots stay taken until the futures drop).
    pub(crate) fn take_wakers(&self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for shard in 0..SHARDS as u32 {
            let mut slab = self.lock(shard);
            wakers.extend(slab.slots().filter_map(Option::take));
        }
        wakers
    }

    /// Cancels every task in the registry: rounds of `drain` (which drops
    /// every task queued where this registry's tasks are scheduled) and
    /// waking every waker left, which queues its task for the next round,
    /// until a round finds none. A task's future frees its slot when it is
    /// dropped with its runnable.
    pub(crate) fn cancel_all(&self, drain: impl Fn()) {
        loop {
            drain();
            let wakers = self.take_wakers();
            if wakers.is_empty() {
                break;
            }
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    /// Replaces the waker in the slot of the task whose header is `meta`
    /// (models stand in for async-task, whose task waker is stored at
    /// spawn).
    #[cfg(all(loom, test))]
    pub(crate) fn set_waker(&self, meta: &TaskMeta, waker: Waker) {
        let slot = meta.slot();
        let old = self.lock(slot.shard).slot(slot.index).replace(waker);
        drop(old);
    }

    /// The task counts.
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for shard in 0..SHARDS as u32 {
            let slab = self.lock(shard);
            counts.spawned += slab.spawned;
            counts.completed += slab.completed;
            counts.panicked += slab.panicked;
            counts.cancelled += slab.cancelled;
            counts.alive += slab.len as u64;
        }
        counts
    }
}
