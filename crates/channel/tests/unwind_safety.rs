//! Every public type of the channel crate is `UnwindSafe` and
//! `RefUnwindSafe`, as crossbeam-channel's and tokio's endpoints are: a
//! panic caught with `catch_unwind` never leaves a channel in a state its
//! other users could observe as broken (values are handed back, dropped
//! once, or still buffered; reservations are given up). Checked at compile
//! time, for a payload that is neither itself (`&mut` and `Cell` are not).

use std::panic::{RefUnwindSafe, UnwindSafe};

use nimsync_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
    oneshot, spsc,
};

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

/// Neither `UnwindSafe` nor `RefUnwindSafe`.
type Payload = std::cell::Cell<u32>;

#[test]
fn spsc_types_are_unwind_safe() {
    unwind_safe::<spsc::Sender<Payload>>();
    unwind_safe::<spsc::Receiver<Payload>>();
    unwind_safe::<spsc::RecvFuture<'static, Payload>>();
    unwind_safe::<spsc::ReserveFuture<'static, Payload>>();
    unwind_safe::<spsc::Permit<'static, Payload>>();
    unwind_safe::<spsc::ClosedFuture<'static, Payload>>();
    unwind_safe::<spsc::Iter<'static, Payload>>();
    unwind_safe::<spsc::TryIter<'static, Payload>>();
    unwind_safe::<spsc::IntoIter<Payload>>();
    unwind_safe::<spsc::RecvStream<Payload>>();
    unwind_safe::<spsc::Drain<'static, Payload>>();
    // A send future holds its value, so it is unwind safe when the value is.
    unwind_safe::<spsc::SendFuture<'static, u32>>();
}

#[test]
fn mpmc_types_are_unwind_safe() {
    unwind_safe::<mpmc::Sender<Payload>>();
    unwind_safe::<mpmc::Receiver<Payload>>();
    unwind_safe::<mpmc::RecvFuture<'static, Payload>>();
    unwind_safe::<mpmc::ReserveFuture<'static, Payload>>();
    unwind_safe::<mpmc::Permit<'static, Payload>>();
    unwind_safe::<mpmc::ClosedFuture<'static, Payload>>();
    unwind_safe::<mpmc::Iter<'static, Payload>>();
    unwind_safe::<mpmc::TryIter<'static, Payload>>();
    unwind_safe::<mpmc::IntoIter<Payload>>();
    unwind_safe::<mpmc::RecvStream<Payload>>();
    unwind_safe::<mpmc::SendFuture<'static, u32>>();
    unwind_safe::<mpmc::PermitIterator<'static, Payload>>();
    unwind_safe::<mpmc::ReserveManyFuture<'static, Payload>>();
    unwind_safe::<mpmc::OwnedPermit<Payload>>();
    unwind_safe::<mpmc::ReserveOwnedFuture<Payload>>();
    unwind_safe::<mpmc::WeakSender<Payload>>();
    unwind_safe::<mpmc::WeakReceiver<Payload>>();
}

#[test]
fn oneshot_types_are_unwind_safe() {
    unwind_safe::<oneshot::Sender<Payload>>();
    unwind_safe::<oneshot::Receiver<Payload>>();
    unwind_safe::<oneshot::ClosedFuture<'static, Payload>>();
}

#[test]
fn error_types_are_unwind_safe_when_their_payload_is() {
    unwind_safe::<TrySendError<u32>>();
    unwind_safe::<SendError<u32>>();
    unwind_safe::<SendTimeoutError<u32>>();
    unwind_safe::<TryRecvError>();
    unwind_safe::<RecvError>();
    unwind_safe::<RecvTimeoutError>();
}
