//! A group's concurrency limit: a FIFO of tickets taken at spawn, served by
//! handing each released permit straight to the oldest waiter.
//!
//! The protocol (every step under the one lock):
//! - A child takes its ticket when it is spawned ([`Limiter::enqueue`]),
//!   not when it is first polled: a runtime's workers may poll children in
//!   any order, and the place in the queue must follow spawn order.
//! - `served` is the first ticket that holds no permit yet; every ticket
//!   in `served..served + queue.len()` has a slot in `queue` (the front is
//!   `served`). A ticket below `served` was handed a permit: its
//!   [`Acquire`] returns it when polled, or passes it on when dropped
//!   first.
//! - `available` counts permits that nobody holds. It is nonzero only while
//!   the queue is empty: a new ticket takes a free permit only when no one
//!   waits before it, and a release hands its permit to the front waiter
//!   (advancing `served`) instead of freeing it. So a later ticket can
//!   never overtake an earlier one, whichever is polled first, and a woken
//!   waiter never finds its permit taken.
//! - A waiter dropped before it was served leaves a [`Slot::Gone`]; the
//!   releases skip it, and gone slots at either end of the queue are
//!   trimmed at once. A waiter dropped after it was served releases the
//!   permit it was handed, which goes on to the next waiter.
//!
//! Wakers are woken after the lock is released. The loom models of this
//! protocol are in `loom_tests.rs`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;

use crate::sync::{Arc, Mutex};

/// The limit shared by a group's children.
pub(crate) struct Limiter {
    state: Mutex<State>,
}

struct State {
    /// Permits held by no ticket; nonzero only while `queue` is empty.
    available: usize,
    /// The ticket at the front of `queue`: every lower ticket was served.
    served: u64,
    /// The tickets waiting for a permit, from `served` on.
    queue: VecDeque<Slot>,
}

/// A waiting ticket's place in the queue.
enum Slot {
    /// Waits; the waker of its last poll (none before its first).
    Waiting(Option<Waker>),
    /// Its waiter was dropped: a release skips it.
    Gone,
}

