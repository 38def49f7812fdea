//! Helpers shared by the integration tests: drop counters, a deadlock
//! watchdog and a one-shot channel built on wakers only (the scheduler may
//! not depend on nimsync-channel).

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

#[cfg(feature = "tracing")]
pub(crate) mod capture;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How long a test waits before it calls something a deadlock. Generous:
/// the machine may be busy with other builds; only a hang reaches it.
/// Under Miri the clock is virtual and advances with every interpreted
/// block, so work that takes milliseconds natively takes seconds of it.
pub(crate) const DEADLOCK: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 10 });

/// Loop counts: small under Miri (`cargo xtask miri`), large natively.
pub(crate) const fn scale(miri: usize, native: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

/// Counts how many times values made by [`DropCount::guard`] were dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    /// A fresh counter at zero.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A value that adds one to the counter when dropped.
    pub(crate) fn guard(&self) -> DropGuard {
        DropGuard(Arc::clone(&self.0))
    }

    /// The drops so far.
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Adds one to its [`DropCount`] when dropped.
#[derive(Debug)]
pub(crate) struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `f` on a fresh thread and returns its result, failing the test if
/// it has not finished after [`DEADLOCK`] (the thread is then leaked). A
/// panic in `f` is re-raised here.
pub(crate) fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLOCK) {
        Ok(value) => {
            let _ = thread.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {DEADLOCK:?}: deadlock or lost wake-up")
        }
    }
}

/// The shared state of a [`oneshot`] channel.
#[derive(Debug, Default)]
struct Shared<T> {
    /// The value, once sent.
    value: Option<T>,
    /// Whether the sender is gone.
    closed: bool,
    /// The receiver's waker.
    waker: Option<Waker>,
}

/// A one-shot channel: the receiver resolves to `Some(value)`, or `None`
/// when the sender is dropped without sending.
pub(crate) fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        closed: false,
        waker: None,
    }));
    (Sender(Some(Arc::clone(&shared))), Receiver(shared))
}

/// The sending half of [`oneshot`].
#[derive(Debug)]
pub(crate) struct Sender<T>(Option<Arc<Mutex<Shared<T>>>>);

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver.
    pub(crate) fn send(mut self, value: T) {
        if let Some(shared) = self.0.take() {
            let waker = {
                let mut s = shared.lock().unwrap();
                s.value = Some(value);
                s.closed = true;
                s.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            let waker = {
                let mut s = shared.lock().unwrap();
                s.closed = true;
                s.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// The receiving half of [`oneshot`]: a future of the value.
#[derive(Debug)]
pub(crate) struct Receiver<T>(Arc<Mutex<Shared<T>>>);

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.lock().unwrap();
        if let Some(value) = s.value.take() {
            return Poll::Ready(Some(value));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Polls `future` once with a no-op waker.
pub(crate) fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(future).poll(&mut cx)
}
