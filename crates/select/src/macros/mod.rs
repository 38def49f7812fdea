//! The `select!` family of macros and the hidden items they expand to.
//!
//! A macro select is parsed into one normal form (`parse.rs`), expanded
//! from it (`expand.rs`) into calls on the arms (`arms.rs`) and on the
//! support items (`support.rs`), and only builds a
//! [`Select`](crate::Select) when no arm is ready at once.

pub(crate) mod arms;
mod expand;
mod parse;
pub(crate) mod support;

/// Waits on several channel operations, completes exactly one, and runs
/// its arm.
///
/// Arms, in any number and order:
/// - `recv(rx) -> res => body`: receive from an mpmc, spsc or oneshot
///   receiver, or a timer ([`after`](crate::after), [`at`](crate::at),
///   [`tick`](crate::tick), [`never`](crate::never)); `res` is the
///   `Result<T, RecvError>` (a timer yields the `Instant` it was due);
/// - `send(tx, value) -> res => body`: send on an mpmc or spsc sender;
///   `value` is evaluated only if this arm wins, and `res` is the
///   `Result<(), SendError<T>>`;
/// - at most one `default => body` (runs when nothing is ready now) or
///   `default(timeout) => body` (runs when nothing became ready within
///   `timeout`; the `timeout` expression is evaluated only when no arm was
///   ready at once).
///
/// The arms may be preceded by `biased;`, as in tokio's `select!`: the
/// select then takes the first ready arm in arm order instead of choosing
/// fairly (see the second example).
///
/// Endpoints are passed as values, `recv(rx)`, and borrowed as their own
/// methods borrow them: shared for mpmc, exclusive for spsc and oneshot
/// (so those need a `mut` binding). An `Option` of an endpoint is an arm
/// that never fires while it is `None`. Result patterns must be
/// irrefutable (`msg`, `_`, a tuple...). Arms are separated by commas; a
/// block body may omit its comma. As in crossbeam-channel's `select!`, a
/// trailing comma inside an arm's parentheses (`recv(rx,)`,
/// `send(tx, v,)`) is accepted, and `default() => body` is a plain
/// `default`.
///
/// When several operations are ready, each is chosen with equal
/// probability; with `biased;` the first in arm order wins. A closed channel counts as ready: its arm gets
/// the error. Without a `default` arm the thread blocks (after a short
/// spin) until an operation is ready.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_channel::{mpmc, spsc};
/// use nimsync_select::{after, select};
///
/// let (tx, rx) = mpmc::channel::<u32>(4);
/// let (mut out_tx, mut out_rx) = spsc::channel::<String>(4);
/// tx.send(7).unwrap();
///
/// let got = select! {
///     recv(rx) -> msg => msg.unwrap(),
///     send(out_tx, String::from("never evaluated unless chosen")) -> res => {
///         res.unwrap();
///         0
///     }
///     recv(after(Duration::from_secs(1))) -> _ => panic!("timed out"),
/// };
/// // Either the receive or the send won; exactly one happened.
/// assert!(got == 7 || out_rx.try_recv().is_ok());
/// ```
///
/// With `biased;`, an arm that is ready wins over every arm after it, so
/// urgent messages are always taken first:
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::select;
///
/// let (urgent_tx, urgent) = mpmc::channel::<&str>(4);
/// let (normal_tx, normal) = mpmc::channel::<&str>(4);
/// normal_tx.send("routine").unwrap();
/// urgent_tx.send("alarm").unwrap();
/// let first = select! {
///     biased;
///     recv(urgent) -> msg => msg.unwrap(),
///     recv(normal) -> msg => msg.unwrap(),
/// };
/// assert_eq!(first, "alarm");
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($arms:tt)*) => {
        $crate::__select_parse!(@parse (blocking true) [] [] $($arms)*)
    };
    ($($arms:tt)*) => {
        $crate::__select_parse!(@parse (blocking false) [] [] $($arms)*)
    };
}

