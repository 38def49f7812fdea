//! Parsing the arms of a `select!` into one normal form.
//!
//! Each arm is read in two steps: its head, up to `=>` (`recv(rx) -> res`,
//! `send(tx, value) -> res`, `default`, `default()` or `default(timeout)`),
//! and then its body, which is the same for every kind of arm: a block,
//! whose comma may be left out, or an expression followed by a comma or
//! ending the select. The parsed arm joins the list of operations as
//! `(kind op index (endpoint) (pattern) (body) (value))`, or becomes the
//! select's default as `[(none) (body)]` or `[(some timeout) (body)]`; the
//! expansion (`expand.rs`) works from those forms only.

/// Parses select arms one at a time into their normal form (see the
/// module docs), then hands them to `__select_gen`. Each arm's `__op` and
/// `__index` identifiers are distinct bindings: every expansion of a head
/// rule gets its own hygiene context.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Done.
    (@parse $mode:tt $arms:tt $default:tt) => {
        $crate::__select_gen!($mode $arms $default)
    };

    // recv(endpoint) -> pattern => body
    (@parse $mode:tt $arms:tt $default:tt
        recv($ep:expr $(,)?) -> $res:pat => $($tail:tt)*) => {
        $crate::__select_parse!(@body $mode $arms $default
            (arm recv __op __index ($ep) ($res)) () $($tail)*)
    };

    // send(endpoint, value) -> pattern => body
    (@parse $mode:tt $arms:tt $default:tt
        send($ep:expr, $val:expr $(,)?) -> $res:pat => $($tail:tt)*) => {
        $crate::__select_parse!(@body $mode $arms $default
            (arm send __op __index ($ep) ($res)) ($val) $($tail)*)
    };

    // A second default.
    (@parse $mode:tt $arms:tt [$($default:tt)+] default $($tail:tt)*) => {
        ::core::compile_error!("a select has at most one `default` arm")
    };

    // default => body, and default() => body (an empty timeout: the same
    // as a plain default, as in crossbeam-channel)
    (@parse $mode:tt $arms:tt [] default $(())? => $($tail:tt)*) => {
        $crate::__select_parse!(@body $mode $arms [] (default (none)) () $($tail)*)
    };

    // default(timeout) => body
    (@parse $mode:tt $arms:tt [] default($timeout:expr $(,)?) => $($tail:tt)*) => {
        $crate::__select_parse!(@body $mode $arms [] (default (some $timeout)) () $($tail)*)
    };

    // Misuse, with advice.
    (@parse $mode:tt $arms:tt $default:tt biased $($tail:tt)*) => {
        ::core::compile_error!(
            "`biased;` comes first in a select, before its arms: `select! { biased; recv(rx) -> msg => body, ... }`"
        )
    };
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

    // The body of the arm whose head was just read (`$dest`): a block, with
    // or without a comma after it, or an expression with a comma after it,
    // or a last expression.
    (@body $mode:tt $arms:tt $default:tt $dest:tt $val:tt $body:block, $($tail:tt)*) => {
        $crate::__select_parse!(@push $mode $arms $default $dest $val ($body) $($tail)*)
    };
    (@body $mode:tt $arms:tt $default:tt $dest:tt $val:tt $body:block $($tail:tt)*) => {
        $crate::__select_parse!(@push $mode $arms $default $dest $val ($body) $($tail)*)
    };
    (@body $mode:tt $arms:tt $default:tt $dest:tt $val:tt $body:expr, $($tail:tt)*) => {
        $crate::__select_parse!(@push $mode $arms $default $dest $val ($body) $($tail)*)
    };
    (@body $mode:tt $arms:tt $default:tt $dest:tt $val:tt $body:expr) => {
        $crate::__select_parse!(@push $mode $arms $default $dest $val ($body))
    };
    (@body $mode:tt $arms:tt $default:tt $dest:tt $val:tt) => {
        ::core::compile_error!("a select arm has no body after its `=>`")
    };

    // The parsed arm joins the operations, or becomes the default.
    (@push $mode:tt [$($arms:tt)*] $default:tt (arm $($head:tt)*) $val:tt $body:tt $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode [$($arms)* ($($head)* $body $val)] $default $($tail)*)
    };
    (@push $mode:tt $arms:tt [] (default $timeout:tt) () $body:tt $($tail:tt)*) => {
        $crate::__select_parse!(@parse $mode $arms [$timeout $body] $($tail)*)
    };
}
