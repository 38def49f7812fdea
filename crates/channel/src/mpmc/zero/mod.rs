//! The rendezvous flavor of an MPMC channel (`channel(0)`): no buffer; a
//! value passes from a sender to a receiver when the two meet.
//!
//! # Protocol
//!
//! Everything a hand-off decides happens under one lock around the channel's
//! [`State`]: the *offers* (values waiting for a receiver, each with a
//! ticket, in send order), the *held* select reservations, the receivers
//! claimed by permits, and the closed flag. Waiting goes through the
//! crate's `waiter` protocol, on three queues:
//!
//! - `recv_wait`: receivers (blocking, async, selects) waiting for an offer
//!   or the close. Every registration here also notifies `send_wait`
//!   ([`WaitQueue::notifying_on_register`]): a registered receiver is what
//!   the senders of the next item wait for.
//! - `send_wait`: the senders that wait for a receiver to wait (a select's
//!   send arm, `send_async`, `reserve`).
//! - `close_wait`: `closed()` futures.
//!
//! A **blocking send** posts an *owned* offer (value, ticket, and the
//! sender's [`Waiter`]), notifies `recv_wait`, and waits on its own waiter.
//! A receive takes the first offer under the lock and then claims the
//! owner's waiter (`try_select`, first claimant wins) and wakes it; the
//! close claims and wakes every owner too. Whatever woke it (a take, the
//! close, its deadline), the sender then looks under the lock: its ticket
//! still among the offers means the value was not taken, and it withdraws
//! it (`Closed` or `Timeout` with the value); otherwise a receiver took it
//! (`Ok`). The lock orders the take against the withdrawal, so exactly one
//! of "delivered" and "handed back" happens, whatever the race.
//!
//! A **send that cannot wait** (`try_send`, and so `send_async`, which
//! retries it) posts an *unowned* offer and claims one registered receiver
//! with the usual notify (the offer is published first). If it claimed one
//! it has handed the value over (`Ok`): the claimed receiver retries its
//! receive and takes the offer, or, if it gives the claim up (a dropped
//! future, a select that completed another arm), passes the claim on to the
//! next receiver, as with any buffered value. If nobody was claimed, the
//! sender withdraws the offer under the lock (`Full` with the value), or
//! finds it taken meanwhile by a receiver that was not registered (`Ok`).
//!
//! A **select's send reservation** and a **permit** cannot post yet: they
//! have no value. They claim a registered receiver without waking it
//! ([`WaitQueue::claim_one`]): the claimed receiver stays parked and no
//! other sender can claim it. (A gap, to be closed: a claim that lands
//! after the receiver's re-check but before it parks is seen as a wake-up,
//! so the receiver looks, finds nothing and registers again, and another
//! send can then hand it a value; nothing is lost or duplicated, as the
//! reservation's later offer is unowned and goes to the next receiver.) The reservation is *held* under the lock (a
//! ticket, the [`Claim`], names it); a permit's claimed receiver goes to a
//! pool, as permits are interchangeable. The commit posts an unowned offer,
//! then wakes the claimed receiver and notifies `recv_wait` once more (the
//! claimed receiver may have stopped waiting between the claim and the
//! post, as a timed-out one does, and a receiver that registered since must
//! not sleep beside the offer). Giving the reservation up (abandon, a
//! keeper's give-up, a dropped permit) wakes the claimed receiver, which
//! looks, finds nothing, and waits again (its registration wakes the
//! senders that wait for it). No `T` is touched on these paths.
//!
//! A **select's receive reservation** takes the first offer under the lock
//! (waking its owner: the send has completed), and holds the value under
//! the lock until the commit moves it out. A keeper that gives it up moves
//! the value to `discarded`, which an endpoint drops later (never the
//! keeper: the value's lifetimes may be over), and reports it lost, as the
//! array flavor does.
//!
//! **Close** sets the flag under the lock and wakes every owner of an offer,
//! every receiver claimed by a permit or a send reservation, and every
//! waiter of the three queues.
//! From then on, offers whose sender waits (owned) are no longer takeable:
//! their senders withdraw them and return `Closed` with the value. Unowned
//! offers (sends that completed before the close) and the offers of send
//! reservations held at the close (which still commit) are drained by
//! receivers, which report `Closed` only once none is left and no send
//! reservation is held.
//!
//! # Why this is exactly once
//!
//! A value is in exactly one place at a time: the sender's hands, an offer,
//! a held receive reservation, `discarded`, or a receiver's hands. It moves
//! between the channel's places only under the lock, and each move removes
//! it from where it was. The sender learns the value's fate from the lock
//! too, never from the wake-up alone. Whatever is left in the channel when
//! the last receiver goes is dropped by `disconnect_receivers` (unowned
//! offers, discarded values), or by the drop of the state (offers
//! committed later, held reservations of orphaned tokens), each once.
//!
//! # Why no receiver sleeps beside an offer
//!
//! Every post is followed by a notify of `recv_wait`, and the lock orders
//! a poster's push and its load of the queue's count against a receiver's
//! registration and its re-check (which takes the lock, or finds the
//! `takeable` count, published under the lock, non-zero). A receiver
//! claimed for an offer that it does not take passes the claim on. A
//! receiver claimed by a reservation is woken by the commit or the
//! give-up.
//!
//! The loom models `loom_zero_*` in `loom_tests/zero.rs` check a sender racing a
//! receiver and a close, two senders and one receiver, a timed-out sender
//! racing the receiver that takes its offer, and a select's send paired with
//! another thread's select receive.

