//! The hashed timer wheel: the slab of timer nodes and its slot lists.
//!
//! Time is counted in ticks of one millisecond from a per-process base
//! instant. The wheel has [`SLOTS`] slots; a timer due at tick `t` lives in
//! slot `t % SLOTS` in a doubly linked list threaded through a slab of
//! nodes, so inserting, removing and re-inserting a timer are O(1). A turn to
//! tick `now` visits each slot whose tick passed since the last turn (every
//! slot once when more than a revolution passed) and fires the entries that
//! are due; the others wait for a later revolution.
//!
//! # Invariants
//! - Every field of [`Wheel`] is read and written under the lock that owns
//!   the wheel.
//! - A node is *linked* (in exactly one slot's list, `entry` is `Some`) or
//!   *free* (on the free list, `entry` is `None`). Its `generation` changes
//!   each time it is freed, so a stale [`Key`] never touches a reused node.
//! - An [`Entry`]'s state becomes fired only under the lock, when its node
//!   is unlinked; it becomes armed only under the lock, when its node is
//!   linked (see `entry.rs`). A handle may read the state without the lock.
//! - No `Arc<Entry>` and no waker is dropped or woken while the lock is held:
//!   both can run user code that may take the lock again.

use std::time::{Duration, Instant};

use crate::entry::Entry;
use crate::sync::Arc;

/// The number of slots, a power of two.
pub(crate) const SLOTS: usize = 512;

/// The length of one tick.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// "No node" in the slab links.
const NIL: u32 = u32::MAX;

/// "No deadline".
pub(crate) const NEVER: u64 = u64::MAX;

/// Names one linked node; stale keys are recognised by their generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// The slab index.
    index: u32,
    /// The node's generation when it was linked.
    generation: u32,
}

/// One slab node.
#[derive(Debug)]
struct Node {
    /// Bumped each time the node is freed.
    generation: u32,
    /// The tick the timer is due at.
    deadline: u64,
    /// The previous node in the slot list, or [`NIL`].
    prev: u32,
    /// The next node in the slot list or the free list, or [`NIL`].
    next: u32,
    /// The timer, while linked.
    entry: Option<Arc<Entry>>,
}

/// Converts between instants and ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Tick 0.
    base: Instant,
}

impl Clock {
    /// A clock whose tick 0 is `base`.
    pub(crate) fn new(base: Instant) -> Self {
        Self { base }
    }

    /// The last tick that began at or before `at`.
    pub(crate) fn tick_floor(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos / TICK.as_nanos()).unwrap_or(NEVER - 1)
    }

    /// The first tick that begins at or after `at`: a timer due at this tick
    /// never fires before `at`.
    pub(crate) fn tick_ceil(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos.div_ceil(TICK.as_nanos())).unwrap_or(NEVER - 1)
    }

    /// The instant tick `tick` begins.
    pub(crate) fn instant(&self, tick: u64) -> Instant {
        let nanos = u128::from(tick) * TICK.as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.base
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or_else(|| self.base + Duration::from_secs(86_400 * 365 * 100))
    }
}

/// What [`Wheel::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// The timer is linked under this key. `earlier` says the deadline is
    /// before the time the timer thread planned to wake: wake it.
    Linked {
        /// The node's key.
        key: Key,
        /// Whether the timer thread must be woken to honour the new deadline.
        earlier: bool,
    },
    /// The deadline has passed already: the entry was marked fired and not
    /// linked.
    Due,
}

/// The timer wheel. See the module docs for its invariants.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// The slab.
    nodes: Vec<Node>,
    /// The head of the free list, or [`NIL`].
    free: u32,
    /// The head of each slot's list, or [`NIL`].
    heads: Box<[u32]>,
    /// A lower bound of each non-empty slot's earliest deadline.
    slot_min: Box<[u64]>,
    /// The last tick processed.
    now: u64,
    /// The number of linked nodes.
    len: usize,
    /// A lower bound of the earliest deadline, or [`NEVER`].
    next: u64,
    /// The tick the timer thread plans to wake at, or [`NEVER`] (it sleeps
    /// until unparked). Lowered by insertions before it; raised only by the
    /// timer thread's own turn (see the driver module's protocol).
    wake_at: u64,
}

impl Wheel {
    /// An empty wheel whose clock reads `now`.
    pub(crate) fn new(now: u64) -> Self {
        Self {
            nodes: Vec::new(),
            free: NIL,
            heads: vec![NIL; SLOTS].into_boxed_slice(),
            slot_min: vec![NEVER; SLOTS].into_boxed_slice(),
            now,
            len: 0,
            next: NEVER,
            wake_at: NEVER,
        }
    }

