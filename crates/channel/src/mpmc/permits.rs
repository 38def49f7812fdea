//! Room for several values, and room owned with its sender: the
//! [`PermitIterator`] of `reserve_many` and `try_reserve_many`, the
//! [`OwnedPermit`] of `reserve_owned`, and the futures that wait for them.
//! All count in the flavor's permits, as a [`Permit`] does (the ring: its
//! tail word).
//!
//! # Waiting for a batch
//!
//! The wait protocol hands one wake-up per freed slot to one waiting
//! sender. A batch that waited for `n` free slots at once would get such a
//! wake-up and find too little room: keeping it would leave a sender that
//! needs one slot asleep beside room, and passing it on would send it round
//! the other batches for ever. So a waiting batch gathers its permits one
//! at a time instead, holding those it has, and only one batch gathers at
//! a time: it holds the channel's batch turn (`Counts`), and the others wait
//! for the turn on a queue of their own, never on the senders' queue. The
//! gathering batch waits on the senders' queue like any sender and uses
//! every wake-up it gets (it takes all the room there is, up to what it
//! still needs). It needs at most the capacity, which the receivers free,
//! so it completes; a close, a completion or a drop gives the turn back
//! and wakes the next batch.

use core::fmt;
use core::future::Future;
use core::iter::FusedIterator;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{FlavorRef, Permit, Sender};
use crate::chan::CloseChan;
use crate::error::{SendError, TrySendError};
use crate::waiter::{Registration, poll_op};

/// `n` permits taken at once by [`Sender::try_reserve_many`]: an iterator
/// that hands them out one [`Permit`] at a time.
///
/// The room of every permit not yet handed out is held until the iterator
/// is dropped, which gives it back; a [`Permit`] taken from it holds its
/// own room as any permit does.
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel(4);
/// let mut permits = tx.try_reserve_many(3).unwrap();
/// assert_eq!(tx.free_capacity(), 1);
/// permits.next().unwrap().send(1).unwrap();
/// drop(permits); // gives the other two back
/// assert_eq!(tx.free_capacity(), 3);
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub struct PermitIterator<'a, T> {
    flavor: FlavorRef<'a, T>,
    left: usize,
}

impl<'a, T> PermitIterator<'a, T> {
    pub(super) fn new(flavor: FlavorRef<'a, T>, n: usize) -> Self {
        Self { flavor, left: n }
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Permit::new(self.flavor))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        self.flavor.release_permits(self.left);
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::PermitIterator")
            .field("left", &self.left)
            .finish()
    }
}

/// Room for one value, owned together with the [`Sender`] it came from, so
/// it is `'static` (for `T: 'static`) and can move into a spawned task.
/// From [`Sender::reserve_owned`] or [`Sender::try_reserve_owned`].
///
/// As a [`Permit`], it holds one slot until [`send`](Self::send),
/// [`release`](Self::release) or drop; the sender keeps the channel open
/// meanwhile.
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel(1);
/// let permit = tx.try_reserve_owned().unwrap();
/// let t = std::thread::spawn(move || permit.send(7).unwrap());
/// let tx = t.join().unwrap(); // the sender comes back
/// assert_eq!(rx.recv(), Ok(7));
/// assert!(tx.try_send(8).is_ok());
/// ```
pub struct OwnedPermit<T> {
    /// `None` only after `send` or `release` took it.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    pub(super) fn new(sender: Sender<T>) -> Self {
        Self {
            sender: Some(sender),
        }
    }

    /// Sends `value` into the room held, without waiting, and returns the
    /// sender.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the
    /// permit was granted; the sender is dropped then, as nothing can be
    /// sent on a closed channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let tx = tx.try_reserve_owned().unwrap().send("a").unwrap();
    /// assert_eq!(rx.recv(), Ok("a"));
    /// # drop(tx);
    /// ```
    pub fn send(mut self, value: T) -> Result<Sender<T>, SendError<T>> {
        let sender = self.sender.take().expect("an OwnedPermit holds its sender");
        sender.flavor.queue().send_with_permit(value)?;
        Ok(sender)
    }

    /// Gives the room back without sending, and returns the sender.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert!(!tx.is_full());
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("an OwnedPermit holds its sender");
        sender.flavor.queue().release_permit();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.flavor.queue().release_permit();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::OwnedPermit")
    }
}

/// Future returned by [`Sender::reserve_owned`]; owns the sender while it
/// waits.
#[must_use = "futures do nothing unless polled"]
pub struct ReserveOwnedFuture<T> {
    /// `None` once the future completed.
    sender: Option<Sender<T>>,
    registration: Registration,
}