mod adapter;

use std::collections::VecDeque;
use std::time::Instant;

use super::counts::Counts;
use crate::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::orphan;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Backoff, Mutex, MutexGuard, Ordering};
use crate::unwind::Panics;
use crate::waiter::{WaitQueue, Waiter, notify_all_of};

/// A select reservation on a rendezvous channel: the ticket of what the
/// channel holds for it (a claimed receiver for a send, the taken value for
/// a receive). One word, as the array flavor's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    ticket: u64,
}

/// A claimed receiver, released (woken to look again) if dropped before
/// [`keep`](Self::keep).
struct Released(Option<Arc<Waiter>>);

impl Released {
    fn keep(mut self) -> Arc<Waiter> {
        self.0.take().expect("kept once")
    }
}

impl Drop for Released {
    fn drop(&mut self) {
        if let Some(cx) = self.0.take() {
            cx.unpark();
        }
    }
}

/// A value waiting for a receiver.
struct Offer<T> {
    ticket: u64,
    value: T,
    /// The blocking sender waiting for the take; `None` once the send has
    /// completed (a `try_send`, a select's or a permit's send).
    owner: Option<Arc<Waiter>>,
}

/// What a select reservation holds.
enum Held<T> {
    /// A send's claimed receiver, parked until the commit or the give-up.
    Receiver(Arc<Waiter>),
    /// A receive's value, until the commit takes it.
    Value(T),
}

/// What the lock guards.
struct State<T> {
    offers: VecDeque<Offer<T>>,
    /// Select reservations not completed yet, by ticket.
    held: Vec<(u64, Held<T>)>,
    /// Receivers claimed by outstanding permits; any permit may use any.
    permits: Vec<Arc<Waiter>>,
    /// Values of receive reservations given up by a keeper, for an endpoint
    /// to drop.
    discarded: Vec<T>,
    next_ticket: u64,
    closed: bool,
}

impl<T> State<T> {
    fn ticket(&mut self) -> u64 {
        let t = self.next_ticket;
        self.next_ticket += 1;
        t
    }

    /// Offers a receive may take now.
    fn takeable(&self) -> usize {
        if self.closed {
            self.offers.iter().filter(|o| o.owner.is_none()).count()
        } else {
            self.offers.len()
        }
    }

    /// Takes the first offer a receive may take.
    fn take_offer(&mut self) -> Option<Offer<T>> {
        let i = if self.closed {
            self.offers.iter().position(|o| o.owner.is_none())?
        } else {
            0
        };
        self.offers.remove(i)
    }

    /// Removes the held reservation `ticket`.
    fn unhold(&mut self, ticket: u64) -> Held<T> {
        let i = self
            .held
            .iter()
            .position(|(t, _)| *t == ticket)
            .expect("select token with a ticket this channel does not hold");
        self.held.swap_remove(i).1
    }