    /// The number of armed timers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A lower bound of the earliest deadline, or [`NEVER`]. Exact right
    /// after a turn; it may be early (never late) after removals.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Records the tick the timer thread will wake at ([`NEVER`]: only
    /// when unparked). Later insertions before it report `earlier`.
    pub(crate) fn set_wake_at(&mut self, tick: u64) {
        self.wake_at = tick;
    }

    /// Links `entry` due at tick `deadline` and marks it armed, or marks it
    /// fired when the deadline has passed.
    pub(crate) fn insert(&mut self, entry: &Arc<Entry>, deadline: u64) -> Inserted {
        if deadline <= self.now {
            entry.fire();
            return Inserted::Due;
        }
        let index = if self.free == NIL {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("nimsync-time: more than 4 billion timers are armed at once");
            self.nodes.push(Node {
                generation: 0,
                deadline: 0,
                prev: NIL,
                next: NIL,
                entry: None,
            });
            index
        } else {
            let index = self.free;
            self.free = self.nodes[index as usize].next;
            index
        };
        let slot = (deadline % SLOTS as u64) as usize;
        let head = self.heads[slot];
        if head == NIL {
            self.slot_min[slot] = deadline;
        } else {
            self.nodes[head as usize].prev = index;
            self.slot_min[slot] = self.slot_min[slot].min(deadline);
        }
        self.heads[slot] = index;
        let node = &mut self.nodes[index as usize];
        node.deadline = deadline;
        node.prev = NIL;
        node.next = head;
        node.entry = Some(Arc::clone(entry));
        entry.mark_armed();
        self.len += 1;
        self.next = self.next.min(deadline);
        let earlier = deadline < self.wake_at;
        if earlier {
            self.wake_at = deadline;
        }
        Inserted::Linked {
            key: Key {
                index,
                generation: node.generation,
            },
            earlier,
        }
    }

