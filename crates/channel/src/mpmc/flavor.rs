//! The MPMC flavors behind one pair of endpoint types, as crossbeam-channel
//! keeps its array, list and zero flavors behind one `Sender` and
//! `Receiver`.
//!
//! Each endpoint holds a [`Flavor`]: which queue the channel is, and an
//! `Arc` of it; the futures, permits and iterators hold a [`FlavorRef`],
//! the queue borrowed. Every operation goes through their methods, which
//! pass it to the flavor's [`Queue`] implementation. A select's reservation is a
//! [`Claim`], tagged with the flavor that issued it.
//!
//! | flavor | file | made by |
//! |---|---|---|
//! | `Array`: a ring of stamped slots | `ring/` | `channel(capacity)`, `capacity >= 1` |
//! | `List`: a linked list of blocks of slots, unbounded | `list/` | `unbounded()` |
//! | `Zero`: a rendezvous, offers and claimed receivers under a lock | `zero/` | `channel(0)` |
//!
//! # Adding a flavor
//!
//! 1. In the flavor's own module (its protocol in `mod.rs`, the trait impls
//!    in `adapter.rs`), implement [`Queue`] for its shared state and
//!    [`Reservation`] for its claim type, as the contract below says.
//! 2. Here: a variant of [`Flavor`], [`FlavorRef`] and [`Tag`] (the
//!    [`Claim`]'s tag), of the same name, that name in the list at the top
//!    of `dispatch!`, and a line in [`Claim::orphan`].
//! 3. In `mod.rs`: the `mod` line and the constructor.
//!
//! Nothing else names a flavor: the endpoints, futures, permits and select
//! hooks only call the methods of [`Flavor`] and [`FlavorRef`].
//!
//! # Cost
//!
//! With one flavor, `Flavor` and `FlavorRef` were one-variant enums: no
//! tag was stored, every `match` disappeared, and each method compiled to
//! the code that called the ring directly
//! (docs/perf-notes.md#mpmc-flavor-dispatch-one-variant-enums). With more,
//! an endpoint and a future grow by a word (the tag) and each operation by
//! one well-predicted branch, the array's arm first; a flavor whose
//! operations are large keeps them out of line, so that they are not
//! compiled into the others' paths
//! (docs/perf-notes.md#mpmc-flavor-dispatch-the-second-flavor). A
//! [`Claim`] of the array ring or the rendezvous channel is one tagged
//! word; the list's is a pointer, kept with its provenance beside that
//! word, so a `Claim` takes two words, which costs the single-thread
//! `select!` about a sixth more CPU per message
//! (docs/perf-notes.md#mpmc-flavor-dispatch-with-the-list-flavor-in-place).

use std::time::Instant;

