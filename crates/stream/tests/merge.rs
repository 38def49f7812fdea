//! The fair merge: it polls only streams that woke, takes turns, keeps to
//! its budget, and ends when every stream has.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use futures_lite::future::{block_on, poll_once};
use futures_lite::{Stream, StreamExt};
use nimsync_stream::{Merge, Overflow, channel, merge};

/// A stream that is never ready and counts how often it is polled; it
/// wakes itself on every poll if `busy`.
struct Idle {
    polls: Arc<AtomicUsize>,
    busy: bool,
}

impl Stream for Idle {
    type Item = u32;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        if self.busy {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

type Boxed = Pin<Box<dyn Stream<Item = u32> + Send>>;

#[test]
fn idle_streams_are_polled_once_however_many_items_pass() {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut m: Merge<Boxed> = Merge::new();
    for _ in 0..1000 {
        m.push(Box::pin(Idle {
            polls: polls.clone(),
            busy: false,
        }));
    }
    let (tx, rx) = channel(16, Overflow::Block);
    m.push(Box::pin(rx));
    block_on(async {
        for i in 0..100 {
            tx.send(i).unwrap();
            assert_eq!(m.next().await, Some(i));
        }
    });
    // Each idle stream was polled when it was added, never again.
    assert_eq!(polls.load(Ordering::Relaxed), 1000);
}

#[test]
fn a_poll_keeps_to_its_budget_and_yields() {
    // Every stream starts ready (it is polled once when added) and yields
    // nothing: one `poll_next` polls the budget's worth, then the next.
    let (polls, m, woken, waker) = ten_idle(false);
    let mut m = m.with_budget(4);
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut m).poll_next(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::Relaxed), 4);
    assert_eq!(
        woken.0.load(Ordering::Relaxed),
        1,
        "it yields, so it wakes itself"
    );
    assert!(Pin::new(&mut m).poll_next(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::Relaxed), 8);
    assert!(Pin::new(&mut m).poll_next(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::Relaxed), 10);
    assert_eq!(
        woken.0.load(Ordering::Relaxed),
        2,
        "the last two were not a yield"
    );
}

#[test]
fn a_stream_that_wakes_itself_gets_the_thread_back_at_once() {
    // A stream that wakes itself and yields nothing asks for the thread
    // back (tokio's cooperative budget makes every tokio stream do so):
    // the merge yields after that one poll, not after its budget.
    let (polls, mut m, woken, waker) = ten_idle(true);
    let mut cx = Context::from_waker(&waker);
    for round in 1..=3 {
        assert!(Pin::new(&mut m).poll_next(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), round);
        assert!(
            woken.0.load(Ordering::Relaxed) >= round,
            "it must be polled again"
        );
    }
}

/// A merge of ten `Idle` streams (`busy` as given), the count of their
/// polls, and a waker for the merge that counts its wake-ups.
fn ten_idle(busy: bool) -> (Arc<AtomicUsize>, Merge<Idle>, Arc<Count>, Waker) {
    let polls = Arc::new(AtomicUsize::new(0));
    let m = merge((0..10).map(|_| Idle {
        polls: polls.clone(),
        busy,
    }));
    let woken = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&woken));
    (polls, m, woken, waker)
}

/// A waker that counts its wake-ups.
struct Count(AtomicUsize);

impl std::task::Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn ready_streams_take_turns() {
    let (tx1, rx1) = channel(16, Overflow::Block);
    let (tx2, rx2) = channel(16, Overflow::Block);
    for i in 0..5 {
        tx1.send(i).unwrap();
        tx2.send(100 + i).unwrap();
    }
    drop((tx1, tx2));
    let got: Vec<u32> = block_on(merge([rx1, rx2]).collect());
    assert_eq!(got, [0, 100, 1, 101, 2, 102, 3, 103, 4, 104]);
}

#[test]
fn streams_pushed_while_it_runs_are_merged_and_it_ends_with_the_last() {
    let (tx1, rx1) = channel(4, Overflow::Block);
    let mut m = merge([rx1]);
    block_on(async {
        tx1.send(1).unwrap();
        assert_eq!(m.next().await, Some(1));
        assert!(poll_once(m.next()).await.is_none());
        let (tx2, rx2) = channel(4, Overflow::Block);
        m.push(rx2);
        tx2.send(2).unwrap();
        assert_eq!(m.next().await, Some(2));
        drop(tx1);
        assert!(
            poll_once(m.next()).await.is_none(),
            "one stream is still open"
        );
        assert_eq!(m.len(), 1);
        drop(tx2);
        assert_eq!(m.next().await, None);
        assert!(m.is_empty());
    });
}

#[test]
fn producers_on_threads_reach_the_merge_exactly_once() {
    let mut rxs = Vec::new();
    let mut producers = Vec::new();
    for p in 0..8u64 {
        let (tx, rx) = channel(8, Overflow::Block);
        rxs.push(rx);
        producers.push(std::thread::spawn(move || {
            for i in 0..2_000 {
                tx.send(p * 10_000 + i).unwrap();
            }
        }));
    }
    let mut got: Vec<u64> = block_on(merge(rxs).collect());
    producers.into_iter().for_each(|p| p.join().unwrap());
    got.sort_unstable();
    let want: Vec<u64> = (0..8)
        .flat_map(|p| (0..2_000).map(move |i| p * 10_000 + i))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_stream_that_wakes_later_is_not_passed_over_by_a_busy_one() {
    let (tx, rx) = channel(4, Overflow::Block);
    let busy: Pin<Box<dyn Stream<Item = u32> + Send>> =
        Box::pin(futures_lite::stream::repeat(0u32));
    let late: Pin<Box<dyn Stream<Item = u32> + Send>> = Box::pin(rx);
    let mut m = merge([busy, late]);
    block_on(async {
        // The late stream is polled once (empty), then wakes.
        assert_eq!(m.next().await, Some(0));
        tx.send(7).unwrap();
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(m.next().await.unwrap());
        }
        assert!(seen.contains(&7), "the woken stream got its turn: {seen:?}");
    });
}
