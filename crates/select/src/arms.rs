//! What the `select!` macros expand to. Not part of the semver contract.
//!
//! An arm's endpoint expression `e` becomes `e.__nimsync_select_arm()`.
//! Method lookup borrows it the way its own methods do: by `&` for mpmc
//! endpoints and tickers ([`ArmByRef`]), by `&mut` for spsc and oneshot
//! endpoints ([`ArmByMut`]), by value for `Copy` timers and `Option`s
//! ([`ArmByVal`]). The result implements [`RecvArm`] or [`SendArm`].

use nimsync_channel::{RecvError, SendError, mpmc, oneshot, spsc};

use crate::select::{Select, SelectedOperation};
use crate::timer::{After, Never, Tick};

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
impl<T> ArmByMut for spsc::Receiver<T> {}
impl<T> ArmByMut for spsc::Sender<T> {}
impl<T> ArmByMut for oneshot::Receiver<T> {}
impl ArmByVal for After {}
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
    /// Completes the selected operation.
    fn complete(&self, op: SelectedOperation) -> Result<Self::Item, RecvError>;
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
    /// Completes the selected operation with `value`.
    fn complete(
        &self,
        op: SelectedOperation,
        value: Self::Item,
    ) -> Result<(), SendError<Self::Item>>;
}

/// Channel receivers, held as `&` or `&mut`.
macro_rules! recv_arm {
    ($($ty:ty),*) => {$(
        impl<T: Send> RecvArm for $ty {
            type Item = T;
            fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
                select.push_chan(&**self)
            }
            fn complete(&self, op: SelectedOperation) -> Result<T, RecvError> {
                op.recv(&**self)
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
            fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
                select.push_chan(&**self)
            }
            fn complete(&self, op: SelectedOperation, value: T) -> Result<(), SendError<T>> {
                op.send(&**self, value)
            }
        }
    )*};
}
send_arm!(&mpmc::Sender<T>, &mut spsc::Sender<T>);

impl RecvArm for After {
    type Item = std::time::Instant;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(*self)
    }
    fn complete(&self, op: SelectedOperation) -> Result<Self::Item, RecvError> {
        op.recv(self)
    }
}

impl RecvArm for &Tick {
    type Item = std::time::Instant;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(&**self)
    }
    fn complete(&self, op: SelectedOperation) -> Result<Self::Item, RecvError> {
        op.recv(&**self)
    }
}

impl<T> RecvArm for Never<T> {
    type Item = T;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(*self)
    }
    fn complete(&self, op: SelectedOperation) -> Result<T, RecvError> {
        op.recv(self)
    }
}

impl<A: RecvArm> RecvArm for Option<A> {
    type Item = A::Item;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        match self {
            Some(arm) => arm.add(select),
            None => select.recv(crate::never::<A::Item>()),
        }
    }
    fn complete(&self, op: SelectedOperation) -> Result<A::Item, RecvError> {
        match self {
            Some(arm) => arm.complete(op),
            None => op.recv(&crate::never::<A::Item>()),
        }
    }
}

impl<A: SendArm> SendArm for Option<A> {
    type Item = A::Item;
    fn add<'a>(&'a self, select: &mut Select<'a>) -> usize {
        match self {
            Some(arm) => arm.add(select),
            None => select.recv(crate::never::<A::Item>()),
        }
    }
    fn complete(&self, op: SelectedOperation, value: A::Item) -> Result<(), SendError<A::Item>> {
        match self {
            Some(arm) => arm.complete(op, value),
            None => {
                // Never selected: completing it panics with the reason.
                let _ = op.recv(&crate::never::<A::Item>());
                Err(SendError(value))
            }
        }
    }
}
