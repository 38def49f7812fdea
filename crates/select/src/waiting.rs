//! Waiting: how a select that found nothing ready registers, parks,
//! gives up, and passes on the wake-ups it was handed.
//!
//! # The protocol
//! The channels' side is their wait protocol (see
//! `nimsync_channel::__select`): a `Waiter` starts
//! *waiting*, and a channel that wakes it first claims it with a
//! compare-and-swap to *operation `k`*; the owner gives up by claiming it
//! as *aborted* (the states of `nimsync_channel::__select::Selected`). A
//! select:
//!
//! 1. tries its operations (the blocking form spins briefly first);
//! 2. registers one waiter (the thread, or the task's waker) with every
//!    operation's wait queue, and tries again, so that an item published
//!    between the try and the registration is not missed;
//! 3. parks (or returns `Pending`) until an operation claims the waiter,
//!    the deadline passes or the first timer is due;
//! 4. unregisters everywhere and tries again.
//!
//! A claim is a wake-up the channel gave this select instead of another
//! waiter. Whenever the select ends without taking the item of the
//! operation that claimed it (another operation won, the re-check of step
//! 2 won, the item was taken by another thread, or the async select was
//! dropped), that operation's `pass_on` hands the wake-up to the next
//! waiter of its queue. A failed abort tells which operation had claimed
//! the waiter and so owes the pass-on.
//!
//! The loom models in `loom_tests.rs` run the real blocking and async
//! selects through these steps.

use core::pin::Pin;
use core::task::Poll;
use std::time::Instant;

use nimsync_channel::__select::{Waiter, WaiterRef};
use nimsync_time::Sleep;

use crate::error::SelectTimeoutError;
#[cfg(all(test, loom))]
use crate::probes;
use crate::select::Select;
use crate::selected::SelectedOperation;
#[cfg(not(loom))]
use crate::sync::Backoff;

