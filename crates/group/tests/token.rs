//! `CancelToken` semantics through the public API.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Waker};
use std::thread;

use common::{runtime, within};
use nimsync_group::CancelToken;

#[test]
fn clones_share_one_flag() {
    let token = CancelToken::new();
    let clone = token.clone();
    assert!(!token.is_cancelled() && !clone.is_cancelled());
    clone.cancel();
    assert!(token.is_cancelled(), "cancelling a clone cancels the token");
    token.cancel();
    assert!(token.is_cancelled(), "cancel is idempotent");
    assert_eq!(format!("{token:?}"), "CancelToken { cancelled: true }");
    assert_eq!(
        format!("{:?}", CancelToken::default()),
        "CancelToken { cancelled: false }"
    );
}

#[test]
fn cancellation_flows_down_never_up() {
    let root = CancelToken::new();
    let left = root.child();
    let right = root.child();
    let left_leaf = left.child();
    let right_leaf = right.child();

    left.cancel();
    assert!(left.is_cancelled() && left_leaf.is_cancelled());
    assert!(
        !root.is_cancelled(),
        "a child's cancel does not reach its parent"
    );
    assert!(
        !right.is_cancelled() && !right_leaf.is_cancelled(),
        "nor a sibling"
    );

    root.cancel();
    assert!(right.is_cancelled() && right_leaf.is_cancelled());
    assert!(root.child().is_cancelled(), "a child of a cancelled token");
    assert!(root.child().child().is_cancelled());
}

#[test]
fn a_token_made_after_the_cancel_of_an_ancestor_is_cancelled() {
    let root = CancelToken::new();
    let middle = root.child();
    root.cancel();
    let late = middle.child();
    assert!(late.is_cancelled());
    let mut fut = pin!(late.cancelled());
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
    );
}

#[test]
fn a_descendant_is_cancelled_even_when_the_tokens_between_were_dropped() {
    // `cancel` reaches "every token made from it with `child`, however
    // deep". Dropping the handle of an intermediate token must not cut its
    // descendants off: code commonly makes a child token only to derive
    // another from it (for instance `Builder::parent(&token.child())`).
    let root = CancelToken::new();
    let middle = root.child();
    let leaf = middle.child();
    let deeper = leaf.child();
    drop(middle);
    root.cancel();
    assert!(
        leaf.is_cancelled(),
        "the root's cancel did not reach a grandchild whose parent handle was dropped"
    );
    assert!(deeper.is_cancelled());
}

#[test]
fn a_waiter_below_a_dropped_token_is_woken() {
    // The same through `cancelled()` on another thread: the wait must end.
    let root = CancelToken::new();
    let leaf = {
        let middle = root.child();
        middle.child()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        futures_lite::future::block_on(leaf.cancelled());
        tx.send(()).unwrap();
    });
    root.cancel();
    rx.recv_timeout(common::PATIENCE)
        .expect("a task waiting on a grandchild token was never woken");
    waiter.join().unwrap();
}

#[test]
fn cancelled_completes_when_another_thread_cancels() {
    let token = CancelToken::new();
    let remote = token.clone();
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    let canceller = thread::spawn(move || {
        b.wait();
        remote.cancel();
    });
    let mut fut = pin!(token.cancelled());
    // Registered before the other thread may cancel: the wake-up has to
    // come through the registration.
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    barrier.wait();
    futures_lite::future::block_on(fut);
    assert!(token.is_cancelled());
    canceller.join().unwrap();
}

#[test]
fn every_waiter_on_every_thread_is_woken() {
    let root = CancelToken::new();
    let child = root.child();
    let ready = Arc::new(Barrier::new(7));
    let waiters: Vec<_> = (0..6)
        .map(|i| {
            // Half wait on the root, half on the child; each registers
            // before the barrier.
            let token = if i % 2 == 0 {
                root.clone()
            } else {
                child.clone()
            };
            let ready = Arc::clone(&ready);
            thread::spawn(move || {
                let mut fut = pin!(token.cancelled());
                let pending = fut
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_pending();
                ready.wait();
                futures_lite::future::block_on(fut);
                pending
            })
        })
        .collect();
    ready.wait();
    root.cancel();
    for w in waiters {
        assert!(
            w.join().unwrap(),
            "every waiter registered before the cancel"
        );
    }
}

#[test]
fn cancelled_wakes_a_task_on_the_runtime() {
    let rt = runtime();
    rt.block_on(async {
        let root = CancelToken::new();
        let child = root.child();
        let task = nimsync_scheduler::spawn(async move {
            child.cancelled().await;
            child.is_cancelled()
        });
        let remote = root.clone();
        thread::spawn(move || remote.cancel()).join().unwrap();
        assert!(within("the task to see the cancel", task).await.unwrap());
    });
}

#[test]
fn a_dropped_wait_does_not_disturb_the_others() {
    let token = CancelToken::new();
    let noop = Context::from_waker(Waker::noop());
    let mut cx = noop;
    let mut kept = Box::pin(token.cancelled());
    assert!(kept.as_mut().poll(&mut cx).is_pending());
    for _ in 0..100 {
        let mut dropped = Box::pin(token.cancelled());
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
    }
    let remote = token.clone();
    thread::spawn(move || remote.cancel()).join().unwrap();
    assert!(kept.as_mut().poll(&mut cx).is_ready());
    // Ready again if polled again, and for fresh waits.
    assert!(kept.as_mut().poll(&mut cx).is_ready());
    futures_lite::future::block_on(token.cancelled());
}

#[test]
fn many_short_lived_children_leave_the_parent_working() {
    // Children dropped without being cancelled unlink themselves (the
    // unit tests in token.rs check the parent's list directly; here only
    // the behaviour is visible): the parent keeps working, and reaches the
    // children still alive.
    let root = CancelToken::new();
    let mut kept = Vec::new();
    for i in 0..10_000 {
        let child = root.child();
        let grandchild = child.child();
        if i % 1000 == 0 {
            kept.push(child);
            kept.push(grandchild);
        }
    }
    root.cancel();
    assert_eq!(kept.len(), 20);
    assert!(kept.iter().all(CancelToken::is_cancelled));
}