impl<T> ReserveOwnedFuture<T> {
    pub(super) fn new(sender: Sender<T>) -> Self {
        Self {
            sender: Some(sender),
            registration: Registration::new(),
        }
    }
}

impl<T> Future for ReserveOwnedFuture<T> {
    type Output = Result<OwnedPermit<T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sender = this
            .sender
            .as_ref()
            .expect("`ReserveOwnedFuture` polled after it completed");
        let flavor = sender.flavor.queue();
        let res = poll_op(
            &mut this.registration,
            flavor.send_wait(),
            cx,
            || match flavor.try_reserve() {
                Ok(()) => Some(true),
                Err(TrySendError::Closed(())) => Some(false),
                Err(TrySendError::Full(())) => None,
            },
        );
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(granted) => {
                let sender = this.sender.take().expect("checked above");
                Poll::Ready(if granted {
                    Ok(OwnedPermit::new(sender))
                } else {
                    Err(SendError(()))
                })
            }
        }
    }
}

impl<T> Drop for ReserveOwnedFuture<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            self.registration
                .cancel_and_pass_on(sender.flavor.queue().send_wait());
        }
    }
}

impl<T> fmt::Debug for ReserveOwnedFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::ReserveOwnedFuture")
    }
}

/// Future returned by [`Sender::reserve_many`].
///
/// While it waits it may hold some of its permits already (see the
/// module docs of `permits.rs`): other senders see that room as taken.
#[must_use = "futures do nothing unless polled"]
pub struct ReserveManyFuture<'a, T> {
    flavor: FlavorRef<'a, T>,
    n: usize,
    /// Permits gathered so far (only while it holds the turn).
    held: usize,
    has_turn: bool,
    turn_registration: Registration,
    room_registration: Registration,
    done: bool,
}

impl<'a, T> ReserveManyFuture<'a, T> {
    pub(super) fn new(flavor: FlavorRef<'a, T>, n: usize) -> Self {
        Self {
            flavor,
            n,
            held: 0,
            has_turn: false,
            turn_registration: Registration::new(),
            room_registration: Registration::new(),
            done: false,
        }
    }

    /// Gives back what it holds: the gathered permits and the turn.
    fn give_back(&mut self) {
        self.flavor.release_permits(core::mem::take(&mut self.held));
        if core::mem::take(&mut self.has_turn) {
            self.flavor.counts().give_batch_turn_back();
        }
    }
}

impl<'a, T> Future for ReserveManyFuture<'a, T> {
    type Output = Result<PermitIterator<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`ReserveManyFuture` polled after it completed");
        let flavor = this.flavor;
        if this.n > flavor.permit_limit() {
            this.done = true;
            return Poll::Ready(Err(SendError(())));
        }
        if this.n == 0 {
            this.done = true;
            return Poll::Ready(if flavor.is_closed() {
                Err(SendError(()))
            } else {
                Ok(PermitIterator::new(flavor, 0))
            });
        }
        if !this.has_turn {
            let counts = flavor.counts();
            let res = poll_op(&mut this.turn_registration, counts.batch_wait(), cx, || {
                if flavor.is_closed() {
                    Some(false)
                } else {
                    counts.try_take_batch_turn().then_some(true)
                }
            });
            match res {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(false) => {
                    this.done = true;
                    return Poll::Ready(Err(SendError(())));
                }
                Poll::Ready(true) => this.has_turn = true,
            }
        }
        let (n, held) = (this.n, &mut this.held);
        let res = poll_op(&mut this.room_registration, flavor.send_wait(), cx, || {
            while *held < n {
                match flavor.try_reserve() {
                    Ok(()) => *held += 1,
                    Err(TrySendError::Full(())) => break,
                    Err(TrySendError::Closed(())) => return Some(false),
                }
            }
            (*held == n).then_some(true)
        });
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(gathered) => {
                this.done = true;
                let permits = if gathered {
                    this.held = 0;
                    Ok(PermitIterator::new(flavor, n))
                } else {
                    Err(SendError(()))
                };
                this.give_back();
                Poll::Ready(permits)
            }
        }
    }
}

impl<T> Drop for ReserveManyFuture<'_, T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let counts = self.flavor.counts();
        self.turn_registration
            .cancel_and_pass_on(counts.batch_wait());
        self.room_registration
            .cancel_and_pass_on(self.flavor.send_wait());
        self.give_back();
    }
}

impl<T> fmt::Debug for ReserveManyFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::ReserveManyFuture")
            .field("n", &self.n)
            .field("held", &self.held)
            .finish()
    }
}
