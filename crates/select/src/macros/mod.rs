//! The `select!` family of macros and the hidden items they expand to.

pub(crate) mod arms;
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
/// probability; [`select_biased!`](crate::select_biased) takes the first
/// in arm order instead. A closed channel counts as ready: its arm gets
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
#[macro_export]
macro_rules! select {
    ($($arms:tt)*) => {
        $crate::__select_parse!(@parse (blocking false) [] [] $($arms)*)
    };
}

/// [`select!`](crate::select) that takes ready operations in arm order:
/// the first ready arm wins.
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
        $crate::__select_parse!(@parse (blocking true) [] [] $($arms)*)
    };
}

/// [`select!`](crate::select) for `async` code, under any executor: it
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
/// sleep.
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
#[macro_export]
macro_rules! select_async {
    ($($arms:tt)*) => {
        $crate::__select_parse!(@parse (async false) [] [] $($arms)*)
    };
}

/// [`select_async!`](crate::select_async) that takes ready operations in
/// arm order.
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
        $crate::__select_parse!(@parse (async true) [] [] $($arms)*)
    };
}

/// Parses select arms one at a time into `(kind op index (endpoint)
/// (pattern) (body) (value))` groups. Each step's `__op` and `__index`
/// identifiers are distinct bindings: every expansion gets its own
/// hygiene context.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Done.
    (@parse $mode:tt $arms:tt $default:tt) => {
        $crate::__select_gen!($mode $arms $default)
    };

    // recv(endpoint) -> pattern => body
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        recv($ep:expr $(,)?) -> $res:pat => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (recv __op __index ($ep) ($res) ($body) ())] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        recv($ep:expr $(,)?) -> $res:pat => $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (recv __op __index ($ep) ($res) ($body) ())] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        recv($ep:expr $(,)?) -> $res:pat => $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (recv __op __index ($ep) ($res) ($body) ())] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        recv($ep:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (recv __op __index ($ep) ($res) ($body) ())] $default)
    };

    // send(endpoint, value) -> pattern => body
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        send($ep:expr, $val:expr $(,)?) -> $res:pat => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (send __op __index ($ep) ($res) ($body) ($val))] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        send($ep:expr, $val:expr $(,)?) -> $res:pat => $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (send __op __index ($ep) ($res) ($body) ($val))] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        send($ep:expr, $val:expr $(,)?) -> $res:pat => $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (send __op __index ($ep) ($res) ($body) ($val))] $default $($tail)*)
    };
    (@parse $mode:tt [$($arms:tt)*] $default:tt
        send($ep:expr, $val:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!(@parse $mode
            [$($arms)* (send __op __index ($ep) ($res) ($body) ($val))] $default)
    };

    // A second default.
    (@parse $mode:tt $arms:tt [$($default:tt)+] default $($tail:tt)*) => {
        ::core::compile_error!("a select has at most one `default` arm")
    };

    // default => body
    (@parse $mode:tt $arms:tt [] default => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default => $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default => $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default => $body:expr) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)])
    };

    // default() => body (an empty timeout: the same as a plain default)
    (@parse $mode:tt $arms:tt [] default() => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default() => $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default() => $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default() => $body:expr) => {
        $crate::__select_parse!(@parse $mode $arms [(none) ($body)])
    };

    // default(timeout) => body
    (@parse $mode:tt $arms:tt [] default($timeout:expr $(,)?) => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(some $timeout) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default($timeout:expr $(,)?) => $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(some $timeout) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default($timeout:expr $(,)?) => $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [(some $timeout) ($body)] $($tail)*)
    };
    (@parse $mode:tt $arms:tt [] default($timeout:expr $(,)?) => $body:expr) => {
        $crate::__select_parse!(@parse $mode $arms [(some $timeout) ($body)])
    };

    // Misuse, with advice.
    (@parse $mode:tt $arms:tt $default:tt recv($($ep:tt)*) => $($tail:tt)*) => {
        ::core::compile_error!(
            "a `recv` arm names a pattern for its result: `recv(rx) -> msg => body`"
        )
    };
    (@parse $mode:tt $arms:tt $default:tt send($ep:expr) $($tail:tt)*) => {
        ::core::compile_error!(
            "a `send` arm takes the endpoint and the value: `send(tx, value) -> res => body`"
        )
    };
    (@parse $mode:tt $arms:tt $default:tt send($($ep:tt)*) => $($tail:tt)*) => {
        ::core::compile_error!(
            "a `send` arm names a pattern for its result: `send(tx, value) -> res => body`"
        )
    };
    (@parse $mode:tt $arms:tt $default:tt recv($($ep:tt)*) -> $res:pat) => {
        ::core::compile_error!("this `recv` arm has no `=> body`")
    };
    (@parse $mode:tt $arms:tt $default:tt send($($ep:tt)*) -> $res:pat) => {
        ::core::compile_error!("this `send` arm has no `=> body`")
    };
    (@parse $mode:tt $arms:tt $default:tt $other:ident $($tail:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown select arm `",
            ::core::stringify!($other),
            "`: expected `recv(rx) -> msg => body`, `send(tx, value) -> res => body`, \
             `default => body` or `default(timeout) => body`"
        ))
    };
    (@parse $mode:tt $arms:tt $default:tt $($tail:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "malformed select arm starting at `",
            ::core::stringify!($($tail)*),
            "`: expected `recv(rx) -> msg => body`, `send(tx, value) -> res => body`, \
             `default => body` or `default(timeout) => body`, separated by commas"
        ))
    };
}

