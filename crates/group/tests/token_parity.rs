//! What users of tokio-util's `CancellationToken` reach for:
//! `run_until_cancelled` (borrowed and owned), `cancelled_owned`, the drop
//! guard, and handles that compare and hash as the token they share.

mod common;

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use common::{DropSlot, counters, runtime, snapshot, within};
use futures_lite::future;
use nimsync_group::CancelToken;

/// A future that counts its polls and is never ready.
struct CountPolls(Arc<AtomicUsize>);

impl Future for CountPolls {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

#[test]
fn run_until_cancelled_returns_the_output_or_none() {
    let token = CancelToken::new();
    assert_eq!(
        future::block_on(token.run_until_cancelled(async { 5 })),
        Some(5)
    );

    let rt = runtime();
    rt.block_on(async {
        let drops = counters(1);
        let slot = DropSlot::new(0, &drops);
        let waiting =
            nimsync_scheduler::spawn(token.clone().run_until_cancelled_owned(async move {
                let _slot = slot;
                std::future::pending::<u8>().await
            }));
        nimsync_scheduler::yield_now().await;
        token.cancel();
        assert_eq!(within("the owned run", waiting).await.unwrap(), None);
        assert_eq!(snapshot(&drops), [1]);
    });
}

#[test]
fn run_until_cancelled_is_biased_towards_the_cancel() {
    // A cancelled token: the future is never polled, even a ready one.
    let token = CancelToken::new();
    token.cancel();
    let polls = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        future::block_on(token.run_until_cancelled(CountPolls(Arc::clone(&polls)))),
        None
    );
    let ready_polls = Arc::new(AtomicUsize::new(0));
    let counted = {
        let ready_polls = Arc::clone(&ready_polls);
        future::poll_fn(move |_| {
            ready_polls.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(1)
        })
    };
    assert_eq!(future::block_on(token.run_until_cancelled(counted)), None);
    assert_eq!(polls.load(Ordering::SeqCst), 0);
    assert_eq!(ready_polls.load(Ordering::SeqCst), 0);

    // Cancelled between two polls: the next poll returns `None` without
    // polling the future again.
    let token = CancelToken::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let mut run = Box::pin(token.run_until_cancelled(CountPolls(Arc::clone(&polls))));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(run.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    token.cancel();
    assert_eq!(run.as_mut().poll(&mut cx), Poll::Ready(None));
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_drop_guard_cancels_on_every_way_out_unless_disarmed() {
    let token = CancelToken::new();
    let child = token.child();
    drop(child.clone().drop_guard());
    assert!(child.is_cancelled());
    assert!(!token.is_cancelled());

    let token = CancelToken::new();
    let guard = token.clone().drop_guard();
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _guard = guard;
        panic!("work failed");
    }));
    assert!(unwound.is_err());
    assert!(token.is_cancelled(), "the unwinding dropped the guard");

    let token = CancelToken::new();
    let back = token.clone().drop_guard().disarm();
    assert_eq!(back, token);
    drop(back);
    assert!(!token.is_cancelled());
}

#[test]
// The hash and `==` read only which token it is, never its state.
#[allow(clippy::mutable_key_type)]
fn handles_of_one_token_are_equal_and_hash_alike() {
    fn hash_of(token: &CancelToken) -> u64 {
        let mut h = DefaultHasher::new();
        token.hash(&mut h);
        h.finish()
    }
    let token = CancelToken::new();
    let clone = token.clone();
    let child = token.child();
    assert_eq!(token, clone);
    assert_eq!(hash_of(&token), hash_of(&clone));
    assert_ne!(token, child);
    assert_ne!(child, child.child());
    assert_ne!(token, CancelToken::new());
    token.cancel();
    assert_eq!(token, clone, "cancelling changes no identity");
    assert_ne!(token, child, "nor makes a child its parent");
    let guarded = clone.clone().drop_guard().disarm();
    assert_eq!(guarded, token);
    let mut set = HashSet::new();
    assert!(set.insert(token.clone()));
    assert!(!set.insert(clone));
    assert!(set.insert(child));
    assert_eq!(set.len(), 2);
}

#[test]
fn cancelled_owned_waits_like_cancelled() {
    let token = CancelToken::new();
    let mut owned = Box::pin(token.clone().cancelled_owned());
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(owned.as_mut().poll(&mut cx).is_pending());
    token.cancel();
    assert!(owned.as_mut().poll(&mut cx).is_ready());
}