impl Select<'_> {
    /// Registers `cx` with every operation.
    fn register(&self, cx: &WaiterRef) {
        for i in 0..self.len {
            self.op(i).register(cx, i);
        }
    }

    /// Unregisters `cx` from every operation.
    fn unregister(&self, cx: &WaiterRef) {
        for i in 0..self.len {
            self.op(i).unregister(cx);
        }
    }

    /// Gives up a registration that was not waited on (the re-check after
    /// registering found an operation ready, or the select went away): if
    /// a notifier claimed it, its wake-up goes on to another waiter.
    ///
    /// That holds even when the claim came from the operation the re-check
    /// took: the item taken may have been published before the
    /// registration (its notify finding nobody), and the claim then belongs
    /// to a later item that another waiter must be woken for. Passing on a
    /// claim that was the taken item's own costs one spurious wake-up.
    fn release(&self, cx: &WaiterRef) {
        let claimed = claimed_by(cx);
        self.unregister(cx);
        if let Some(k) = claimed {
            self.op(k).pass_on();
        }
    }

    /// Handles a wait on no operations: sleeps until `deadline` and
    /// returns true, or panics when there is none.
    fn wait_on_nothing(&self, deadline: Option<Instant>) -> bool {
        if self.live() > 0 {
            return false;
        }
        let deadline = deadline
            .expect("a select with no operations (none added, or all removed) would wait forever; add a recv or send first");
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        true
    }

    /// Parks until `cx` is claimed, `deadline` passes or the first timer
    /// is due, then unregisters `cx`. Returns the operation that claimed
    /// it, if one did.
    fn park(&self, cx: &WaiterRef, deadline: Option<Instant>) -> Option<usize> {
        #[cfg(all(test, loom))]
        probes::hit(&probes::PARKS);
        let selected = cx.wait_until(earliest(deadline, self.timer_deadline()));
        self.unregister(cx);
        selected.operation()
    }

    /// The blocking loop of `ready`: check, register, check again, park.
    pub(crate) fn wait_ready(
        &self,
        deadline: Option<Instant>,
    ) -> Result<usize, SelectTimeoutError> {
        if self.wait_on_nothing(deadline) {
            return Err(SelectTimeoutError);
        }
        loop {
            if let Some(index) = self.ready_once() {
                return Ok(index);
            }
            if passed(deadline) {
                return Err(SelectTimeoutError);
            }
            let cx = Waiter::for_current_thread();
            self.register(&cx);
            if let Some(index) = self.ready_once() {
                // Not consumed: a wake-up handed over meanwhile goes on.
                self.release(&cx);
                return Ok(index);
            }
            if let Some(woken) = self.park(&cx, deadline) {
                // Reported, not consumed: the wake-up goes on, so another
                // waiter may take the value.
                self.op(woken).pass_on();
                return Ok(woken);
            }
        }
    }

    /// The tries before the first registration: a short spin, then
    /// yields. When the other side is about to act (a producer mid-burst)
    /// this saves the registration and the park.
    #[cfg(not(loom))]
    fn first_tries(&self, deadline: Option<Instant>) -> Option<SelectedOperation> {
        let backoff = Backoff::new();
        loop {
            if let Some(selected) = self.try_once() {
                return Some(selected);
            }
            if backoff.is_completed() || passed(deadline) {
                return None;
            }
            backoff.snooze();
        }
    }

    /// Under loom, a single try before the first registration. The spin is
    /// left out: the retry after registering already covers the race it
    /// shortens, each extra try multiplies the interleavings loom explores,
    /// and crossbeam's `Backoff` yields through std, which loom does not
    /// schedule.
    #[cfg(loom)]
    fn first_tries(&self, _deadline: Option<Instant>) -> Option<SelectedOperation> {
        self.try_once()
    }

    /// The blocking loop: try (spinning briefly), register, try again,
    /// park.
    pub(crate) fn wait(
        &self,
        deadline: Option<Instant>,
    ) -> Result<SelectedOperation, SelectTimeoutError> {
        if self.wait_on_nothing(deadline) {
            return Err(SelectTimeoutError);
        }
        if let Some(selected) = self.first_tries(deadline) {
            return Ok(selected);
        }
        loop {
            let cx = Waiter::for_current_thread();
            self.register(&cx);
            if let Some(selected) = self.try_once() {
                self.release(&cx);
                return Ok(selected);
            }
            let woken = self.park(&cx, deadline);
            // Take whatever is ready now; a wake-up from another operation
            // than the winner goes on to another waiter.
            if let Some(selected) = self.try_once() {
                if let Some(k) = woken.filter(|&k| k != selected.index) {
                    self.op(k).pass_on();
                }
                return Ok(selected);
            }
            if passed(deadline) {
                return Err(SelectTimeoutError);
            }
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// True if `deadline` has passed.
fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Aborts `cx`; returns the operation that had claimed it, if one had.
fn claimed_by(cx: &WaiterRef) -> Option<usize> {
    cx.try_abort().operation()
}

/// The async select's registration; dropping it gives the registration up.
pub(crate) struct Registration<'s, 'a> {
    /// The select.
    select: &'s mut Select<'a>,
    /// The task's waiter while registered.
    cx: Option<WaiterRef>,
    /// When to give up.
    deadline: Option<Instant>,
    /// Wakes the task at the earlier of `deadline` and the first timer.
    sleep: Option<Sleep>,
}

impl<'s, 'a> Registration<'s, 'a> {
    /// A registration for `select`, checking that it can wait.
    pub(crate) fn new(select: &'s mut Select<'a>, deadline: Option<Instant>) -> Self {
        assert!(
            select.live() > 0 || deadline.is_some(),
            "a select with no operations (none added, or all removed) would wait forever; add a recv or send first"
        );
        Self {
            select,
            cx: None,
            deadline,
            sleep: None,
        }
    }

    /// One poll of the async select.
    pub(crate) fn poll(
        &mut self,
        task: &mut core::task::Context<'_>,
    ) -> Poll<Result<SelectedOperation, SelectTimeoutError>> {
        loop {
            // Take back the previous registration, learning whether an
            // operation claimed it (and so handed this select a wake-up).
            let mut woken_by = None;
            let previous = self.cx.take().inspect(|cx| {
                woken_by = claimed_by(cx);
                self.select.unregister(cx);
            });
            if let Some(selected) = self.select.try_once() {
                if let Some(k) = woken_by.filter(|&k| k != selected.index) {
                    self.select.op(k).pass_on();
                }
                return Poll::Ready(Ok(selected));
            }
            if passed(self.deadline) {
                return Poll::Ready(Err(SelectTimeoutError));
            }
            let cx = match previous {
                Some(cx) => {
                    // Registered nowhere now, so it may be reset.
                    cx.reset();
                    cx.set_waker(task.waker());
                    cx
                }
                None => Waiter::for_task(task.waker()),
            };
            self.select.register(&cx);
            if let Some(selected) = self.select.try_once() {
                self.select.release(&cx);
                return Poll::Ready(Ok(selected));
            }
            self.cx = Some(cx);
            let Some(wake_at) = earliest(self.deadline, self.select.timer_deadline()) else {
                return Poll::Pending;
            };
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != wake_at {
                        sleep.reset(wake_at);
                    }
                    sleep
                }
                None => self.sleep.insert(nimsync_time::sleep_until(wake_at)),
            };
            if Pin::new(sleep).poll(task).is_pending() {
                return Poll::Pending;
            }
            // The deadline or a timer is due: look again.
        }
    }
}

impl Drop for Registration<'_, '_> {
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            self.select.release(&cx);
        }
    }
}
