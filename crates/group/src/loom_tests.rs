//! Loom models of the cancel token's protocol (see the top of `token.rs`).
//!
//! Run with `cargo xtask loom` (RUSTFLAGS="--cfg loom"). Every model uses at
//! most 3 threads. What each one guards against:
//! - a child linked after `cancel` drained its parent (never cancelled);
//! - a `Cancelled` waker registered after `cancel` drained the waiters (a
//!   lost wake-up: `block_on` never returns, which loom reports as a
//!   deadlock);
//! - an unlink racing a cancel or other unlinks (a panic, or a parent/child
//!   reference cycle left behind, which loom reports as a leaked `Arc`);
//! - a descendant cut off from its ancestors by the drop of a token between
//!   them.
//!
//! Each model counts, in a plain static, the interleavings it exists for,
//! and the test asserts afterwards that loom explored them.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};
use std::task::Wake;

use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::token::CancelToken;

/// Checks `f` under loom with `LOOM_MAX_PREEMPTIONS` (2 when unset).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// A waker that counts its wake-ups in a loom atomic.
struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    fn new() -> StdArc<Self> {
        StdArc::new(Self {
            wakes: AtomicUsize::new(0),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Acquire)
    }
}

impl Wake for CountingWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        self.wakes.fetch_add(1, Ordering::Release);
    }
}

/// Polls `fut` once with `waker`.
fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn loom_cancel_races_child_creation() {
    // 0: the child was linked before the cancel drained the root,
    // 1: the child saw the root cancelled and started cancelled.
    static SEEN: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    model(|| {
        let root = CancelToken::new();
        let canceller = root.clone();
        let t = thread::spawn(move || canceller.cancel());
        let child = root.child();
        SEEN[usize::from(child.is_cancelled())].fetch_add(1, Relaxed);
        t.join().unwrap();
        assert!(
            child.is_cancelled(),
            "a child created while its parent was being cancelled was missed"
        );
        let grandchild = child.child();
        assert!(
            grandchild.is_cancelled(),
            "a grandchild of a cancelled token"
        );
        assert!(root.child().is_cancelled());
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_child_created_on_another_thread_is_woken() {
    // A thread creates a child and waits on it while the root is cancelled:
    // the link made by `child` is the only path from the cancel to the
    // waiter, so linking and registration are checked together.
    model(|| {
        let root = CancelToken::new();
        let remote = root.clone();
        let t = thread::spawn(move || {
            let child = remote.child();
            block_on(child.cancelled());
            assert!(child.is_cancelled());
        });
        root.cancel();
        t.join().unwrap();
    });
}

#[test]
fn loom_cancel_races_cancelled_registration() {
    // 0: the first poll was already ready, 1: it registered and the cancel
    // woke the registered waker.
    static SEEN: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    model(|| {
        let token = CancelToken::new();
        let canceller = token.clone();
        let t = thread::spawn(move || canceller.cancel());

        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        let mut fut = token.cancelled();
        let first = poll_once(&mut fut, &waker);
        t.join().unwrap();
        if first.is_ready() {
            SEEN[0].fetch_add(1, Relaxed);
        } else {
            SEEN[1].fetch_add(1, Relaxed);
            assert_eq!(
                counter.wakes(),
                1,
                "the cancel finished without waking the registered waiter"
            );
            assert!(poll_once(&mut fut, &waker).is_ready());
        }
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_block_on_cancelled_is_woken() {
    model(|| {
        let token = CancelToken::new();
        let canceller = token.clone();
        let t = thread::spawn(move || canceller.cancel());
        // Never returns if the wake-up is lost: loom reports a deadlock.
        block_on(token.cancelled());
        t.join().unwrap();
    });
}

#[test]
fn loom_dropped_registration_races_cancel() {
    // A registered `Cancelled` is dropped while another thread cancels: the
    // unregistration must cope with a drained waiter list, and the waker
    // must be released exactly once (whoever does it).
    model(|| {
        let token = CancelToken::new();
        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        let mut fut = token.cancelled();
        assert!(poll_once(&mut fut, &waker).is_pending());
        drop(waker);

        let canceller = token.clone();
        let t = thread::spawn(move || canceller.cancel());
        drop(fut);
        t.join().unwrap();
        assert!(counter.wakes() <= 1);
        assert_eq!(
            StdArc::strong_count(&counter),
            1,
            "the registered waker was neither woken nor dropped"
        );
        // A fresh wait on the cancelled token completes at once.
        block_on(token.cancelled());
    });
}

#[test]
fn loom_cancel_races_unlink_of_child() {
    // 0: the drop unlinked the child before the cancel took the root's
    // list, 1: the cancel took it first and the unlink found nothing.
    static SEEN: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    model(|| {
        let root = CancelToken::new();
        let child = root.child();
        let canceller = root.clone();
        let t = thread::spawn(move || canceller.cancel());
        drop(child);
        // The dropped child's node is gone from the root either way: a
        // new child gets a slot of its own and is cancelled with the root.
        let later = root.child();
        SEEN[usize::from(later.is_cancelled())].fetch_add(1, Relaxed);
        t.join().unwrap();
        assert!(later.is_cancelled());
        // Loom fails the model with "Arc leaked" if a parent/child cycle
        // outlives the last handles.
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_two_handles_of_a_child_dropped_while_cancelling() {
    // Three threads: two drop the child's two handles (only the last one
    // unlinks), the main one cancels the root.
    model(|| {
        let root = CancelToken::new();
        let child = root.child();
        let clone = child.clone();
        let t1 = thread::spawn(move || drop(child));
        let t2 = thread::spawn(move || drop(clone));
        root.cancel();
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(root.child().is_cancelled());
    });
}

#[test]
fn loom_concurrent_drops_unlink_without_a_cancel() {
    // Three threads and no cancel at all: two drop the two handles of a
    // child (exactly one of them unlinks it) while the third links a new
    // child into the same list. Nothing else breaks the reference cycle
    // between a linked child and its parent, so a missed unlink is an
    // "Arc leaked" failure when the model ends.
    model(|| {
        let root = CancelToken::new();
        let child = root.child();
        let clone = child.clone();
        let t1 = thread::spawn(move || drop(child));
        let t2 = thread::spawn(move || drop(clone));
        let sibling = root.child();
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(!sibling.is_cancelled() && !root.is_cancelled());
    });
}

#[test]
fn loom_two_cancels_and_a_waiter() {
    // Three threads: the root and the child are cancelled concurrently (only
    // the first `cancel` of a node goes on) while the main thread waits on
    // the child.
    model(|| {
        let root = CancelToken::new();
        let child = root.child();
        let (r, c) = (root.clone(), child.clone());
        let t1 = thread::spawn(move || r.cancel());
        let t2 = thread::spawn(move || c.cancel());
        block_on(child.cancelled());
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(root.is_cancelled() && child.is_cancelled());
    });
}

#[test]
fn loom_grandchild_outlives_middle_handle() {
    // The middle token's last handle is dropped while the root is cancelled;
    // its child still lives and waits. `cancel` documents that it reaches
    // every token made from it with `child`, however deep, so the leaf must
    // be woken whichever comes first. (With an unlink that ignores the
    // middle node's own children, the drop-first interleaving cuts the leaf
    // off and `block_on` never returns.)
    model(|| {
        let root = CancelToken::new();
        let middle = root.child();
        let leaf = middle.child();
        let canceller = root.clone();
        let t = thread::spawn(move || canceller.cancel());
        drop(middle);
        block_on(leaf.cancelled());
        t.join().unwrap();
    });
}
