//! The concurrency facade: the only import path for atomics, cells, `Arc`,
//! `Mutex`, thread parking and spin hints in this crate.
//!
//! Under `cfg(loom)` everything here is loom's instrumented version, so the
//! same protocol code runs in the model checker. Outside loom these are the
//! standard library's types, at no extra cost.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    pub(crate) use atomic_waker::AtomicWaker;

    /// Stores `waker` in `cell`, cloning only if it changed.
    #[inline]
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register(waker);
    }

    /// `core::cell::UnsafeCell` behind loom's closure-based API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// One step of a spin loop.
    #[inline(always)]
    pub(crate) fn spin_hint() {
        core::hint::spin_loop();
    }

    /// Gives the rest of this time slice to another thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::future::AtomicWaker;
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// A thread to wake: under loom, a one-permit `Notify` per thread
    /// rather than loom's own park and unpark. loom lets an unpark wake a
    /// thread that is blocked on a loom mutex, which it then reports as a
    /// failure to take the lock; a notifier that claims a context and
    /// unparks its thread after the thread has moved on to lock a wait
    /// queue hits exactly that. `Notify` keeps the permit semantics of
    /// `unpark` (a wake before the park is not lost) without the clash.
    #[derive(Clone)]
    pub(crate) struct Thread(Arc<loom::sync::Notify>);

    impl Thread {
        pub(crate) fn unpark(&self) {
            self.0.notify();
        }
    }

    impl core::fmt::Debug for Thread {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("Thread")
        }
    }

    loom::thread_local! {
        static PARKER: Thread = Thread(Arc::new(loom::sync::Notify::new()));
    }

    /// The calling thread, to wake with [`Thread::unpark`].
    pub(crate) fn current() -> Thread {
        PARKER.with(Thread::clone)
    }

    /// Waits until the calling thread is unparked (at once if it was since
    /// its last park).
    pub(crate) fn park() {
        current().0.wait();
    }

    /// Stores `waker` in `cell`.
    pub(crate) fn register_waker(cell: &AtomicWaker, waker: &core::task::Waker) {
        cell.register_by_ref(waker);
    }

    /// Loom does not model time: a timed park is a plain park. Models never
    /// rely on a timeout firing.
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::park();
    }

    /// Under loom a spin step must yield so the model can make progress.
    pub(crate) fn spin_hint() {
        loom::thread::yield_now();
    }

    /// Gives the rest of this time slice to another thread.
    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;

/// True if the process uses asymmetric fences (after [`prepare_fences`]).
#[inline]
pub(crate) fn asymmetric_fences() -> bool {
    asymmetric::enabled()
}

/// Sets up the asymmetric fence once per process, so that notifiers take
/// the cheap path from the first publish. Called by every wait queue's
/// constructor; after the first call it is one load.
#[inline]
pub(crate) fn prepare_fences() {
    asymmetric::prepare();
}

/// The waiter's half of the store-load fence: a process-wide barrier when
/// `membarrier` is available, else a `SeqCst` fence.
#[inline]
pub(crate) fn heavy_fence() {
    if !asymmetric::heavy() {
        fence(Ordering::SeqCst);
    }
}

/// The notifier's half in asymmetric mode: only a compiler fence, since
/// the waiter's `membarrier` runs the barrier on this thread. Under loom,
/// which cannot model a barrier run on another thread, a `SeqCst` fence
/// (see the loom `asymmetric` module).
#[inline(always)]
pub(crate) fn light_fence() {
    #[cfg(not(loom))]
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

#[cfg(all(loom, test))]
pub(crate) use asymmetric::model_asymmetric;

#[cfg(all(target_os = "linux", not(loom), not(miri), not(nimsync_full_fence)))]
mod asymmetric {
    //! Asymmetric fences through `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`.
    //!
    //! After `membarrier` returns, every thread of this process that was
    //! running has executed a full barrier, and a thread that was not
    //! running passes one when it is scheduled. So a waiter that stores its
    //! registration and then calls `membarrier` pairs with a notifier whose
    //! own store-load ordering is only a compiler fence: either the
    //! notifier's load comes after its barrier point and sees the
    //! registration, or its earlier store is visible to the waiter's
    //! re-check. This is the classic Dekker argument with one side's fence
    //! executed remotely.
    //!
    //! `STATE` starts `UNKNOWN`; the first waiter registers the process for
    //! expedited barriers and sets `ON` or `OFF`. A notifier that reads
    //! `UNKNOWN` or `OFF` uses a real `SeqCst` fence, which pairs with either
    //! kind of waiter fence, so the switch-over is safe at any moment.

    use std::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    const ON: u8 = 1;
    const OFF: u8 = 2;
    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn membarrier(cmd: libc::c_int) -> bool {
        // SAFETY: `membarrier` takes two integer arguments and touches no
        // memory of ours; an unsupported command fails with an error code.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            ) == 0
        }
    }

    #[inline(always)]
    pub(super) fn enabled() -> bool {
        STATE.load(Ordering::Relaxed) == ON
    }

    /// Registers the process for expedited barriers (once).
    pub(super) fn prepare() {
        if STATE.load(Ordering::Acquire) == UNKNOWN {
            let on = membarrier(CMD_REGISTER_PRIVATE_EXPEDITED);
            STATE.store(if on { ON } else { OFF }, Ordering::Release);
        }
    }

    /// Runs the process-wide barrier; false if it is not available.
    pub(super) fn heavy() -> bool {
        prepare();
        if STATE.load(Ordering::Acquire) != ON {
            return false;
        }
        // Notifiers of queues created while `ON` rely on this barrier: a
        // plain fence would not pair with them. The kernel can fail it
        // transiently (memory pressure), so retry; never fall back.
        for _ in 0..1000 {
            if membarrier(CMD_PRIVATE_EXPEDITED) {
                return true;
            }
            std::thread::yield_now();
        }
        eprintln!(
            "nimsync-channel: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) keeps failing; \
             continuing could lose wake-ups, so the process aborts"
        );
        std::process::abort()
    }
}

