//! Fault injection: panics the tests cause on purpose (and catch), wakers
//! that panic after waking their thread, and a one-future executor that
//! can drop the future it drives while it waits.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::rng::{Rng, mix};

/// The payload of every panic a test injects on purpose.
pub(super) const INJECTED: &str = "stress: injected panic";

thread_local! {
    /// Set while this thread runs code whose panics a test expects and
    /// catches: the panic hook then prints nothing for them.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per process, a panic hook that stays silent for the
/// panics a test injects or expects (see [`quietly`]) and prints every
/// other panic as the default hook does, so an unexpected panic is still
/// reported above the test's FAIL line. With `STRESS_LOUD` set in the
/// environment every panic is printed (for debugging a test).
pub(super) fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        let loud = std::env::var_os("STRESS_LOUD").is_some();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info.payload().downcast_ref::<&str>() == Some(&INJECTED);
            if loud || !injected && !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Runs `f`, catching a panic; the panic hook stays silent while it runs.
pub(super) fn quietly<R>(f: impl FnOnce() -> R) -> thread::Result<R> {
    let was = QUIET.with(|q| q.replace(true));
    let res = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    res
}

/// Panics with [`INJECTED`].
pub(super) fn inject_panic() -> ! {
    std::panic::panic_any(INJECTED)
}

/// The message of a panic payload, if it has one.
pub(super) fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

/// Wakes a parked thread and remembers a wake that came before the park.
/// With a panic rate, it panics after a share of its wake-ups (having
/// woken its thread first), like an executor whose waker fails after
/// scheduling: the code that called it must still wake every other waiter.
#[derive(Debug)]
pub(super) struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
    /// Per mille of wake-ups that panic.
    panic_per_mille: u32,
    /// Seed and counter of the panic draws (wakers run on any thread).
    seed: u64,
    draws: AtomicU64,
    /// Where each panic is counted at once (a waker can be called by
    /// another thread after its own thread has ended).
    sink: Option<Arc<AtomicUsize>>,
}

impl ThreadWaker {
    /// A waker for the calling thread that never panics.
    pub(super) fn new() -> Arc<Self> {
        Self::panicking(0, 0)
    }

    /// A waker for the calling thread that panics after `per_mille` of its
    /// wake-ups, drawn from `seed`.
    pub(super) fn panicking(per_mille: u32, seed: u64) -> Arc<Self> {
        Self::panicking_into(per_mille, seed, None)
    }

    /// Like [`panicking`](Self::panicking), counting each panic in `sink`
    /// as it happens.
    pub(super) fn panicking_into(
        per_mille: u32,
        seed: u64,
        sink: Option<Arc<AtomicUsize>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            thread: thread::current(),
            woken: AtomicBool::new(false),
            panic_per_mille: per_mille,
            seed,
            draws: AtomicU64::new(0),
            sink,
        })
    }

    /// Parks until woken. A lost wake-up hangs here, and the watchdog
    /// reports the test by name.
    pub(super) fn wait(&self) {
        while !self.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let draw = mix(self.seed ^ self.draws.fetch_add(1, Ordering::Relaxed));
        // Never while unwinding: a second panic would abort the process,
        // whatever code called the waker.
        let panics = draw % 1000 < u64::from(self.panic_per_mille) && !thread::panicking();
        if panics {
            // Counted before the wake-up, so that the woken thread sees it.
            if let Some(sink) = &self.sink {
                sink.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
        if panics {
            inject_panic();
        }
    }
}

/// How [`drive`] ended.
#[derive(Debug)]
pub(super) enum Driven<T> {
    /// The future completed.
    Ready(T),
    /// The future was left pending, to be dropped or cancelled by the
    /// caller: while registered, or right after a wake-up (`after_wake`).
    Cancelled {
        /// Whether it was woken since its last poll.
        after_wake: bool,
    },
    /// A poll panicked (a waker it called panicked); the future must not
    /// be polled again.
    Panicked,
}

/// Polls `fut` on this thread with `tw`'s waker, parking between polls,
/// until it completes. At each `Pending`, with `cancel_per_mille` chance
/// it stops: half of those at once (the future is dropped while
/// registered), half right after the next wake-up (dropped holding a
/// wake-up it must pass on). The caller drops or cancels the future.
pub(super) fn drive<F: Future>(
    mut fut: Pin<&mut F>,
    tw: &Arc<ThreadWaker>,
    rng: &mut Rng,
    cancel_per_mille: u32,
) -> Driven<F::Output> {
    let waker = Waker::from(Arc::clone(tw));
    let mut cx = Context::from_waker(&waker);
    loop {
        match quietly(|| fut.as_mut().poll(&mut cx)) {
            Ok(Poll::Ready(v)) => return Driven::Ready(v),
            Err(_) => return Driven::Panicked,
            Ok(Poll::Pending) => {
                if rng.chance(cancel_per_mille) {
                    let after_wake = rng.below(2) == 1;
                    if after_wake {
                        tw.wait();
                    }
                    return Driven::Cancelled { after_wake };
                }
                tw.wait();
            }
        }
    }
}