use crate::chan::{CloseChan, RecvChan, SendChan};
use crate::error::{RecvError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::orphan;
use crate::select::Keeper;
use crate::sync::{Arc, AtomicUsize, Ordering};
use crate::waiter::{WaitQueue, block_thread};

use super::counts::{Counts, Side, increment_unless_zero};
use super::{list, ring, zero};

/// The queue of one MPMC flavor: everything the endpoints, futures,
/// permits and select hooks need from it.
///
/// An implementation is a channel's shared state, owned through an `Arc`
/// by every endpoint (and by select keepers). The endpoints call it only
/// through [`Flavor`] and [`FlavorRef`]; only the flavor's file, this one
/// and its constructor in `mod.rs` name its type.
///
/// # Contract
///
/// Every method may be called from any number of threads at once, on
/// `&self`. The channel-wide promises of docs/semantics.md are the
/// flavor's to keep; in particular:
///
/// - **Exactly once.** A value passed to a send is received by exactly one
///   receive, handed back (inside the error, or to a select's caller), or
///   dropped exactly once by [`disconnect_receivers`](Self::disconnect_receivers)
///   or the queue's own `Drop`; never leaked, never dropped twice.
/// - **Ordering.** A send happens-before the receive that takes its value;
///   one sender's values are received in the order it sent them.
/// - **Close.** [`close`](Self::close) stops every later send at once
///   (`Closed` with the value); receives drain what was sent before, then
///   report `Closed` for good. A send that has already claimed room when
///   the close lands completes, and its value is received.
/// - **Wake-ups.** The futures and the blocking loops wait on the queue's
///   three [`WaitQueue`]s with the `waiter` protocol: register, re-check
///   with `try_*`, park. So every change that lets a waiter make progress
///   publishes the change first and then notifies: a value made receivable
///   wakes one receiver (`recv_wait`), room made free wakes one sender
///   (`send_wait`), and a close wakes every waiter of all three queues.
///   A notify may wake a waiter for nothing, never miss one.
/// - **Bounded waits.** No `try_*` or `select_*` method waits unboundedly
///   for another thread (one descheduled mid-operation, or one holding a
///   select reservation, possibly the caller): after a bounded wait it
///   reports `Full` or `Empty`, which is true at that moment, and that
///   thread's completion wakes whoever waits.
/// - **Values may outlive nothing.** [`select_give_up`](Self::select_give_up)
///   and [`forsake_values_if_last`](Self::forsake_values_if_last) run from a
///   select keeper, possibly after every endpoint is gone and the lifetimes
///   the values borrow have ended: they must never touch a `T`.
///
/// The supertraits give the shared shapes (futures, stream, iterators, the
/// blocking loops) what they need, under the same contract:
/// [`SendChan::try_send`] (never waits; `Full` or `Closed` hand the value
/// back), [`RecvChan::try_recv`] (never waits; `Closed` only once closed
/// and drained), [`RecvChan::len`] (values sent and not yet received, a
/// snapshot), [`CloseChan::is_closed`], and the wait queues
/// `send_wait`, `recv_wait` and `close_wait`.
pub(crate) trait Queue<T>: SendChan<Item = T> + RecvChan<Item = T> + CloseChan {
    /// The flavor's select reservation: what `select_reserve_*` claims and
    /// `select_commit_*`, `select_abandon_send` and `select_give_up` take
    /// back. One word if it can be: a select returns it in registers.
    type Claim: Reservation;

    /// A process-unique id, fixed for the queue's life: select tokens name
    /// their channel by it, even after the channel is gone.
    fn id(&self) -> u64;

    /// The bound given at construction (`Some(0)` for a rendezvous
    /// channel), or `None` for a flavor without one.
    fn capacity(&self) -> Option<usize>;

    /// The live senders and receivers. The queue starts with one of each.
    fn counts(&self) -> &Counts;

    /// Closes the channel (see the contract) and wakes every waiter of the
    /// three wait queues and of [`Counts::batch_wait`]. True for the call
    /// that closed it.
    fn close(&self) -> bool;

    /// The last sender is gone: what is buffered stays receivable. The
    /// default closes the channel.
    fn disconnect_senders(&self) {
        self.close();
    }

    /// The last receiver is gone: closes the channel, then drops every value
    /// that is buffered and not claimed by a select reservation, each
    /// exactly once, even if some drops or wakers panic (the first panic is
    /// raised afterwards). A value still being written, or held by a
    /// reservation, is left to the queue's `Drop` or to that reservation.
    fn disconnect_receivers(&self);

    /// True if a plain send would find room now: buffered values plus
    /// outstanding permits leave a place (for a rendezvous channel: a
    /// receiver is waiting). `Sender::is_full` is its negation.
    fn has_room(&self) -> bool;

    /// True if a receive would find a value (possibly one still being
    /// written) or the close. May misjudge a value sent or taken
    /// concurrently: a select re-checks after registering, and the sender's
    /// notify wakes it.
    fn recv_ready(&self) -> bool;

    /// Sends values from `iter` while there is room, waking receivers once
    /// at the end (and if `iter` panics midway). An item is taken from
    /// `iter` only once its room is certain, so what does not fit stays in
    /// it. Returns how many were sent; `Full(())` or `Closed(())` only when
    /// none was (and then nothing was taken).
    fn try_send_iter<I: Iterator<Item = T>>(
        &self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>>;

    /// Moves up to `limit` values into `buf` without waiting, waking
    /// senders once at the end (and if `buf.push` panics). `Empty` or
    /// `Closed` only when it moved none.
    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError>;

    /// Sends, blocking the thread while there is no room, until `deadline`
    /// if there is one. The default is the shared loop over
    /// [`SendChan::try_send`] and `send_wait`; a flavor that hands values
    /// from thread to thread may replace it.
    fn send_deadline(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        crate::chan::send_deadline(self, value, deadline)
    }

    /// Receives, blocking the thread while nothing is buffered, until
    /// `deadline` if there is one. The default is the shared loop, as for
    /// [`send_deadline`](Self::send_deadline).
    fn recv_deadline(&self, deadline: Option<Instant>) -> Result<T, crate::RecvTimeoutError> {
        crate::chan::recv_deadline(self, deadline)
    }

    /// Sends every value of `iter`, blocking whenever there is no room.
    /// False if the channel closed first (what was not sent stays in
    /// `iter`). The default loops over
    /// [`try_send_iter`](Self::try_send_iter) and `send_wait`.
    fn send_iter<I: Iterator<Item = T>>(&self, iter: &mut core::iter::Peekable<I>) -> bool {
        while iter.peek().is_some() {
            let res = block_thread(self.send_wait(), None, || match self.try_send_iter(iter) {
                Ok(_) => Some(true),
                Err(TrySendError::Closed(())) => Some(false),
                Err(TrySendError::Full(())) => None,
            });
            if res != Some(true) {
                return false;
            }
        }
        true
    }

    /// Moves up to `limit` (at least 1) values into `buf`, blocking until
    /// at least one is buffered. The default loops over
    /// [`try_recv_many`](Self::try_recv_many) and `recv_wait`.
    fn recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        let res = block_thread(self.recv_wait(), None, || {
            match self.try_recv_many(buf, limit) {
                Ok(n) => Some(Ok(n)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            }
        });
        res.unwrap_or(Err(RecvError))
    }

    /// Takes a permit if there is room that no permit or value holds;
    /// from then on other senders see the channel one fuller, until
    /// [`send_with_permit`](Self::send_with_permit) or
    /// [`release_permit`](Self::release_permit) uses it up. `Full(())` or
    /// `Closed(())` otherwise. A rendezvous channel holds no room: its
    /// permit is a waiting receiver, claimed for the permit's value (see
    /// `zero/`).
    fn try_reserve(&self) -> Result<(), TrySendError<()>>;

    /// Sends with a permit this caller holds, which it consumes either way:
    /// never `Full`, but `SendError` with the value if the channel closed
    /// since the permit was taken (and then the permit's room is given
    /// back and a sender woken).
    fn send_with_permit(&self, value: T) -> Result<(), SendError<T>>;

    /// Gives back an unused permit and wakes one waiting sender (a
    /// rendezvous channel: wakes the claimed receiver, which waits again).
    fn release_permit(&self);

    /// A select's send reservation: claims room for one value, which the
    /// caller then commits or abandons exactly once (or a keeper gives up).
    /// While held, the room counts as taken. `Closed(())` is final;
    /// `Full(())` means try later (bounded waits, as above).
    fn select_reserve_send(&self) -> Result<Self::Claim, TrySendError<()>>;

    /// A select's receive reservation: claims the next value, which the
    /// caller then commits or a keeper gives up, exactly once. A value
    /// still being written counts as not there (`Empty`): the select tries
    /// its other operations instead of waiting for the writer.
    fn select_reserve_recv(&self) -> Result<Self::Claim, TryRecvError>;

    /// Writes `value` into a send reservation and publishes it (waking a
    /// receiver).
    ///
    /// # Safety
    ///
    /// `claim` came from this queue's [`select_reserve_send`](Self::select_reserve_send)
    /// and has not been committed, abandoned or given up.
    unsafe fn select_commit_send(&self, claim: Self::Claim, value: T);

    /// Takes the value of a receive reservation (waking a sender).
    ///
    /// # Safety
    ///
    /// `claim` came from this queue's [`select_reserve_recv`](Self::select_reserve_recv)
    /// and has not been committed or given up.
    unsafe fn select_commit_recv(&self, claim: Self::Claim) -> T;

    /// Gives a send reservation up without sending: the channel goes on as
    /// if it had never been made, and the waiters its room held back are
    /// woken. Panics (before touching anything) on a claim this queue
    /// cannot have issued.
    fn select_abandon_send(&self, claim: Self::Claim);

    /// Gives a reservation up for a keeper, without a `T`: a send one as
    /// [`select_abandon_send`](Self::select_abandon_send) does; a receive
    /// one's value is left for the channel to drop when it reaches it (see
    /// the `orphan` module). Wakes the waiters it may hold back. True if a
    /// message was lost (`receive`).
    fn select_give_up(&self, claim: Self::Claim, receive: bool) -> bool;

    /// Called by a keeper about to drop its reference: if it is the last
    /// one, the queue's `Drop` must leave the values alone (their
    /// lifetimes may be over).
    fn forsake_values_if_last(this: &Arc<Self>)
    where
        Self: Sized;

    /// Takes `n` permits at once or none (`1 <= n <= permit_limit()`, which
    /// the caller checks), as [`try_reserve`](Self::try_reserve) takes one:
    /// all `n` fit in the room no value or permit holds, or `Full(())`.
    /// The default takes them one by
    /// one and gives back what it took if one fails, which is correct for
    /// any flavor; a flavor that can take `n` in one step should.
    fn try_reserve_many(&self, n: usize) -> Result<(), TrySendError<()>> {
        for taken in 0..n {
            if let Err(e) = self.try_reserve() {
                self.release_permits(taken);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Gives back `n` unused permits and wakes up to `n` waiting senders.
    /// The default releases them one
    /// at a time.
    fn release_permits(&self, n: usize) {
        for _ in 0..n {
            self.release_permit();
        }
    }

    /// The most permits one request may ask for: a larger request could
    /// never be granted (it exceeds the capacity, or the flavor's permit
    /// count), so the endpoints refuse it with an error instead of waiting
    /// forever.
    fn permit_limit(&self) -> usize;

    /// The room a plain send could use now: the capacity minus buffered
    /// values minus outstanding permits (0 when a force-send is over
    /// capacity for a moment), a snapshot; `None` for a flavor without a
    /// bound.
    fn free_capacity(&self) -> Option<usize>;

    /// Sends without waiting for room: with room, as
    /// [`SendChan::try_send`] (`Ok(None)`); when full, removes the oldest
    /// buffered value, which no receive then returns, and returns it
    /// (`Ok(Some(oldest))`). If permits promise all the room and nothing
    /// older is buffered, the value itself is handed back the same way.
    /// `SendError` with the value only when the channel is closed. Every
    /// value stays exactly once: received, handed back here, or dropped.
    /// May wait out another thread midway through an operation on the
    /// slot it needs (as a permit's send does), never for room.
    fn force_send(&self, value: T) -> Result<Option<T>, SendError<T>>;
}

/// A flavor's select reservation, as a select token holds it: tagged with
/// its flavor in a [`Claim`].
pub(crate) trait Reservation: Copy {
    /// Tags the reservation with its flavor.
    fn into_claim(self) -> Claim;
    /// The reservation inside `claim`, or `None` if another flavor issued
    /// it.
    fn from_claim(claim: Claim) -> Option<Self>;
    /// Records the reservation as orphaned: its token is dropped without
    /// an endpoint or a keeper, and the channel `owner` (by id) resolves it
    /// when its operations reach it or when it is dropped, as
    /// [`Queue::select_give_up`] would have (see the `orphan` module).
    fn orphan(self, owner: u64, side: orphan::Side);
}

/// A select's reservation on an MPMC channel, tagged with its flavor: the
/// `ClaimSend` and `ClaimRecv` states of a select token.
///
/// The array ring's position (below 2^48) and the rendezvous channel's
/// ticket share one tagged word; the list's claim is a pointer and keeps
/// its provenance in a variant of its own, so a `Claim` takes two words
/// (docs/perf-notes.md#mpmc-flavor-dispatch-the-second-flavor).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Claim {
    /// A reservation of the array ring or the rendezvous channel: the
    /// flavor's [`Tag`] in the top two bits, its reservation in the others.
    Word(u64),
    /// A receive's claimed slot of the list, or a pending send: a pointer,
    /// which a word cannot carry under strict provenance.
    List(list::Claim),
}

/// Which flavor issued a [`Claim::Word`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Tag {
    /// The array ring.
    Array = 0,
    /// A rendezvous channel.
    Zero = 1,
}

/// Where a [`Claim`]'s tag starts.
const TAG_SHIFT: u32 = 62;

impl Claim {
    /// The claim `bits` of the flavor `tag`.
    #[inline(always)]
    pub(crate) fn tagged(tag: Tag, bits: u64) -> Self {
        debug_assert!(bits >> TAG_SHIFT == 0, "a reservation wider than 62 bits");
        Self::Word(((tag as u64) << TAG_SHIFT) | bits)
    }

    /// The reservation's bits if the flavor `tag` issued it.
    #[inline(always)]
    pub(crate) fn bits(self, tag: Tag) -> Option<u64> {
        match self {
            Self::Word(word) => {
                (word >> TAG_SHIFT == tag as u64).then_some(word & ((1 << TAG_SHIFT) - 1))
            }
            Self::List(_) => None,
        }
    }

    /// Records the reservation as orphaned (see [`Reservation::orphan`]).
    pub(crate) fn orphan(self, owner: u64, side: orphan::Side) {
        if let Some(c) = ring::Claim::from_claim(self) {
            c.orphan(owner, side);
        } else if let Some(c) = zero::Claim::from_claim(self) {
            c.orphan(owner, side);
        } else if let Some(c) = list::Claim::from_claim(self) {
            c.orphan(owner, side);
        }
    }
}

/// Which queue an MPMC channel is, held by each of its endpoints.
pub enum Flavor<T> {
    /// A bounded ring (`channel(capacity)`).
    Array(Arc<ring::Shared<T>>),
    /// An unbounded list of blocks (`unbounded()`).
    List(Arc<list::Shared<T>>),
    /// A rendezvous channel (`channel(0)`).
    Zero(Arc<zero::Shared<T>>),
}

/// A [`Flavor`] borrowed: the queue itself, as the futures, permits and
/// iterators hold it, so that each of their operations reaches the queue
/// without first loading the endpoint's `Arc`, as they did before flavors.
pub enum FlavorRef<'a, T> {
    /// A bounded ring.
    Array(&'a ring::Shared<T>),
    /// An unbounded list.
    List(&'a list::Shared<T>),
    /// A rendezvous channel.
    Zero(&'a zero::Shared<T>),
}

/// Runs `$body` once per flavor with `$x` bound to that flavor's queue or
/// reservation: `queue`, the `&Q` in a [`FlavorRef`]; `owned`, the
/// `&Arc<Q>` in a `&Flavor`; `map`, the same, with the result wrapped in
/// the same variant of [`Flavor`]; `borrow`, the same, wrapped in the same
/// variant of [`FlavorRef`]. The list in the first rule names every
/// flavor for them.
macro_rules! dispatch {
    ($kind:ident $e:expr, |$x:ident| $body:expr) => {
        dispatch!(@each [Array List Zero] $kind $e, |$x| $body)
    };
    (@each [$($v:ident)*] queue $e:expr, |$x:ident| $body:expr) => {
        match $e {
            $(FlavorRef::$v($x) => $body,)*
        }
    };
    (@each [$($v:ident)*] owned $e:expr, |$x:ident| $body:expr) => {
        match $e {
            $(Flavor::$v($x) => $body,)*
        }
    };
    (@each [$($v:ident)*] map $e:expr, |$x:ident| $body:expr) => {
        match $e {
            $(Flavor::$v($x) => Flavor::$v($body),)*
        }
    };
    (@each [$($v:ident)*] borrow $e:expr, |$x:ident| $body:expr) => {
        match $e {
            $(Flavor::$v($x) => FlavorRef::$v($body),)*
        }
    };
}

/// A select token reached a channel of another flavor than the one that
/// issued it (the select checks the channel id first, so this is a bug).
#[cold]
#[inline(never)]
fn foreign_claim() -> ! {
    panic!("select token reserved by another MPMC flavor")
}

/// Weak endpoints: counted apart, they keep the queue's memory but not its
/// side connected.
impl<T> Flavor<T> {
    fn count_of(counts: &Counts, side: Side, weak: bool) -> &AtomicUsize {
        counts.of(side, weak)
    }

    /// A new handle on the same queue for a weak endpoint of `side`.
    pub(crate) fn downgrade(&self, side: Side) -> Self {
        dispatch!(map self, |q| {
            Self::count_of(q.counts(), side, true).fetch_add(1, Ordering::Relaxed);
            Arc::clone(q)
        })
    }

    /// A new handle for a strong endpoint of `side`, if one is still alive
    /// (see [`Counts`]).
    pub(crate) fn upgrade(&self, side: Side) -> Option<Self> {
        let alive = dispatch!(owned self, |q| {
            increment_unless_zero(Self::count_of(q.counts(), side, false))
        });
        alive.then(|| dispatch!(map self, |q| Arc::clone(q)))
    }

    /// A weak endpoint of `side` is dropped.
    pub(crate) fn drop_weak(&self, side: Side) {
        dispatch!(owned self, |q| {
            Self::count_of(q.counts(), side, true).fetch_sub(1, Ordering::Relaxed);
        })
    }

    /// The endpoint counts of the queue.
    pub(crate) fn counts(&self) -> &Counts {
        dispatch!(owned self, |q| q.counts())
    }
}

/// What only an owner of the queue can do: count endpoints, make keepers.
impl<T> Flavor<T> {
    /// The queue, borrowed.
    #[inline(always)]
    pub(crate) fn queue(&self) -> FlavorRef<'_, T> {
        dispatch!(borrow self, |q| &**q)
    }

    /// A new handle on the same queue for a new sender.
    #[inline(always)]
    pub(crate) fn clone_sender(&self) -> Self {
        dispatch!(map self, |q| {
            q.counts().of(Side::Send, false).fetch_add(1, Ordering::Relaxed);
            Arc::clone(q)
        })
    }

    /// A new handle on the same queue for a new receiver.
    #[inline(always)]
    pub(crate) fn clone_receiver(&self) -> Self {
        dispatch!(map self, |q| {
            q.counts().of(Side::Recv, false).fetch_add(1, Ordering::Relaxed);
            Arc::clone(q)
        })
    }

    /// A sender is dropped; the last one disconnects the senders.
    #[inline(always)]
    pub(crate) fn drop_sender(&self) {
        dispatch!(owned self, |q| {
            if q.counts().of(Side::Send, false).fetch_sub(1, Ordering::AcqRel) == 1 {
                Queue::disconnect_senders(&**q);
            }
        })
    }

    /// A receiver is dropped; the last one disconnects the receivers.
    #[inline(always)]
    pub(crate) fn drop_receiver(&self) {
        dispatch!(owned self, |q| {
            if q.counts().of(Side::Recv, false).fetch_sub(1, Ordering::AcqRel) == 1 {
                Queue::disconnect_receivers(&**q);
            }
        })
    }

    /// A keeper of this channel's queue, for a select's reservation.
    pub(crate) fn keeper(&self) -> Keeper {
        dispatch!(owned self, |q| Keeper::new(Arc::clone(q)))
    }
}

impl<T> Clone for FlavorRef<'_, T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for FlavorRef<'_, T> {}

/// Each method passes the call to the flavor's [`Queue`]; with one flavor
/// it compiles to the call itself.
impl<'a, T> FlavorRef<'a, T> {
    #[inline(always)]
    pub(crate) fn id(self) -> u64 {
        dispatch!(queue self, |q| Queue::id(q))
    }

    /// The bound, or `usize::MAX` for a flavor without one (the list): the
    /// public `capacity()` stays a `usize` (docs/semantics.md, "Unbounded
    /// MPMC channels").
    #[inline(always)]
    pub(crate) fn capacity(self) -> usize {
        dispatch!(queue self, |q| Queue::capacity(q)).unwrap_or(usize::MAX)
    }

    #[inline(always)]
    pub(crate) fn close(self) -> bool {
        dispatch!(queue self, |q| Queue::close(q))
    }

    #[inline(always)]
    pub(crate) fn has_room(self) -> bool {
        dispatch!(queue self, |q| Queue::has_room(q))
    }

    #[inline(always)]
    pub(crate) fn recv_ready(self) -> bool {
        dispatch!(queue self, |q| Queue::recv_ready(q))
    }

    #[inline(always)]
    pub(crate) fn try_send_iter<I: Iterator<Item = T>>(
        self,
        iter: &mut core::iter::Peekable<I>,
    ) -> Result<usize, TrySendError<()>> {
        dispatch!(queue self, |q| Queue::try_send_iter(q, iter))
    }

    #[inline(always)]
    pub(crate) fn try_recv_many(
        self,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Result<usize, TryRecvError> {
        dispatch!(queue self, |q| Queue::try_recv_many(q, buf, limit))
    }

    #[inline(always)]
    pub(crate) fn send_deadline(
        self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        dispatch!(queue self, |q| Queue::send_deadline(q, value, deadline))
    }

    #[inline(always)]
    pub(crate) fn recv_deadline(
        self,
        deadline: Option<Instant>,
    ) -> Result<T, crate::RecvTimeoutError> {
        dispatch!(queue self, |q| Queue::recv_deadline(q, deadline))
    }

    #[inline(always)]
    pub(crate) fn send_iter<I: Iterator<Item = T>>(
        self,
        iter: &mut core::iter::Peekable<I>,
    ) -> bool {
        dispatch!(queue self, |q| Queue::send_iter(q, iter))
    }

    #[inline(always)]
    pub(crate) fn recv_many(self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        dispatch!(queue self, |q| Queue::recv_many(q, buf, limit))
    }

    /// Takes a permit (see [`Queue::try_reserve`]): room held for one
    /// value, or, on a rendezvous channel, a waiting receiver claimed for
    /// it.
    #[inline(always)]
    pub(crate) fn try_reserve(self) -> Result<(), TrySendError<()>> {
        dispatch!(queue self, |q| Queue::try_reserve(q))
    }

    #[inline(always)]
    pub(crate) fn send_with_permit(self, value: T) -> Result<(), SendError<T>> {
        dispatch!(queue self, |q| Queue::send_with_permit(q, value))
    }

    #[inline(always)]
    pub(crate) fn release_permit(self) {
        dispatch!(queue self, |q| Queue::release_permit(q))
    }

    #[inline(always)]
    pub(crate) fn select_reserve_send(self) -> Result<Claim, TrySendError<()>> {
        dispatch!(queue self, |q| Queue::select_reserve_send(q).map(Reservation::into_claim))
    }

    #[inline(always)]
    pub(crate) fn select_reserve_recv(self) -> Result<Claim, TryRecvError> {
        dispatch!(queue self, |q| Queue::select_reserve_recv(q).map(Reservation::into_claim))
    }

    /// # Safety
    ///
    /// As [`Queue::select_commit_send`], for this channel's queue.
    #[inline(always)]
    pub(crate) unsafe fn select_commit_send(self, claim: Claim, value: T) {
        dispatch!(queue self, |q| {
            let claim = Reservation::from_claim(claim).unwrap_or_else(|| foreign_claim());
            // SAFETY: forwarded from the caller; the flavor is the one that
            // issued the claim.
            unsafe { Queue::select_commit_send(q, claim, value) }
        })
    }

    /// # Safety
    ///
    /// As [`Queue::select_commit_recv`], for this channel's queue.
    #[inline(always)]
    pub(crate) unsafe fn select_commit_recv(self, claim: Claim) -> T {
        dispatch!(queue self, |q| {
            let claim = Reservation::from_claim(claim).unwrap_or_else(|| foreign_claim());
            // SAFETY: forwarded from the caller; the flavor is the one that
            // issued the claim.
            unsafe { Queue::select_commit_recv(q, claim) }
        })
    }

    #[inline(always)]
    pub(crate) fn select_abandon_send(self, claim: Claim) {
        dispatch!(queue self, |q| {
            let claim = Reservation::from_claim(claim).unwrap_or_else(|| foreign_claim());
            Queue::select_abandon_send(q, claim)
        })
    }

    /// The queue's endpoint counts and batch turn.
    #[inline]
    pub(crate) fn counts(self) -> &'a Counts {
        dispatch!(queue self, |q| Queue::counts(q))
    }

    /// The most permits one request may ask for ([`Queue::permit_limit`]).
    #[inline]
    pub(crate) fn permit_limit(self) -> usize {
        dispatch!(queue self, |q| Queue::permit_limit(q))
    }

    /// Takes `n` permits (see [`Queue::try_reserve_many`]), after checking
    /// `n` against [`Queue::permit_limit`]: `None` if it is above it.
    #[inline]
    pub(crate) fn try_reserve_many(self, n: usize) -> Option<Result<(), TrySendError<()>>> {
        dispatch!(queue self, |q| {
            if n > Queue::permit_limit(q) {
                return None;
            }
            if n == 0 {
                return Some(if CloseChan::is_closed(q) {
                    Err(TrySendError::Closed(()))
                } else {
                    Ok(())
                });
            }
            Some(Queue::try_reserve_many(q, n))
        })
    }

    #[inline]
    pub(crate) fn release_permits(self, n: usize) {
        dispatch!(queue self, |q| Queue::release_permits(q, n))
    }

    /// The free slots, or `usize::MAX` for a flavor without a bound.
    #[inline]
    pub(crate) fn free_capacity(self) -> usize {
        dispatch!(queue self, |q| Queue::free_capacity(q)).unwrap_or(usize::MAX)
    }

    #[inline]
    pub(crate) fn force_send(self, value: T) -> Result<Option<T>, SendError<T>> {
        dispatch!(queue self, |q| Queue::force_send(q, value))
    }

    #[inline(always)]
    pub(crate) fn send_wait(self) -> &'a WaitQueue {
        dispatch!(queue self, |q| SendChan::send_wait(q))
    }

    #[inline(always)]
    pub(crate) fn recv_wait(self) -> &'a WaitQueue {
        dispatch!(queue self, |q| RecvChan::recv_wait(q))
    }
}

/// Gives a keeper's reservation up; the keeper was made by [`Flavor::keeper`]
/// of the channel that issued `claim`.
pub(crate) fn keeper_give_up<T, Q: Queue<T>>(queue: &Q, claim: Claim, receive: bool) -> bool {
    let claim = Reservation::from_claim(claim).unwrap_or_else(|| foreign_claim());
    queue.select_give_up(claim, receive)
}

impl<T> core::fmt::Debug for Flavor<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Flavor").finish_non_exhaustive()
    }
}

