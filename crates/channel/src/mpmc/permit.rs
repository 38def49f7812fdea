//! Room promised to one sender: the [`Permit`] and the future that waits
//! for one. The permit count lives in the ring's tail word (see `ring`).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::Shared;
use crate::error::{SendError, TrySendError};
use crate::waiter::{Registration, poll_op};

/// Future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless polled"]
pub struct ReserveFuture<'a, T> {
    shared: &'a Shared<T>,
    registration: Registration,
    done: bool,
}

impl<'a, T> ReserveFuture<'a, T> {
    pub(super) fn new(shared: &'a Shared<T>) -> Self {
        Self {
            shared,
            registration: Registration::new(),
            done: false,
        }
    }
}

impl<'a, T> Future for ReserveFuture<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`ReserveFuture` polled after it completed");
        let shared = this.shared;
        let res = poll_op(
            &mut this.registration,
            &shared.send_wait,
            cx,
            || match shared.try_reserve() {
                Ok(()) => Some(Ok(Permit { shared })),
                Err(TrySendError::Closed(())) => Some(Err(SendError(()))),
                Err(TrySendError::Full(())) => None,
            },
        );
        if res.is_ready() {
            this.done = true;
        }
        res
    }
}

impl<T> Drop for ReserveFuture<'_, T> {
    fn drop(&mut self) {
        self.registration.cancel_and_pass_on(&self.shared.send_wait);
    }
}

impl<T> fmt::Debug for ReserveFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::ReserveFuture")
    }
}

/// Room for one value, promised to its holder until [`Permit::send`] or
/// drop: other senders (`try_send`, `is_full`) see the channel as one slot
/// fuller while it lives; `len` counts buffered values only.
///
/// Hold permits briefly; each one is capacity nobody else can use.
pub struct Permit<'a, T> {
    shared: &'a Shared<T>,
}

impl<'a, T> Permit<'a, T> {
    pub(super) fn new(shared: &'a Shared<T>) -> Self {
        Self { shared }
    }

    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the
    /// permit was granted.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// tx.try_reserve().unwrap().send(5).unwrap();
    /// assert_eq!(rx.recv(), Ok(5));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let shared = self.shared;
        core::mem::forget(self);
        match shared.start_send(true) {
            Ok(claim) => {
                // SAFETY: a fresh claim from `start_send`.
                unsafe { shared.write(claim, value) };
                Ok(())
            }
            Err(_) => {
                shared.release_permit();
                Err(SendError(value))
            }
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.shared.release_permit();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::Permit")
    }
}
