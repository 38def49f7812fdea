//! Static checks of the auto traits and trait impls every public type of
//! nimsync-scheduler promises, against its peer in tokio. These fail at
//! compile time, not at run time; the last test also uses the runtime
//! across `catch_unwind` without `AssertUnwindSafe`.
//!
//! | type | peer | Send | Sync | Unpin | UnwindSafe, RefUnwindSafe | Clone | Error |
//! |---|---|---|---|---|---|---|---|
//! | `Runtime` | `runtime::Runtime` | yes | yes | yes | yes | no | - |
//! | `Handle` | `runtime::Handle` | yes | yes | yes | yes | yes | - |
//! | `Builder` | `runtime::Builder` | yes | yes | yes | no, as tokio's (it holds the user's hooks) | no | - |
//! | `JoinHandle<T>` | `task::JoinHandle<T>` | `T: Send` | yes (tokio: `T: Send`) | yes | yes, for every `T` | no | - |
//! | `JoinError` | `task::JoinError` | yes | yes | yes | yes (tokio: no) | no | yes |
//! | `RuntimeMetrics` | `runtime::RuntimeMetrics` | yes | yes | yes | yes | yes | - |
//! | `SlowPoll` | none | yes | yes | yes | yes | yes | - |
//! | `VictimSelection` | none | yes | yes | yes | yes | yes | - |
//! | `task::Id` | `task::Id` | yes | yes | yes | yes | yes | - |
//! | `task::Builder` | `task::Builder` (unstable) | yes | yes | yes | yes | yes | - |
//! | `task::LocalKey<T>` | `task::LocalKey<T>` | yes | yes | yes | yes | no | - |
//! | `task::TaskLocalFuture<T, F>` | `task::futures::TaskLocalFuture<T, F>` | `T, F: Send` | `T, F: Sync` | `F: Unpin` (tokio: no) | when `T`, `F` are `UnwindSafe` | no | - |
//! | `task::AccessError` | `task::TaskLocalError` | yes | yes | yes | yes | yes | yes |

use std::error::Error;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe, catch_unwind};

use nimsync_scheduler::task::{self, AccessError, Id, LocalKey, TaskLocalFuture};
use nimsync_scheduler::{
    Builder, Handle, JoinError, JoinHandle, Runtime, RuntimeMetrics, SlowPoll, VictimSelection,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_clone<T: Clone>() {}
fn assert_static<T: 'static>() {}
fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}
fn assert_future<F: Future + Send + Unpin>() {}
/// The future of an `async fn`, checked where it is made.
fn require_send_sync<T: Send + Sync>(_: &T) {}

/// `Send`, neither `Sync` nor `RefUnwindSafe`.
type NotSync = std::cell::Cell<u32>;
/// Neither `Send` nor `Sync`, `UnwindSafe` nor `RefUnwindSafe`.
type NotSend = std::rc::Rc<std::cell::Cell<u32>>;

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

// A task's output crosses threads only when it may.
assert_not_impl!(JoinHandle<NotSend>: Send);
assert_not_impl!(TaskLocalFuture<NotSend, std::future::Ready<()>>: Send);

nimsync_scheduler::task_local! {
    static REQUEST: u32;
}

#[test]
fn runtime_and_handle() {
    assert_send::<Runtime>();
    assert_sync::<Runtime>();
    assert_unpin::<Runtime>();
    assert_static::<Runtime>();
    assert_unwind_safe::<Runtime>();

    assert_send::<Handle>();
    assert_sync::<Handle>();
    assert_unpin::<Handle>();
    assert_clone::<Handle>();
    assert_static::<Handle>();
    assert_unwind_safe::<Handle>();

    // The builder holds the user's hooks: not unwind safe, as tokio's.
    assert_send::<Builder>();
    assert_sync::<Builder>();
    assert_unpin::<Builder>();
    assert_static::<Builder>();
}

#[test]
fn join_handle() {
    assert_future::<JoinHandle<NotSync>>();
    assert_sync::<JoinHandle<NotSync>>();
    assert_static::<JoinHandle<String>>();
    // A handle never hands out a `&T`: unwind safe whatever the output.
    assert_unwind_safe::<JoinHandle<NotSync>>();
    assert_unwind_safe::<JoinHandle<NotSend>>();
    assert_unpin::<JoinHandle<std::marker::PhantomPinned>>();
}

#[test]
fn join_error() {
    assert_error::<JoinError>();
    assert_unpin::<JoinError>();
    assert_unwind_safe::<JoinError>();
}

#[test]
fn metrics_and_settings() {
    for_plain_data::<RuntimeMetrics>();
    for_plain_data::<SlowPoll>();
    for_plain_data::<VictimSelection>();
}

fn for_plain_data<T: Send + Sync + Unpin + Clone + UnwindSafe + RefUnwindSafe + 'static>() {}

#[test]
fn task_module() {
    for_plain_data::<Id>();
    for_plain_data::<task::Builder>();

    assert_send::<LocalKey<NotSync>>();
    assert_sync::<LocalKey<NotSync>>();
    assert_unwind_safe::<LocalKey<NotSync>>();
    assert_send::<LocalKey<u32>>();
    assert_sync::<&'static LocalKey<u32>>();

    assert_future::<TaskLocalFuture<NotSync, std::future::Ready<()>>>();
    assert_sync::<TaskLocalFuture<u32, std::future::Ready<()>>>();
    assert_unwind_safe::<TaskLocalFuture<u32, std::future::Ready<()>>>();
    require_send_sync(&REQUEST.scope(1, std::future::ready(())));

    assert_error::<AccessError>();
    for_plain_data::<AccessError>();
}

#[test]
fn async_fns() {
    require_send_sync(&nimsync_scheduler::yield_now());
    require_send_sync(&task::consume_budget());
}

/// A runtime and a handle are used across `catch_unwind` without
/// `AssertUnwindSafe`, and work afterwards.
#[test]
fn runtime_works_after_a_caught_panic() {
    let rt = Builder::new_current_thread().build().unwrap();
    let handle = rt.handle();
    let caught = catch_unwind(|| rt.block_on(async { panic!("the main future fails") }));
    assert!(caught.is_err());
    let task = catch_unwind(|| handle.spawn(async { 2 })).unwrap();
    let sum = rt.block_on(async { task.await.unwrap() + handle.spawn(async { 3 }).await.unwrap() });
    assert_eq!(sum, 5);
}