    /// True while a held send reservation may still post a value.
    fn sends_held(&self) -> bool {
        self.held
            .iter()
            .any(|(_, h)| matches!(h, Held::Receiver(_)))
    }
}

/// The state every endpoint of a rendezvous channel shares.
///
/// # Invariants
///
/// - `takeable` and `closed` equal `state`'s `takeable()` and `closed`
///   whenever the lock is free; they are written only under it.
/// - Each value is in exactly one of: an offer, a held receive
///   reservation, `discarded` (see the module docs).
/// - A waiter in a held send reservation or in `permits` was claimed by
///   this channel's [`WaitQueue::claim_one`] and has not been woken for
///   that claim yet.
pub struct Shared<T> {
    id: u64,
    state: Mutex<State<T>>,
    /// Offers a receive may take (see the invariants): the lock-free check
    /// that lets an empty `try_recv` skip the lock.
    takeable: AtomicUsize,
    closed: AtomicBool,
    counts: Counts,
    /// Senders that wait for a receiver to wait.
    send_wait: Arc<WaitQueue>,
    /// Receivers; each registration notifies `send_wait`.
    recv_wait: WaitQueue,
    close_wait: WaitQueue,
    /// Set when the last reference is a select's keeper: the drop leaves
    /// the values alone (see `Keeper`).
    values_forsaken: AtomicBool,
}

impl<T> Shared<T> {
    /// The state of a new rendezvous channel.
    pub(super) fn new() -> Self {
        let send_wait = Arc::new(WaitQueue::new());
        Self {
            id: super::ring::next_channel_id(),
            state: Mutex::new(State {
                offers: VecDeque::new(),
                held: Vec::new(),
                permits: Vec::new(),
                discarded: Vec::new(),
                next_ticket: 0,
                closed: false,
            }),
            takeable: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            counts: Counts::new(),
            recv_wait: WaitQueue::notifying_on_register(Arc::clone(&send_wait)),
            send_wait,
            close_wait: WaitQueue::new(),
            values_forsaken: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    /// Publishes `takeable` after a change of the offers (under the lock).
    fn publish(&self, st: &State<T>) {
        self.takeable.store(st.takeable(), Ordering::SeqCst);
    }

    /// Posts an unowned offer (a send that has completed).
    fn post(&self, st: &mut State<T>, value: T) -> u64 {
        let ticket = st.ticket();
        st.offers.push_back(Offer {
            ticket,
            value,
            owner: None,
        });
        self.publish(st);
        ticket
    }

    /// Tells the sender of a taken offer that it was taken.
    fn taken(owner: Option<Arc<Waiter>>) {
        if let Some(owner) = owner
            && owner.try_select(0)
        {
            owner.unpark();
        }
    }

    /// Hands a receiver claimed for a value back to its owner: it looks
    /// again and waits again.
    fn release(cx: &Waiter) {
        cx.unpark();
    }

    /// Takes an offer for a receive, without waiting; drops the values
    /// keepers discarded, if any, outside the lock.
    #[inline(never)]
    fn take(&self) -> Result<T, TryRecvError> {
        if self.takeable.load(Ordering::SeqCst) == 0 && !self.closed.load(Ordering::SeqCst) {
            return Err(TryRecvError::Empty);
        }
        let mut st = self.lock();
        if !st.held.is_empty() {
            self.resolve_orphans(&mut st);
        }
        let discarded = core::mem::take(&mut st.discarded);
        let res = match st.take_offer() {
            Some(offer) => {
                self.publish(&st);
                drop(st);
                Self::taken(offer.owner);
                Ok(offer.value)
            }
            None => {
                let e = self.empty_or_closed(&mut st);
                drop(st);
                Err(e)
            }
        };
        drop(discarded);
        res
    }

    /// Why a receive found no offer: `Closed` once closed with no send
    /// reservation that may still post.
    fn empty_or_closed(&self, st: &mut State<T>) -> TryRecvError {
        if !st.closed {
            return TryRecvError::Empty;
        }
        if st.sends_held() {
            TryRecvError::Empty
        } else {
            TryRecvError::Closed
        }
    }

    /// Resolves the send reservations that select tokens orphaned (see the
    /// `orphan` module): their claimed receivers are released. Every
    /// receive that takes the lock, every blocking send and the close do
    /// it, so a receiver claimed by an orphaned token waits only until the
    /// channel's next such operation.
    #[cold]
    fn resolve_orphans(&self, st: &mut State<T>) {
        if !orphan::any() {
            return;
        }
        let id = self.id;
        st.held.retain(|(ticket, h)| match h {
            Held::Receiver(cx) if orphan::take(id, *ticket, orphan::Side::Send) => {
                Self::release(cx);
                false
            }
            _ => true,
        });
    }

    #[inline(never)]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(TrySendError::Closed(value));
        }
        if !self.recv_wait.has_waiting() {
            return Err(TrySendError::Full(value));
        }
        let ticket = {
            let mut st = self.lock();
            if st.closed {
                return Err(TrySendError::Closed(value));
            }
            self.post(&mut st, value)
        };
        if self.recv_wait.notify_one_claimed() {
            return Ok(());
        }
        // Nobody was claimed: withdraw, unless a receiver took it meanwhile.
        let mut st = self.lock();
        match st.offers.iter().position(|o| o.ticket == ticket) {
            Some(i) => {
                let offer = st.offers.remove(i).expect("position found");
                self.publish(&st);
                Err(TrySendError::Full(offer.value))
            }
            None => Ok(()),
        }
    }