/// Generates a parsed select: evaluates the endpoints once, tries the arms
/// directly, and only if none is ready adds them to a `Select` and waits;
/// then completes the winner and runs its arm.
///
/// An async select whose thread's last full check found at least half of
/// the arms ready first tries one uniformly drawn arm (`Ready::probe`,
/// which says why that stays fair). Otherwise the direct attempt checks
/// every arm (plain loads, in arm order), draws
/// one of the ready arms uniformly (the first when biased) and reserves
/// it; if the reservation fails (taken meanwhile), it draws again among
/// the rest. Timers take part like channels. Only when no arm could be
/// reserved does the `Select` run, which draws uniformly again.
///
/// NB: the direct attempts are monomorphic, inlined calls on the
/// endpoints, with no `Select`, no `dyn` call and no `SelectedOperation`
/// built when an arm is ready. Against the same macro without them (8
/// interleaved pairs of runs), `select_async!` over 4 channels fed by 4
/// tasks went from 4.6-5.0 to 8.7-9.4 M selects/s, and `select!` in the
/// single-thread scenario from 9.6-9.7 to 16.4-16.9 M selects/s. Checking
/// every arm first, instead of trying them in a lazily drawn random order
/// (whose jump to a random arm's code was mispredicted on almost every
/// select), took the single-thread scenario from 16.5-17.0 to 30.9-38.7 M
/// selects/s and the fed one from 7.1-15.8 to 10.6-21.6 (5 pairs each).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    ($mode:tt [] []) => {
        ::core::compile_error!(
            "a select needs at least one `recv`, `send` or `default` arm"
        )
    };
    (($wait:ident $biased:tt)
        [$(($kind:ident $op:ident $index:ident ($ep:expr) ($res:pat) ($body:expr) ($($val:expr)?)))*]
        $default:tt) => {{
        #[allow(unused_imports)]
        use $crate::__private::{ArmByMut as _, ArmByRef as _, ArmByVal as _};
        // The endpoints are borrowed (or timers created) once, in arm
        // order; temporaries live until the select is over.
        match ($(($ep).__nimsync_select_arm(),)*) {
            ($($op,)*) => {
                // Each arm's index is its position, in both paths.
                const __NIMSYNC_SELECT_ARMS: usize = {
                    let __arms: &[&str] = &[$(::core::stringify!($index)),*];
                    __arms.len()
                };
                let [$($index,)*] = $crate::__private::identity::<__NIMSYNC_SELECT_ARMS>();
                let mut __attempt = $crate::__private::Attempt::new();
                let mut __ready = $crate::__private::Ready::<__NIMSYNC_SELECT_ARMS>::new();
                let __now: ::core::option::Option<usize> = 'attempts: {
                    $crate::__select_scan!($wait 'attempts __NIMSYNC_SELECT_ARMS $biased
                        __attempt __ready $default [$(($kind $op $index))*]);
                    while let ::core::option::Option::Some(__arm) = __ready.pick($biased) {
                        $(if __arm == $index && $crate::__select_now!(reserve $kind $op __attempt) {
                            break 'attempts ::core::option::Option::Some($index);
                        })*
                    }
                    ::core::option::Option::None
                };
                let mut __selected: ::core::option::Option<$crate::SelectedOperation> =
                    ::core::option::Option::None;
                let __won: ::core::option::Option<(usize, $crate::__private::Won<'_>)> = match __now {
                    ::core::option::Option::Some(__index) => ::core::option::Option::Some(
                        (__index, $crate::__private::Won::Now(&mut __attempt)),
                    ),
                    ::core::option::Option::None => {
                        let mut __select = $crate::Select::__with_bias($biased);
                        $(
                            let __added = $crate::__select_add!($kind $op __select);
                            ::core::debug_assert_eq!(__added, $index);
                        )*
                        __selected = $crate::__select_general!($wait __select $default);
                        ::core::mem::drop(__select);
                        match __selected.as_ref().map($crate::SelectedOperation::index) {
                            ::core::option::Option::Some(__index) => ::core::option::Option::Some(
                                (__index, $crate::__private::Won::Selected(&mut __selected)),
                            ),
                            ::core::option::Option::None => ::core::option::Option::None,
                        }
                    }
                };
                $crate::__select_dispatch!(__won
                    [$(($kind $op $index ($res) ($body) ($($val)?)))*] $default)
            }
        }
    }};
}

