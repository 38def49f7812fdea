//! Which workers are parked and which are searching for work.
//!
//! The protocol that keeps wake-ups from being lost is a pair of `SeqCst`
//! fences. A producer pushes a task, fences, then reads the counters; a
//! worker about to park registers itself (counters updated with `SeqCst`
//! read-modify-writes), fences, then looks at every queue once more. Either
//! the worker's last look sees the task, or the producer's read sees the
//! worker registered and wakes it (or sees a searcher, which will find the
//! task or park through the same protocol).
//!
//! At most half of the workers search at once; a searcher that finds work
//! while it was the last searcher wakes another worker, so a burst of work
//! fans out one worker at a time instead of waking everyone.

use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, fence, lock};

/// The parked and searching workers.
#[derive(Debug)]
pub(crate) struct Idle {
    /// How many workers are registered as parked.
    num_idle: AtomicUsize,
    /// How many workers are searching (stealing) for work.
    num_searching: AtomicUsize,
    /// The registered parked workers, most recent last.
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    /// No worker parked or searching.
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            num_idle: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
        }
    }

    /// Locks the sleeper list.
    fn sleepers(&self) -> MutexGuard<'_, Vec<usize>> {
        lock(&self.sleepers)
    }

    /// After new work was published: picks a parked worker to wake, when
    /// nobody is searching. The picked worker counts as searching. Returns
    /// the worker to unpark.
    pub(crate) fn worker_to_notify(&self, avoid: Option<usize>) -> Option<usize> {
        fence(Ordering::SeqCst);
        self.worker_to_notify_after_fence(avoid)
    }

    /// [`Idle::worker_to_notify`] for a caller that has already issued the
    /// `SeqCst` fence after publishing its work (the shutdown gate's push
    /// does: one fence serves both protocols).
    #[inline]
    pub(crate) fn worker_to_notify_after_fence(&self, avoid: Option<usize>) -> Option<usize> {
        if self.num_searching.load(Ordering::SeqCst) != 0
            || self.num_idle.load(Ordering::SeqCst) == 0
        {
            return None;
        }
        self.pop_sleeper(avoid)
    }

    /// Pops a parked worker; it counts as searching. The most recently
    /// parked one is taken, except `avoid` (the timer driver) while another
    /// one is parked.
    fn pop_sleeper(&self, avoid: Option<usize>) -> Option<usize> {
        let mut sleepers = self.sleepers();
        let at = sleepers
            .iter()
            .rposition(|&i| Some(i) != avoid)
            .or_else(|| sleepers.len().checked_sub(1))?;
        let index = sleepers.remove(at);
        self.num_idle.fetch_sub(1, Ordering::SeqCst);
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        Some(index)
    }

    /// Starts searching, unless half of the `workers` already search.
    pub(crate) fn try_start_search(&self, workers: usize) -> bool {
        let searching = self.num_searching.load(Ordering::SeqCst);
        if 2 * searching >= workers.max(2) {
            return false;
        }
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Stops searching. Returns whether this was the last searcher.
    pub(crate) fn stop_search(&self) -> bool {
        self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Registers worker `index` as parked; `searching` says it was
    /// searching (it stops). The caller must look for work once more after
    /// this returns, then park or [`Idle::unregister`].
    pub(crate) fn register(&self, index: usize, searching: bool) {
        self.sleepers().push(index);
        self.num_idle.fetch_add(1, Ordering::SeqCst);
        if searching {
            self.num_searching.fetch_sub(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
    }

    /// Unregisters worker `index` after its park (or instead of it).
    /// Returns `true` when it was still registered; `false` when a notifier
    /// took it off the list, in which case it now counts as searching.
    pub(crate) fn unregister(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers();
        match sleepers.iter().position(|&i| i == index) {
            Some(at) => {
                sleepers.swap_remove(at);
                self.num_idle.fetch_sub(1, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// The number of searching workers.
    #[cfg(all(loom, test))]
    pub(crate) fn searching(&self) -> usize {
        self.num_searching.load(Ordering::SeqCst)
    }
}
