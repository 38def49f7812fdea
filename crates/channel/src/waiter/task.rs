//! Waiting a future on a wait queue: the registration it keeps between
//! polls, and one poll of an operation.

use core::task::Waker;

use super::{Selected, WaitQueue, Waiter};
use crate::sync::Arc;

/// The registration a future or stream keeps between polls.
///
/// Created empty; allocates its waiter on the first `Pending` poll and
/// reuses it afterwards.
#[derive(Debug, Default)]
pub(crate) struct Registration {
    cx: Option<Arc<Waiter>>,
    registered: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            Waiter::recycle(cx);
        }
    }
}

impl Registration {
    pub(crate) const fn new() -> Self {
        Self {
            cx: None,
            registered: false,
        }
    }

    /// Makes sure the task behind `waker` is registered in `queue`. The
    /// caller must re-check its condition afterwards before returning
    /// `Pending`.
    pub(crate) fn register(&mut self, queue: &WaitQueue, waker: &Waker) {
        if let Some(cx) = &self.cx {
            cx.set_waker(waker);
            if self.registered && cx.is_waiting() {
                // Still queued: the fresh waker is enough. The fence of the
                // original registration still orders the caller's re-check
                // against every later publish.
                return;
            }
            // Claimed by a notifier (so no longer queued) or never queued.
            cx.reset();
            queue.register(cx, 0);
        } else {
            let cx = Waiter::for_task(waker);
            queue.register(&cx, 0);
            self.cx = Some(cx);
        }
        self.registered = true;
    }

    /// True if the waiter is registered and a notifier has claimed it:
    /// it holds a wake-up it has not acted on yet.
    #[inline]
    pub(crate) fn is_claimed(&self) -> bool {
        self.registered && self.cx.as_ref().is_some_and(|cx| !cx.is_waiting())
    }

    /// Ends the registration. Returns true if a notifier had claimed it,
    /// that is, if this waiter holds a wake-up it has not acted on.
    pub(crate) fn cancel(&mut self, queue: &WaitQueue) -> bool {
        if !self.registered {
            return false;
        }
        self.registered = false;
        let cx = self.cx.as_ref().expect("a registered future has a waiter");
        match cx.try_abort() {
            Selected::Aborted => {
                queue.unregister(cx);
                false
            }
            Selected::Operation(_) | Selected::Waiting => true,
        }
    }

    /// Ends the registration of a future that is going away without having
    /// completed: a wake-up it was handed passes to the next waiter.
    pub(crate) fn cancel_and_pass_on(&mut self, queue: &WaitQueue) {
        if self.cancel(queue) {
            queue.notify_one();
        }
    }
}

/// One poll of an async operation: try, register, re-check.
///
/// `attempt` returns `Some` when the operation completed (successfully or
/// with a final error). On completion the registration is ended. A wake-up
/// the waiter held when this poll began was used by the completion. One it
/// received while this poll's attempt ran is passed on: a registration
/// still queued from an earlier poll can be claimed for an item published
/// after the one the attempt took (the attempt itself made room for it),
/// exactly as in the re-check after registering (see the module docs).
pub(crate) fn poll_op<R>(
    registration: &mut Registration,
    queue: &WaitQueue,
    cx: &mut core::task::Context<'_>,
    mut attempt: impl FnMut() -> Option<R>,
) -> core::task::Poll<R> {
    let woken = registration.is_claimed();
    if let Some(r) = attempt() {
        if registration.cancel(queue) && !woken {
            queue.notify_one();
        }
        return core::task::Poll::Ready(r);
    }
    registration.register(queue, cx.waker());
    if let Some(r) = attempt() {
        registration.cancel_and_pass_on(queue);
        return core::task::Poll::Ready(r);
    }
    core::task::Poll::Pending
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_wakers::counting;
    use super::*;
    use crate::sync::Ordering;
    use crate::waiter::WaitQueue;

    #[test]
    fn registration_passes_on_a_wakeup_it_did_not_use() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut first = Registration::new();
        let mut second = Registration::new();
        first.register(&q, &k1);
        second.register(&q, &k2);
        q.notify_one();
        assert_eq!(w1.0.load(Ordering::SeqCst), 1);
        // The first future is dropped after being woken: the wake-up moves on.
        first.cancel_and_pass_on(&q);
        assert_eq!(w2.0.load(Ordering::SeqCst), 1);
        assert!(
            second.cancel(&q),
            "the second waiter holds the passed-on wake-up"
        );
    }

    /// A future still queued from an earlier poll whose attempt takes an
    /// item, while the notify for a later item claims it, passes that claim
    /// to the next waiter. A claim it held before the poll is its own.
    #[test]
    fn poll_op_passes_on_a_claim_received_during_its_attempt() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut first = Registration::new();
        let mut second = Registration::new();
        first.register(&q, &k1);
        second.register(&q, &k2);
        let mut task = core::task::Context::from_waker(&k1);
        let polled = poll_op(&mut first, &q, &mut task, || {
            // Taking the item made room; the later item's notify claims
            // the front of the queue, which is this still-queued waiter.
            q.notify_one();
            Some(())
        });
        assert!(polled.is_ready());
        assert_eq!(w1.0.load(Ordering::SeqCst), 1);
        assert_eq!(w2.0.load(Ordering::SeqCst), 1, "the claim went on");
        assert!(second.cancel(&q), "the second waiter holds it");

        // Claimed before the poll: the completion uses the wake-up.
        first.register(&q, &k1);
        second.register(&q, &k2);
        q.notify_one();
        assert!(poll_op(&mut first, &q, &mut task, || Some(())).is_ready());
        assert_eq!(w2.0.load(Ordering::SeqCst), 1, "nothing passed on");
        assert!(!second.cancel(&q));
    }

    #[test]
    fn registration_reregisters_after_being_claimed_and_updates_waker() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut waiter = Registration::new();
        waiter.register(&q, &k1);
        waiter.register(&q, &k2); // same registration, new waker
        assert_eq!(q.len(), 1);
        q.notify_one();
        assert_eq!(
            (w1.0.load(Ordering::SeqCst), w2.0.load(Ordering::SeqCst)),
            (0, 1)
        );
        waiter.register(&q, &k2);
        assert_eq!(q.len(), 1, "claimed, so registered again");
        assert!(!waiter.cancel(&q));
        assert_eq!(q.len(), 0);
    }
}
