//! The concurrency facade: the atomics and thread-locals the crate's
//! protocols use come from here, from std normally and from loom under
//! `cfg(loom)`, so that the loom models run the crate's own code.
//!
//! The crate takes no lock: a select's shared state lives in the channels
//! (behind `nimsync_channel::__select`), in the tickers' atomic
//! deadlines and in the `after` timers' taken flags.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Declares thread-locals: std's, with `const` initialisers (no lazy
/// initialisation check on access), or under loom, loom's, which every
/// execution of a model starts afresh (a std thread-local would carry its
/// state from one execution to the next, as loom runs every model thread
/// on the same OS thread).
macro_rules! thread_locals {
    ($($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;)+) => {
        #[cfg(not(loom))]
        std::thread_local! {
            $($(#[$attr])* static $name: $t = const { $init };)+
        }
        #[cfg(loom)]
        loom::thread_local! {
            $($(#[$attr])* static $name: $t = $init;)+
        }
    };
}
pub(crate) use thread_locals;