/// [`select!`](macro@crate::select) that takes ready operations in arm order:
/// the first ready arm wins. The same as `select! { biased; ... }`, which
/// it expands to.
///
/// # Examples
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::select_biased;
///
/// let (hi_tx, hi) = mpmc::channel::<&str>(4);
/// let (lo_tx, lo) = mpmc::channel::<&str>(4);
/// hi_tx.send("urgent").unwrap();
/// lo_tx.send("later").unwrap();
/// let first = select_biased! {
///     recv(hi) -> msg => msg.unwrap(),
///     recv(lo) -> msg => msg.unwrap(),
/// };
/// assert_eq!(first, "urgent");
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($arms:tt)*) => {
        $crate::select!(biased; $($arms)*)
    };
}

/// [`select!`](macro@crate::select) for `async` code, under any executor: it
/// awaits instead of blocking.
///
/// The same arms, with the same guarantees: exactly one operation
/// completes. A send arm's value is evaluated only after its arm won, so
/// it is never held across an `.await`. Dropping the future while it waits
/// (a losing branch of an outer `select`, a timeout, a cancelled task)
/// takes no message, loses no wake-up and drops nothing that was not yet
/// sent. A value expression may itself `.await`; if the future is dropped
/// there, the won reservation is given up and nothing is sent.
/// `default(timeout)` waits at most `timeout`, through a `nimsync-time`
/// sleep. `biased;` before the arms takes the first ready arm in arm
/// order, as in [`select!`](macro@crate::select).
///
/// A task whose selects keep finding a ready arm never has to wait, so it
/// would hold its worker thread for as long as its loop runs. So
/// `select_async!` has a cooperative budget, kept per thread: every 128th
/// async select since the last one that returned `Pending` first yields
/// to the executor once (wakes its task and returns `Pending`) before it
/// reads its arms; nothing is reserved at that point, so dropping the
/// future there loses nothing. A select with a plain `default` arm never
/// yields and spends nothing; one with `default(timeout)` does.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_channel::mpmc;
/// use nimsync_select::select_async;
///
/// let (tx, rx) = mpmc::channel::<u32>(4);
/// let (_tx2, rx2) = mpmc::channel::<u32>(4);
/// std::thread::spawn(move || tx.send(5).unwrap());
/// let got = futures_lite::future::block_on(async {
///     select_async! {
///         recv(rx) -> msg => msg.ok(),
///         recv(rx2) -> msg => msg.ok(),
///         default(Duration::from_secs(5)) => None,
///     }
/// });
/// assert_eq!(got, Some(5));
/// ```
///
/// Biased, the first ready arm wins:
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::select_async;
///
/// let (a_tx, a) = mpmc::channel::<u8>(1);
/// let (b_tx, b) = mpmc::channel::<u8>(1);
/// b_tx.send(2).unwrap();
/// a_tx.send(1).unwrap();
/// let first = futures_lite::future::block_on(async {
///     select_async! {
///         biased;
///         recv(a) -> msg => msg.unwrap(),
///         recv(b) -> msg => msg.unwrap(),
///     }
/// });
/// assert_eq!(first, 1);
/// ```
#[macro_export]
macro_rules! select_async {
    (biased; $($arms:tt)*) => {
        $crate::__select_parse!(@parse (async true) [] [] $($arms)*)
    };
    ($($arms:tt)*) => {
        $crate::__select_parse!(@parse (async false) [] [] $($arms)*)
    };
}

/// [`select_async!`](crate::select_async) that takes ready operations in
/// arm order. The same as `select_async! { biased; ... }`, which it
/// expands to.
///
/// # Examples
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::select_biased_async;
///
/// let (a_tx, a) = mpmc::channel::<u8>(1);
/// let (b_tx, b) = mpmc::channel::<u8>(1);
/// a_tx.send(1).unwrap();
/// b_tx.send(2).unwrap();
/// let first = futures_lite::future::block_on(async {
///     select_biased_async! {
///         recv(a) -> msg => msg.unwrap(),
///         recv(b) -> msg => msg.unwrap(),
///     }
/// });
/// assert_eq!(first, 1);
/// ```
#[macro_export]
macro_rules! select_biased_async {
    ($($arms:tt)*) => {
        $crate::select_async!(biased; $($arms)*)
    };
}
