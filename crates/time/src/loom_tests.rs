//! loom models of the wheel's register / fire / cancel race.
//!
//! One thread plays the timer's owner (poll, drop, reset), another the
//! driver (a turn under the lock, then wakes after releasing it), exactly as
//! `driver.rs` and `sleep.rs` do.

use core::task::{Context, Poll};
use std::sync::atomic::AtomicUsize as StdAtomicUsize;

use loom::thread;

use crate::entry::Entry;
use crate::sync::{Arc, Mutex, Ordering};
use crate::wheel::{Inserted, Key, Wheel};

/// A driver turn to `now`, waking after the lock is released.
fn turn(wheel: &Mutex<Wheel>, now: u64) -> usize {
    let mut fired = Vec::new();
    wheel.lock().turn(now, &mut fired);
    for entry in &fired {
        entry.wake();
    }
    fired.len()
}

fn armed(wheel: &Mutex<Wheel>, entry: &Arc<Entry>, deadline: u64) -> Key {
    match wheel.lock().insert(entry, deadline) {
        Inserted::Linked { key, .. } => key,
        Inserted::Due => panic!("deadline in the future"),
    }
}

/// A poll that races with the fire never misses its wake-up: the owner's
/// future completes (loom reports a deadlock otherwise).
#[test]
fn loom_poll_races_fire() {
    static BOTH_ORDERS: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        let mut first = true;
        loom::future::block_on(core::future::poll_fn(|cx: &mut Context<'_>| {
            let fired = entry.fired_or_register(cx.waker());
            if first {
                BOTH_ORDERS[usize::from(fired)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                first = false;
            }
            if fired {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        assert_eq!(driver.join().unwrap(), 1);
        assert_eq!(wheel.lock().len(), 0);
    });
    for (i, n) in BOTH_ORDERS.iter().enumerate() {
        assert!(
            n.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "interleaving {i} (first poll saw fired = {i}) never explored"
        );
    }
}

/// Dropping a timer while the driver fires it: exactly one of the two wins,
/// the wheel ends empty and holds no reference to the entry.
#[test]
fn loom_cancel_races_fire() {
    static OUTCOMES: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        let key = armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        // What `Sleep::drop` does.
        let removed = if entry.is_armed() {
            wheel.lock().remove(key)
        } else {
            None
        };
        let cancelled = removed.is_some();
        drop(removed);
        let fired = driver.join().unwrap();
        assert_eq!(
            cancelled as usize + fired,
            1,
            "exactly one of cancel and fire wins"
        );
        assert_eq!(entry.is_fired(), fired == 1);
        assert_eq!(wheel.lock().len(), 0);
        assert_eq!(Arc::strong_count(&entry), 1, "the wheel kept a reference");
        OUTCOMES[usize::from(cancelled)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    for (i, n) in OUTCOMES.iter().enumerate() {
        assert!(
            n.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "outcome {i} never explored"
        );
    }
}

/// Resetting a timer while the driver fires it: either the old deadline
/// fired and the reset re-armed it, or the reset won and it is armed at the
/// new deadline; in both cases exactly one node is linked afterwards.
#[test]
fn loom_reset_races_fire() {
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        let key = armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        // What `Sleep::reset` does.
        let (old, inserted) = {
            let mut wheel = wheel.lock();
            let old = wheel.remove(key);
            (old, wheel.insert(&entry, 5))
        };
        drop(old);
        assert!(matches!(inserted, Inserted::Linked { .. }));
        driver.join().unwrap();
        assert_eq!(wheel.lock().len(), 1);
        assert!(entry.is_armed());
        assert_eq!(turn(&wheel, 5), 1);
        assert!(entry.is_fired());
        assert_eq!(
            entry.state_for_tests().load(Ordering::Acquire),
            crate::entry::FIRED
        );
    });
}

/// The driver's hand-off between the timer thread and a helper (a runtime
/// worker that turns the wheel through a `Hook` before it parks, then goes
/// busy): whichever turns first, and whatever the helper does afterwards,
/// the timer fires. The timer thread runs the loop of `timer_thread` over
/// the real [`Driver`]; the model's clock and the OS's `park_timeout` are
/// [`Os`]. A timer left undriven leaves the owner blocked forever, which
/// loom reports as a deadlock.
mod handoff {
    use core::task::{Context, Poll};
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
    use std::time::Instant;

    use loom::sync::atomic::{AtomicBool, AtomicU64, fence};
    use loom::thread;

    use crate::driver::{Driver, Turner};
    use crate::entry::Entry;
    use crate::sync::{Arc, Ordering, Thread};
    use crate::wheel::{Clock, NEVER};

    /// Times the model driver was asked to start its timer thread (the
    /// thread had not registered when the first timer was armed).
    static STARTS: StdAtomicUsize = StdAtomicUsize::new(0);

    /// The model's start function: the model's timer thread is already
    /// running and registers itself, as the real one does once started.
    fn start(_: &Driver) {
        STARTS.fetch_add(1, StdOrdering::Relaxed);
    }

    /// Checks `f` under loom with `LOOM_MAX_PREEMPTIONS` (2 when unset),
    /// the bound CI uses.
    fn check(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(f);
    }

    /// The clock (in ticks) and the timer thread's OS timer.
    struct Os {
        /// The current tick.
        now: AtomicU64,
        /// The tick the timer thread's `park_timeout` ends at, or [`NEVER`]
        /// (it parks until unparked).
        planned: AtomicU64,
        /// Ends the timer thread's loop.
        stop: AtomicBool,
    }

    impl Os {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                now: AtomicU64::new(0),
                planned: AtomicU64::new(NEVER),
                stop: AtomicBool::new(false),
            })
        }

        /// `park_timeout` until tick `until` for `me`: returns at once when
        /// the clock has reached it; otherwise [`Os::advance`] unparks the
        /// thread when it does.
        fn park_until(&self, until: u64, me: &Thread) {
            self.planned.store(until, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if until != NEVER && self.now.load(Ordering::SeqCst) >= until {
                return;
            }
            me.park();
        }

        /// Time passes to tick `to`; the timer thread's OS timer expires if
        /// it was set for then or earlier.
        fn advance(&self, to: u64, timer: &Thread) {
            self.now.store(to, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if self.planned.load(Ordering::SeqCst) <= to {
                timer.unpark();
            }
        }
    }

    /// The loop of `timer_thread`, on the model's clock.
    fn timer_thread(driver: &Driver, os: &Os, me: &Thread) -> usize {
        driver.register_thread(me.clone());
        let mut fired = 0;
        loop {
            let (next, n) = driver.turn_counted(os.now.load(Ordering::SeqCst), Turner::Thread);
            fired += n;
            if os.stop.load(Ordering::SeqCst) {
                return fired;
            }
            os.park_until(next, me);
        }
    }

    /// Spawns the driver's timer thread and a helper that turns the wheel
    /// once (a worker about to park) and is then busy for good.
    fn start_threads(driver: &Arc<Driver>, os: &Arc<Os>) -> (Timer, thread::JoinHandle<usize>) {
        let me = Thread::new();
        let timer = {
            let (driver, os, me) = (Arc::clone(driver), Arc::clone(os), me.clone());
            thread::spawn(move || timer_thread(&driver, &os, &me))
        };
        let helper = {
            let (driver, os) = (Arc::clone(driver), Arc::clone(os));
            thread::spawn(move || {
                driver
                    .turn_counted(os.now.load(Ordering::SeqCst), Turner::Helper)
                    .1
            })
        };
        (Timer { handle: timer, me }, helper)
    }

    /// The model's timer thread.
    struct Timer {
        /// Joins it; returns how many timers it fired.
        handle: thread::JoinHandle<usize>,
        /// Unparks it.
        me: Thread,
    }

    /// Waits for `entry` to fire, as a `Sleep` does; `arm` runs once, after
    /// the waker is registered.
    fn wait_fired(entry: &Arc<Entry>, mut arm: impl FnMut()) {
        let mut armed = false;
        loom::future::block_on(core::future::poll_fn(|cx: &mut Context<'_>| {
            if entry.fired_or_register(cx.waker()) {
                return Poll::Ready(());
            }
            if !armed {
                armed = true;
                arm();
            }
            Poll::Pending
        }));
    }

    /// Stops the timer thread and joins both threads; returns how many
    /// timers each fired (timer thread, helper).
    fn finish(os: &Os, timer: Timer, helper: thread::JoinHandle<usize>) -> (usize, usize) {
        os.stop.store(true, Ordering::SeqCst);
        timer.me.unpark();
        (timer.handle.join().unwrap(), helper.join().unwrap())
    }

    /// A timer armed while the timer thread starts and a helper turns once:
    /// it fires when its tick comes, by the helper or by the thread, and
    /// both happen; so does the arm before the thread registered.
    #[test]
    fn loom_timer_thread_backs_up_a_helper() {
        static BY: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
        check(|| {
            let driver = Arc::new(Driver::new(Clock::new(Instant::now()), start));
            let os = Os::new();
            let (timer, helper) = start_threads(&driver, &os);
            let entry = Entry::new();
            wait_fired(&entry, || {
                assert!(driver.arm(&entry, 1).is_some());
                os.advance(1, &timer.me);
            });
            let (by_thread, by_helper) = finish(&os, timer, helper);
            assert_eq!(by_thread + by_helper, 1, "fired exactly once");
            assert_eq!(driver.armed_for_tests(), 0);
            BY[by_helper].fetch_add(1, StdOrdering::Relaxed);
        });
        for (i, n) in ["the timer thread", "the helper"].iter().zip(&BY) {
            assert!(
                n.load(StdOrdering::Relaxed) > 0,
                "no interleaving had {i} fire the timer"
            );
        }
        assert!(
            STARTS.load(StdOrdering::Relaxed) > 0,
            "no interleaving armed the timer before the thread registered"
        );
    }

    /// A timer moved earlier than the timer thread's planned wake-up (a
    /// `Sleep::reset`) while the helper turns: the thread is told and fires
    /// it at its new tick even though nobody else turns by then.
    #[test]
    fn loom_earlier_timer_reaches_the_timer_thread() {
        static PLANNED_LATER: StdAtomicUsize = StdAtomicUsize::new(0);
        check(|| {
            // Armed before the thread starts; the model's thread registers
            // itself, so the start request has nothing to do.
            let driver = Arc::new(Driver::new(Clock::new(Instant::now()), |_| {}));
            let os = Os::new();
            let entry = Entry::new();
            // The timer thread's first turn plans tick 2.
            let key = driver.arm(&entry, 2);
            let (timer, helper) = start_threads(&driver, &os);
            wait_fired(&entry, || {
                if os.planned.load(Ordering::SeqCst) == 2 {
                    PLANNED_LATER.fetch_add(1, StdOrdering::Relaxed);
                }
                assert!(driver.rearm(&entry, key, 1).is_some());
                os.advance(1, &timer.me);
            });
            let (by_thread, by_helper) = finish(&os, timer, helper);
            assert_eq!(by_thread + by_helper, 1, "fired exactly once");
            assert_eq!(driver.armed_for_tests(), 0);
        });
        assert!(
            PLANNED_LATER.load(StdOrdering::Relaxed) > 0,
            "no interleaving moved the timer while the thread slept toward tick 2"
        );
    }
}
