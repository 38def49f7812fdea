//! Which workers are parked and which are searching for work: the idle
//! protocol, which keeps wake-ups from being lost without waking every
//! worker.
//!
//! # The protocol
//! A worker about to park ([`Searcher::park`], called by
//! `WorkerCtx::park`):
//! 1. announces itself idle ([`Idle::register`]): it joins the sleeper
//!    list and the parked count, stops counting as searching, and issues a
//!    `SeqCst` fence;
//! 2. looks at every queue once more (the caller's `has_work`);
//! 3. sleeps unless that look found work (the caller's `sleep`: its parker,
//!    or the timer driver's timed park);
//! 4. unregisters ([`Idle::unregister`]); when a notifier had taken it off
//!    the list already, it counts as searching from then on.
//!
//! A producer pushes a task, issues a `SeqCst` fence, then reads the
//! counters ([`Idle::worker_to_notify`]); when nobody searches and a worker
//! is parked it takes one off the list (it now counts as searching) and
//! unparks it. The two fences order each side's two steps, so either the
//! worker's last look sees the task, or the producer's read sees the worker
//! registered and wakes it, or it sees a searcher, which will find the task
//! or park through the same protocol.
//!
//! At most half of the workers search at once ([`Searcher::start`]); a
//! searcher that finds work while it was the last searcher
//! ([`Searcher::found_work`]) wakes another worker, so a burst of work fans
//! out one worker at a time instead of waking everyone.
//!
//! `cargo xtask loom` runs these functions, with the facade's parker, for
//! one and two workers (`loom_tests::loom_park_unpark_one_worker`,
//! `loom_tests::loom_park_unpark_two_workers`); a lost wake-up leaves a
//! worker parked with work queued, which loom reports as a deadlock.

use std::cell::Cell;

use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, fence};

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
        self.sleepers.lock()
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
    fn try_start_search(&self, workers: usize) -> bool {
        let searching = self.num_searching.load(Ordering::SeqCst);
        if 2 * searching >= workers.max(2) {
            return false;
        }
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Stops searching. Returns whether this was the last searcher.
    fn stop_search(&self) -> bool {
        self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Registers worker `index` as parked; `searching` says it was
    /// searching (it stops). The caller must look for work once more after
    /// this returns, then park or [`Idle::unregister`].
    fn register(&self, index: usize, searching: bool) {
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
    fn unregister(&self, index: usize) -> bool {
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

/// One worker's side of the idle protocol: whether it counts as searching.
/// Only its own worker uses it (a plain `Cell`: no other thread reads it).
#[derive(Debug)]
pub(crate) struct Searcher {
    /// Whether this worker is counted in `Idle::num_searching`.
    searching: Cell<bool>,
}

impl Searcher {
    /// Not searching.
    pub(crate) fn new() -> Self {
        Self {
            searching: Cell::new(false),
        }
    }

    /// Counts this worker as searching, unless half of the `workers`
    /// already search. Returns whether it searches (it may have been
    /// already).
    #[inline]
    pub(crate) fn start(&self, idle: &Idle, workers: usize) -> bool {
        if !self.searching.get() {
            if !idle.try_start_search(workers) {
                return false;
            }
            self.searching.set(true);
        }
        true
    }

    /// This worker found a task: it stops searching. Returns whether it was
    /// the last searcher, in which case the caller wakes another worker
    /// (there may be more work).
    #[inline]
    pub(crate) fn found_work(&self, idle: &Idle) -> bool {
        self.searching.replace(false) && idle.stop_search()
    }

    /// Whether this worker counts as searching.
    #[inline]
    pub(crate) fn is_searching(&self) -> bool {
        self.searching.get()
    }

    /// Stops searching without having found work (the worker leaves the
    /// runtime).
    pub(crate) fn stop(&self, idle: &Idle) {
        if self.searching.replace(false) {
            idle.stop_search();
        }
    }

    /// Parks worker `index` through the protocol (see the module docs):
    /// announces it idle, calls `has_work` for the last look, calls `sleep`
    /// unless that found work, and unregisters it.
    #[inline]
    pub(crate) fn park(
        &self,
        idle: &Idle,
        index: usize,
        has_work: impl FnOnce() -> bool,
        sleep: impl FnOnce(),
    ) {
        idle.register(index, self.searching.replace(false));
        if !has_work() {
            sleep();
        }
        if !idle.unregister(index) {
            self.searching.set(true);
        }
    }
}
