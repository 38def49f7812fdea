//! Loom models of the cancel token's protocol (see the top of `token.rs`),
//! of the concurrency limit (`limit.rs`), of the queue of finished
//! children that `join_next` waits on (`finished.rs`), of the slot a
//! started child reports through (`start.rs`) and of the slot an aborted
//! child watches (`abort.rs`).
//!
//! Run with `cargo xtask loom` (RUSTFLAGS="--cfg loom"). Every model uses at
//! most 3 threads. What each one guards against:
//! - a child linked after `cancel` drained its parent (never cancelled);
//! - a `CancelledFuture`'s waker registered after `cancel` drained the
//!   waiters (a lost wake-up: `block_on` never returns, which loom reports
//!   as a deadlock);
//! - an unlink racing a cancel or other unlinks (a panic, or a parent/child
//!   reference cycle left behind, which loom reports as a leaked `Arc`);
//! - a descendant cut off from its ancestors by the drop of a token between
//!   them;
//! - a limit's ticket served out of turn because it was polled first, a
//!   permit lost (a waiter that never wakes: a deadlock) or duplicated (two
//!   holders at once, or a free count above the limit) when a release races
//!   the drop of the waiter it hands the permit to, or another release;
//! - a child's finish missed by a `join_next` registering at the same time,
//!   or waking the waker of a `join_next` that was replaced;
//! - a started child's report (or its handle's drop) missed by the
//!   `start` waiting for it (`start.rs`);
//! - an abort missed by a child registering its waker at the same time (a
//!   child that never stops), or a waker kept (or woken) once the child
//!   has ended (`abort.rs`).
//!
//! Each model counts, in a plain static, the interleavings it exists for,
//! and the test asserts afterwards that loom explored them.

use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc as StdArc;
use std::sync::atomic::{
    AtomicBool as StdAtomicBool, AtomicUsize as StdAtomicUsize, Ordering::Relaxed,
};
use std::task::Wake;

use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::abort::{AbortSlot, abortable};
use crate::finished::Finished;
use crate::limit::{Acquire, Limiter, Permit};
use crate::start::{StartError, StartSlot, Started, wait_started};
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
    // A registered `CancelledFuture` is dropped while another thread
    // cancels: the unregistration must cope with a drained waiter list, and
    // the waker must be released exactly once (whoever does it).
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

// The concurrency limit.

/// Waits for `acquire`'s permit with `block_on`, telling `first_poll`
/// whether its first poll was ready; then holds the permit alone (checked
/// with `holders`) while it draws its turn from `turns`, and releases it.
/// Returns the turn.
fn take_turn(
    mut acquire: Acquire,
    holders: &AtomicUsize,
    turns: &AtomicUsize,
    first_poll: impl FnOnce(bool),
) -> usize {
    let mut first_poll = Some(first_poll);
    let permit = block_on(poll_fn(|cx| {
        let polled = Pin::new(&mut acquire).poll(cx);
        if let Some(f) = first_poll.take() {
            f(polled.is_ready());
        }
        polled
    }));
    hold(permit, holders, || turns.fetch_add(1, Ordering::SeqCst))
}

/// Runs `f` while holding `permit` as the only holder under a limit of 1.
fn hold<R>(permit: Permit, holders: &AtomicUsize, f: impl FnOnce() -> R) -> R {
    assert_eq!(
        holders.fetch_add(1, Ordering::SeqCst),
        0,
        "two holders of the only permit"
    );
    let out = f();
    holders.fetch_sub(1, Ordering::SeqCst);
    drop(permit);
    out
}

/// Checks that `limiter` (of `limit` permits, none held) is idle: every
/// permit free, no one queued, and a fresh ticket served at once.
fn assert_idle(limiter: &Arc<Limiter>, limit: usize) {
    assert_eq!(
        limiter.counts(),
        (limit, 0),
        "a permit was lost or duplicated, or a waiter left behind"
    );
    let noop = Waker::noop();
    let mut fresh = Limiter::enqueue(limiter);
    assert!(poll_once(&mut fresh, noop).is_ready());
}