    /// Unlinks the node `key` names if it is still linked, marking its entry
    /// idle, and returns the wheel's reference to the entry so the caller
    /// drops it after releasing the lock.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Arc<Entry>> {
        let node = self.nodes.get(key.index as usize)?;
        if node.generation != key.generation || node.entry.is_none() {
            return None;
        }
        let entry = self.unlink(key.index);
        entry.mark_idle();
        Some(entry)
    }

    /// Unlinks and frees node `index`, returning its entry.
    fn unlink(&mut self, index: u32) -> Arc<Entry> {
        let (prev, next, deadline) = {
            let node = &self.nodes[index as usize];
            (node.prev, node.next, node.deadline)
        };
        if prev == NIL {
            self.heads[(deadline % SLOTS as u64) as usize] = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let node = &mut self.nodes[index as usize];
        node.generation = node.generation.wrapping_add(1);
        node.prev = NIL;
        node.next = self.free;
        self.free = index;
        self.len -= 1;
        node.entry
            .take()
            .expect("a linked wheel node always holds its entry")
    }

    /// Advances the wheel to tick `now`: every timer due at or before it is
    /// marked fired, unlinked and pushed on `fired` (wake them after the lock
    /// is released). Returns the earliest remaining deadline, or [`NEVER`].
    pub(crate) fn turn(&mut self, now: u64, fired: &mut Vec<Arc<Entry>>) -> u64 {
        if now > self.now {
            if self.len > 0 {
                let span = now - self.now;
                if span >= SLOTS as u64 {
                    for slot in 0..SLOTS {
                        self.visit(slot, now, fired);
                    }
                } else {
                    for tick in self.now + 1..=now {
                        self.visit((tick % SLOTS as u64) as usize, now, fired);
                    }
                }
            }
            self.now = now;
        }
        self.next = if self.len == 0 {
            NEVER
        } else {
            self.heads
                .iter()
                .zip(self.slot_min.iter())
                .filter(|(head, _)| **head != NIL)
                .map(|(_, min)| *min)
                .min()
                .unwrap_or(NEVER)
        };
        self.next
    }

    /// Fires the due entries of `slot` and recomputes its earliest deadline.
    fn visit(&mut self, slot: usize, now: u64, fired: &mut Vec<Arc<Entry>>) {
        let mut min = NEVER;
        let mut cursor = self.heads[slot];
        while cursor != NIL {
            let node = &self.nodes[cursor as usize];
            let next = node.next;
            if node.deadline <= now {
                let entry = self.unlink(cursor);
                entry.fire();
                fired.push(entry);
            } else {
                min = min.min(node.deadline);
            }
            cursor = next;
        }
        self.slot_min[slot] = min;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn fire_all(wheel: &mut Wheel, now: u64) -> (Vec<Arc<Entry>>, u64) {
        let mut fired = Vec::new();
        let next = wheel.turn(now, &mut fired);
        (fired, next)
    }

    fn key(inserted: Inserted) -> Key {
        match inserted {
            Inserted::Linked { key, .. } => key,
            Inserted::Due => panic!("expected a linked timer"),
        }
    }

    #[test]
    fn fires_in_deadline_order_and_never_early() {
        let mut wheel = Wheel::new(0);
        let entries: Vec<_> = (0..5).map(|_| Entry::new()).collect();
        for (i, entry) in entries.iter().enumerate() {
            key(wheel.insert(entry, 10 - i as u64 * 2));
        }
        assert_eq!(wheel.len(), 5);
        assert_eq!(wheel.next(), 2);
        let (fired, next) = fire_all(&mut wheel, 1);
        assert!(fired.is_empty());
        assert_eq!(next, 2);
        let (fired, next) = fire_all(&mut wheel, 6);
        assert_eq!(fired.len(), 3);
        assert!(fired.iter().all(|e| e.is_fired()));
        assert_eq!(next, 8);
        let (fired, next) = fire_all(&mut wheel, 10);
        assert_eq!(fired.len(), 2);
        assert_eq!(next, NEVER);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn far_timers_wait_for_their_revolution() {
        let mut wheel = Wheel::new(0);
        let near = Entry::new();
        let far = Entry::new();
        key(wheel.insert(&near, 3));
        key(wheel.insert(&far, 3 + 2 * SLOTS as u64));
        let (fired, next) = fire_all(&mut wheel, 3);
        assert_eq!(fired.len(), 1);
        assert!(near.is_fired() && !far.is_fired());
        assert_eq!(next, 3 + 2 * SLOTS as u64);
        let (fired, _) = fire_all(&mut wheel, 3 + SLOTS as u64);
        assert!(fired.is_empty(), "one revolution early is too early");
        let (fired, next) = fire_all(&mut wheel, 5 * SLOTS as u64);
        assert_eq!(fired.len(), 1);
        assert_eq!(next, NEVER);
    }

    #[test]
    fn remove_is_exact_and_stale_keys_are_ignored() {
        let mut wheel = Wheel::new(0);
        let a = Entry::new();
        let b = Entry::new();
        let ka = key(wheel.insert(&a, 5));
        let kb = key(wheel.insert(&b, 5));
        assert!(wheel.remove(ka).is_some());
        assert!(!a.is_armed() && !a.is_fired());
        assert!(wheel.remove(ka).is_none(), "a key removes once");
        // The freed node is reused; the stale key must not touch it.
        let c = Entry::new();
        let kc = key(wheel.insert(&c, 7));
        assert_ne!(ka, kc);
        assert!(wheel.remove(ka).is_none());
        let (fired, _) = fire_all(&mut wheel, 7);
        assert_eq!(fired.len(), 2);
        assert!(b.is_fired() && c.is_fired());
        assert!(wheel.remove(kb).is_none(), "a fired timer's key is stale");
        assert_eq!(Arc::strong_count(&a), 1);
    }

    #[test]
    fn past_deadlines_fire_at_once_and_earlier_deadlines_wake_the_driver() {
        let mut wheel = Wheel::new(10);
        let e = Entry::new();
        assert_eq!(wheel.insert(&e, 10), Inserted::Due);
        assert!(e.is_fired());
        wheel.set_wake_at(20);
        let late = Entry::new();
        assert!(matches!(
            wheel.insert(&late, 30),
            Inserted::Linked { earlier: false, .. }
        ));
        let soon = Entry::new();
        assert!(matches!(
            wheel.insert(&soon, 15),
            Inserted::Linked { earlier: true, .. }
        ));
        let sooner = Entry::new();
        assert!(matches!(
            wheel.insert(&sooner, 15),
            Inserted::Linked { earlier: false, .. }
        ));
    }

    #[test]
    fn many_timers_in_one_slot_keep_their_links() {
        let mut wheel = Wheel::new(0);
        let entries: Vec<_> = (0..64).map(|_| Entry::new()).collect();
        let keys: Vec<_> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| key(wheel.insert(e, 1 + (i as u64 % 4) * SLOTS as u64)))
            .collect();
        for k in keys.iter().step_by(3) {
            assert!(wheel.remove(*k).is_some());
        }
        let remaining = wheel.len();
        let (fired, _) = fire_all(&mut wheel, 10 * SLOTS as u64);
        assert_eq!(fired.len(), remaining);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn clock_rounds_deadlines_up_and_now_down() {
        let base = Instant::now();
        let clock = Clock::new(base);
        let at = base + Duration::from_micros(2_500);
        assert_eq!(clock.tick_floor(at), 2);
        assert_eq!(clock.tick_ceil(at), 3);
        assert_eq!(clock.tick_ceil(base + Duration::from_millis(4)), 4);
        assert!(clock.instant(clock.tick_ceil(at)) >= at);
    }
}