impl<T> core::fmt::Debug for FlavorRef<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FlavorRef").finish_non_exhaustive()
    }
}

/// The futures, permits and iterators hold the queue itself.
impl<T> crate::chan::Handle for FlavorRef<'_, T> {
    type Chan = Self;
    #[inline(always)]
    fn chan(&self) -> &Self {
        self
    }
}

impl<T> crate::chan::Chan for FlavorRef<'_, T> {
    const FLAVOR: &'static str = "mpmc";
}

impl<T> SendChan for FlavorRef<'_, T> {
    type Item = T;
    #[inline(always)]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        dispatch!(queue * self, |q| SendChan::try_send(q, value))
    }
    #[inline(always)]
    fn send_wait(&self) -> &WaitQueue {
        FlavorRef::send_wait(*self)
    }
}

impl<T> RecvChan for FlavorRef<'_, T> {
    type Item = T;
    #[inline(always)]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        dispatch!(queue * self, |q| RecvChan::try_recv(q))
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        FlavorRef::recv_wait(*self)
    }
    #[inline(always)]
    fn len(&self) -> usize {
        dispatch!(queue * self, |q| RecvChan::len(q))
    }
    #[inline(always)]
    fn before_waiting(&self) {
        dispatch!(queue * self, |q| RecvChan::before_waiting(q))
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        dispatch!(queue * self, |q| RecvChan::after_waiting(q, tries))
    }
}