#[cfg(loom)]
mod asymmetric {
    //! A model of the asymmetric fences for loom, which a model turns on
    //! with [`model_asymmetric`] to check the wait queues' switch from
    //! asymmetric to symmetric fences.
    //!
    //! Loom cannot model `membarrier` (a barrier run on every other
    //! thread), so both halves are `SeqCst` fences here: the waiter's
    //! `heavy` and the notifier's `light_fence`. What the models check is
    //! the switching protocol: the modes each side reads, the flag in
    //! `waiting`, and the pairing of a notifier's read-modify-write with a
    //! waiter still in an asymmetric mode. That `membarrier` itself orders
    //! a notifier's compiler fence is the kernel's documented guarantee.
    //!
    //! The flags are std thread-locals: loom runs every thread of a model
    //! on the OS thread of its test.

    use std::cell::Cell;

    std::thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static SWITCH_ON_REGISTER: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes queues created from now on (on this test's thread) start
    /// with asymmetric fences, and, if `switch_on_register`, switch to
    /// symmetric ones at their first registration, as a queue whose
    /// registrations come too often does.
    #[cfg(test)]
    pub(crate) fn model_asymmetric(on: bool, switch_on_register: bool) {
        ON.with(|o| o.set(on));
        SWITCH_ON_REGISTER.with(|s| s.set(switch_on_register));
    }

    /// Whether a registration switches its queue (see [`model_asymmetric`]).
    pub(crate) fn switch_on_register() -> bool {
        SWITCH_ON_REGISTER.with(Cell::get)
    }

    pub(super) fn enabled() -> bool {
        ON.with(Cell::get)
    }

    pub(super) fn heavy() -> bool {
        if enabled() {
            super::fence(super::Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    pub(super) fn prepare() {}
}

#[cfg(loom)]
pub(crate) use asymmetric::switch_on_register;

#[cfg(not(any(loom, all(target_os = "linux", not(miri), not(nimsync_full_fence)))))]
mod asymmetric {
    //! No `membarrier` here (or a model checker): both sides use `SeqCst`
    //! fences.

    #[inline(always)]
    pub(super) fn enabled() -> bool {
        false
    }

    pub(super) fn heavy() -> bool {
        false
    }

    pub(super) fn prepare() {}
}

/// Locks `m`, ignoring poisoning: every critical section in this crate
/// leaves the protected data consistent before anything that can panic.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Spins for a short, bounded time before a caller gives up and parks.
///
/// Mirrors crossbeam-utils' `Backoff`, but routes each step through the
/// facade so loom can schedule other threads.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
    /// The last step that spins; later steps yield.
    spin_limit: u32,
}

impl Backoff {
    // NB: waits inside the channel protocol (a slot claimed and not yet
    // written or read) spin 2 steps (7 spin-loop hints), then yield, not
    // crossbeam's 6 steps: on this virtual machine long pause loops were
    // slow to hand the core back, and when this limit also served the
    // blocking wait the ping-pong p50 round trip went from 11.6 us to
    // 4.0 us with it. See docs/perf-notes.md.
    const SPIN_LIMIT: u32 = 2;
    // NB: a thread about to park (`Backoff::before_parking`) spins 4 steps
    // (31 hints). Measured later, when this machine's pause loops had
    // become cheap again (crossbeam's own p50 at 0.37-0.42 us): blocking
    // ping-pong p50 went from 0.95-1.26 us to 0.31-0.45 us and p99 from
    // 4.1-5.1 us to 5.6-7.4 us (crossbeam 11.6-32 us); 6 steps gave the
    // same p50 but a p99 of 11.7 us. See docs/perf-notes.md.
    const PARK_SPIN_LIMIT: u32 = 4;
    const YIELD_LIMIT: u32 = if cfg!(loom) { 1 } else { 20 };

    /// A backoff for waiting on another thread inside the channel protocol
    /// (a slot claimed but not yet written or read).
    pub(crate) const fn new() -> Self {
        Self {
            step: 0,
            spin_limit: Self::SPIN_LIMIT,
        }
    }

    /// A backoff for a blocked operation before it registers and parks.
    pub(crate) const fn before_parking() -> Self {
        Self {
            step: 0,
            spin_limit: Self::PARK_SPIN_LIMIT,
        }
    }

    /// Waits a little longer each call: spins at first, then yields.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= self.spin_limit && !cfg!(loom) {
            for _ in 0..1u32 << self.step {
                spin_hint();
            }
        } else {
            yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Spins with no yield, for retrying a lost compare-and-swap.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(Self::SPIN_LIMIT) {
            spin_hint();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// True once spinning has stopped paying and the caller should park.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        // Under loom a yield runs the other threads to completion first, so
        // spinning would hide the parking path from the model: park at once.
        cfg!(loom) || self.step > Self::YIELD_LIMIT
    }
}
