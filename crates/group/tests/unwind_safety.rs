//! The group's unwind-safety claims at run time: a token cancelled while
//! one of its waiters' wakers panics still cancels and wakes everything
//! else, and a group or token used after a caught panic works.

mod common;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};

use common::{counters, runtime, snapshot, wait_until, within};
use nimsync_group::{CancelToken, TaskGroup};

/// A waker whose wake panics, as a buggy executor's might.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("deliberate panic in a waker");
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_waker_stops_neither_the_other_wake_ups_nor_the_children() {
    let root = CancelToken::new();
    let child = root.child();
    let grandchild = child.child();
    let panicking = Waker::from(Arc::new(PanickingWaker));
    let counter = Arc::new(CountingWaker::default());
    let counting = Waker::from(Arc::clone(&counter));

    // Registered first, so woken first.
    let mut first = pin!(root.cancelled());
    assert!(
        first
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending()
    );
    let mut second = pin!(root.cancelled());
    assert!(
        second
            .as_mut()
            .poll(&mut Context::from_waker(&counting))
            .is_pending()
    );
    let mut below = pin!(grandchild.cancelled());
    assert!(
        below
            .as_mut()
            .poll(&mut Context::from_waker(&counting))
            .is_pending()
    );

    // A token is `RefUnwindSafe`: no `AssertUnwindSafe` needed.
    let caught = catch_unwind(|| root.cancel());
    assert!(caught.is_err(), "the waker's panic is raised again");
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        2,
        "the other waiter on the token and the one below were woken"
    );
    let mut cx = Context::from_waker(Waker::noop());
    assert!(second.as_mut().poll(&mut cx).is_ready());
    assert!(below.as_mut().poll(&mut cx).is_ready());
    assert!(root.child().is_cancelled());
}

#[test]
fn a_group_used_across_a_caught_panic_keeps_working() {
    runtime().block_on(async {
        let group = TaskGroup::<u32>::new();
        // A group is `RefUnwindSafe`: no `AssertUnwindSafe` needed.
        let caught = catch_unwind(|| {
            group.spawn_ok(async { 1 }).unwrap();
            panic!("the caller fails after a spawn");
        });
        assert!(caught.is_err());
        group.spawn_ok(async { 2 }).unwrap();
        let all = within("the join", group.join_all()).await.unwrap();
        assert_eq!(all, [1, 2]);
    });
}

#[test]
fn a_dropped_group_aborts_its_children_even_when_a_waker_of_its_token_panics() {
    runtime().block_on(async {
        let drops = counters(1);
        let group = TaskGroup::<()>::new();
        let slot = common::DropSlot::new(0, &drops);
        group
            .spawn_ok(async move {
                let _slot = slot;
                std::future::pending::<()>().await;
            })
            .unwrap();
        let token = group.token().clone();
        let panicking = Waker::from(Arc::new(PanickingWaker));
        let mut waiting = pin!(token.cancelled());
        assert!(
            waiting
                .as_mut()
                .poll(&mut Context::from_waker(&panicking))
                .is_pending()
        );

        let caught = catch_unwind(AssertUnwindSafe(move || drop(group)));
        assert!(caught.is_err(), "the waker's panic is raised again");
        assert!(token.is_cancelled());
        wait_until("the child is aborted", || snapshot(&drops)[0] == 1).await;
    });
}
