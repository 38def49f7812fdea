//! Static checks of the auto traits and trait impls every public type of
//! nimsync-group promises, against its peer in tokio and tokio-util. These
//! fail at compile time, not at run time.
//!
//! | type | peer | Send, Sync | Unpin | UnwindSafe | RefUnwindSafe | Clone | Error |
//! |---|---|---|---|---|---|---|---|
//! | `CancelToken` | `CancellationToken` | yes | yes | yes | yes | yes | - |
//! | `CancelGuard` | `DropGuard` | yes | yes | yes | yes | no | - |
//! | `AbortHandle` | `task::AbortHandle` | yes | yes | yes | yes | yes | - |
//! | `CancelledFuture` | `WaitForCancellationFutureOwned` | yes | yes (tokio-util: no) | yes (tokio-util: no) | yes (tokio-util: no) | no | - |
//! | `TaskGroup<T, E>` | `task::JoinSet<T>` | `T, E: Send` | yes | no (`JoinSet`: yes; see its docs) | yes | no | - |
//! | `Spawner<T, E>` | `JoinSet`'s spawn, `runtime::Handle` | `T, E: Send` | yes | yes | yes | yes | - |
//! | `Builder<T, E>` | `task::Builder` (unstable) | yes | yes | yes | yes | no | - |
//! | `GroupError<E>`, `TaskFailure<E>` | `task::JoinError` | `E: Send`, `E: Sync` | `E: Unpin` | `E: UnwindSafe` (tokio: no) | `E: RefUnwindSafe` | no | `E: Error` |
//! | `FailureKind<E>`, `RetryError<E>` | none | as `E` | as `E` | as `E` | as `E` | no | `RetryError`: `E: Error` |
//! | `TimedOut` | `time::error::Elapsed` | yes | yes | yes | yes | yes | yes |
//! | `SpawnError`, `StartError` | none | yes | yes | yes | yes | yes | yes |
//! | `TaskLabel`, `GroupMetrics`, `Policy` | none | yes | yes | yes | yes | yes | - |
//! | `Started<S>` | none | `S: Send` | yes | yes | yes | no | - |
//! | `Retry<E>` | none | yes | yes | no (it holds the user's predicate) | no | no | - |

use std::error::Error;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use nimsync_group::{
    AbortHandle, Builder, CancelGuard, CancelToken, CancelledFuture, FailureKind, GroupError,
    GroupMetrics, Policy, Retry, RetryError, SpawnError, Spawner, StartError, Started, TaskFailure,
    TaskGroup, TaskLabel, TimedOut,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_clone<T: Clone>() {}
fn assert_static<T: 'static>() {}
fn assert_ref_unwind_safe<T: RefUnwindSafe>() {}
fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}
fn assert_future<F: Future + Send + Sync + Unpin>() {}
/// The future of an `async fn`, checked where it is made.
fn require_send<T: Send>(_: &T) {}
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

// What `TaskGroup`'s docs say: not `UnwindSafe`, for its deadline timer.
assert_not_impl!(TaskGroup<u32, u32>: UnwindSafe);
// Children's outputs cross threads only when they may.
assert_not_impl!(TaskGroup<NotSend, u32>: Send);
assert_not_impl!(TaskGroup<u32, NotSend>: Sync);
assert_not_impl!(Spawner<NotSend, u32>: Send);
assert_not_impl!(Started<NotSend>: Send);

/// `Send`, neither `Sync` nor `RefUnwindSafe`.
type NotSync = std::cell::Cell<u32>;
/// Neither `Send` nor `Sync`, `UnwindSafe` nor `RefUnwindSafe`.
type NotSend = std::rc::Rc<std::cell::Cell<u32>>;

fn for_plain_data<T: Send + Sync + Unpin + Clone + UnwindSafe + RefUnwindSafe + 'static>() {}

#[test]
fn cancel_token() {
    for_plain_data::<CancelToken>();
    assert_future::<CancelledFuture>();
    assert_static::<CancelledFuture>();
    assert_unwind_safe::<CancelledFuture>();
    assert_send::<CancelGuard>();
    assert_sync::<CancelGuard>();
    assert_unpin::<CancelGuard>();
    assert_static::<CancelGuard>();
    assert_unwind_safe::<CancelGuard>();
    for_plain_data::<AbortHandle>();
}

