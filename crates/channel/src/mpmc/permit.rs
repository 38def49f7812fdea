//! Room promised to one sender: the [`Permit`] and the future that waits
//! for one. The flavor keeps the count (the ring: in its tail word, see
//! `ring`).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::FlavorRef;
use crate::error::{SendError, TrySendError};
use crate::waiter::{Registration, poll_op};

/// Future returned by [`Sender::reserve`](super::Sender::reserve).
#[must_use = "futures do nothing unless polled"]
pub struct ReserveFuture<'a, T> {
    flavor: FlavorRef<'a, T>,
    registration: Registration,
    done: bool,
}

impl<'a, T> ReserveFuture<'a, T> {
    pub(super) fn new(flavor: FlavorRef<'a, T>) -> Self {
        Self {
            flavor,
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
        let flavor = this.flavor;
        let res = poll_op(
            &mut this.registration,
            flavor.send_wait(),
            cx,
            || match flavor.try_reserve() {
                Ok(()) => Some(Ok(Permit { flavor })),
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
        self.registration
            .cancel_and_pass_on(self.flavor.send_wait());
    }
}

impl<T> fmt::Debug for ReserveFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::ReserveFuture")
    }
}

/// Room for one value, promised to its holder until [`Permit::send`] or
/// drop: other senders (`try_send`, `is_full`) see the channel as one slot
/// fuller while it lives; `len` counts buffered values only. On a
/// rendezvous channel (`channel(0)`) it is a waiting receiver claimed for
/// the permit's value: `send` hands the value to it, and dropping the
/// permit lets it wait on.
///
/// Hold permits briefly; each one is capacity nobody else can use.
pub struct Permit<'a, T> {
    flavor: FlavorRef<'a, T>,
}

impl<'a, T> Permit<'a, T> {
    pub(super) fn new(flavor: FlavorRef<'a, T>) -> Self {
        Self { flavor }
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
        let flavor = self.flavor;
        core::mem::forget(self);
        flavor.send_with_permit(value)
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.flavor.release_permit();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::Permit")
    }
}
