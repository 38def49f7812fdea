//! What the `select!` macros expand to. Not part of the semver contract.
//!
//! An arm's endpoint expression `e` becomes `e.__nimsync_select_arm()`.
//! Method lookup borrows it the way its own methods do: by `&` for mpmc
//! endpoints and `after` and `tick` timers ([`ArmByRef`]), by `&mut` for
//! spsc and oneshot endpoints ([`ArmByMut`]), by value for `never` and
//! `Option`s ([`ArmByVal`]). A temporary (`recv(after(d))`) lives until
//! the select is over. The result implements [`RecvArm`] or [`SendArm`].

//!
//! A macro select first tries its arms directly: it checks every arm with
//! `ready_now`, picks one of the ready ones and reserves it with
//! `reserve_now`, all monomorphic calls on the endpoints, with no `Select`
//! built. Only when no arm is ready (or
//! its `default` arm has to be considered) does it build a [`Select`].
//! Either way the winner is completed through [`Won`].

use std::time::Instant;

use nimsync_channel::__select::{RecvHandle, SelectHandle, SendHandle, Token};
use nimsync_channel::{RecvError, SendError, mpmc, oneshot, spsc};

use crate::select::Select;
use crate::selected::SelectedOperation;
use crate::timer::{After, Never, Tick};

/// What a direct attempt at an arm reserved: a channel's reservation, or
/// when a timer was due.
#[derive(Debug, Default)]
pub struct Attempt {
    /// A channel operation's reservation.
    token: Token,
    /// When a timer operation was due.
    fired: Option<Instant>,
}

impl Attempt {
    /// Nothing reserved yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// When the reserved timer was due.
    fn fired(&self) -> Instant {
        self.fired
            .expect("a directly reserved timer records when it was due")
    }
}

/// How a macro select's winner was reserved. Holds only references, so
/// moving it through the select's dispatch copies two words.
///
/// It holds references, not the `Attempt` or the `SelectedOperation`
/// itself, because moving those by value went through memory as stores
/// and loads of different widths, which the processor cannot forward
/// (docs/perf-notes.md#select-codegen-inlined-direct-path-the-winner-by-reference-one-word-claims).
#[derive(Debug)]
pub enum Won<'w> {
    /// By the direct attempt.
    Now(&'w mut Attempt),
    /// By a `Select`: the operation, until it is taken to be completed.
    Selected(&'w mut Option<SelectedOperation>),
}

/// Takes a `Select`'s winner out to complete it.
fn take_selected(op: &mut Option<SelectedOperation>) -> SelectedOperation {
    op.take()
        .expect("a select's winning operation is completed once")
}

/// A direct attempt at a timer: `due` is when it was due, if it is.
fn reserve_timer(attempt: &mut Attempt, due: Option<Instant>) -> bool {
    attempt.fired = due;
    due.is_some()
}

/// Endpoints an arm borrows shared.
pub trait ArmByRef {
    /// The arm's operand.
    fn __nimsync_select_arm(&self) -> &Self {
        self
    }
}

/// Endpoints an arm borrows exclusively.
pub trait ArmByMut {
    /// The arm's operand.
    fn __nimsync_select_arm(&mut self) -> &mut Self {
        self
    }
}

/// Operands an arm takes by value.
pub trait ArmByVal: Sized {
    /// The arm's operand.
    fn __nimsync_select_arm(self) -> Self {
        self
    }
}

impl<T> ArmByRef for mpmc::Receiver<T> {}
impl<T> ArmByRef for mpmc::Sender<T> {}
impl ArmByRef for Tick {}
impl ArmByRef for After {}
impl<T> ArmByMut for spsc::Receiver<T> {}
impl<T> ArmByMut for spsc::Sender<T> {}
impl<T> ArmByMut for oneshot::Receiver<T> {}
impl<T> ArmByVal for Never<T> {}
impl<T> ArmByVal for Option<T> {}

/// An operand of a `recv` arm.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be received from in a select",
    label = "not a receiver or a timer",
    note = "a `recv` arm takes an mpmc, spsc or oneshot receiver, a timer from `after`, `at`, \
            `tick` or `never`, or an `Option` of one of these"
)]
pub trait RecvArm {
    /// What the receive yields.
    type Item;
    /// Adds the operation to `select`; returns its index.
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize;
    /// True if the operation looks ready now (plain loads; a reservation
    /// confirms it).
    fn ready_now(&self) -> bool;
    /// Tries the operation directly, once `ready_now` said it is ready;
    /// true if it is reserved in `attempt`.
    fn reserve_now(&self, attempt: &mut Attempt) -> bool;
    /// Completes the winning operation.
    fn complete(&self, won: Won<'_>) -> Result<Self::Item, RecvError>;
}

/// An operand of a `send` arm.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent on in a select",
    label = "not a sender",
    note = "a `send` arm takes an mpmc or spsc sender, or an `Option` of one"
)]
pub trait SendArm {
    /// The message type.
    type Item;
    /// Adds the operation to `select`; returns its index.
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize;
    /// True if the operation looks ready now (plain loads; a reservation
    /// confirms it).
    fn ready_now(&self) -> bool;
    /// Tries the operation directly, once `ready_now` said it is ready;
    /// true if it is reserved in `attempt`.
    fn reserve_now(&self, attempt: &mut Attempt) -> bool;
    /// Completes the winning operation with `value`.
    fn complete(&self, won: Won<'_>, value: Self::Item) -> Result<(), SendError<Self::Item>>;
    /// Gives the winning operation up without sending.
    fn abandon(&self, won: Won<'_>);
}

/// Holds a send arm's reservation while the arm's value expression runs.
/// If that expression panics, returns early (`?`, `return`, `break`,
/// `continue`) or is cancelled at an `.await`, the guard is dropped with
/// the reservation and gives it up, so the channel does not stall on a
/// claimed slot that is never written.
#[derive(Debug)]
pub struct SendGuard<'a, A: SendArm> {
    /// The arm's operand.
    arm: &'a A,
    /// The reservation, until completed.
    won: Option<Won<'a>>,
}

impl<'a, A: SendArm> SendGuard<'a, A> {
    /// Guards `won`, a reservation of `arm`.
    pub fn new(arm: &'a A, won: Won<'a>) -> Self {
        Self {
            arm,
            won: Some(won),
        }
    }

