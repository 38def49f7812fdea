//! [`Id`]: a task's unique id.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

use crate::sync::{Ordering, StaticAtomicU64};

/// A task's unique id, never reused in the process.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let handle = rt.spawn(async { nimsync_scheduler::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// Each thread takes ids in blocks of this many, so the threads that spawn
/// do not share a counter, and the tasks one thread spawns in a row share a
/// registry shard, whose lock and slots then stay in that thread's cache
/// (docs/perf-notes.md#task-ids-in-blocks-per-thread).
pub(crate) const ID_BLOCK: u64 = 1024;

impl Id {
    /// The next id.
    pub(crate) fn next() -> Self {
        static NEXT: StaticAtomicU64 = StaticAtomicU64::new(ID_BLOCK);
        thread_local! {
            /// The next id of this thread's block, and the block's end.
            static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let id = BLOCK.with(|block| {
            let (mut next, mut end) = block.get();
            if next == end {
                next = NEXT.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next
                    .checked_add(ID_BLOCK)
                    .expect("task ids do not wrap in 2^64 spawns");
            }
            block.set((next + 1, end));
            next
        });
        Id(NonZeroU64::new(id).expect("ids start at one block, never zero"))
    }

    /// The id as a number.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert!(rt.spawn(async {}).id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
