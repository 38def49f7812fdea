//! The handle protocol `nimsync-select` drives. Not part of the semver
//! contract: reachable only through `nimsync_channel::__select`.
//!
//! # Protocol
//!
//! A select over operations `0 .. n` (each a [`RecvHandle`] or
//! [`SendHandle`]) runs:
//!
//! 1. In its chosen order, call [`SelectHandle::try_reserve`] on each
//!    operation. The first that returns true wins: its [`Token`] holds a
//!    reservation (a claimed slot, or "ready" for single-owner endpoints) or
//!    a final "closed". Nothing was taken from the operations that lost.
//! 2. If none is ready, create one [`Waiter`], call
//!    [`SelectHandle::register`] on every operation with its index, and
//!    retry step 1. If still nothing, park (or return `Pending`) until the
//!    waiter is claimed, then [`SelectHandle::unregister`] everywhere and
//!    start again.
//! 3. Complete the winner with `commit_recv` / `commit_send`, exactly once,
//!    or give a send reservation up with `abandon_send` (receivers then
//!    skip its position). A token dropped uncommitted, or committed
//!    through another channel, gives its reservation up without the
//!    endpoint ([`Token::give_up`]): the channel resolves the claimed
//!    position itself, skipping a send position and dropping a receive
//!    position's value (and the token panics to report that lost message,
//!    unless its thread is already unwinding). Until a reservation is
//!    resolved, the channel's operations that reach its slot wait for a
//!    bounded time and then report `Full` or `Empty`; they never spin
//!    forever, even on a reservation held by the calling thread.
//! 4. If the waiter had been claimed by operation `k` but the select
//!    completed a different one (or gave up), call `pass_on` on `k`, so the
//!    wake-up reaches another waiter. Do the same when the claim arrived
//!    while the retry after registering succeeded, even on the operation
//!    it completed: the item it took may have needed no wake-up, and the
//!    claim may be a later item's (see the `waiter` module).

use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::sync::Arc;
use crate::waiter::WaitQueue;
use crate::waiter::Waiter;
use crate::{mpmc, oneshot, orphan, spsc};

mod sealed {
    use crate::error::{RecvError, TryRecvError};
    use crate::waiter::WaitQueue;

    pub trait Sealed {}

    /// The hooks of a receiver that one party owns (see the impls below).
    pub trait ExclusiveRecv {
        /// The message type.
        type Item;
        /// The channel's identity.
        fn addr(&self) -> u64;
        /// The receivers waiting for a message.
        fn recv_wait(&self) -> &WaitQueue;
        /// `Ok` if a receive would find a message, else why not.
        fn check_ready(&self) -> Result<(), TryRecvError>;
        /// Takes the message [`check_ready`](Self::check_ready) saw.
        fn finish_recv(&self) -> Result<Self::Item, RecvError>;
    }
}

/// What a successful [`SelectHandle::try_reserve`] left for the commit.
#[derive(Debug, Default)]
pub struct Token {
    /// Identity of the channel that issued the reservation (MPMC: its
    /// unique id; others: their address, compared only while borrowed).
    owner: u64,
    state: TokenState,
}

#[derive(Debug, Default)]
pub(crate) enum TokenState {
    /// Nothing reserved.
    #[default]
    Empty,
    /// The operation can complete without waiting (single-owner endpoints).
    Ready,
    /// The operation will fail with `Closed`.
    Closed,
    /// An MPMC flavor's reservation (a claimed position in the array
    /// ring, or a reservation a rendezvous channel holds), to receive from.
    ClaimRecv(mpmc::Claim),
    /// An MPMC flavor's reservation (a claimed position in the array
    /// ring, or a reservation a rendezvous channel holds), to send into.
    ClaimSend(mpmc::Claim),
}

impl Token {
    /// An empty token.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if the token holds a claimed position (MPMC), which must be
    /// completed or given up.
    pub fn holds_claim(&self) -> bool {
        matches!(
            self.state,
            TokenState::ClaimRecv(_) | TokenState::ClaimSend(_)
        )
    }

    /// True if the token holds a reservation or a final result.
    pub fn is_reserved(&self) -> bool {
        !matches!(self.state, TokenState::Empty)
    }