    /// Completes the reservation with `value`.
    #[inline]
    pub fn complete(mut self, value: A::Item) -> Result<(), SendError<A::Item>> {
        let won = self.won.take().expect("a guard completes once");
        self.arm.complete(won, value)
    }
}

impl<A: SendArm> Drop for SendGuard<'_, A> {
    fn drop(&mut self) {
        if let Some(won) = self.won.take() {
            self.arm.abandon(won);
        }
    }
}

/// The calls a channel endpoint's arm shares between receives and sends:
/// adding it to a `Select`, and the direct check and reservation through
/// its select handle.
macro_rules! channel_arm {
    () => {
        fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
            select.push_chan(&**self)
        }
        #[inline]
        fn ready_now(&self) -> bool {
            SelectHandle::is_ready(&**self)
        }
        #[inline]
        fn reserve_now(&self, attempt: &mut Attempt) -> bool {
            SelectHandle::try_reserve(&**self, &mut attempt.token)
        }
    };
}

/// Completes a receive that a `Select` reserved: the path after a wait,
/// kept out of line so the direct path inlines into the select's loop.
///
/// It stays out of line because, inlined into `complete`, it made
/// `complete` and the channel's commit too large to inline into the
/// select (docs/perf-notes.md#select-codegen-inlined-direct-path-the-winner-by-reference-one-word-claims).
#[inline(never)]
fn recv_selected<R: crate::RecvEndpoint>(
    op: SelectedOperation,
    rx: &R,
) -> Result<R::Item, RecvError> {
    op.recv(rx)
}

/// Completes a send that a `Select` reserved (see [`recv_selected`]).
#[inline(never)]
fn send_selected<S: crate::SendEndpoint>(
    op: SelectedOperation,
    tx: &S,
    value: S::Item,
) -> Result<(), SendError<S::Item>> {
    op.send(tx, value)
}

/// Channel receivers, held as `&` or `&mut`.
macro_rules! recv_arm {
    ($($ty:ty),*) => {$(
        impl<T: Send> RecvArm for $ty {
            type Item = T;
            channel_arm!();
            #[inline]
            fn complete(&self, won: Won<'_>) -> Result<T, RecvError> {
                match won {
                    Won::Now(attempt) => self.commit_recv(&mut attempt.token),
                    Won::Selected(op) => recv_selected(take_selected(op), &**self),
                }
            }
        }
    )*};
}
recv_arm!(
    &mpmc::Receiver<T>,
    &mut spsc::Receiver<T>,
    &mut oneshot::Receiver<T>
);