#[test]
fn loom_limiter_serves_tickets_in_order_whichever_is_polled_first() {
    // Limit 1; tickets taken in order on the main thread (as spawns take
    // them); the second and third are awaited on two other threads while
    // the main thread uses and releases the first permit. The second must
    // hold the permit before the third, whoever is polled first.
    // 0: the second was served before its first poll, 1: its first poll
    // waited and the hand-off woke it, 2: the third was polled (and
    // waited) before the second was polled at all.
    static SEEN: [StdAtomicUsize; 3] = [const { StdAtomicUsize::new(0) }; 3];
    model(|| {
        let limiter = Limiter::new(1);
        let first = Limiter::enqueue(&limiter);
        let second = Limiter::enqueue(&limiter);
        let third = Limiter::enqueue(&limiter);
        let holders = Arc::new(AtomicUsize::new(0));
        let turns = Arc::new(AtomicUsize::new(0));
        let second_polled = StdArc::new(StdAtomicBool::new(false));

        let (h, t, polled) = (holders.clone(), turns.clone(), second_polled.clone());
        let t2 = thread::spawn(move || {
            take_turn(second, &h, &t, |ready| {
                polled.store(true, Relaxed);
                SEEN[usize::from(!ready)].fetch_add(1, Relaxed);
            })
        });
        let (h, t) = (holders.clone(), turns.clone());
        let t3 = thread::spawn(move || {
            take_turn(third, &h, &t, |ready| {
                assert!(!ready || second_polled.load(Relaxed));
                if !second_polled.load(Relaxed) {
                    SEEN[2].fetch_add(1, Relaxed);
                }
            })
        });
        let turn = take_turn(first, &holders, &turns, |ready| {
            assert!(ready, "the first ticket took the free permit when enqueued");
        });
        assert_eq!(turn, 0);
        assert_eq!(
            t2.join().unwrap(),
            1,
            "the third ticket overtook the second"
        );
        assert_eq!(t3.join().unwrap(), 2);
        assert_idle(&limiter, 1);
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_limiter_waiter_dropped_while_handed_the_permit_passes_it_on() {
    // Limit 1 and four tickets: the main thread holds the first permit and
    // releases it; one thread polls the third ticket once and drops it;
    // another awaits the second ticket, releases it, then awaits the
    // fourth. The third is dropped before its turn (its slot must be
    // skipped by the release that reaches it), or just after a release
    // handed it the permit (the drop must pass the permit on), or it takes
    // the permit at its poll. Whichever: the fourth is served last (else
    // its `block_on` never returns: loom reports a deadlock), no permit is
    // held twice, and the limiter ends with its one permit free.
    // 0: the third was dropped unserved, 1: it was dropped served and
    // passed the permit on, 2: its poll took the permit.
    static SEEN: [StdAtomicUsize; 3] = [const { StdAtomicUsize::new(0) }; 3];
    model(|| {
        let limiter = Limiter::new(1);
        let mut first = Limiter::enqueue(&limiter);
        let second = Limiter::enqueue(&limiter);
        let mut third = Limiter::enqueue(&limiter);
        let fourth = Limiter::enqueue(&limiter);
        let holders = Arc::new(AtomicUsize::new(0));
        let turns = Arc::new(AtomicUsize::new(0));
        let Poll::Ready(permit) = poll_once(&mut first, Waker::noop()) else {
            panic!("the first ticket took the free permit when enqueued")
        };

        let (h, t) = (holders.clone(), turns.clone());
        let dropper = thread::spawn(move || {
            let counter = CountingWaker::new();
            let waker = Waker::from(StdArc::clone(&counter));
            let took = match poll_once(&mut third, &waker) {
                Poll::Ready(permit) => {
                    SEEN[2].fetch_add(1, Relaxed);
                    Some(hold(permit, &h, || t.fetch_add(1, Ordering::SeqCst)))
                }
                Poll::Pending => {
                    let passed_on = third.cancel();
                    SEEN[usize::from(passed_on)].fetch_add(1, Relaxed);
                    None
                }
            };
            drop(third);
            took
        });
        let (h, t) = (holders.clone(), turns.clone());
        let waiter = thread::spawn(move || {
            let second = take_turn(second, &h, &t, |_| ());
            let fourth = take_turn(fourth, &h, &t, |_| ());
            (second, fourth)
        });
        assert_eq!(
            hold(permit, &holders, || turns.fetch_add(1, Ordering::SeqCst)),
            0
        );
        let third = dropper.join().unwrap();
        let (second, fourth) = waiter.join().unwrap();
        assert_eq!(second, 1, "the second ticket was not served next");
        if let Some(third) = third {
            assert_eq!(third, 2, "the third ticket was served out of turn");
        }
        assert_eq!(
            fourth,
            2 + usize::from(third.is_some()),
            "the fourth ticket was served out of turn"
        );
        assert_idle(&limiter, 1);
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_limiter_concurrent_releases_serve_both_waiters() {
    // Limit 2: two threads release the two permits at once while the main
    // thread waits for the two queued tickets, the later one polled first.
    // Both must be served (a release that frees its permit while a ticket
    // is queued is a deadlock), the later never before the earlier.
    // 0: the third ticket's first poll waited, 1: it found its permit,
    // 2: the fourth's early poll found its permit (both releases done).
    static SEEN: [StdAtomicUsize; 3] = [const { StdAtomicUsize::new(0) }; 3];
    model(|| {
        let limiter = Limiter::new(2);
        let held = [Limiter::enqueue(&limiter), Limiter::enqueue(&limiter)];
        let mut third = Limiter::enqueue(&limiter);
        let mut fourth = Limiter::enqueue(&limiter);
        let releases = held.map(|mut acquire| {
            let Poll::Ready(permit) = poll_once(&mut acquire, Waker::noop()) else {
                panic!("the first two tickets took the free permits")
            };
            thread::spawn(move || drop(permit))
        });

        let early = poll_once(&mut fourth, Waker::noop());
        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        let first_poll = poll_once(&mut third, &waker);
        SEEN[usize::from(first_poll.is_ready())].fetch_add(1, Relaxed);
        let third_ready = first_poll.is_ready();
        let third = match first_poll {
            Poll::Ready(permit) => permit,
            Poll::Pending => block_on(third),
        };
        let fourth = match early {
            Poll::Ready(permit) => {
                SEEN[2].fetch_add(1, Relaxed);
                assert!(third_ready, "the fourth ticket was served before the third");
                permit
            }
            // Polled again by `block_on` with another waker: the hand-off
            // must wake that one.
            Poll::Pending => block_on(fourth),
        };
        assert_eq!(limiter.counts(), (0, 0));
        drop((third, fourth));
        for r in releases {
            r.join().unwrap();
        }
        assert_idle(&limiter, 2);
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

// The queue of finished children.

/// Waits on `finished` as `join_next` does: pops, or registers and waits.
fn next_finished(finished: &Finished) -> usize {
    block_on(poll_fn(|cx| match finished.pop_or_register(cx.waker()) {
        Some(index) => Poll::Ready(index),
        None => Poll::Pending,
    }))
}

#[test]
fn loom_join_next_sees_children_finishing_while_it_registers() {
    // Two children finish on two threads while the joiner waits for both:
    // a finish between the joiner's empty pop and its registration would
    // be lost (loom reports the joiner's `block_on` as a deadlock).
    // 0: a wait found a child already finished, 1: a wait found none and
    // went to sleep until a finish.
    static SEEN: [StdAtomicUsize; 2] = [const { StdAtomicUsize::new(0) }; 2];
    model(|| {
        let finished = Arc::new(Finished::new());
        let children: Vec<_> = (0..2)
            .map(|index| {
                let finished = Arc::clone(&finished);
                thread::spawn(move || finished.push(index))
            })
            .collect();
        let mut joined = Vec::new();
        while joined.len() < 2 {
            let counter = CountingWaker::new();
            let waker = Waker::from(StdArc::clone(&counter));
            let index = match finished.pop_or_register(&waker) {
                Some(index) => {
                    SEEN[0].fetch_add(1, Relaxed);
                    index
                }
                None => {
                    SEEN[1].fetch_add(1, Relaxed);
                    next_finished(&finished)
                }
            };
            joined.push(index);
        }
        joined.sort_unstable();
        assert_eq!(joined, [0, 1]);
        for c in children {
            c.join().unwrap();
        }
        assert_eq!(finished.pop_or_register(Waker::noop()), None);
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_a_finish_wakes_the_joiner_that_replaced_a_dropped_one() {
    // A `join_next` registers and is dropped (raced against a timeout, say);
    // a new one, with another waker, waits while the child finishes. The
    // finish must wake the new waker, whether it comes before or after the
    // replacement.
    // 0: the finish woke the dropped joiner's waker, 1: it woke the new
    // one, 2: the first poll already found it.
    static SEEN: [StdAtomicUsize; 3] = [const { StdAtomicUsize::new(0) }; 3];
    model(|| {
        let finished = Arc::new(Finished::new());
        let f = Arc::clone(&finished);
        let child = thread::spawn(move || f.push(7));
        let stale = CountingWaker::new();
        let popped = finished.pop_or_register(&Waker::from(StdArc::clone(&stale)));
        let index = popped.unwrap_or_else(|| next_finished(&finished));
        assert_eq!(index, 7);
        child.join().unwrap();
        let seen = match (popped, stale.wakes()) {
            (Some(_), _) => 2,
            (None, 0) => 1,
            (None, _) => 0,
        };
        SEEN[seen].fetch_add(1, Relaxed);
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

// The slot of a started child.

#[test]
fn loom_started_races_the_starters_registration() {
    // The child reports on another thread while the starter polls the
    // slot: a report between the starter's look and its registration would
    // be lost.
    // 0: the first poll found the value, 1: it registered and the report
    // woke it.
    static SEEN: [StdAtomicUsize; 2] = [const { StdAtomicUsize::new(0) }; 2];
    model(|| {
        let slot = StartSlot::new();
        let started = Started::new(Arc::clone(&slot));
        let child = thread::spawn(move || started.started(7u16));
        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        let first = slot.poll(&mut Context::from_waker(&waker));
        child.join().unwrap();
        match first {
            Poll::Ready(value) => {
                SEEN[0].fetch_add(1, Relaxed);
                assert_eq!(value, Some(7));
            }
            Poll::Pending => {
                SEEN[1].fetch_add(1, Relaxed);
                assert_eq!(
                    counter.wakes(),
                    1,
                    "the report did not wake the registered starter"
                );
                let again = slot.poll(&mut Context::from_waker(Waker::noop()));
                assert_eq!(again, Poll::Ready(Some(7)));
            }
        }
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_a_child_that_never_reports_wakes_the_starter() {
    // The child's handle is dropped unreported on another thread: `start`
    // must return `NotStarted` (else `block_on` never returns: loom
    // reports a deadlock).
    model(|| {
        let slot = StartSlot::<u16>::new();
        let started = Started::new(Arc::clone(&slot));
        let child = thread::spawn(move || drop(started));
        assert_eq!(block_on(wait_started(slot)), Err(StartError::NotStarted));
        child.join().unwrap();
    });
}

// The slot an aborted child watches.

#[test]
fn loom_abort_races_the_childs_registration() {
    // The abort comes from another thread while the child checks the slot
    // and registers its waker: an abort between the two would be lost.
    // 0: the first poll saw the abort, 1: it registered and the abort
    // woke it.
    static SEEN: [StdAtomicUsize; 2] = [const { StdAtomicUsize::new(0) }; 2];
    model(|| {
        let slot = AbortSlot::new();
        let s = Arc::clone(&slot);
        let aborter = thread::spawn(move || s.abort());
        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        let first = slot.poll_aborted(&mut Context::from_waker(&waker));
        aborter.join().unwrap();
        match first {
            Poll::Ready(()) => {
                SEEN[0].fetch_add(1, Relaxed);
                assert_eq!(counter.wakes(), 0);
            }
            Poll::Pending => {
                SEEN[1].fetch_add(1, Relaxed);
                assert_eq!(counter.wakes(), 1, "the abort did not wake the child");
                let again = slot.poll_aborted(&mut Context::from_waker(Waker::noop()));
                assert_eq!(again, Poll::Ready(()));
            }
        }
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}

#[test]
fn loom_an_abort_from_another_thread_ends_the_child() {
    // `abortable` around a future that never completes: an abort from
    // another thread must end it with `None` (else `block_on` never
    // returns: loom reports a deadlock).
    model(|| {
        let slot = AbortSlot::new();
        let s = Arc::clone(&slot);
        let aborter = thread::spawn(move || s.abort());
        assert_eq!(
            block_on(abortable(&slot, std::future::pending::<()>())),
            None
        );
        aborter.join().unwrap();
    });
}

#[test]
fn loom_abort_racing_the_childs_end_keeps_no_waker() {
    // The child ends (and lets its waker go) while an abort comes: the
    // waker is woken at most once, is not kept afterwards, and the slot
    // says the child ended.
    // 0: the abort woke the child before it ended, 1: it came after.
    static SEEN: [StdAtomicUsize; 2] = [const { StdAtomicUsize::new(0) }; 2];
    model(|| {
        let slot = AbortSlot::new();
        let counter = CountingWaker::new();
        let waker = Waker::from(StdArc::clone(&counter));
        assert!(
            slot.poll_aborted(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(waker);
        let s = Arc::clone(&slot);
        let aborter = thread::spawn(move || s.abort());
        slot.finish();
        aborter.join().unwrap();
        assert!(slot.is_finished());
        let wakes = counter.wakes();
        assert!(wakes <= 1);
        SEEN[wakes].fetch_add(1, Relaxed);
        assert_eq!(
            StdArc::strong_count(&counter),
            1,
            "the slot kept the child's waker"
        );
    });
    assert!(SEEN.iter().all(|s| s.load(Relaxed) > 0), "{SEEN:?}");
}
