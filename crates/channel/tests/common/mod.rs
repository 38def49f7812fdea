//! Helpers shared by the integration tests: a waker that counts its
//! wake-ups, a future wrapper that reports when it first goes pending, and
//! values that count their drops.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};

/// Loop counts: tiny under Miri, large natively.
pub(crate) const fn scale(miri: usize, native: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

/// A waker that only counts how often it was woken.
#[derive(Debug, Default)]
pub(crate) struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    pub(crate) fn count(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and the `Waker` built from it.
pub(crate) fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counter));
    (counter, waker)
}

/// Polls `fut` once with `waker`.
pub(crate) fn poll_with<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    let mut cx = Context::from_waker(waker);
    Pin::new(fut).poll(&mut cx)
}

/// Wraps a future and sends one message on a std channel the first time the
/// inner future returns `Pending`, that is, after it has registered its
/// waker. A test can wait for that message before making the future ready,
/// so the wake-up path is exercised without sleeping.
#[derive(Debug)]
pub(crate) struct SignalPending<F> {
    inner: F,
    signal: Option<mpsc::Sender<()>>,
}

/// Wraps `fut`; `signal` gets `()` once `fut` has gone pending.
pub(crate) fn signal_pending<F: Future + Unpin>(
    fut: F,
    signal: mpsc::Sender<()>,
) -> SignalPending<F> {
    SignalPending {
        inner: fut,
        signal: Some(signal),
    }
}

impl<F: Future + Unpin> Future for SignalPending<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll(cx);
        if res.is_pending() {
            if let Some(signal) = this.signal.take() {
                // The test may have stopped listening; that is fine.
                let _ = signal.send(());
            }
        }
        res
    }
}

/// Counts drops per value id; dropping some chosen ids panics.
#[derive(Debug)]
pub(crate) struct Tracker {
    drops: Vec<AtomicUsize>,
    panic_ids: Vec<usize>,
}

impl Tracker {
    /// A tracker for ids `0..n`.
    pub(crate) fn new(n: usize) -> Arc<Self> {
        Self::with_panics(n, &[])
    }

    /// A tracker for ids `0..n` where dropping any of `panic_ids` panics.
    pub(crate) fn with_panics(n: usize, panic_ids: &[usize]) -> Arc<Self> {
        Arc::new(Self {
            drops: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            panic_ids: panic_ids.to_vec(),
        })
    }

    /// A new tracked value.
    pub(crate) fn item(self: &Arc<Self>, id: usize) -> Item {
        assert!(id < self.drops.len(), "id {id} out of range");
        Item {
            id,
            tracker: Arc::clone(self),
        }
    }

    /// How often `id` was dropped.
    pub(crate) fn drops(&self, id: usize) -> usize {
        self.drops[id].load(Ordering::SeqCst)
    }

    /// Drop count of every id, in id order.
    pub(crate) fn all(&self) -> Vec<usize> {
        self.drops
            .iter()
            .map(|d| d.load(Ordering::SeqCst))
            .collect()
    }

    /// Asserts that every id in `ids` was dropped exactly once.
    pub(crate) fn assert_once(&self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            assert_eq!(
                self.drops(id),
                1,
                "value {id} dropped {} times",
                self.drops(id)
            );
        }
    }

    /// Asserts that no id in `ids` was dropped yet.
    pub(crate) fn assert_alive(&self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            assert_eq!(
                self.drops(id),
                0,
                "value {id} dropped {} times, expected alive",
                self.drops(id)
            );
        }
    }
}

/// A value whose drop is counted by its [`Tracker`]. Not `Clone`, so each
/// id exists once.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) id: usize,
    tracker: Arc<Tracker>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.tracker.drops[self.id].fetch_add(1, Ordering::SeqCst);
        if self.tracker.panic_ids.contains(&self.id) && !std::thread::panicking() {
            panic!("deliberate panic while dropping value {}", self.id);
        }
    }
}
