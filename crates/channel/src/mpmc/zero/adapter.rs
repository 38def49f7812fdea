//! The rendezvous channel as a channel of the generic futures and
//! iterators (`Chan` and its send, receive and close parts) and as the
//! [`Queue`] of the MPMC flavor layer.

use std::time::Instant;

use super::{Claim, Released, Shared};
use crate::chan::{Chan, CloseChan, RecvChan, SendChan};
use crate::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::mpmc::counts::Counts;
use crate::mpmc::flavor::{self, Queue, Reservation};
use crate::orphan;
use crate::sync::{Arc, Ordering};
use crate::waiter::WaitQueue;

impl<T> Chan for Shared<T> {
    const FLAVOR: &'static str = "mpmc";
}

impl<T> SendChan for Shared<T> {
    type Item = T;
    #[inline]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        Shared::try_send(self, value)
    }
    #[inline(always)]
    fn send_wait(&self) -> &WaitQueue {
        &self.send_wait
    }
}

impl<T> RecvChan for Shared<T> {
    type Item = T;
    #[inline]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        self.take()
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        &self.recv_wait
    }
    /// Nothing is ever buffered.
    fn len(&self) -> usize {
        0
    }
}

impl<T> CloseChan for Shared<T> {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
    fn close_wait(&self) -> &WaitQueue {
        &self.close_wait
    }
}

/// The rendezvous channel as the `Zero` flavor of [`flavor::Flavor`].
///
/// Its operations stay out of line (`#[inline(never)]` above): inlined
/// into the flavor dispatch they slowed the array flavor's select path
/// (docs/perf-notes.md#mpmc-flavor-dispatch-the-second-flavor).
impl<T> Queue<T> for Shared<T> {
    type Claim = Claim;

    #[inline(always)]
    fn id(&self) -> u64 {
        self.id
    }

    #[inline(always)]
    fn capacity(&self) -> Option<usize> {
        Some(0)
    }

    #[inline(always)]
    fn counts(&self) -> &Counts {
        &self.counts
    }

    fn close(&self) -> bool {
        Shared::close(self)
    }

    fn disconnect_receivers(&self) {
        Shared::disconnect_receivers(self);
    }

    /// A receiver is registered and waiting.
    fn has_room(&self) -> bool {
        self.recv_wait.has_waiting()
    }

    fn recv_ready(&self) -> bool {
        self.takeable.load(Ordering::SeqCst) != 0 || self.closed.load(Ordering::SeqCst)
    }

    /// Sends to the receivers registered now, one value each.
    fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        let mut sent = 0;
        while iter.peek().is_some() {
            let cx = match self.claim_receiver() {
                Ok(cx) => cx,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            };
            // The item is taken outside the lock; if `next` unwinds, the
            // claimed receiver is released.
            let claimed = Released(Some(cx));
            let v = iter.next().expect("peeked above");
            let cx = claimed.keep();
            self.deliver(self.lock(), &cx, v);
            sent += 1;
        }
        Ok(sent)
    }

    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        let mut n = 0;
        while n < limit {
            match self.take() {
                Ok(v) => {
                    n += 1;
                    buf.push(v);
                }
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(n)
    }

    fn send_deadline(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, deadline)
    }

    fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        Shared::try_reserve(self)
    }

    fn send_with_permit(&self, value: T) -> Result<(), SendError<T>> {
        Shared::send_with_permit(self, value)
    }

    fn release_permit(&self) {
        Shared::release_permit(self);
    }

    /// Each permit claims a distinct waiting receiver, and any number of
    /// receivers may wait: no request is refused for its size.
    fn permit_limit(&self) -> usize {
        usize::MAX
    }

    /// No room ever: a value only moves straight to a waiting receiver.
    fn free_capacity(&self) -> Option<usize> {
        Some(0)
    }

    /// Hands the value to a waiting receiver if one waits; with none there
    /// is nothing older to evict, so the value itself comes back, as the
    /// ring returns it when permits promise all its room.
    #[inline(never)]
    fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>> {
        match SendChan::try_send(self, value) {
            Ok(()) => Ok(None),
            Err(TrySendError::Full(value)) => Ok(Some(value)),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
        }
    }

    fn select_reserve_send(&self) -> Result<Claim, TrySendError<()>> {
        Shared::select_reserve_send(self)
    }

    fn select_reserve_recv(&self) -> Result<Claim, TryRecvError> {
        Shared::select_reserve_recv(self)
    }

    unsafe fn select_commit_send(&self, claim: Claim, value: T) {
        self.commit_send(claim, value);
    }

    unsafe fn select_commit_recv(&self, claim: Claim) -> T {
        self.commit_recv(claim)
    }

    fn select_abandon_send(&self, claim: Claim) {
        self.give_up(claim);
    }

    fn select_give_up(&self, claim: Claim, _receive: bool) -> bool {
        self.give_up(claim)
    }

    fn forsake_values_if_last(this: &Arc<Self>) {
        Shared::forsake_values_if_last(this);
    }
}

impl Reservation for Claim {
    #[inline(always)]
    fn into_claim(self) -> flavor::Claim {
        flavor::Claim::tagged(flavor::Tag::Zero, self.ticket)
    }

    #[inline(always)]
    fn from_claim(claim: flavor::Claim) -> Option<Self> {
        claim.bits(flavor::Tag::Zero).map(|ticket| Self { ticket })
    }

    /// The channel releases an orphaned send's receiver when a receive
    /// needs it gone (after the close), and drops an orphaned receive's
    /// value with its state.
    fn orphan(self, owner: u64, side: orphan::Side) {
        orphan::adopt(owner, self.ticket, side);
    }
}
