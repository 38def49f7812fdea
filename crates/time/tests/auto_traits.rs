//! Static checks of the auto traits and trait impls every public type of
//! nimsync-time promises, against its peer in tokio's `time` module. These
//! fail at compile time, not at run time.
//!
//! | type | peer | Send | Sync | Unpin | UnwindSafe, RefUnwindSafe | Clone | Error |
//! |---|---|---|---|---|---|---|---|
//! | `Sleep` | `tokio::time::Sleep` | yes | yes | yes (tokio: no) | no, as tokio's | no | - |
//! | `Timeout<F>` | `tokio::time::Timeout<F>` | `F: Send` | `F: Sync` | `F: Unpin` (tokio: no) | no, as tokio's | no | - |
//! | `Interval` | `tokio::time::Interval` | yes | yes | yes | no, as tokio's | no | - |
//! | `Elapsed` | `tokio::time::error::Elapsed` | yes | yes | yes | yes | yes (tokio: no) | yes |
//! | `MissedTickBehavior` | `tokio::time::MissedTickBehavior` | yes | yes | yes | yes | yes | - |
//! | `driver::Hook` | none | yes | yes | yes | yes | no | - |
//!
//! `Sleep` (and so `Timeout` and `Interval`, which hold one) is neither
//! `UnwindSafe` nor `RefUnwindSafe`; its docs say why, and the checks
//! below keep the docs true.
//!
//! The checks are of the real build: under loom the waker cell is loom's,
//! whose auto traits differ.
#![cfg(not(loom))]

use std::error::Error;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::Duration;

use nimsync_time::{Elapsed, Interval, MissedTickBehavior, Sleep, Timeout, driver};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_clone<T: Clone>() {}
fn assert_static<T: 'static>() {}
fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}
fn assert_future<F: Future + Send + Sync + Unpin>() {}
/// The future of an `async fn`, checked where it is made.
fn require_send_sync<T: Send + Sync>(_: &T) {}

/// Fails to compile when `$ty` implements `$trait`: with an
/// implementation, `some_item` below has two candidates and the call
/// cannot be inferred. A negative, checked at compile time with no
/// compiler output to compare.
macro_rules! assert_not_impl {
    ($ty:ty: $trait:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            #[allow(dead_code)]
            struct Invalid;
            impl<T: ?Sized + $trait> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

assert_not_impl!(Sleep: UnwindSafe);
assert_not_impl!(Sleep: RefUnwindSafe);
assert_not_impl!(Interval: UnwindSafe);
assert_not_impl!(Timeout<std::future::Ready<u32>>: UnwindSafe);
assert_not_impl!(Timeout<SendOnly>: Sync);

/// Send, neither `Sync` nor `RefUnwindSafe`.
type NotSync = std::cell::Cell<u32>;
/// A future that is `Send` but not `Sync`.
type SendOnly = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

#[test]
fn sleep() {
    assert_future::<Sleep>();
    assert_static::<Sleep>();
}

#[test]
fn timeout() {
    assert_future::<Timeout<std::future::Ready<u32>>>();
    assert_send::<Timeout<std::future::Ready<NotSync>>>();
    assert_unpin::<Timeout<std::future::Ready<NotSync>>>();
    assert_send::<Timeout<SendOnly>>();
    assert_unpin::<Timeout<SendOnly>>();
    assert_static::<Timeout<std::future::Ready<u32>>>();
}

#[test]
fn interval() {
    assert_send::<Interval>();
    assert_sync::<Interval>();
    assert_unpin::<Interval>();
    assert_static::<Interval>();
    let mut every = nimsync_time::interval(Duration::from_secs(60));
    require_send_sync(&every.tick());
}

#[test]
fn elapsed() {
    assert_error::<Elapsed>();
    assert_unpin::<Elapsed>();
    assert_clone::<Elapsed>();
    assert_unwind_safe::<Elapsed>();
}

#[test]
fn missed_tick_behavior() {
    assert_send::<MissedTickBehavior>();
    assert_sync::<MissedTickBehavior>();
    assert_unpin::<MissedTickBehavior>();
    assert_clone::<MissedTickBehavior>();
    assert_static::<MissedTickBehavior>();
    assert_unwind_safe::<MissedTickBehavior>();
}

#[test]
fn driver_hook() {
    assert_send::<driver::Hook>();
    assert_sync::<driver::Hook>();
    assert_unpin::<driver::Hook>();
    assert_static::<driver::Hook>();
    assert_unwind_safe::<driver::Hook>();
}