/// Channel senders, held as `&` or `&mut`.
macro_rules! send_arm {
    ($($ty:ty),*) => {$(
        impl<T: Send> SendArm for $ty {
            type Item = T;
            channel_arm!();
            #[inline]
            fn complete(&self, won: Won<'_>, value: T) -> Result<(), SendError<T>> {
                match won {
                    Won::Now(attempt) => self.commit_send(&mut attempt.token, value),
                    Won::Selected(op) => send_selected(take_selected(op), &**self, value),
                }
            }
            fn abandon(&self, won: Won<'_>) {
                match won {
                    Won::Now(attempt) => self.abandon_send(&mut attempt.token),
                    Won::Selected(op) => take_selected(op).abandon_send(&**self),
                }
            }
        }
    )*};
}
send_arm!(&mpmc::Sender<T>, &mut spsc::Sender<T>);

/// An `after` or `at` timer, borrowed (`recv(timer)`) or owned by an
/// `Option` arm (`recv(Some(after(d)))`).
impl RecvArm for After {
    type Item = Instant;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(self)
    }
    fn ready_now(&self) -> bool {
        self.is_due(Instant::now())
    }
    fn reserve_now(&self, attempt: &mut Attempt) -> bool {
        reserve_timer(attempt, self.take(Instant::now()))
    }
    fn complete(&self, won: Won<'_>) -> Result<Self::Item, RecvError> {
        match won {
            Won::Now(attempt) => Ok(attempt.fired()),
            Won::Selected(op) => take_selected(op).recv(self),
        }
    }
}

impl RecvArm for &After {
    type Item = Instant;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        (**self).add(select)
    }
    fn ready_now(&self) -> bool {
        (**self).ready_now()
    }
    fn reserve_now(&self, attempt: &mut Attempt) -> bool {
        (**self).reserve_now(attempt)
    }
    fn complete(&self, won: Won<'_>) -> Result<Self::Item, RecvError> {
        (**self).complete(won)
    }
}

impl RecvArm for &Tick {
    type Item = Instant;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(&**self)
    }
    fn ready_now(&self) -> bool {
        self.is_due(Instant::now())
    }
    fn reserve_now(&self, attempt: &mut Attempt) -> bool {
        reserve_timer(attempt, self.take(Instant::now()))
    }
    fn complete(&self, won: Won<'_>) -> Result<Self::Item, RecvError> {
        match won {
            Won::Now(attempt) => Ok(attempt.fired()),
            Won::Selected(op) => take_selected(op).recv(&**self),
        }
    }
}

impl<T> RecvArm for Never<T> {
    type Item = T;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(*self)
    }
    fn ready_now(&self) -> bool {
        false
    }
    fn reserve_now(&self, _attempt: &mut Attempt) -> bool {
        false
    }
    fn complete(&self, won: Won<'_>) -> Result<T, RecvError> {
        match won {
            Won::Now(_) => unreachable!("a `never` arm is never reserved"),
            Won::Selected(op) => take_selected(op).recv(self),
        }
    }
}

/// The calls an `Option` arm shares between receives and sends: `None`
/// is an arm that is never ready.
macro_rules! option_arm {
    () => {
        fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
            match self {
                Some(arm) => arm.add(select),
                None => select.recv(crate::never::<A::Item>()),
            }
        }
        #[inline]
        fn ready_now(&self) -> bool {
            self.as_ref().is_some_and(|arm| arm.ready_now())
        }
        #[inline]
        fn reserve_now(&self, attempt: &mut Attempt) -> bool {
            self.as_ref().is_some_and(|arm| arm.reserve_now(attempt))
        }
    };
}

impl<A: RecvArm> RecvArm for Option<A> {
    type Item = A::Item;
    option_arm!();
    fn complete(&self, won: Won<'_>) -> Result<A::Item, RecvError> {
        match self {
            Some(arm) => arm.complete(won),
            None => crate::never::<A::Item>().complete(won),
        }
    }
}

impl<A: SendArm> SendArm for Option<A> {
    type Item = A::Item;
    option_arm!();
    fn complete(&self, won: Won<'_>, value: A::Item) -> Result<(), SendError<A::Item>> {
        match self {
            Some(arm) => arm.complete(won, value),
            None => {
                // Never selected: completing it panics with the reason.
                let _ = crate::never::<A::Item>().complete(won);
                Err(SendError(value))
            }
        }
    }
    fn abandon(&self, won: Won<'_>) {
        match self {
            Some(arm) => arm.abandon(won),
            None => {
                let _ = crate::never::<A::Item>().complete(won);
            }
        }
    }
}
