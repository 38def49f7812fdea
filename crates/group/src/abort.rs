//! [`AbortHandle`]: aborts one child of a group, and the slot the child
//! watches for it.
//!
//! A child spawned with a handle runs inside [`abortable`], which polls the
//! slot before every poll of the child's future. The slot's lock guards
//! three things: whether an abort was asked for, whether the child has
//! ended, and the waker of the child's task while it waits.
//!
//! - `abort` sets the flag and takes the waker under the lock (unless the
//!   child already ended), then wakes it outside the lock.
//! - The child reads the flag and registers its waker under the same lock,
//!   before it polls its future: an abort that comes after the check finds
//!   the waker and wakes the task, whose next poll sees the flag. An abort
//!   is never missed, and the child's future is never polled once the
//!   child saw it.
//! - When the child ends (its future returned, panicked or was dropped),
//!   the slot is marked finished and the waker is taken out and dropped
//!   outside the lock, so a handle that outlives the child keeps neither
//!   its task nor its waker alive.
//!
//! The child's future is dropped on the thread that polls the task, never
//! inside `abort`. The loom models of this are in `loom_tests.rs`.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::fmt;

use nimsync_scheduler::task::Id;

use crate::sync::{Arc, Mutex};

/// What a child spawned with an [`AbortHandle`] watches.
#[derive(Debug)]
pub(crate) struct AbortSlot {
    state: Mutex<SlotState>,
}

#[derive(Debug)]
struct SlotState {
    /// An abort was asked for.
    aborted: bool,
    /// The child ended (returned, panicked, aborted or dropped).
    finished: bool,
    /// The waker of the child's task, while it runs.
    waker: Option<Waker>,
}

impl AbortSlot {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(SlotState {
                aborted: false,
                finished: false,
                waker: None,
            }),
        })
    }

    /// Asks the child to stop and wakes it; nothing once it has ended.
    pub(crate) fn abort(&self) {
        let waker = {
            let mut st = self.state.lock();
            if st.finished || st.aborted {
                return;
            }
            st.aborted = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ready once an abort was asked for; otherwise the next
    /// [`abort`](AbortSlot::abort) wakes `cx`'s waker.
    pub(crate) fn poll_aborted(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.state.lock();
        if st.aborted {
            return Poll::Ready(());
        }
        let replaced = match &mut st.waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            slot => slot.replace(cx.waker().clone()),
        };
        drop(st);
        // Dropped with the lock released.
        drop(replaced);
        Poll::Pending
    }

    /// Records that the child ended, and lets its waker go.
    pub(crate) fn finish(&self) {
        let waker = {
            let mut st = self.state.lock();
            st.finished = true;
            st.waker.take()
        };
        drop(waker);
    }

    /// Whether the child ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.state.lock().finished
    }
}

/// Runs `fut` until it completes (`Some`) or an abort is asked for through
/// `slot` (`None`, without polling `fut` again).
pub(crate) async fn abortable<F: Future>(slot: &AbortSlot, fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if slot.poll_aborted(cx).is_ready() {
            return Poll::Ready(None);
        }
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Aborts one child of a [`TaskGroup`](crate::TaskGroup), from any thread;
/// returned by [`spawn_with_handle`](crate::TaskGroup::spawn_with_handle).
///
/// Cheap to clone (one reference count) and not generic. It keeps neither
/// the group nor the child's task alive, and it works after the group was
/// joined, dropped, or [detached](crate::TaskGroup::detach_all) the child.
///
/// An aborted child's future is dropped at its task's next scheduling
/// point, on the thread that runs the task, and the group reports it as
/// cancelled ([`TaskFailure::is_cancelled`](crate::TaskFailure::is_cancelled),
/// counted in [`GroupMetrics::cancelled`](crate::GroupMetrics::cancelled)).
/// Aborting a child that has ended does nothing.
///
/// # Examples
/// ```
/// # let rt = nimsync_scheduler::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let mut group = nimsync_group::TaskGroup::<(), ()>::new();
/// let stuck = group.spawn_with_handle(std::future::pending()).unwrap();
/// stuck.abort();
/// let failure = group.join_next().await.unwrap().unwrap_err();
/// assert!(failure.is_cancelled());
/// assert_eq!(failure.task.id, stuck.id());
/// assert!(stuck.is_finished());
/// # });
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    slot: Arc<AbortSlot>,
    id: Id,
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl AbortHandle {
    pub(crate) fn new(slot: Arc<AbortSlot>, id: Id) -> Self {
        Self { slot, id }
    }

    /// Aborts the child: its future is dropped at its task's next
    /// scheduling point (at once if it is waiting, after the current poll
    /// if it is running), and its group reports it as cancelled. Does
    /// nothing once the child has ended. Never blocks and never drops the
    /// child's future on the calling thread.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// let slow = group.spawn_with_handle(std::future::pending()).unwrap();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// slow.abort();
    /// let results = group.join_all_results().await;
    /// assert!(results[0].as_ref().unwrap_err().is_cancelled());
    /// assert_eq!(results[1].as_ref().unwrap(), &1);
    /// # });
    /// ```
    pub fn abort(&self) {
        self.slot.abort();
    }

    /// True once the child has ended: its future returned, panicked, or
    /// was dropped (aborted, or its group dropped it). Its result may not
    /// have been joined yet.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// let child = group.spawn_with_handle(async { Ok(1) }).unwrap();
    /// assert_eq!(group.join_next().await.unwrap().unwrap(), 1);
    /// assert!(child.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.slot.is_finished()
    }

    /// The child's task id: the one its [`TaskFailure`](crate::TaskFailure)
    /// names and [`TaskGroup::join_next_with_id`](crate::TaskGroup::join_next_with_id)
    /// returns.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// let child = group.spawn_with_handle(async { Ok(1) }).unwrap();
    /// let (id, result) = group.join_next_with_id().await.unwrap();
    /// assert_eq!((id, result.unwrap()), (child.id(), 1));
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }
}
