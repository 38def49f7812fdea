//! The waiting party and its claim state.
//!
//! A [`Waiter`] is one blocked thread, one pending future or one select. Its
//! `state` word says whether anyone has claimed it: a notifier by
//! compare-and-swapping in the index of the operation that became ready, or
//! the owner by swapping in "aborted". Exactly one claim succeeds per
//! registration. The owner reads the outcome as a [`Selected`]; the word's
//! encoding stays in this file.

use core::task::Waker;
use std::time::Instant;

use crate::sync::{self, Arc, AtomicUsize, AtomicWaker, Ordering, Thread};

/// The waiter waits; nobody has claimed it yet.
const WAITING: usize = 0;
/// The owner gave up waiting before any notifier claimed it.
const ABORTED: usize = usize::MAX;

/// What became of a [`Waiter`], as its owner reads it.
///
/// ```
/// use nimsync_channel::__select::{Selected, Waiter};
///
/// let waiter = Waiter::for_current_thread();
/// assert_eq!(waiter.selected(), Selected::Waiting);
/// assert_eq!(waiter.try_abort(), Selected::Aborted);
/// assert_eq!(waiter.selected().operation(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// Nobody has claimed the waiter yet.
    Waiting,
    /// The owner gave up waiting before any notifier claimed it.
    Aborted,
    /// The notifier of this operation (the index it was registered with)
    /// claimed the waiter.
    Operation(usize),
}

impl Selected {
    /// Decodes a state word.
    #[inline]
    fn from_state(state: usize) -> Self {
        match state {
            WAITING => Self::Waiting,
            ABORTED => Self::Aborted,
            claimed => Self::Operation(claimed - 1),
        }
    }

    /// The operation that claimed the waiter, if one did.
    ///
    /// ```
    /// use nimsync_channel::__select::Selected;
    /// assert_eq!(Selected::Operation(3).operation(), Some(3));
    /// assert_eq!(Selected::Aborted.operation(), None);
    /// ```
    #[inline]
    pub fn operation(self) -> Option<usize> {
        match self {
            Self::Operation(op) => Some(op),
            Self::Waiting | Self::Aborted => None,
        }
    }
}

/// How a waiter is woken.
#[derive(Debug)]
enum Unparker {
    /// A thread blocked in `park`.
    Thread(Thread),
    /// An async task; the waker is refreshed on every poll.
    Task(AtomicWaker),
}

/// A waiting party: one blocked thread, one pending future, or one select.
///
/// # Invariants
///
/// - `state` is `WAITING`, `ABORTED`, or `op + 1` for the operation whose
///   notifier claimed the waiter; it leaves `WAITING` exactly once per
///   registration, by a successful compare-and-swap.
/// - Only the owner resets `state` to `WAITING`, and only while the waiter
///   is registered in no queue.
///
/// ```
/// use nimsync_channel::__select::{Selected, Waiter};
/// use std::time::{Duration, Instant};
///
/// let waiter = Waiter::for_current_thread();
/// // Nobody claims it: the wait ends at the deadline, aborted.
/// let deadline = Instant::now() + Duration::from_millis(1);
/// assert_eq!(waiter.wait_until(Some(deadline)), Selected::Aborted);
/// ```
#[derive(Debug)]
pub struct Waiter {
    state: AtomicUsize,
    unparker: Unparker,
}

#[cfg(not(loom))]
std::thread_local! {
    static THREAD_WAITER: Arc<Waiter> = Arc::new(Waiter::with_thread(sync::current()));
    /// A task waiter nobody holds any more, kept for this thread's next
    /// [`Waiter::for_task`]: its waker slot is empty.
    static SPARE_TASK_WAITER: core::cell::Cell<Option<Arc<Waiter>>> =
        const { core::cell::Cell::new(None) };
}

