//! Operands: the operations a [`Select`] holds (channel handles and
//! timers), and the traits through which endpoints are added to it.
//!
//! A channel operation is held as the channel's select handle (`&dyn
//! SelectHandle`, see `nimsync_channel::__select`) with the channel's
//! identity; a timer by reference (its state is shared with the timer's own
//! receive). Reserving an operation
//! yields the [`SelectedOperation`] that completes it.

use std::time::Instant;

use nimsync_channel::__select::{SelectHandle, Token, WaiterRef};
use nimsync_channel::{mpmc, oneshot, spsc};

#[cfg(all(test, loom))]
use crate::probes;
use crate::select::Select;
use crate::selected::{Endpoint, SelectedOperation};
use crate::timer::{After, Never, Tick};

/// One operation of a select.
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    /// A channel operation, with its channel's identity to check the
    /// endpoint passed at completion.
    Chan(&'a dyn SelectHandle, u64),
    /// A timer, ready from its deadline until its message is taken.
    After(&'a After),
    /// A ticker.
    Tick(&'a Tick),
    /// Never ready.
    Never,
    /// Taken out by [`Select::remove`](crate::Select::remove): never
    /// ready, and its index is not reused.
    Removed,
}

impl Op<'_> {
    /// When a timer operation becomes ready.
    pub(crate) fn deadline(self) -> Option<Instant> {
        match self {
            Op::After(after) => after.pending_deadline(),
            Op::Tick(tick) => Some(tick.next_deadline()),
            Op::Chan(..) | Op::Never | Op::Removed => None,
        }
    }

    /// True if reserving would succeed now. `now` is read once per pass.
    pub(crate) fn is_ready(self, now: &mut Option<Instant>) -> bool {
        match self {
            Op::Chan(handle, _) => handle.is_ready(),
            Op::After(after) => after.is_due(*now.get_or_insert_with(Instant::now)),
            Op::Tick(tick) => tick.is_due(*now.get_or_insert_with(Instant::now)),
            Op::Never | Op::Removed => false,
        }
    }

    /// Reserves the operation if it is ready.
    pub(crate) fn try_reserve(
        self,
        index: usize,
        now: &mut Option<Instant>,
    ) -> Option<SelectedOperation> {
        let selected = |token, endpoint, fired| SelectedOperation {
            index,
            token,
            endpoint,
            fired,
            keeper: None,
            completed: false,
        };
        match self {
            Op::Chan(handle, id) => {
                // The handle fills the token in place: moved in from a
                // local, its fields were read back with wider loads than
                // they were stored with, which the processor cannot
                // forward
                // (docs/perf-notes.md#select-codegen-inlined-direct-path-the-winner-by-reference-one-word-claims).
                let mut op = selected(Token::new(), Endpoint::Chan(id), None);
                if handle.try_reserve(&mut op.token) {
                    if op.token.holds_claim() {
                        // The operation may be dropped without its endpoint:
                        // it keeps the channel's state to give the claim up.
                        op.keeper = handle.keeper();
                    }
                    Some(op)
                } else {
                    // Nothing reserved: nothing to complete.
                    op.completed = true;
                    None
                }
            }
            Op::After(after) => after
                .take(*now.get_or_insert_with(Instant::now))
                .map(|due| selected(Token::new(), Endpoint::After(addr_of(after)), Some(due))),
            Op::Tick(tick) => tick
                .take(*now.get_or_insert_with(Instant::now))
                .map(|due| selected(Token::new(), Endpoint::Tick(addr_of(tick)), Some(due))),
            Op::Never | Op::Removed => None,
        }
    }

    /// Registers `cx` for a channel operation (timers need no
    /// registration: the wait's deadline covers them).
    pub(crate) fn register(self, cx: &WaiterRef, index: usize) {
        if let Op::Chan(handle, _) = self {
            handle.register(cx, index);
        }
    }

    /// Undoes [`register`](Op::register).
    pub(crate) fn unregister(self, cx: &WaiterRef) {
        if let Op::Chan(handle, _) = self {
            handle.unregister(cx);
        }
    }

    /// Hands a wake-up this operation gave the select to another waiter.
    pub(crate) fn pass_on(self) {
        if let Op::Chan(handle, _) = self {
            #[cfg(all(test, loom))]
            probes::hit(&probes::PASSED_ON);
            handle.pass_on();
        }
    }
}

/// Endpoints a [`Select`] can receive from: `&mpmc::Receiver`, `&mut
/// spsc::Receiver`, `&mut oneshot::Receiver` (each as its own `recv`
/// methods take it), the timers `&After`, `&Tick` and [`Never`], and an
/// `Option` of any of these (`None` is never ready).
///
/// Channels must carry `T: Send`, so that a [`Select`] can move to another
/// thread with the task that owns it.
///
/// # Examples
/// ```
/// use nimsync_select::{RecvOperand, Select, after};
///
/// fn watch<'a>(sel: &mut Select<'a>, operand: impl RecvOperand<'a>) -> usize {
///     sel.recv(operand)
/// }
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// assert_eq!(watch(&mut sel, &rx), 0);
/// let timer = after(std::time::Duration::from_secs(1));
/// assert_eq!(watch(&mut sel, &timer), 1);
/// ```
pub trait RecvOperand<'a>: sealed::Sealed {
    /// Adds the operation; returns its index.
    #[doc(hidden)]
    fn add_to(self, select: &mut Select<'a>) -> usize;
}

/// Endpoints a [`Select`] can send on: `&mpmc::Sender`, `&mut
/// spsc::Sender`, and an `Option` of either (`None` is never ready).
///
/// # Examples
/// ```
/// use nimsync_select::{Select, SendOperand};
///
/// fn offer<'a>(sel: &mut Select<'a>, operand: impl SendOperand<'a>) -> usize {
///     sel.send(operand)
/// }
/// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// assert_eq!(offer(&mut sel, Some(&tx)), 0);
/// ```
pub trait SendOperand<'a>: sealed::Sealed {
    /// Adds the operation; returns its index.
    #[doc(hidden)]
    fn add_to(self, select: &mut Select<'a>) -> usize;
}

/// Seals the operand and endpoint traits: only this crate implements them.
pub(crate) mod sealed {
    pub trait Sealed {}
}

/// The address of an endpoint, as a number.
pub(crate) fn addr_of<T>(endpoint: &T) -> usize {
    core::ptr::from_ref(endpoint) as usize
}

/// Operands and completion for channel endpoints.
macro_rules! channel_endpoint {
    ($operand:ident, $ty:ident :: $end:ident, $($by:tt)+) => {
        impl<T> sealed::Sealed for $ty::$end<T> {}
        impl<'a, T: Send + 'a> sealed::Sealed for $($by)+ $ty::$end<T> {}
        impl<'a, T: Send + 'a> $operand<'a> for $($by)+ $ty::$end<T> {
            fn add_to(self, select: &mut Select<'a>) -> usize {
                select.push_chan(&*self)
            }
        }
    };
}
channel_endpoint!(RecvOperand, mpmc::Receiver, &'a);
channel_endpoint!(RecvOperand, spsc::Receiver, &'a mut);
channel_endpoint!(RecvOperand, oneshot::Receiver, &'a mut);
channel_endpoint!(SendOperand, mpmc::Sender, &'a);
channel_endpoint!(SendOperand, spsc::Sender, &'a mut);

impl sealed::Sealed for After {}
impl sealed::Sealed for &After {}
impl<'a> RecvOperand<'a> for &'a After {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::After(self))
    }
}

impl sealed::Sealed for Tick {}
impl sealed::Sealed for &Tick {}
impl<'a> RecvOperand<'a> for &'a Tick {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::Tick(self))
    }
}

impl<T> sealed::Sealed for Never<T> {}
impl<'a, T> RecvOperand<'a> for Never<T> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::Never)
    }
}

impl<O> sealed::Sealed for Option<O> {}
impl<'a, O: RecvOperand<'a>> RecvOperand<'a> for Option<O> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        match self {
            Some(operand) => operand.add_to(select),
            None => select.push(Op::Never),
        }
    }
}
impl<'a, O: SendOperand<'a>> SendOperand<'a> for Option<O> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        match self {
            Some(operand) => operand.add_to(select),
            None => select.push(Op::Never),
        }
    }
}
