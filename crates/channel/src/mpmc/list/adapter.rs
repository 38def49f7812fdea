//! The list as a channel of the generic futures and iterators (`Chan` and
//! its send, receive and close parts) and as the unbounded [`Queue`] of the
//! MPMC flavor layer.

use super::{Claim, MARK, ONE_PENDING, PENDING_MASK, Shared, pending, pos};
use crate::chan::{Chan, CloseChan, RecvChan, SendChan};
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::mpmc::counts::Counts;
use crate::mpmc::flavor::{self, Queue, Reservation};
use crate::orphan;
use crate::sync::{Arc, Ordering};
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
    #[inline(always)]
    fn before_waiting(&self) {
        self.wait_for_run();
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        self.head.streak.note(tries);
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

/// The list as the unbounded flavor of [`flavor::Flavor`].
impl<T> Queue<T> for Shared<T> {
    type Claim = Claim;

    #[inline(always)]
    fn id(&self) -> u64 {
        self.id
    }

    #[inline(always)]
    fn capacity(&self) -> Option<usize> {
        None
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
        // Close, then drop every value buffered now, even if a waker or a
        // drop panics. A value still being written is waited for (the
        // channel is closed, so no slot is given back); one sent later by
        // a select's pending send is left to the drop of the shared state.
        let mut panics = Panics::new();
        panics.run(|| {
            Shared::close(self);
        });
        while let Ok(slot) = self.start_recv() {
            // SAFETY: a fresh claim; closed, so it waits for the value.
            if unsafe { self.await_written(slot, true) }.is_some() {
                // SAFETY: written, not read.
                let value = unsafe { self.read(slot) };
                panics.run(|| drop(value));
            }
        }
        if orphan::any() {
            self.resolve_orphaned_receives(&mut panics);
        }
        panics.finish();
    }

    #[inline(always)]
    fn has_room(&self) -> bool {
        true
    }

    fn recv_ready(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        pos(head) != pos(tail) || tail & MARK != 0
    }

    fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        let mut sent = 0;
        while iter.peek().is_some() {
            let slot = match self.start_send(false) {
                Ok(slot) => slot,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            };
            let value = iter.next().expect("peeked above");
            // SAFETY: a fresh claim.
            unsafe { self.write(slot, value) };
            sent += 1;
        }
        Ok(sent)
    }

    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        let mut n = 0;
        while n < limit {
            match self.try_recv() {
                Ok(v) => {
                    buf.push(v);
                    n += 1;
                }
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(n)
    }

    /// A permit holds nothing: there is always room. It fails only on a
    /// closed channel.
    fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        if self.is_closed() {
            Err(TrySendError::Closed(()))
        } else {
            Ok(())
        }
    }

    fn send_with_permit(&self, value: T) -> Result<(), SendError<T>> {
        self.try_send(value).map_err(|e| SendError(e.into_inner()))
    }

    /// A permit holds no room here, so any number can be granted at once.
    #[inline(always)]
    fn permit_limit(&self) -> usize {
        usize::MAX
    }

    /// Any number of permits at once, in one step: they hold nothing.
    fn try_reserve_many(&self, _n: usize) -> Result<(), TrySendError<()>> {
        self.try_reserve()
    }

    /// Permits hold nothing here, so there is nothing to give back.
    fn release_permits(&self, _n: usize) {}

    /// No bound: there is always room.
    #[inline(always)]
    fn free_capacity(&self) -> Option<usize> {
        None
    }

    /// Never full, so nothing is ever evicted: a plain send.
    fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>> {
        self.try_send(value)
            .map(|()| None)
            .map_err(|e| SendError(e.into_inner()))
    }

    #[inline(always)]
    fn release_permit(&self) {}

    /// Adds a pending send, unless the channel is closed.
    fn select_reserve_send(&self) -> Result<Claim, TrySendError<()>> {
        let word = self.tail.index.fetch_add(ONE_PENDING, Ordering::SeqCst);
        if word & MARK != 0 {
            self.release_pending();
            return Err(TrySendError::Closed(()));
        }
        debug_assert!(
            pending(word) < PENDING_MASK / ONE_PENDING,
            "pending sends overflow"
        );
        Ok(Claim::send())
    }

    /// Claims the head only with its value written: a slot still being
    /// written is given back to its sender at once and counts as empty.
    fn select_reserve_recv(&self) -> Result<Claim, TryRecvError> {
        let slot = self.start_recv()?;
        // SAFETY: a fresh claim.
        match unsafe { self.await_written(slot, false) } {
            Some(()) => Ok(Claim::slot(slot)),
            None => Err(TryRecvError::Empty),
        }
    }

    unsafe fn select_commit_send(&self, _claim: Claim, value: T) {
        let slot = self
            .start_send(true)
            .expect("a pending send claims a position");
        // SAFETY: a fresh claim.
        unsafe { self.write(slot, value) }
    }

    unsafe fn select_commit_recv(&self, claim: Claim) -> T {
        // SAFETY: the caller passes a receive claim of this list, once: a
        // claimed, written, unread slot.
        unsafe { self.read(claim.slot_ref()) }
    }

    fn select_abandon_send(&self, _claim: Claim) {
        self.release_pending();
    }

    fn select_give_up(&self, claim: Claim, receive: bool) -> bool {
        if receive {
            orphan::adopt_addr(self.id, orphan::Side::Recv, Some(orphan::Addr(claim.at)));
            self.recv_wait.notify_one();
        } else {
            self.release_pending();
        }
        receive
    }

    fn forsake_values_if_last(this: &Arc<Self>) {
        if Arc::strong_count(this) == 1 {
            this.values_forsaken.store(true, Ordering::Relaxed);
        }
    }
}

impl Reservation for Claim {
    #[inline(always)]
    fn into_claim(self) -> flavor::Claim {
        flavor::Claim::List(self)
    }

    #[inline(always)]
    fn from_claim(claim: flavor::Claim) -> Option<Self> {
        match claim {
            flavor::Claim::List(claim) => Some(claim),
            _ => None,
        }
    }

    fn orphan(self, owner: u64, side: orphan::Side) {
        let at = match side {
            orphan::Side::Recv => Some(orphan::Addr(self.at)),
            orphan::Side::Send => None,
        };
        orphan::adopt_addr(owner, side, at);
    }
}
