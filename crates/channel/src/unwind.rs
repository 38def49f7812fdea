//! Running every step of a cleanup even when some steps panic.
//!
//! Wakers are user code (an executor's), and so are the `Drop`
//! implementations of buffered values. A wake-up loop or a drain that
//! stopped at the first panic would strand the waiters after it or leave
//! values undropped. [`Panics`] runs each step under `catch_unwind`, keeps
//! the first panic, and re-raises it once every step has run; while the
//! thread is already unwinding it keeps none, since a second panic would
//! abort the process.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// The first panic of a series of steps, re-raised by [`finish`](Self::finish).
#[derive(Debug, Default)]
pub(crate) struct Panics {
    first: Option<Box<dyn Any + Send>>,
}

impl Panics {
    /// No panic caught yet.
    pub(crate) const fn new() -> Self {
        Self { first: None }
    }

    /// Runs `step`; a panic in it is caught and kept if it is the first.
    #[inline]
    pub(crate) fn run(&mut self, step: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(step)) {
            if self.first.is_none() {
                self.first = Some(payload);
            }
        }
    }

    /// True if a step has panicked so far.
    pub(crate) fn caught(&self) -> bool {
        self.first.is_some()
    }

    /// Re-raises the first panic caught, unless the thread is already
    /// unwinding (then the payload is dropped: a second panic would abort).
    pub(crate) fn finish(self) {
        if let Some(payload) = self.first {
            if !std::thread::panicking() {
                resume_unwind(payload);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_step_runs_and_the_first_panic_is_raised() {
        let mut ran = Vec::new();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let mut panics = Panics::new();
            panics.run(|| ran.push(1));
            panics.run(|| panic!("first"));
            panics.run(|| ran.push(3));
            panics.run(|| panic!("second"));
            panics.finish();
        }));
        assert_eq!(ran, [1, 3]);
        let payload = caught.expect_err("the first panic is raised again");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"first"));
    }

    #[test]
    fn nothing_is_raised_without_a_panic() {
        let mut panics = Panics::new();
        panics.run(|| {});
        panics.finish();
    }
}

/// The channels' public types are `UnwindSafe` and `RefUnwindSafe`, as
/// crossbeam-channel's and tokio's endpoints are. A panic can reach user
/// code in a channel operation only from a value's `Drop`, a waker, or the
/// iterator of a batch send, and at each of those points the channel is
/// consistent: every value has been handed back, is still buffered, or was
/// dropped once; reservations are given up by their guards; shared state
/// changes only through atomics and wait queues whose locks ignore poison.
/// So an endpoint used after a caught panic sees a working channel. The
/// interior mutability the compiler sees (slots, cached indices, waker
/// cells) is never left half-updated across such a point.
macro_rules! unwind_safe {
    ($($ty:ty $({ $($bounds:tt)* })?),* $(,)?) => {
        $(
            impl<T $(: $($bounds)*)?> std::panic::UnwindSafe for $ty {}
            impl<T $(: $($bounds)*)?> std::panic::RefUnwindSafe for $ty {}
        )*
    };
}

unwind_safe!(
    crate::spsc::Sender<T>,
    crate::spsc::Receiver<T>,
    crate::spsc::RecvFuture<'_, T>,
    crate::spsc::ReserveFuture<'_, T>,
    crate::spsc::Permit<'_, T>,
    crate::spsc::Iter<'_, T>,
    crate::spsc::TryIter<'_, T>,
    crate::spsc::IntoIter<T>,
    crate::spsc::RecvStream<T>,
    crate::spsc::Drain<'_, T>,
    crate::spsc::ClosedFuture<'_, T>,
    crate::mpmc::Sender<T>,
    crate::mpmc::Receiver<T>,
    crate::mpmc::RecvFuture<'_, T>,
    crate::mpmc::ReserveFuture<'_, T>,
    crate::mpmc::Permit<'_, T>,
    crate::mpmc::ClosedFuture<'_, T>,
    crate::mpmc::Iter<'_, T>,
    crate::mpmc::TryIter<'_, T>,
    crate::mpmc::IntoIter<T>,
    crate::mpmc::RecvStream<T>,
    crate::oneshot::Sender<T>,
    crate::oneshot::Receiver<T>,
    crate::oneshot::ClosedFuture<'_, T>,
    crate::mpmc::PermitIterator<'_, T>,
    crate::mpmc::ReserveManyFuture<'_, T>,
    crate::mpmc::ReserveOwnedFuture<T>,
    crate::mpmc::WeakSender<T>,
    crate::mpmc::WeakReceiver<T>,
);

// A send future holds the value it has not sent yet: it is as unwind safe
// as that value.
impl<T: std::panic::UnwindSafe> std::panic::UnwindSafe for crate::spsc::SendFuture<'_, T> {}
impl<T: std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for crate::spsc::SendFuture<'_, T> {}
impl<T: std::panic::UnwindSafe> std::panic::UnwindSafe for crate::mpmc::SendFuture<'_, T> {}
impl<T: std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for crate::mpmc::SendFuture<'_, T> {}
