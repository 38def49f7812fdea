//! Expanding a parsed select (see `parse.rs` for its normal form) into
//! the direct attempt at its arms, the `Select` it falls back to, and the
//! dispatch to the winning arm.

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
/// The direct attempts are monomorphic, inlined calls on the endpoints,
/// with no `Select`, `dyn` call or `SelectedOperation` when an arm is
/// ready, and every arm is read before the draw, because a jump to a
/// randomly chosen arm's code mispredicts on almost every select
/// (docs/perf-notes.md#select-macros-reserve-their-arms-directly).
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