impl Limiter {
    /// A limiter with `permits` permits.
    pub(crate) fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                available: permits,
                served: 0,
                queue: VecDeque::new(),
            }),
        })
    }

    /// Takes the next ticket. A free permit goes to it at once when no one
    /// waits; otherwise it queues behind every earlier ticket.
    /// (An associated function: loom's `Arc` cannot be a receiver.)
    pub(crate) fn enqueue(this: &Arc<Self>) -> Acquire {
        let mut st = this.state.lock();
        let ticket = st.served + st.queue.len() as u64;
        if st.queue.is_empty() && st.available > 0 {
            st.available -= 1;
            st.served += 1;
        } else {
            st.queue.push_back(Slot::Waiting(None));
        }
        drop(st);
        Acquire {
            limiter: Some(Arc::clone(this)),
            ticket,
        }
    }

    /// Gives a permit back: to the oldest waiter, or to no one.
    fn release(&self) {
        let waker = {
            let mut st = self.state.lock();
            loop {
                match st.queue.pop_front() {
                    Some(Slot::Gone) => st.served += 1,
                    Some(Slot::Waiting(waker)) => {
                        st.served += 1;
                        // Unpolled yet: its first poll finds the permit.
                        break waker;
                    }
                    None => {
                        st.available += 1;
                        break None;
                    }
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Free permits and waiting tickets, for the models' checks.
    #[cfg(all(test, loom))]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let st = self.state.lock();
        (st.available, st.queue.len())
    }
}

/// A ticket: resolves to a [`Permit`] once every earlier ticket was served
/// and a permit was released to it. Dropping it gives up its place, or
/// passes on the permit it was handed.
pub(crate) struct Acquire {
    /// Until the permit is taken out.
    limiter: Option<Arc<Limiter>>,
    ticket: u64,
}

impl Acquire {
    /// Gives the ticket up (as dropping it does) and says whether it had
    /// been served, in which case its permit was passed on.
    pub(crate) fn cancel(&mut self) -> bool {
        let Some(limiter) = self.limiter.take() else {
            return false;
        };
        let mut st = limiter.state.lock();
        if self.ticket < st.served {
            drop(st);
            drop(Permit(limiter));
            return true;
        }
        let at = usize::try_from(self.ticket - st.served).expect("a queued ticket has a slot");
        let slot = core::mem::replace(&mut st.queue[at], Slot::Gone);
        // Trim the gone slots at the ends: at the front they would only
        // be skipped by the next release, at the back they hold nothing up.
        while matches!(st.queue.front(), Some(Slot::Gone)) {
            st.queue.pop_front();
            st.served += 1;
        }
        while matches!(st.queue.back(), Some(Slot::Gone)) {
            st.queue.pop_back();
        }
        drop(st);
        // Its waker, if any, is dropped with the lock released.
        drop(slot);
        false
    }
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let limiter = self
            .limiter
            .as_ref()
            .expect("an Acquire polled after it returned its permit");
        let mut st = limiter.state.lock();
        if self.ticket < st.served {
            drop(st);
            let limiter = self.limiter.take().expect("checked above");
            return Poll::Ready(Permit(limiter));
        }
        let at = usize::try_from(self.ticket - st.served).expect("a queued ticket has a slot");
        let replaced = match &mut st.queue[at] {
            Slot::Waiting(Some(w)) if w.will_wake(cx.waker()) => None,
            Slot::Waiting(w) => w.replace(cx.waker().clone()),
            Slot::Gone => unreachable!("only a dropped Acquire leaves its slot gone"),
        };
        drop(st);
        // Dropped with the lock released.
        drop(replaced);
        Poll::Pending
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A held permit; dropping it hands it to the oldest waiter.
pub(crate) struct Permit(Arc<Limiter>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn poll(acquire: &mut Acquire) -> Poll<Permit> {
        Pin::new(acquire).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn later_tickets_wait_even_when_polled_first() {
        let limiter = Limiter::new(1);
        let mut first = Limiter::enqueue(&limiter);
        let mut second = Limiter::enqueue(&limiter);
        let mut third = Limiter::enqueue(&limiter);
        assert!(poll(&mut third).is_pending());
        assert!(poll(&mut second).is_pending());
        let permit = match poll(&mut first) {
            Poll::Ready(p) => p,
            Poll::Pending => panic!("the first ticket holds the free permit"),
        };
        assert!(poll(&mut third).is_pending());
        drop(permit);
        assert!(
            poll(&mut third).is_pending(),
            "the third overtook the second"
        );
        let Poll::Ready(permit) = poll(&mut second) else {
            panic!("the second was not handed the released permit")
        };
        drop(permit);
        assert!(poll(&mut third).is_ready());
    }

    #[test]
    fn a_dropped_waiter_passes_its_permit_on_or_gives_up_its_place() {
        let limiter = Limiter::new(1);
        let mut holder = Limiter::enqueue(&limiter);
        let mut handed = Limiter::enqueue(&limiter);
        let mut gone = Limiter::enqueue(&limiter);
        let mut last = Limiter::enqueue(&limiter);
        let Poll::Ready(permit) = poll(&mut holder) else {
            panic!("the first ticket holds the free permit")
        };
        assert!(!gone.cancel(), "a waiter not yet served has no permit");
        drop(permit);
        assert!(handed.cancel(), "the release served the second ticket");
        let Poll::Ready(permit) = poll(&mut last) else {
            panic!("the permit was not passed on past the gone slot")
        };
        drop(permit);
        let st = limiter.state.lock();
        assert_eq!((st.available, st.queue.len()), (1, 0));
    }

    #[test]
    fn gone_slots_at_the_back_are_trimmed() {
        let limiter = Limiter::new(1);
        let _holder = Limiter::enqueue(&limiter);
        let waiters: Vec<_> = (0..5).map(|_| Limiter::enqueue(&limiter)).collect();
        drop(waiters);
        assert_eq!(limiter.state.lock().queue.len(), 0);
        let mut next = Limiter::enqueue(&limiter);
        assert!(poll(&mut next).is_pending(), "the holder still holds it");
    }
}
