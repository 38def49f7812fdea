//! The registry of live tasks: every live task's waker, sharded by id, so
//! shutdown can reach idle tasks and drop their futures, and `abort` can
//! wake a task. It also counts the tasks for the metrics.
//!
//! # Invariants
//! - Every task's schedule function owns an `Arc` of the structure that
//!   holds its [`Registry`], and `async-task` drops the schedule function only
//!   after the future. A [`RegistryRef`] held by the future or by the join
//!   handle (which keeps the task alive) is therefore valid while its holder
//!   lives.
//! - A task's registry slot holds its waker from spawn until its future is
//!   dropped; the future's drop empties the slot.

use core::ptr::NonNull;
use core::task::Waker;

use crossbeam_utils::CachePadded;

use super::id::Id;
use crate::sync::{Mutex, MutexGuard};

/// A `Slab` of wakers: one slot per live task of one shard.
#[derive(Debug, Default)]
struct Slab {
    /// `Some` while the task is alive; `None` in vacant or reserved slots.
    wakers: Vec<Option<Waker>>,
    /// Whether each slot is taken.
    used: Vec<bool>,
    /// The id of the task in each slot (of the last one, once vacant).
    ids: Vec<u64>,
    /// Vacant slots.
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
    /// gets the slot), and stores its waker in the slot.
    pub(crate) fn insert<R>(&self, id: Id, spawn: impl FnOnce(Slot) -> (R, Waker)) -> R {
        let shard = (id.as_u64() % SHARDS as u64) as u32;
        let mut slab = self.lock(shard);
        let index = match slab.free.pop() {
            Some(index) => index,
            None => {
                slab.wakers.push(None);
                slab.used.push(false);
                slab.ids.push(0);
                u32::try_from(slab.wakers.len() - 1).expect("fewer than 2^32 tasks per shard")
            }
        };
        slab.used[index as usize] = true;
        slab.ids[index as usize] = id.as_u64();
        slab.len += 1;
        slab.spawned += 1;
        let (result, waker) = spawn(Slot { shard, index });
        slab.wakers[index as usize] = Some(waker);
        result
    }

    /// Empties `slot`; the waker is returned to be dropped after the lock.
    pub(crate) fn remove(&self, slot: Slot, outcome: Outcome) -> Option<Waker> {
        let mut slab = self.lock(slot.shard);
        let i = slot.index as usize;
        if !slab.used[i] {
            return None;
        }
        slab.used[i] = false;
        slab.len -= 1;
        match outcome {
            Outcome::Cancelled => slab.cancelled += 1,
            Outcome::Completed => slab.completed += 1,
            Outcome::Panicked => slab.panicked += 1,
        }
        slab.free.push(slot.index);
        slab.wakers[i].take()
    }

    /// A clone of the waker in `slot`, if task `id` is still the one there.
    pub(crate) fn waker(&self, slot: Slot, id: Id) -> Option<Waker> {
        let slab = self.lock(slot.shard);
        let i = slot.index as usize;
        if slab.ids[i] != id.as_u64() {
            return None;
        }
        slab.wakers[i].clone()
    }

    /// Takes every waker out (the slots stay taken until the futures drop).
    pub(crate) fn take_wakers(&self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for shard in 0..SHARDS as u32 {
            let mut slab = self.lock(shard);
            wakers.extend(slab.wakers.iter_mut().filter_map(Option::take));
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

    /// Replaces the waker in `slot` (models stand in for async-task, whose
    /// task waker is stored at spawn).
    #[cfg(all(loom, test))]
    pub(crate) fn set_waker(&self, slot: Slot, waker: Waker) {
        let old = self.lock(slot.shard).wakers[slot.index as usize].replace(waker);
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

/// A pointer to the [`Registry`] a task is in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegistryRef(NonNull<Registry>);

// SAFETY: a `Registry` is `Sync` (mutexes), and the pointee outlives every
// holder (module invariants), so the pointer may be used from any thread.
unsafe impl Send for RegistryRef {}
// SAFETY: as for `Send`: only `&Registry` is ever made from it.
unsafe impl Sync for RegistryRef {}

impl RegistryRef {
    /// Points at `registry`; the caller upholds the module invariants.
    pub(crate) fn new(registry: &Registry) -> Self {
        Self(NonNull::from(registry))
    }

    /// The registry.
    pub(crate) fn get(&self) -> &Registry {
        // SAFETY: the registry outlives every task in it and every holder of
        // a `RegistryRef` (module invariants).
        unsafe { self.0.as_ref() }
    }
}