/// Finds the ready arms. An async select first spends its cooperative
/// budget (`cooperate`; not with a plain `default` arm, which never
/// waits). Then, while this thread's last full check found at least half
/// of the arms ready (always, for a biased or single-arm select, which try
/// their first arm), it tries one drawn arm and breaks out of `$label`
/// with its index if it reserved it (see `Ready::probe`, which says why
/// that stays fair and why blocking selects do not probe).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_scan {
    (blocking $label:lifetime $arms:ident $biased:tt $attempt:ident $ready:ident
        $default:tt [$(($kind:ident $op:ident $index:ident))*]) => {
        $(if $crate::__select_now!(ready $kind $op) {
            $ready.push($index);
        })*
    };
    (async $label:lifetime $arms:ident $biased:tt $attempt:ident $ready:ident
        $default:tt [$(($kind:ident $op:ident $index:ident))*]) => {
        $crate::__select_cooperate!($default);
        let __probe = $crate::__private::Ready::<$arms>::probe($biased);
        $(if __probe == ::core::option::Option::Some($index)
            && $crate::__select_now!(ready $kind $op)
            && $crate::__select_now!(reserve $kind $op $attempt)
        {
            break $label ::core::option::Option::Some($index);
        })*
        $(if $crate::__select_now!(ready $kind $op) {
            $ready.push($index);
        })*
        $ready.learn($biased, __probe);
    };
}

/// Spends one unit of an async select's cooperative budget, unless the
/// select has a plain `default` arm (it never waits, like `try_select`).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_cooperate {
    ([(none) ($default:expr)]) => {};
    ($default:tt) => {
        $crate::__private::cooperate().await;
    };
}

/// Checks or reserves one arm's operation directly.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_now {
    (ready recv $op:ident) => {
        $crate::__private::RecvArm::ready_now(&$op)
    };
    (ready send $op:ident) => {
        $crate::__private::SendArm::ready_now(&$op)
    };
    (reserve recv $op:ident $attempt:ident) => {
        $crate::__private::RecvArm::reserve_now(&$op, &mut $attempt)
    };
    (reserve send $op:ident $attempt:ident) => {
        $crate::__private::SendArm::reserve_now(&$op, &mut $attempt)
    };
}

/// Adds one arm's operation to the select.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_add {
    (recv $op:ident $select:ident) => {
        $crate::__private::RecvArm::add(&$op, &mut $select)
    };
    (send $op:ident $select:ident) => {
        $crate::__private::SendArm::add(&$op, &mut $select)
    };
}

/// Waits through the `Select` as the mode and the default arm say; `None`
/// when the default arm is to run.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_general {
    (blocking $select:ident []) => {
        ::core::option::Option::Some($select.select())
    };
    (async $select:ident []) => {
        ::core::option::Option::Some(
            $crate::__private::Waits(::core::pin::pin!($select.select_async())).await,
        )
    };
    ($wait:ident $select:ident [(none) ($default:expr)]) => {
        $select.try_select().ok()
    };
    (blocking $select:ident [(some $timeout:expr) ($default:expr)]) => {
        $select.select_timeout($timeout).ok()
    };
    (async $select:ident [(some $timeout:expr) ($default:expr)]) => {
        $crate::__private::Waits(::core::pin::pin!($select.select_async_timeout($timeout)))
            .await
            .ok()
    };
}

/// Completes the winning operation and runs its arm, or runs the default
/// arm.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($won:ident [$(($kind:ident $op:ident $index:ident ($res:pat) ($body:expr) ($($val:expr)?)))*]
        $default:tt) => {
        match $won {
            ::core::option::Option::Some((__index, __won)) => {
                $(if __index == $index {
                    let $res = $crate::__select_complete!($kind $op __won ($($val)?));
                    $body
                } else)* {
                    ::core::unreachable!("a select returned an operation it did not add")
                }
            }
            ::core::option::Option::None => $crate::__select_default!($default),
        }
    };
}

/// The default arm's body.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_default {
    ([]) => {
        ::core::unreachable!("a select without a default arm waits until an operation wins")
    };
    ([($timeout:tt $($t:expr)?) ($default:expr)]) => {
        $default
    };
}

/// Completes one arm's operation.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_complete {
    (recv $op:ident $won:ident ()) => {
        $crate::__private::RecvArm::complete(&$op, $won)
    };
    (send $op:ident $won:ident ($val:expr)) => {{
        // The value is evaluated only now that the arm won, under a guard
        // that gives the reservation up if the evaluation never finishes.
        let __guard = $crate::__private::SendGuard::new(&$op, $won);
        let __value = $val;
        __guard.complete(__value)
    }};
}