#[test]
fn task_group() {
    assert_send::<TaskGroup<NotSync, NotSync>>();
    assert_sync::<TaskGroup<NotSync, NotSync>>();
    assert_unpin::<TaskGroup<NotSync, NotSync>>();
    assert_static::<TaskGroup<String, String>>();
    // Through `&TaskGroup` only: see the type's docs for why an owned or
    // `&mut` group is not `UnwindSafe`.
    assert_ref_unwind_safe::<TaskGroup<NotSync, NotSync>>();
    assert_ref_unwind_safe::<TaskGroup<NotSend, NotSend>>();
}

#[test]
fn spawner_and_builder() {
    assert_send::<Spawner<NotSync, NotSync>>();
    assert_sync::<Spawner<NotSync, NotSync>>();
    assert_unpin::<Spawner<NotSync, NotSync>>();
    assert_clone::<Spawner<NotSync, NotSync>>();
    assert_static::<Spawner<String, String>>();
    assert_unwind_safe::<Spawner<NotSync, NotSync>>();
    assert_unwind_safe::<Spawner<NotSend, NotSend>>();

    // The builder holds no child and no value: all of these for any types.
    assert_send::<Builder<NotSend, NotSend>>();
    assert_sync::<Builder<NotSend, NotSend>>();
    assert_unpin::<Builder<NotSend, NotSend>>();
    assert_unwind_safe::<Builder<NotSend, NotSend>>();
}

#[test]
fn failures() {
    assert_error::<GroupError<std::io::Error>>();
    assert_error::<TaskFailure<std::io::Error>>();
    assert_error::<RetryError<std::io::Error>>();
    assert_unwind_safe::<GroupError<String>>();
    assert_unwind_safe::<TaskFailure<String>>();
    assert_unwind_safe::<FailureKind<String>>();
    assert_unwind_safe::<RetryError<String>>();
    assert_unpin::<GroupError<String>>();
    assert_send::<GroupError<NotSync>>();
    assert_send::<FailureKind<NotSync>>();
    // A panic payload is kept as its message, never as the payload.
    assert_sync::<FailureKind<String>>();

    for_plain_data::<TimedOut>();
    assert_error::<TimedOut>();
    for_plain_data::<SpawnError>();
    assert_error::<SpawnError>();
    for_plain_data::<StartError>();
    assert_error::<StartError>();
}

#[test]
fn plain_data() {
    for_plain_data::<TaskLabel>();
    for_plain_data::<GroupMetrics>();
    for_plain_data::<Policy>();
}

#[test]
fn started_and_retry() {
    assert_send::<Started<NotSync>>();
    assert_sync::<Started<NotSync>>();
    assert_unpin::<Started<NotSync>>();
    assert_unwind_safe::<Started<NotSync>>();

    assert_send::<Retry<NotSend>>();
    assert_sync::<Retry<NotSend>>();
    assert_unpin::<Retry<NotSend>>();
}

#[test]
fn futures_of_the_free_functions() {
    let ready = || std::future::ready(1_u32);
    require_send_sync(&nimsync_group::with_timeout(
        Duration::from_secs(1),
        ready(),
    ));
    require_send_sync(&nimsync_group::with_deadline(Instant::now(), ready()));
    require_send_sync(&nimsync_group::move_on_after(
        Duration::from_secs(1),
        ready(),
    ));
    require_send_sync(&nimsync_group::move_on_at(Instant::now(), ready()));
    require_send(&nimsync_group::scope(|_: Spawner<u32, String>| ready()));
    require_send(&nimsync_group::race(vec![async { Ok::<u32, String>(1) }]));
}

/// Never called: the futures of a group's `async fn`s are `Send`, as
/// `JoinSet`'s are, for outputs that are `Send` only.
#[allow(dead_code)]
fn futures_of_a_group(mut group: TaskGroup<NotSync, NotSync>) {
    require_send(&group.join_next());
    require_send(&group.start(|started: Started<NotSync>| async move {
        started.started(NotSync::new(1));
        Ok(NotSync::new(2))
    }));
    require_send(&Retry::<NotSync>::new().run(|_| async { Ok::<u32, NotSync>(1) }));
    require_send(&group.join_next_with_id());
    require_send(&group.token().run_until_cancelled(async { 1 }));
    require_send(&group.token().clone().run_until_cancelled_owned(async { 1 }));
    require_send(&group.join_all_results());
}

/// Never called: `join_all` consumes the group.
#[allow(dead_code)]
fn join_all_is_send(group: TaskGroup<NotSync, NotSync>) {
    require_send(&group.join_all());
}