impl<T> CloseChan for FlavorRef<'_, T> {
    #[inline(always)]
    fn is_closed(&self) -> bool {
        dispatch!(queue * self, |q| CloseChan::is_closed(q))
    }
    #[inline(always)]
    fn close_wait(&self) -> &WaitQueue {
        dispatch!(queue * self, |q| CloseChan::close_wait(q))
    }
}

/// An owned receiver's `IntoIter` and `RecvStream`, and an owned sender's
/// `SendSink`, reach the queue through the endpoint's flavor.
impl<T> crate::chan::Chan for Flavor<T> {
    const FLAVOR: &'static str = "mpmc";
}

impl<T> SendChan for Flavor<T> {
    type Item = T;
    #[inline(always)]
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        SendChan::try_send(&self.queue(), value)
    }
    #[inline(always)]
    fn send_wait(&self) -> &WaitQueue {
        self.queue().send_wait()
    }
}

impl<T> RecvChan for Flavor<T> {
    type Item = T;
    #[inline(always)]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        RecvChan::try_recv(&self.queue())
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        self.queue().recv_wait()
    }
    #[inline(always)]
    fn len(&self) -> usize {
        RecvChan::len(&self.queue())
    }
    #[inline(always)]
    fn before_waiting(&self) {
        RecvChan::before_waiting(&self.queue())
    }
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        RecvChan::after_waiting(&self.queue(), tries)
    }
}
