//! The ring as a channel of the generic futures and iterators (`Chan` and
//! its send, receive and close parts) and as the array [`Queue`] of the
//! MPMC flavor layer.

use super::{Claim, MAX_PERMITS, Shared};
use crate::chan::{Chan, CloseChan, RecvChan, SendChan};
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::mpmc::counts::Counts;
use crate::mpmc::flavor::{self, Queue, Reservation};
use crate::orphan;
use crate::sync::Arc;
use crate::unwind::Panics;
use crate::waiter::WaitQueue;

impl<T> Chan for Shared<T> {
    const FLAVOR: &'static str = "mpmc";
}

impl<T> SendChan for Shared<T> {
    type Item = T;
    #[inline(always)]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        Shared::try_send(self, value)
    }
    #[inline(always)]
    fn send_wait(&self) -> &WaitQueue {
        &self.send_wait
    }
    #[inline(always)]
    fn before_waiting(&self) {
        self.wait_for_room();
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        self.send_streak.note(tries);
    }
}

impl<T> RecvChan for Shared<T> {
    type Item = T;
    #[inline(always)]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        Shared::try_recv(self)
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        &self.recv_wait
    }
    fn len(&self) -> usize {
        Shared::len(self)
    }
}

impl<T> CloseChan for Shared<T> {
    fn is_closed(&self) -> bool {
        Shared::is_closed(self)
    }
    fn close_wait(&self) -> &WaitQueue {
        &self.close_wait
    }
}

/// The ring as the array flavor of [`flavor::Flavor`].
impl<T> Queue<T> for Shared<T> {
    type Claim = Claim;

    #[inline(always)]
    fn id(&self) -> u64 {
        self.id
    }

    #[inline(always)]
    fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }

    #[inline(always)]
    fn counts(&self) -> &Counts {
        &self.counts
    }

    #[inline(always)]
    fn close(&self) -> bool {
        Shared::close(self)
    }

    fn disconnect_receivers(&self) {
        // Nobody can receive any more: close, then drop what is buffered
        // now, every value even if a waker or a value's drop panics (the
        // first panic is raised again afterwards). A slot still being
        // written is left for the drop of the shared state.
        let mut panics = Panics::new();
        panics.run(|| {
            Shared::close(self);
        });
        while let Ok(claim) = self.start_recv_nowait() {
            // SAFETY: a fresh claim from `start_recv_nowait`.
            let value = unsafe { self.read_quiet(claim) };
            panics.run(|| drop(value));
        }
        // Senders still waiting were woken by the close.
        panics.finish();
    }

    #[inline(always)]
    fn has_room(&self) -> bool {
        Shared::has_room(self)
    }

    #[inline(always)]
    fn recv_ready(&self) -> bool {
        Shared::recv_ready(self)
    }

    #[inline(always)]
    fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        Shared::try_send_iter(self, iter)
    }

    #[inline(always)]
    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        Shared::try_recv_many(self, buf, limit)
    }

    #[inline(always)]
    fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        Shared::try_reserve(self)
    }

    fn send_with_permit(&self, value: T) -> Result<(), SendError<T>> {
        match self.start_send(true) {
            Ok(claim) => {
                // SAFETY: a fresh claim from `start_send`.
                unsafe { self.write(claim, value) };
                Ok(())
            }
            Err(_) => {
                self.release_permit();
                Err(SendError(value))
            }
        }
    }

    #[inline(always)]
    fn release_permit(&self) {
        Shared::release_permit(self)
    }

    fn try_reserve_many(&self, n: usize) -> Result<(), TrySendError<()>> {
        Shared::try_reserve_many(self, n)
    }

    fn release_permits(&self, n: usize) {
        Shared::release_permits(self, n)
    }

    fn permit_limit(&self) -> usize {
        self.cap.min(MAX_PERMITS as usize)
    }

    fn free_capacity(&self) -> Option<usize> {
        Some(Shared::free_capacity(self))
    }

    fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>> {
        Shared::force_send(self, value)
    }

    #[inline(always)]
    fn select_reserve_send(&self) -> Result<Claim, TrySendError<()>> {
        self.start_send(false)
    }

    /// A slot a sender has claimed but not written yet counts as empty:
    /// the select tries its other operations (or registers, and the
    /// writer's notify wakes it) instead of spinning on a writer that may
    /// be descheduled.
    #[inline(always)]
    fn select_reserve_recv(&self) -> Result<Claim, TryRecvError> {
        self.start_recv_nowait()
    }

    #[inline(always)]
    unsafe fn select_commit_send(&self, claim: Claim, value: T) {
        assert!(
            self.index_of(claim) < self.cap,
            "select token with a slot index outside this channel"
        );
        // SAFETY: the caller passes a send claim of this ring, once.
        unsafe { self.write(claim, value) }
    }

    #[inline(always)]
    unsafe fn select_commit_recv(&self, claim: Claim) -> T {
        assert!(
            self.index_of(claim) < self.cap,
            "select token with a slot index outside this channel"
        );
        // SAFETY: the caller passes a receive claim of this ring, once.
        unsafe { self.read(claim) }
    }

    fn select_abandon_send(&self, claim: Claim) {
        assert!(
            self.index_of(claim) < self.cap,
            "select token with a slot index outside this channel"
        );
        self.abandon(claim);
    }

    fn select_give_up(&self, claim: Claim, receive: bool) -> bool {
        self.give_up(claim, receive)
    }

    fn forsake_values_if_last(this: &Arc<Self>) {
        Shared::forsake_values_if_last(this)
    }
}

impl Reservation for Claim {
    #[inline(always)]
    fn into_claim(self) -> flavor::Claim {
        flavor::Claim::tagged(flavor::Tag::Array, self.pos)
    }

    #[inline(always)]
    fn from_claim(claim: flavor::Claim) -> Option<Self> {
        claim.bits(flavor::Tag::Array).map(|pos| Self { pos })
    }

    fn orphan(self, owner: u64, side: orphan::Side) {
        orphan::adopt(owner, self.pos, side);
    }
}