    pub(crate) fn set(&mut self, owner: u64, state: TokenState) {
        self.owner = owner;
        self.state = state;
    }

    /// Panics before a second reservation could overwrite a first one.
    fn check_empty(&self) {
        assert!(
            !self.is_reserved(),
            "a select token was reserved twice without a commit"
        );
    }

    /// Takes the reservation out, checking that `owner` issued it. A token
    /// that another channel issued is given up first, so the panic leaves
    /// no claimed position behind.
    pub(crate) fn take(&mut self, owner: u64) -> TokenState {
        if !(self.is_reserved() && self.owner == owner) {
            self.give_up();
            panic!("select commit with a token that this channel did not reserve");
        }
        core::mem::take(&mut self.state)
    }

    /// Panics about a reservation of the wrong kind (a send committed as a
    /// receive, or the reverse), after giving it up so that the panic
    /// leaves no claimed position behind.
    #[cold]
    fn wrong_kind(&mut self, state: TokenState, what: &str) -> ! {
        self.state = state;
        self.give_up();
        panic!("{what}");
    }

    /// Gives the reservation up without its endpoint, for a token that
    /// will never be completed. An MPMC position it claimed is handed to
    /// the channel to resolve (see the `orphan` module): a send position is
    /// skipped, a receive position's value dropped. Returns true if that
    /// discarded a message (a receive reservation), which the caller
    /// should report.
    pub fn give_up(&mut self) -> bool {
        match core::mem::take(&mut self.state) {
            TokenState::ClaimSend(claim) => {
                claim.orphan(self.owner, orphan::Side::Send);
                false
            }
            TokenState::ClaimRecv(claim) => {
                claim.orphan(self.owner, orphan::Side::Recv);
                true
            }
            TokenState::Empty | TokenState::Ready | TokenState::Closed => false,
        }
    }
}

impl Drop for Token {
    #[inline]
    fn drop(&mut self) {
        // Completed tokens (the common case) hold no claim: one compare.
        if !matches!(
            self.state,
            TokenState::ClaimRecv(_) | TokenState::ClaimSend(_)
        ) {
            return;
        }
        if self.give_up() && !std::thread::panicking() {
            panic!(
                "a selected channel receive was dropped without being completed, and the message \
                 it had reserved was dropped with it; complete a selected operation with \
                 `.recv(..)` or `.send(..)`"
            );
        }
    }
}

/// Keeps an MPMC channel's queue (its flavor's shared state) alive for a
/// reservation held by a select's operation, so that the operation can
/// give the reservation up when it is dropped without its endpoint (which
/// may be gone by then) and wake the waiters the claimed position may hold
/// back.
///
/// # Invariants
///
/// `shared` came from `Arc::into_raw` of an `Arc<Q>` for the queue type
/// `Q` (an `mpmc::Queue<T>`) and the `T` that `give_up` and `release` were
/// instantiated with, and this keeper owns that one strong reference. The
/// keeper never touches a value of type `T`: giving up goes through
/// `Queue::select_give_up` (the ring marks stamps, records orphans and
/// wakes waiters), and a keeper that drops the last reference first tells
/// the queue to leave its values alone (`Queue::forsake_values_if_last`).
/// So it is sound to keep it past the lifetime of data the values borrow,
/// and to send it to any thread whatever `T` is.
pub struct Keeper {
    shared: core::ptr::NonNull<()>,
    give_up: unsafe fn(core::ptr::NonNull<()>, mpmc::Claim, bool) -> bool,
    release: unsafe fn(core::ptr::NonNull<()>),
}

// SAFETY: per the invariants, a keeper only touches the channel's atomics,
// wait queues and the orphan list, which are all thread-safe, and never a
// `T`.
unsafe impl Send for Keeper {}
// SAFETY: as above; `&Keeper` gives access to nothing.
unsafe impl Sync for Keeper {}

impl core::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keeper").finish_non_exhaustive()
    }
}

