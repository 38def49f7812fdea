//! Integration tests of `nimsync_time::driver`: a runtime driving the wheel
//! through a [`Hook`] instead of the background timer thread.
//!
//! A hook is process-global (while one is attached the timer thread stands
//! down), so this file is its own test binary and runs every scenario, in a
//! fixed order, from one `#[test]` function. The order matters: no timer is
//! armed in this process before the first hook is attached, so the timer
//! thread has not started until the hooks are gone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use nimsync_time::driver::{self, Hook};
use nimsync_time::{Sleep, interval, sleep, sleep_until, timeout};

/// A waker that counts its wake-ups.
struct CountingWake(AtomicUsize);

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `sleep` once with `cx`.
fn poll(sleep: &mut Sleep, cx: &mut Context<'_>) -> Poll<()> {
    Pin::new(sleep).poll(cx)
}

/// Lets the clock pass `deadline` by a few ticks (no turn happens meanwhile).
fn wait_past(deadline: Instant) {
    let target = deadline + ms(3);
    let now = Instant::now();
    if target > now {
        thread::sleep(target - now);
    }
}

/// Every driver-hook scenario, in order, in one test: a hook is global.
#[test]
fn driver_hook_scenarios() {
    park_loop_runtime_drives_the_timers();
    let stale = manual_turns_fire_only_when_turned();
    timer_thread_starts_after_the_last_hook_is_dropped(stale);
    running_timer_thread_stands_down_while_a_hook_is_attached();
}

/// A runtime thread that turns its hook and parks until the returned
/// deadline (woken early by the hook's unpark callback) completes sleeps,
/// timeouts and intervals awaited on another thread, never early.
fn park_loop_runtime_drives_the_timers() {
    let stop = Arc::new(AtomicBool::new(false));
    let unparks = Arc::new(AtomicUsize::new(0));
    let turns = Arc::new(AtomicUsize::new(0));
    let (attached_tx, attached_rx) = mpsc::channel();
    let runtime = {
        let (stop, unparks, turns) = (Arc::clone(&stop), Arc::clone(&unparks), Arc::clone(&turns));
        thread::spawn(move || {
            let me = thread::current();
            let hook: Hook = driver::attach(move || {
                unparks.fetch_add(1, Ordering::SeqCst);
                me.unpark();
            });
            attached_tx.send(()).unwrap();
            while !stop.load(Ordering::SeqCst) {
                turns.fetch_add(1, Ordering::SeqCst);
                match hook.turn() {
                    Some(next) => {
                        thread::park_timeout(next.saturating_duration_since(Instant::now()))
                    }
                    None => thread::park(),
                }
            }
            drop(hook);
        })
    };
    attached_rx.recv().unwrap();

    block_on(async {
        for length in [3, 1, 7, 0, 5] {
            let deadline = Instant::now() + ms(length);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "a hook-driven sleep came early");
        }
        let t = timeout(ms(4), std::future::pending::<()>());
        let deadline = t.deadline();
        assert!(t.await.is_err());
        assert!(Instant::now() >= deadline);
        let mut every = interval(ms(2));
        let first = every.tick().await;
        for k in 1..4 {
            assert_eq!(every.tick().await, first + ms(2) * k);
        }
    });
    assert!(
        unparks.load(Ordering::SeqCst) >= 1,
        "arming a timer never called the hook's unpark callback"
    );
    assert!(turns.load(Ordering::SeqCst) >= 2);

    stop.store(true, Ordering::SeqCst);
    runtime.thread().unpark();
    runtime.join().unwrap();
}

/// While a hook is attached and nobody turns it, a sleep stays pending past
/// its deadline; `turn` fires it and returns the next deadline; `unpark` is
/// called only for timers earlier than the planned wake-up; `is_due` tracks
/// the due timer. Returns the planned wake-up the hook leaves behind.
fn manual_turns_fire_only_when_turned() -> Instant {
    let unparks = Arc::new(AtomicUsize::new(0));
    let hook = {
        let unparks = Arc::clone(&unparks);
        let me = thread::current();
        driver::attach(move || {
            unparks.fetch_add(1, Ordering::SeqCst);
            me.unpark();
        })
    };
    assert_eq!(hook.turn(), None, "no timer is armed");
    assert!(!hook.is_due());
    assert!(format!("{hook:?}").contains("Hook"));

    let counter = Arc::new(CountingWake(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let wakes = || counter.0.load(Ordering::SeqCst);

    // The first timer after attaching always reaches the hook.
    let mut long = sleep(ms(300));
    assert!(poll(&mut long, &mut cx).is_pending());
    assert_eq!(unparks.load(Ordering::SeqCst), 1);
    let planned = hook.turn().expect("a timer is armed");
    assert!(
        planned >= long.deadline(),
        "turn planned a wake-up before the deadline"
    );
    assert!(planned <= long.deadline() + ms(2));
    assert!(!hook.is_due());

    // A timer later than the planned wake-up does not need it.
    let mut later = sleep(ms(600));
    assert!(poll(&mut later, &mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "unpark for a later timer"
    );

    // An earlier one does.
    let mut short = sleep(ms(20));
    assert!(poll(&mut short, &mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        2,
        "no unpark for an earlier timer"
    );

    // Past its deadline, unturned: still pending, not woken, but due.
    wait_past(short.deadline());
    assert!(hook.is_due());
    assert!(
        poll(&mut short, &mut cx).is_pending(),
        "fired without a turn"
    );
    assert_eq!(wakes(), 0);

    // The turn fires it and plans the next wake-up at the long sleep.
    let next = hook.turn().expect("two timers are still armed");
    assert_eq!(wakes(), 1, "the turn did not wake the due sleep");
    assert!(next >= long.deadline());
    assert!(next <= long.deadline() + ms(2));
    assert!(!hook.is_due());
    assert_eq!(poll(&mut short, &mut cx), Poll::Ready(()));
    assert!(Instant::now() >= short.deadline());
    assert!(poll(&mut long, &mut cx).is_pending());

    drop(long);
    drop(later);
    drop(hook);
    next
}

/// With no timer thread started yet and the last hook dropped, a sleep due
/// after the wake-up that hook had planned (`stale`) starts the timer thread
/// and completes under `block_on` without any turn.
fn timer_thread_starts_after_the_last_hook_is_dropped(stale: Instant) {
    let deadline = stale.max(Instant::now()) + ms(20);
    block_on(sleep_until(deadline));
    assert!(Instant::now() >= deadline);
    let deadline = Instant::now() + ms(5);
    block_on(sleep_until(deadline));
    assert!(Instant::now() >= deadline);
}

/// With the timer thread running, attaching a hook makes it stand down (a
/// sleep stays pending past its deadline); dropping the hook hands the wheel
/// back to it and the sleep completes without a turn.
fn running_timer_thread_stands_down_while_a_hook_is_attached() {
    let unparks = Arc::new(AtomicUsize::new(0));
    let hook = {
        let unparks = Arc::clone(&unparks);
        driver::attach(move || {
            unparks.fetch_add(1, Ordering::SeqCst);
        })
    };
    let mut cx = Context::from_waker(Waker::noop());
    let mut nap = sleep(ms(10));
    assert!(poll(&mut nap, &mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "the hook, not the thread, was told"
    );
    wait_past(nap.deadline());
    assert!(
        poll(&mut nap, &mut cx).is_pending(),
        "the timer thread did not stand down"
    );
    drop(hook);
    block_on(&mut nap);
    assert!(Instant::now() >= nap.deadline());
}