impl Waiter {
    fn with_thread(thread: Thread) -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            unparker: Unparker::Thread(thread),
        }
    }

    /// A waiter for the calling thread, reused across waits when no one
    /// else still holds it.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// assert_eq!(Waiter::for_current_thread().selected(), Selected::Waiting);
    /// ```
    pub fn for_current_thread() -> Arc<Waiter> {
        #[cfg(not(loom))]
        {
            let cached = THREAD_WAITER.try_with(|cx| {
                // Strong count 2 = the thread-local and the clone below: no
                // queue and no notifier refers to it, so resetting is safe.
                let cx = Arc::clone(cx);
                if Arc::strong_count(&cx) == 2 {
                    cx.state.store(WAITING, Ordering::Relaxed);
                    Some(cx)
                } else {
                    None
                }
            });
            if let Ok(Some(cx)) = cached {
                return cx;
            }
        }
        Arc::new(Self::with_thread(sync::current()))
    }

    /// A waiter for an async task, woken through `waker`.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// let waiter = Waiter::for_task(std::task::Waker::noop());
    /// assert_eq!(waiter.selected(), Selected::Waiting);
    /// ```
    pub fn for_task(waker: &Waker) -> Arc<Waiter> {
        #[cfg(not(loom))]
        if let Ok(Some(cx)) = SPARE_TASK_WAITER.try_with(core::cell::Cell::take) {
            // Only `recycle` puts a waiter there: held by nobody else, and
            // in no queue, so its state may be reset.
            cx.state.store(WAITING, Ordering::Relaxed);
            cx.set_waker(waker);
            return cx;
        }
        let atomic = AtomicWaker::new();
        sync::register_waker(&atomic, waker);
        Arc::new(Self {
            state: AtomicUsize::new(WAITING),
            unparker: Unparker::Task(atomic),
        })
    }

    /// Keeps a task's waiter that nobody else holds (so it is in no queue
    /// and no notifier can reach it) for this thread's next
    /// [`for_task`](Self::for_task), which then allocates nothing; drops
    /// it otherwise. Its waker is released now, so the task it belonged
    /// to is not kept alive by it.
    pub(crate) fn recycle(cx: Arc<Waiter>) {
        #[cfg(not(loom))]
        {
            let mut cx = cx;
            if let Some(waiter) = Arc::get_mut(&mut cx) {
                if let Unparker::Task(w) = &waiter.unparker {
                    drop(w.take());
                    // During the thread's teardown the slot may be gone:
                    // then the waiter is simply dropped.
                    let _ = SPARE_TASK_WAITER.try_with(|spare| spare.replace(Some(cx)));
                }
            }
        }
        #[cfg(loom)]
        drop(cx);
    }

    /// Replaces the waker a task's waiter wakes. No-op for a thread's.
    ///
    /// ```
    /// use nimsync_channel::__select::Waiter;
    /// let waiter = Waiter::for_task(std::task::Waker::noop());
    /// waiter.set_waker(std::task::Waker::noop());
    /// ```
    pub fn set_waker(&self, waker: &Waker) {
        if let Unparker::Task(w) = &self.unparker {
            sync::register_waker(w, waker);
        }
    }

    /// Who has claimed the waiter so far.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// assert_eq!(Waiter::for_current_thread().selected(), Selected::Waiting);
    /// ```
    #[inline]
    pub fn selected(&self) -> Selected {
        Selected::from_state(self.state.load(Ordering::Acquire))
    }

    /// True while nobody has claimed the waiter: one load.
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Returns the waiter to the waiting state before it is registered
    /// again. The caller must have unregistered it from every queue.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// let waiter = Waiter::for_current_thread();
    /// waiter.try_abort();
    /// waiter.reset();
    /// assert_eq!(waiter.selected(), Selected::Waiting);
    /// ```
    pub fn reset(&self) {
        self.state.store(WAITING, Ordering::Relaxed);
    }

    /// Claims the waiter for operation `op`. True if this call won.
    pub(crate) fn try_select(&self, op: usize) -> bool {
        self.state
            .compare_exchange(WAITING, op + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Panics if `op` cannot be stored as a claim.
    pub(super) fn check_operation(op: usize) {
        assert!(
            op < ABORTED - 1,
            "select operation index {op} is out of range"
        );
    }

    /// The owner gives up waiting: [`Selected::Aborted`] if nobody had
    /// claimed the waiter, otherwise the operation whose notifier did.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// let waiter = Waiter::for_current_thread();
    /// assert_eq!(waiter.try_abort(), Selected::Aborted);
    /// assert_eq!(waiter.selected(), Selected::Aborted);
    /// ```
    pub fn try_abort(&self) -> Selected {
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Selected::Aborted,
            Err(state) => Selected::from_state(state),
        }
    }

    /// Wakes the owner.
    pub(crate) fn unpark(&self) {
        match &self.unparker {
            Unparker::Thread(t) => {
                t.unpark();
                sync::note_woke_thread();
            }
            Unparker::Task(w) => w.wake(),
        }
    }

    /// Parks the calling thread until the waiter is claimed or `deadline`
    /// passes; on timeout the waiter is aborted. Returns the outcome, never
    /// [`Selected::Waiting`].
    ///
    /// Only for a thread's waiter, called by the thread that owns it.
    ///
    /// ```
    /// use nimsync_channel::__select::{Selected, Waiter};
    /// let waiter = Waiter::for_current_thread();
    /// assert_eq!(waiter.wait_until(Some(std::time::Instant::now())), Selected::Aborted);
    /// ```
    pub fn wait_until(&self, deadline: Option<Instant>) -> Selected {
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s != WAITING {
                return Selected::from_state(s);
            }
            match deadline {
                None => sync::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return self.try_abort();
                    }
                    sync::park_timeout(d - now);
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn thread_waiter_is_reused_when_free() {
        let a = Waiter::for_current_thread();
        let p = Arc::as_ptr(&a);
        drop(a);
        let b = Waiter::for_current_thread();
        assert_eq!(Arc::as_ptr(&b), p);
        // While held, a second request gets a fresh waiter.
        let c = Waiter::for_current_thread();
        assert_ne!(Arc::as_ptr(&c), p);
    }

    #[test]
    fn a_task_waiter_nobody_holds_is_reused_by_the_next_task_wait() {
        let (woken, k) = super::super::test_wakers::counting();
        let cx = Waiter::for_task(&k);
        let first = Arc::as_ptr(&cx);
        assert_eq!(cx.try_abort(), Selected::Aborted);
        Waiter::recycle(cx);
        let again = Waiter::for_task(Waker::noop());
        assert_eq!(Arc::as_ptr(&again), first, "the spare was taken");
        assert_eq!(again.selected(), Selected::Waiting, "and reset");
        // A waiter someone else still holds is not kept.
        let held = Arc::clone(&again);
        Waiter::recycle(again);
        let fresh = Waiter::for_task(&k);
        assert_ne!(Arc::as_ptr(&fresh), Arc::as_ptr(&held));
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }
}