impl Keeper {
    pub(crate) fn new<T, Q: mpmc::Queue<T>>(shared: Arc<Q>) -> Self {
        /// # Safety
        /// `ptr` is a keeper's pointer for this `Q`.
        unsafe fn give_up<T, Q: mpmc::Queue<T>>(
            ptr: core::ptr::NonNull<()>,
            claim: mpmc::Claim,
            recv: bool,
        ) -> bool {
            // SAFETY: per the keeper's invariants the pointer is a live `Q`
            // whose strong reference the keeper owns.
            let shared = unsafe { ptr.cast::<Q>().as_ref() };
            mpmc::keeper_give_up(shared, claim, recv)
        }
        /// # Safety
        /// `ptr` is a keeper's pointer for this `Q`, released once.
        unsafe fn release<T, Q: mpmc::Queue<T>>(ptr: core::ptr::NonNull<()>) {
            // SAFETY: the keeper's one strong reference, taken back once.
            let shared = unsafe { Arc::from_raw(ptr.cast::<Q>().as_ptr()) };
            Q::forsake_values_if_last(&shared);
            drop(shared);
        }
        let ptr = Arc::into_raw(shared).cast_mut().cast::<()>();
        Self {
            // SAFETY: `Arc::into_raw` never returns null.
            shared: unsafe { core::ptr::NonNull::new_unchecked(ptr) },
            give_up: give_up::<T, Q>,
            release: release::<T, Q>,
        }
    }

