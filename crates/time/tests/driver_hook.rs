//! Integration tests of `nimsync_time::driver`: a runtime helping to turn
//! the wheel through a [`Hook`], beside the timer thread, which never
//! stands down.
//!
//! `Hook::turn` reports the earliest deadline of the whole process, so this
//! file is its own test binary and runs every scenario, in a fixed order,
//! from one `#[test]` function: no other test arms timers meanwhile.

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

/// How long a scenario may take before it counts as hung. Generous: the
/// machine may be busy with other builds.
const HANG: Duration = Duration::from_secs(10);

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

/// Runs `f` on its own thread; fails if it has not returned after [`HANG`].
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not finish within {HANG:?}"))
}

/// Every driver-hook scenario, in order, in one test (see the file docs).
#[test]
fn driver_hook_scenarios() {
    park_loop_helper_sees_timers_fire_never_early();
    turn_reports_the_earliest_deadline_of_the_process();
    an_unturned_hook_holds_up_no_timer();
    timers_fire_while_the_helper_thread_is_busy();
    hooks_come_and_go_without_touching_the_timer_thread();
}

/// A runtime thread that turns its hook and parks until the returned
/// deadline sees sleeps, timeouts and intervals awaited on another thread
/// complete, never early.
fn park_loop_helper_sees_timers_fire_never_early() {
    let stop = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicUsize::new(0));
    let (attached_tx, attached_rx) = mpsc::channel();
    let runtime = {
        let (stop, turns) = (Arc::clone(&stop), Arc::clone(&turns));
        thread::spawn(move || {
            let hook: Hook = driver::attach();
            attached_tx.send(()).unwrap();
            while !stop.load(Ordering::SeqCst) {
                turns.fetch_add(1, Ordering::SeqCst);
                match hook.turn() {
                    Some(next) => {
                        thread::park_timeout(next.saturating_duration_since(Instant::now()))
                    }
                    // Nothing armed: wait for the test's stop (or a short
                    // while, to turn again for the next timer).
                    None => thread::park_timeout(ms(1)),
                }
            }
        })
    };
    attached_rx.recv().unwrap();

    block_on(async {
        for length in [3, 1, 7, 0, 5] {
            let deadline = Instant::now() + ms(length);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "a sleep came early");
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
    assert!(turns.load(Ordering::SeqCst) >= 2);

    stop.store(true, Ordering::SeqCst);
    runtime.thread().unpark();
    runtime.join().unwrap();
}

/// `turn` returns the earliest deadline armed in the process (rounded up to
/// its tick), follows earlier timers, and is `None` with nothing armed.
fn turn_reports_the_earliest_deadline_of_the_process() {
    let hook = driver::attach();
    assert_eq!(hook.turn(), None, "no timer is armed");
    assert!(!hook.is_due());
    assert!(format!("{hook:?}").contains("Hook"));

    let counter = Arc::new(CountingWake(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);

    let mut long = sleep(ms(3_000));
    assert!(poll(&mut long, &mut cx).is_pending());
    let planned = hook.turn().expect("a timer is armed");
    assert!(planned >= long.deadline(), "turn reported a deadline early");
    assert!(planned <= long.deadline() + ms(2));

    let mut later = sleep(ms(6_000));
    assert!(poll(&mut later, &mut cx).is_pending());
    assert_eq!(
        hook.turn(),
        Some(planned),
        "a later timer moved the deadline"
    );

    let mut short = sleep(ms(200));
    assert!(poll(&mut short, &mut cx).is_pending());
    let next = hook.turn().expect("three timers are armed");
    assert!(next >= short.deadline());
    assert!(next <= short.deadline() + ms(2));

    // Nobody but the timer thread turns now: the short sleep still fires.
    while poll(&mut short, &mut cx).is_pending() {
        thread::park_timeout(ms(5));
    }
    assert!(Instant::now() >= short.deadline());
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken once");
    assert_eq!(hook.turn(), Some(planned), "the long sleep is next again");
    assert!(poll(&mut long, &mut cx).is_pending());
    drop(long);
    drop(later);
    assert_eq!(hook.turn(), None, "dropped timers are disarmed");
}

/// A hook that is attached and never turned (a runtime whose threads never
/// park) holds up no timer: the timer thread fires them all on time.
fn an_unturned_hook_holds_up_no_timer() {
    let hook = driver::attach();
    let took = within("a sleep beside an unturned hook", || {
        let start = Instant::now();
        block_on(sleep(ms(10)));
        start.elapsed()
    });
    assert!(took >= ms(10), "the sleep came early: {took:?}");
    let deadline = Instant::now() + ms(5);
    block_on(sleep_until(deadline));
    assert!(Instant::now() >= deadline);
    assert!(!hook.is_due(), "the timer thread fired everything");
}

/// While the thread that helps turn the wheel is stuck in a long stretch of
/// work (as a worker in a long poll is), short sleeps on other threads fire
/// long before it ends.
fn timers_fire_while_the_helper_thread_is_busy() {
    let (parked_tx, parked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let helper = thread::spawn(move || {
        let hook = driver::attach();
        // One turn, as a worker does before it parks, then busy until told.
        hook.turn();
        parked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        hook.turn();
    });
    parked_rx.recv().unwrap();
    let took = within("a sleep beside a busy helper", || {
        let start = Instant::now();
        block_on(sleep(ms(10)));
        start.elapsed()
    });
    release_tx.send(()).unwrap();
    helper.join().unwrap();
    assert!(took >= ms(10));
    assert!(
        took < Duration::from_secs(1),
        "a 10 ms sleep waited for the busy helper: {took:?}"
    );
}

/// Attaching and dropping many hooks, also while timers are armed, never
/// disturbs the timer thread.
fn hooks_come_and_go_without_touching_the_timer_thread() {
    let mut nap = sleep(ms(20));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(poll(&mut nap, &mut cx).is_pending());
    for _ in 0..100 {
        let hook = driver::attach();
        if hook.is_due() {
            hook.turn();
        }
    }
    let deadline = nap.deadline();
    within("a sleep after hooks came and went", move || block_on(nap));
    assert!(Instant::now() >= deadline);
}
