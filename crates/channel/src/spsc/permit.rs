//! Room for one value: the [`Permit`] and the future that waits for one.
//! Only the sender fills the ring, so a permit needs no count of its own.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::Sender;
use crate::error::{SendError, TrySendError};
use crate::waiter::{Registration, poll_op};

/// Future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless polled"]
pub struct ReserveFuture<'a, T> {
    tx: Option<&'a mut Sender<T>>,
    registration: Registration,
}

impl<'a, T> ReserveFuture<'a, T> {
    pub(super) fn new(tx: &'a mut Sender<T>) -> Self {
        Self {
            tx: Some(tx),
            registration: Registration::new(),
        }
    }
}

impl<'a, T> Future for ReserveFuture<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let tx = this
            .tx
            .as_deref()
            .expect("`ReserveFuture` polled after it completed");
        let res = poll_op(
            &mut this.registration,
            &tx.shared.send_wait,
            cx,
            || match tx.check_ready() {
                Ok(()) => Some(true),
                Err(TrySendError::Closed(())) => Some(false),
                Err(TrySendError::Full(())) => None,
            },
        );
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(false) => {
                this.tx = None;
                Poll::Ready(Err(SendError(())))
            }
            Poll::Ready(true) => {
                let tx = this.tx.take().expect("checked above");
                Poll::Ready(Ok(Permit { tx }))
            }
        }
    }
}

impl<T> Drop for ReserveFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(tx) = &self.tx {
            self.registration.cancel_and_pass_on(&tx.shared.send_wait);
        }
    }
}

impl<T> fmt::Debug for ReserveFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::ReserveFuture")
    }
}

/// Room for one value, held until [`Permit::send`] or drop.
///
/// Only the sender fills the ring, so the room a permit saw cannot be taken
/// by anyone else; holding a permit costs nothing.
pub struct Permit<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<'a, T> Permit<'a, T> {
    pub(super) fn new(tx: &'a mut Sender<T>) -> Self {
        Self { tx }
    }

    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the
    /// permit was granted.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.try_reserve().unwrap().send('a').unwrap();
    /// assert_eq!(rx.recv(), Ok('a'));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        if self.tx.shared.is_closed() {
            return Err(SendError(value));
        }
        self.tx.push_unchecked(value);
        Ok(())
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::Permit")
    }
}