    /// Gives up `token`'s reservation, which this keeper's channel issued,
    /// and wakes the waiters its position may hold back. Returns true if
    /// that discarded a message (a receive reservation), which the caller
    /// should report.
    pub fn give_up(&self, token: &mut Token) -> bool {
        match core::mem::take(&mut token.state) {
            // SAFETY: `self.shared` is this keeper's pointer (invariants).
            TokenState::ClaimSend(claim) => unsafe { (self.give_up)(self.shared, claim, false) },
            // SAFETY: as above.
            TokenState::ClaimRecv(claim) => unsafe { (self.give_up)(self.shared, claim, true) },
            TokenState::Empty | TokenState::Ready | TokenState::Closed => false,
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // SAFETY: the keeper's pointer, released once, here.
        unsafe { (self.release)(self.shared) }
    }
}

/// The part of the protocol every operation shares.
pub trait SelectHandle: sealed::Sealed {
    /// The channel's identity: equal for every endpoint of one channel (an
    /// MPMC endpoint and its clones), different between live channels. A
    /// select checks it when an operation is completed.
    fn id(&self) -> u64;
    /// Reserves the operation if it can complete now (or fail for good);
    /// true if it did, with the reservation in `token`.
    fn try_reserve(&self, token: &mut Token) -> bool;
    /// True if [`try_reserve`](Self::try_reserve) would succeed now.
    fn is_ready(&self) -> bool;
    /// Registers `cx` as waiting for this operation, as operation `op`.
    /// Issues the waiter's fence: re-check readiness afterwards.
    fn register(&self, cx: &Arc<Waiter>, op: usize);
    /// Removes every registration of `cx`.
    fn unregister(&self, cx: &Arc<Waiter>);
    /// Hands a wake-up this operation gave the select to another waiter.
    fn pass_on(&self);
    /// A keeper of the channel's state, for an operation that holds a
    /// claimed position (MPMC) and may be dropped without its endpoint;
    /// `None` where a reservation claims nothing.
    fn keeper(&self) -> Option<Keeper> {
        None
    }
}

/// A receive operation.
pub trait RecvHandle: SelectHandle {
    /// The message type.
    type Item;
    /// Completes a reservation made by this handle's `try_reserve`.
    ///
    /// # Panics
    ///
    /// If `token` was not reserved by this channel.
    fn commit_recv(&self, token: &mut Token) -> Result<Self::Item, RecvError>;
}

/// A send operation.
pub trait SendHandle: SelectHandle {
    /// The message type.
    type Item;
    /// Completes a reservation made by this handle's `try_reserve`.
    ///
    /// # Panics
    ///
    /// If `token` was not reserved by this channel.
    fn commit_send(
        &self,
        token: &mut Token,
        value: Self::Item,
    ) -> Result<(), SendError<Self::Item>>;
    /// Gives up a reservation made by this handle's `try_reserve` without
    /// sending: the claimed position is skipped by receivers, so the
    /// channel goes on as if the send had never been reserved.
    ///
    /// # Panics
    ///
    /// If `token` was not reserved by this channel.
    fn abandon_send(&self, token: &mut Token);
}

// ---- mpmc ----------------------------------------------------------------

impl<T> sealed::Sealed for mpmc::Receiver<T> {}
impl<T> sealed::Sealed for mpmc::Sender<T> {}

impl<T> SelectHandle for mpmc::Receiver<T> {
    #[inline]
    fn id(&self) -> u64 {
        self.addr()
    }
    #[inline]
    fn try_reserve(&self, token: &mut Token) -> bool {
        token.check_empty();
        match self.start_recv() {
            Ok(claim) => token.set(self.addr(), TokenState::ClaimRecv(claim)),
            Err(TryRecvError::Closed) => token.set(self.addr(), TokenState::Closed),
            Err(TryRecvError::Empty) => return false,
        }
        true
    }
    #[inline]
    fn is_ready(&self) -> bool {
        self.recv_ready()
    }
    fn register(&self, cx: &Arc<Waiter>, op: usize) {
        self.recv_wait().register(cx, op);
    }
    fn unregister(&self, cx: &Arc<Waiter>) {
        self.recv_wait().unregister(cx);
    }
    fn pass_on(&self) {
        self.recv_wait().notify_one();
    }
    fn keeper(&self) -> Option<Keeper> {
        Some(mpmc::Receiver::keeper(self))
    }
}

impl<T> RecvHandle for mpmc::Receiver<T> {
    type Item = T;
    #[inline]
    fn commit_recv(&self, token: &mut Token) -> Result<T, RecvError> {
        match token.take(self.addr()) {
            TokenState::ClaimRecv(claim) => Ok(self.finish_recv(claim)),
            state @ TokenState::ClaimSend(_) => {
                token.wrong_kind(state, "a send reservation committed as a receive")
            }
            _ => Err(RecvError),
        }
    }
}

impl<T> SelectHandle for mpmc::Sender<T> {
    #[inline]
    fn id(&self) -> u64 {
        self.addr()
    }
    #[inline]
    fn try_reserve(&self, token: &mut Token) -> bool {
        token.check_empty();
        match self.start_send() {
            Ok(claim) => token.set(self.addr(), TokenState::ClaimSend(claim)),
            Err(TrySendError::Closed(())) => token.set(self.addr(), TokenState::Closed),
            Err(TrySendError::Full(())) => return false,
        }
        true
    }
    #[inline]
    fn is_ready(&self) -> bool {
        self.has_room() || self.is_closed()
    }
    // (`has_room` counts outstanding permits, and on a rendezvous channel
    // is true while a receiver waits, so this agrees with `try_reserve`.)
    fn register(&self, cx: &Arc<Waiter>, op: usize) {
        self.send_wait().register(cx, op);
    }
    fn unregister(&self, cx: &Arc<Waiter>) {
        self.send_wait().unregister(cx);
    }
    fn pass_on(&self) {
        self.send_wait().notify_one();
    }
    fn keeper(&self) -> Option<Keeper> {
        Some(mpmc::Sender::keeper(self))
    }
}

impl<T> SendHandle for mpmc::Sender<T> {
    type Item = T;
    #[inline]
    fn commit_send(&self, token: &mut Token, value: T) -> Result<(), SendError<T>> {
        match token.take(self.addr()) {
            TokenState::ClaimSend(claim) => {
                self.finish_send(claim, value);
                Ok(())
            }
            state @ TokenState::ClaimRecv(_) => {
                token.wrong_kind(state, "a receive reservation committed as a send")
            }
            _ => Err(SendError(value)),
        }
    }
    #[inline]
    fn abandon_send(&self, token: &mut Token) {
        match token.take(self.addr()) {
            TokenState::ClaimSend(claim) => self.abandon_claim(claim),
            state @ TokenState::ClaimRecv(_) => {
                token.wrong_kind(state, "a receive reservation abandoned as a send")
            }
            _ => {}
        }
    }
}

// ---- spsc and oneshot receivers ---------------------------------------------

/// A receiver that one party owns (spsc and oneshot): only it consumes, so
/// a select reserves it by looking, and the hooks are the same for both.
impl<R: sealed::ExclusiveRecv> sealed::Sealed for R {}

impl<R: sealed::ExclusiveRecv> SelectHandle for R {
    #[inline]
    fn id(&self) -> u64 {
        self.addr()
    }
    #[inline]
    fn try_reserve(&self, token: &mut Token) -> bool {
        token.check_empty();
        match self.check_ready() {
            Ok(()) => token.set(self.addr(), TokenState::Ready),
            Err(TryRecvError::Closed) => token.set(self.addr(), TokenState::Closed),
            Err(TryRecvError::Empty) => return false,
        }
        true
    }
    #[inline]
    fn is_ready(&self) -> bool {
        self.check_ready() != Err(TryRecvError::Empty)
    }
    fn register(&self, cx: &Arc<Waiter>, op: usize) {
        self.recv_wait().register(cx, op);
    }
    fn unregister(&self, cx: &Arc<Waiter>) {
        self.recv_wait().unregister(cx);
    }
    fn pass_on(&self) {
        self.recv_wait().notify_one();
    }
}

impl<R: sealed::ExclusiveRecv> RecvHandle for R {
    type Item = R::Item;
    #[inline]
    fn commit_recv(&self, token: &mut Token) -> Result<R::Item, RecvError> {
        match token.take(self.addr()) {
            TokenState::Ready => self.finish_recv(),
            _ => Err(RecvError),
        }
    }
}

impl<T> sealed::ExclusiveRecv for spsc::Receiver<T> {
    type Item = T;
    #[inline(always)]
    fn addr(&self) -> u64 {
        spsc::Receiver::addr(self)
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        spsc::Receiver::recv_wait(self)
    }
    #[inline(always)]
    fn check_ready(&self) -> Result<(), TryRecvError> {
        spsc::Receiver::check_ready(self)
    }
    #[inline(always)]
    fn finish_recv(&self) -> Result<T, RecvError> {
        Ok(spsc::Receiver::finish_recv(self))
    }
}

impl<T> sealed::ExclusiveRecv for oneshot::Receiver<T> {
    type Item = T;
    #[inline(always)]
    fn addr(&self) -> u64 {
        oneshot::Receiver::addr(self)
    }
    #[inline(always)]
    fn recv_wait(&self) -> &WaitQueue {
        oneshot::Receiver::recv_wait(self)
    }
    #[inline(always)]
    fn check_ready(&self) -> Result<(), TryRecvError> {
        oneshot::Receiver::check_ready(self)
    }
    #[inline(always)]
    fn finish_recv(&self) -> Result<T, RecvError> {
        oneshot::Receiver::finish_recv(self)
    }
}

// ---- spsc sender -------------------------------------------------------------

impl<T> sealed::Sealed for spsc::Sender<T> {}

impl<T> SelectHandle for spsc::Sender<T> {
    #[inline]
    fn id(&self) -> u64 {
        self.addr()
    }
    #[inline]
    fn try_reserve(&self, token: &mut Token) -> bool {
        token.check_empty();
        match self.check_ready() {
            Ok(()) => token.set(self.addr(), TokenState::Ready),
            Err(TrySendError::Closed(())) => token.set(self.addr(), TokenState::Closed),
            Err(TrySendError::Full(())) => return false,
        }
        true
    }
    #[inline]
    fn is_ready(&self) -> bool {
        !matches!(self.check_ready(), Err(TrySendError::Full(())))
    }
    fn register(&self, cx: &Arc<Waiter>, op: usize) {
        self.send_wait().register(cx, op);
    }
    fn unregister(&self, cx: &Arc<Waiter>) {
        self.send_wait().unregister(cx);
    }
    fn pass_on(&self) {
        self.send_wait().notify_one();
    }
}

impl<T> SendHandle for spsc::Sender<T> {
    type Item = T;
    #[inline]
    fn commit_send(&self, token: &mut Token, value: T) -> Result<(), SendError<T>> {
        match token.take(self.addr()) {
            TokenState::Ready => {
                self.finish_send(value);
                Ok(())
            }
            _ => Err(SendError(value)),
        }
    }
    #[inline]
    fn abandon_send(&self, token: &mut Token) {
        // A ready spsc send claims nothing: there is nothing to give back.
        let _ = token.take(self.addr());
    }
}
