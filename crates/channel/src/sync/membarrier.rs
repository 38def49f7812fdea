//! The store-load fences of the wait protocol: asymmetric through Linux
//! `membarrier` where the process has it, `SeqCst` fences elsewhere (see
//! `waiter` for the protocol they serve).

use super::{Ordering, fence};

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
    //! `STATE` starts `Unknown`; the first waiter registers the process for
    //! expedited barriers and sets `On` or `Off`. A notifier that reads
    //! `Unknown` or `Off` uses a real `SeqCst` fence, which pairs with either
    //! kind of waiter fence, so the switch-over is safe at any moment.

    use std::sync::atomic::{AtomicU8, Ordering};

    /// Whether the process has expedited barriers, as `STATE` holds it.
    #[repr(u8)]
    #[derive(Clone, Copy)]
    enum Support {
        /// No waiter has asked yet.
        Unknown = 0,
        /// Registered: waiters run `membarrier`, notifiers a compiler
        /// fence.
        On = 1,
        /// Not available: both sides use `SeqCst` fences.
        Off = 2,
    }

    static STATE: AtomicU8 = AtomicU8::new(Support::Unknown as u8);

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
        STATE.load(Ordering::Relaxed) == Support::On as u8
    }

    /// Registers the process for expedited barriers (once).
    pub(super) fn prepare() {
        if STATE.load(Ordering::Acquire) == Support::Unknown as u8 {
            let on = membarrier(CMD_REGISTER_PRIVATE_EXPEDITED);
            let support = if on { Support::On } else { Support::Off };
            STATE.store(support as u8, Ordering::Release);
        }
    }

    /// Runs the process-wide barrier; false if it is not available.
    pub(super) fn heavy() -> bool {
        prepare();
        if STATE.load(Ordering::Acquire) != Support::On as u8 {
            return false;
        }
        // Notifiers of queues created while `On` rely on this barrier: a
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