    /// Claims a registered receiver for a value to come: `Full(())` if none
    /// waits, `Closed(())` once closed.
    fn claim_receiver(&self) -> Result<Arc<Waiter>, TrySendError<()>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(TrySendError::Closed(()));
        }
        self.recv_wait.claim_one().ok_or(TrySendError::Full(()))
    }

    /// Posts the value of a reservation whose receiver `cx` was claimed,
    /// then wakes it, and wakes one more in case it stopped waiting (see
    /// the module docs).
    fn deliver(&self, mut st: MutexGuard<'_, State<T>>, cx: &Waiter, value: T) {
        self.post(&mut st, value);
        drop(st);
        cx.unpark();
        self.recv_wait.notify_one();
    }

    #[inline(never)]
    fn close(&self) -> bool {
        let (owners, claimed) = {
            let mut st = self.lock();
            if st.closed {
                return false;
            }
            st.closed = true;
            self.closed.store(true, Ordering::SeqCst);
            self.publish(&st);
            if !st.held.is_empty() {
                self.resolve_orphans(&mut st);
            }
            let owners: Vec<_> = st.offers.iter().filter_map(|o| o.owner.clone()).collect();
            let mut claimed = st.permits.clone();
            claimed.extend(st.held.iter().filter_map(|(_, h)| match h {
                Held::Receiver(cx) => Some(Arc::clone(cx)),
                Held::Value(_) => None,
            }));
            (owners, claimed)
        };
        for owner in owners {
            if owner.try_select(1) {
                owner.unpark();
            }
        }
        for cx in &claimed {
            // Still claimed by a permit or a send reservation; woken to see
            // the close (and to wait for that send, which still commits).
            Self::release(cx);
        }
        notify_all_of(&[&self.send_wait, &self.recv_wait, &self.close_wait]);
        true
    }

    /// A blocking send: posts an owned offer and waits for its take.
    #[inline(never)]
    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let cx = Waiter::for_current_thread();
        let ticket = {
            let mut st = self.lock();
            if st.closed {
                return Err(SendTimeoutError::Closed(value));
            }
            if !st.held.is_empty() {
                self.resolve_orphans(&mut st);
            }
            let ticket = st.ticket();
            st.offers.push_back(Offer {
                ticket,
                value,
                owner: Some(Arc::clone(&cx)),
            });
            self.publish(&st);
            ticket
        };
        self.recv_wait.notify_one();
        // A receiver is often about to take it: spin briefly before parking.
        let mut backoff = Backoff::before_parking();
        while cx.is_waiting() && !backoff.is_completed() {
            backoff.snooze();
        }
        cx.wait_until(deadline);
        // The lock, not the wake-up, tells what became of the value: a take
        // and the close claim the waiter, a deadline aborts it.
        let mut st = self.lock();
        let Some(i) = st.offers.iter().position(|o| o.ticket == ticket) else {
            return Ok(());
        };
        let offer = st.offers.remove(i).expect("position found");
        self.publish(&st);
        if st.closed {
            Err(SendTimeoutError::Closed(offer.value))
        } else {
            Err(SendTimeoutError::Timeout(offer.value))
        }
    }

    #[inline(never)]
    fn select_reserve_send(&self) -> Result<Claim, TrySendError<()>> {
        let cx = self.claim_receiver()?;
        let mut st = self.lock();
        if st.closed {
            drop(st);
            Self::release(&cx);
            return Err(TrySendError::Closed(()));
        }
        let ticket = st.ticket();
        st.held.push((ticket, Held::Receiver(cx)));
        Ok(Claim { ticket })
    }

    #[inline(never)]
    fn select_reserve_recv(&self) -> Result<Claim, TryRecvError> {
        if self.takeable.load(Ordering::SeqCst) == 0 && !self.closed.load(Ordering::SeqCst) {
            return Err(TryRecvError::Empty);
        }
        let mut st = self.lock();
        let Some(offer) = st.take_offer() else {
            return Err(self.empty_or_closed(&mut st));
        };
        self.publish(&st);
        let ticket = st.ticket();
        st.held.push((ticket, Held::Value(offer.value)));
        drop(st);
        Self::taken(offer.owner);
        Ok(Claim { ticket })
    }

    /// Commits a send reservation: posts `value` for the claimed receiver.
    #[inline(never)]
    fn commit_send(&self, claim: Claim, value: T) {
        let mut st = self.lock();
        let Held::Receiver(cx) = st.unhold(claim.ticket) else {
            panic!("a receive reservation committed as a send");
        };
        // Posted even after a close: the reservation predates it, as a
        // claimed slot of the array flavor does.
        self.deliver(st, &cx, value);
    }

    #[inline(never)]
    fn commit_recv(&self, claim: Claim) -> T {
        let mut st = self.lock();
        match st.unhold(claim.ticket) {
            Held::Value(value) => value,
            Held::Receiver(_) => panic!("a send reservation committed as a receive"),
        }
    }

    /// Gives a reservation up without touching a `T` (a keeper may call
    /// it): a send's receiver is released; a receive's value moves to
    /// `discarded`. True if a message was lost.
    #[inline(never)]
    fn give_up(&self, claim: Claim) -> bool {
        let mut st = self.lock();
        match st.unhold(claim.ticket) {
            Held::Receiver(cx) => {
                let closed = st.closed;
                drop(st);
                Self::release(&cx);
                if closed {
                    // Receivers may wait for this reservation before they
                    // report the close.
                    self.recv_wait.notify_all();
                }
                false
            }
            Held::Value(value) => {
                // Moved, not dropped: an endpoint drops it.
                st.discarded.push(value);
                true
            }
        }
    }

    #[inline(never)]
    fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        let cx = self.claim_receiver()?;
        let mut st = self.lock();
        if st.closed {
            drop(st);
            Self::release(&cx);
            return Err(TrySendError::Closed(()));
        }
        st.permits.push(cx);
        Ok(())
    }

    #[inline(never)]
    fn send_with_permit(&self, value: T) -> Result<(), SendError<T>> {
        let mut st = self.lock();
        let cx = st.permits.pop().expect("a permit holds a claimed receiver");
        if st.closed {
            drop(st);
            Self::release(&cx);
            return Err(SendError(value));
        }
        self.deliver(st, &cx, value);
        Ok(())
    }

    #[inline(never)]
    fn release_permit(&self) {
        let cx = self
            .lock()
            .permits
            .pop()
            .expect("a permit holds a claimed receiver");
        Self::release(&cx);
    }

    fn disconnect_receivers(&self) {
        let mut panics = Panics::new();
        panics.run(|| {
            self.close();
        });
        let (offers, discarded) = {
            let mut st = self.lock();
            let (unowned, owned) = core::mem::take(&mut st.offers)
                .into_iter()
                .partition::<VecDeque<_>, _>(|o| o.owner.is_none());
            // Owned offers stay for their senders, woken by the close, to
            // withdraw.
            st.offers = owned;
            self.publish(&st);
            (unowned, core::mem::take(&mut st.discarded))
        };
        for offer in offers {
            panics.run(|| drop(offer));
        }
        for value in discarded {
            panics.run(|| drop(value));
        }
        panics.finish();
    }

    fn forsake_values_if_last(this: &Arc<Self>) {
        if Arc::strong_count(this) == 1 {
            this.values_forsaken.store(true, Ordering::Relaxed);
        }
    }
}

