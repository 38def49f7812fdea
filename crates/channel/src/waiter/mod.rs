//! Waiting without burning a core: waiters, wait queues, and the park/wake
//! protocol every flavor shares.
//!
//! | file | holds |
//! |---|---|
//! | `party.rs` | the waiting party ([`Waiter`]) and its claim state ([`Selected`]) |
//! | `queue.rs` | the [`WaitQueue`] and its fence modes |
//! | `thread.rs` | waiting a blocked thread ([`block_thread`]) |
//! | `task.rs` | waiting a future ([`Registration`], [`poll_op`]) |
//!
//! # Protocol
//!
//! A party that cannot make progress (a blocked thread, a pending future, or
//! a select over several operations) owns a [`Waiter`]. It registers the
//! waiter in the [`WaitQueue`] of each operation it waits for, then re-checks
//! the operation, then parks (threads) or returns `Pending` (tasks).
//!
//! A party that makes progress possible (a send for receivers, a receive for
//! senders, a close for everyone) publishes its change and then calls
//! [`WaitQueue::notify_one`] or [`WaitQueue::notify_all`].
//!
//! The two sides form a store-buffering (Dekker) pattern:
//!
//! ```text
//! waiter:   waiting := n (under the lock) ; fence(SeqCst) ; load channel state
//! notifier: store channel state            ; fence(SeqCst) ; load waiting
//! ```
//!
//! The two `SeqCst` fences are totally ordered, so at least one side sees
//! the other's store: either the waiter's re-check sees the new state (and
//! it does not park), or the notifier sees `waiting != 0` and wakes it.
//!
//! On Linux the fences start asymmetric (`sync::heavy_fence`): the waiter's
//! fence is `membarrier`, which runs a full barrier on every thread of the
//! process, so the notifier's only needs to stop the compiler from
//! reordering. A notify then costs one load when nobody waits. A queue whose
//! waiters register often switches to `SeqCst` fences on both sides (see
//! [`WaitQueue`]).
//!
//! # First notifier wins
//!
//! A waiter is [`Selected::Waiting`] until someone claims it: a notifier
//! for the operation that became ready ([`Selected::Operation`] with the
//! index the waiter registered with), or the owner by aborting
//! ([`Selected::Aborted`]: timeout, drop, completion through another path).
//! Exactly one claim succeeds. Notifiers claim waiters while holding the
//! queue lock, and owners unregister under the same lock, so once an owner
//! has aborted and unregistered, no stale notifier can claim a later
//! registration of the same waiter.
//!
//! A notifier that claims a waiter has handed it one wake-up. If the owner
//! then gives up without acting on it (a future dropped after being woken, a
//! select that completed another operation), it must pass the wake-up on
//! with another `notify_one`, so no wake-up is lost.
//!
//! The re-check after registering is the subtle case. An owner whose
//! re-check succeeds took an item while it was still queued, and that item
//! may have been published before the registration, its notify finding no
//! one. A notify for a *later* item can then claim the owner, which returns
//! with the earlier item: the later item's wake-up would be spent on an item
//! that needed none, while another waiter sleeps beside a full channel. So
//! an owner that completes in the re-check and finds its waiter claimed
//! always passes the wake-up on ([`block_thread`], [`poll_op`]). At worst that
//! wakes one waiter for nothing, which retries and waits again; the race
//! window is a few instructions wide, so this costs nothing measurable.
//!
//! The same holds for a future whose registration is still queued from an
//! earlier poll when it is polled again (a spurious poll, or one woken for
//! something else): its attempt may take an item and thereby make room for
//! a later one, whose notify then claims the still-queued registration. So
//! a claim that arrives while an attempt runs is passed on too.
//!
//! Only an owner that was woken (its waiter claimed before it looked
//! again) and then completes uses the wake-up it was handed.
//!
//! Wakers are user code and may panic. [`WaitQueue::notify_many`] and
//! [`WaitQueue::notify_all`] claim their waiters under the lock and wake
//! them after it; a panicking waker does not stop the others from being
//! woken (the first panic is raised again afterwards, see `unwind`).

mod party;
mod queue;
mod task;
mod thread;

pub use party::{Selected, Waiter};
pub(crate) use queue::{WaitQueue, notify_all_of};
pub(crate) use task::{Registration, poll_op};
#[cfg(all(loom, test))]
pub(crate) use thread::PARKS;
pub(crate) use thread::block_thread;

/// Wakers that count their wake-ups, for the unit tests.
#[cfg(all(test, not(loom)))]
mod test_wakers {
    use core::task::Waker;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts how often it was woken.
    pub(super) struct CountingWaker(pub(super) AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A counting waker and the count it bumps.
    pub(super) fn counting() -> (Arc<CountingWaker>, Waker) {
        let w = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (w.clone(), Waker::from(w))
    }
}
