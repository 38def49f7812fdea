//! Static checks of the auto traits and trait impls every public type of
//! nimsync-select promises, against its peer in crossbeam-channel. These
//! fail at compile time, not at run time, including the one negative the
//! contract demands: a `Select` is not `Sync`. (A trybuild case for it
//! would compare compiler output that names the select's private fields.)
//!
//! | type | peer | Send | Sync | Unpin | UnwindSafe, RefUnwindSafe | Clone | Error |
//! |---|---|---|---|---|---|---|---|
//! | `Select<'a>` | `Select<'a>` | yes | no (crossbeam: yes) | yes | no, as crossbeam's | no (crossbeam: yes) | - |
//! | `SelectedOperation` | `SelectedOperation<'a>` | yes (crossbeam: no) | yes (crossbeam: no) | yes | yes | no | - |
//! | `SelectTimeoutError`, `TrySelectError` | the same | yes | yes | yes | yes | yes | yes |
//! | `After` | the receiver of `after` | yes | yes | yes | yes | no (crossbeam: yes, clones share the message) | - |
//! | `Never<T>` | the receiver of `never` | yes | yes | yes | yes | yes | - |
//! | `Tick` | the receiver of `tick` | yes | yes | yes | yes | no (crossbeam: yes, clones share the ticks) | - |
//! | `RecvFuture<'_>`, `TickStream<'_>` | none (crossbeam has no async) | yes | yes | yes | no (they hold a `nimsync_time::Sleep`) | no | - |

use std::error::Error;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::Duration;

use nimsync_channel::mpmc;
use nimsync_select::{
    After, Never, Select, SelectTimeoutError, SelectedOperation, Tick, TrySelectError,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_clone<T: Clone>() {}
fn assert_static<T: 'static>() {}
fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn assert_error<T: Error + Send + Sync + Clone + UnwindSafe + RefUnwindSafe + 'static>() {}
/// The future of a method returning `impl Future`, checked where it is made.
fn require_send<T: Send>(_: &T) {}

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

// A select stays on the thread that uses it: `Send`, never `Sync`.
assert_not_impl!(Select<'static>: Sync);
// A timer's message is delivered once: no copy of it has a second one.
assert_not_impl!(After: Clone);
assert_not_impl!(Tick: Clone);

#[test]
fn select_builder() {
    assert_send::<Select<'static>>();
    assert_unpin::<Select<'static>>();
    assert_static::<Select<'static>>();
    let (_tx, rx) = mpmc::channel::<u8>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    require_send(&sel.select_async());
    require_send(&sel.select_async_timeout(Duration::from_secs(1)));
}

#[test]
fn selected_operation() {
    assert_send::<SelectedOperation>();
    assert_sync::<SelectedOperation>();
    assert_unpin::<SelectedOperation>();
    assert_static::<SelectedOperation>();
    assert_unwind_safe::<SelectedOperation>();
}

#[test]
fn errors() {
    assert_error::<SelectTimeoutError>();
    assert_error::<TrySelectError>();
}

#[test]
fn timers() {
    for_timer::<After>();
    for_timer::<Never<std::rc::Rc<u8>>>();
    assert_clone::<Never<std::rc::Rc<u8>>>();
    for_timer::<Tick>();
    assert_send::<nimsync_select::RecvFuture<'static>>();
    assert_sync::<nimsync_select::RecvFuture<'static>>();
    assert_unpin::<nimsync_select::RecvFuture<'static>>();
    assert_send::<nimsync_select::TickStream<'static>>();
    assert_sync::<nimsync_select::TickStream<'static>>();
    assert_unpin::<nimsync_select::TickStream<'static>>();
}

fn for_timer<T: Send + Sync + Unpin + UnwindSafe + RefUnwindSafe + 'static>() {}

/// A select built on one thread completes on another (it is `Send`).
#[test]
fn a_select_moves_to_another_thread() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    tx.send(4).unwrap();
    let rx = &rx;
    let mut sel = Select::new();
    let index = sel.recv(rx);
    let got = std::thread::scope(|s| {
        s.spawn(move || {
            let op = sel.select();
            assert_eq!(op.index(), index);
            op.recv(rx)
        })
        .join()
        .unwrap()
    });
    assert_eq!(got, Ok(4));
}