// SAFETY: values move between threads only under the lock, and each is
// moved out by exactly one receiver (or dropped once): `T: Send` suffices.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever handed out.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Every endpoint is gone. Orphaned tokens' records go; what they
        // held is in `held` and dropped with the rest.
        if orphan::any() {
            orphan::take_channel(self.id);
        }
        let mut st = self.state.lock();
        let state = State {
            offers: core::mem::take(&mut st.offers),
            held: core::mem::take(&mut st.held),
            permits: core::mem::take(&mut st.permits),
            discarded: core::mem::take(&mut st.discarded),
            next_ticket: 0,
            closed: true,
        };
        drop(st);
        if self.values_forsaken.load(Ordering::Relaxed) {
            // Only a keeper was left: the values may borrow data that is
            // gone, so they are not touched (see `Keeper`).
            core::mem::forget(state);
            return;
        }
        let mut panics = Panics::new();
        for offer in state.offers {
            panics.run(|| drop(offer));
        }
        for (_, held) in state.held {
            panics.run(|| drop(held));
        }
        for value in state.discarded {
            panics.run(|| drop(value));
        }
        panics.finish();
    }
}

impl<T> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("zero::Shared").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    use super::*;
    use crate::mpmc;
    use crate::select::{SelectHandle, SendHandle, Token};

    /// A value that counts its drops.
    struct Counted(std::sync::Arc<StdAtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits until a sender offers on `rx` (its receive arm is ready).
    fn until_offered<T>(rx: &mpmc::Receiver<T>) {
        while !SelectHandle::is_ready(rx) {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_receive_reservation_given_up_by_a_keeper_is_dropped_once_later() {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(0);
        let value = Counted(std::sync::Arc::clone(&drops));
        let t = std::thread::spawn(move || tx.send(value).is_ok());
        until_offered(&rx);
        let mut token = Token::new();
        assert!(SelectHandle::try_reserve(&rx, &mut token));
        let keeper = SelectHandle::keeper(&rx).expect("a claim has a keeper");
        assert!(keeper.give_up(&mut token), "a receive's message is lost");
        assert!(t.join().unwrap(), "the send completed at the reservation");
        assert_eq!(drops.load(Ordering::SeqCst), 0, "the keeper drops nothing");
        assert!(rx.try_recv().is_err());
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the next receive dropped it"
        );
        drop(keeper);
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_orphaned_send_reservation_releases_its_receiver_at_the_next_operation() {
        let (tx, rx) = mpmc::channel::<u32>(0);
        let rx2 = rx.clone();
        let t = std::thread::spawn(move || rx2.recv());
        let mut token = Token::new();
        while !SelectHandle::try_reserve(&tx, &mut token) {
            std::thread::yield_now();
        }
        // Dropped without its endpoint or a keeper: orphaned.
        drop(token);
        // The channel's next blocking send resolves it: the claimed
        // receiver waits again and takes that send's value.
        tx.send(5).unwrap();
        assert_eq!(t.join().unwrap(), Ok(5));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn close_wakes_a_receiver_claimed_by_a_send_reservation_which_still_commits() {
        let (tx, rx) = mpmc::channel::<u32>(0);
        let rx2 = rx.clone();
        let t = std::thread::spawn(move || (rx2.recv(), rx2.recv()));
        let mut token = Token::new();
        while !SelectHandle::try_reserve(&tx, &mut token) {
            std::thread::yield_now();
        }
        assert!(rx.close());
        // The reservation predates the close: its value is received.
        SendHandle::commit_send(&tx, &mut token, 9).unwrap();
        let (first, second) = t.join().unwrap();
        assert_eq!(first, Ok(9));
        assert!(second.is_err());
    }
}
