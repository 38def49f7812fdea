//! Parked workers drive async-io's reactor (the `io` feature).
//!
//! Sockets of async-net, async-io's `Async` and everything built on them
//! (async-h1, tide, the smol ecosystem) register with async-io's
//! process-wide reactor. Without help, async-io's own thread waits on that
//! reactor, and every readiness event hops from that thread to a worker:
//! a wake-up through the injector and a worker unparked. With the `io`
//! feature, one parked worker at a time, the *I/O driver*, waits on the
//! reactor itself (through `async_io::block_on`) instead of on its parker:
//! a socket that becomes ready wakes its task on that worker, which runs
//! it at once from its LIFO slot.
//!
//! # The wake-up protocol ([`IoPark`])
//! A parked worker is woken through its parker; the I/O driver waits in
//! async-io's `block_on` instead, so it is also woken through a waker:
//!
//! - every unpark of a worker sets `notified` (a swap, so that it is
//!   ordered after the worker's last take of the flag), issues a `SeqCst`
//!   fence, then loads `driving` and, if set, wakes the registered waker;
//! - the driver's wait registers its waker, stores `driving`, issues a
//!   `SeqCst` fence, then takes `notified`: set, it stops waiting.
//!
//! Each side stores, fences, then loads, so either the unpark sees
//! `driving` (and wakes a registered waker) or the driver sees `notified`:
//! a wake-up is never lost. (Fences rather than `SeqCst` accesses, as in
//! the idle protocol; with a plain store for the unpark's flag, loom finds
//! an execution whose wake-up is lost.) A stale `notified` (an unpark the
//! worker's parker consumed) is cleared before the worker announces itself
//! idle ([`IoPark::clear`]); a wake-up sent after that point either sets
//! it again or is for work the worker's last look before sleeping finds
//! (see `idle.rs`). Tasks that the reactor wakes on the driver's own
//! thread go to its own queues; the worker then wakes itself the same way.
//!
//! `loom_tests::loom_io_park_*` model the protocol.

use core::task::{Context, Poll};

use crate::sync::{AtomicBool, Ordering, fence};

#[cfg(not(loom))]
use atomic_waker::AtomicWaker;
#[cfg(loom)]
use loom::future::AtomicWaker;

/// How a worker that waits on the reactor instead of its parker is woken.
///
/// # Invariants
/// `driving` is set only between the driver's [`IoPark::poll_unparked`]
/// registering a waker and its [`IoPark::done`]; a waker is registered
/// whenever `driving` is set.
#[derive(Debug)]
pub(crate) struct IoPark {
    /// An unpark happened since the last [`IoPark::clear`] or
    /// [`IoPark::poll_unparked`] that took it.
    notified: AtomicBool,
    /// The worker waits on the reactor.
    driving: AtomicBool,
    /// Wakes the driver's `block_on`.
    waker: AtomicWaker,
}

impl IoPark {
    /// Not driving, not notified.
    pub(crate) fn new() -> Self {
        Self {
            notified: AtomicBool::new(false),
            driving: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// The I/O half of an unpark: wakes the worker if it waits on the
    /// reactor. Called after (or with) every unpark of its parker.
    #[inline]
    pub(crate) fn unpark(&self) {
        // Release: the worker's `clear` or wait that takes it sees the
        // work this unpark announces. A swap, not a store: it is ordered
        // after the worker's last take of the flag, never before it.
        self.notified.swap(true, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        if self.driving.load(Ordering::Relaxed) {
            self.waker.wake();
        }
    }

    /// Forgets an unpark already consumed by the worker's parker; called
    /// before the worker announces itself idle.
    #[inline]
    pub(crate) fn clear(&self) {
        // A swap, not a store: an unpark that lands after it stays seen,
        // and one it takes is acquired, so the work that unpark announced
        // is visible to the worker's last look. The relaxed load only
        // skips the swap; reading a stale `false` leaves a stale `true`,
        // which costs one spurious wake-up and loses nothing.
        if self.notified.load(Ordering::Relaxed) {
            self.notified.swap(false, Ordering::AcqRel);
        }
    }

    /// The driver's wait: ready once the worker was unparked.
    #[cfg_attr(not(any(feature = "io", loom)), allow(dead_code))]
    pub(crate) fn poll_unparked(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.notified.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        #[cfg(not(loom))]
        self.waker.register(cx.waker());
        #[cfg(loom)]
        self.waker.register_by_ref(cx.waker());
        self.driving.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.notified.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// The driver stopped waiting on the reactor.
    #[cfg_attr(not(any(feature = "io", loom)), allow(dead_code))]
    #[inline]
    pub(crate) fn done(&self) {
        self.driving.store(false, Ordering::Relaxed);
    }
}

/// Waits on async-io's reactor until `io` is unparked or `deadline`
/// passes, running the reactor's wake-ups meanwhile (they queue tasks on
/// this worker, which wakes itself through `io`).
#[cfg(all(feature = "io", not(loom)))]
pub(crate) fn drive(io: &IoPark, deadline: Option<std::time::Instant>) {
    use core::future::Future;
    use core::pin::Pin;

    /// The driver's wait, as the future `block_on` polls.
    struct Wait<'a> {
        io: &'a IoPark,
        timer: Option<async_io::Timer>,
    }

    impl Future for Wait<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if let Some(timer) = self.timer.as_mut()
                && Pin::new(timer).poll(cx).is_ready()
            {
                return Poll::Ready(());
            }
            self.io.poll_unparked(cx)
        }
    }

    async_io::block_on(Wait {
        io,
        timer: deadline.map(async_io::Timer::at),
    });
    io.done();
}
