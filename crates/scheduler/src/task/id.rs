//! [`Id`]: a task's unique id.

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

impl Id {
    /// The next id.
    pub(crate) fn next() -> Self {
        static NEXT: StaticAtomicU64 = StaticAtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task ids do not wrap in 2^64 spawns"))
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
