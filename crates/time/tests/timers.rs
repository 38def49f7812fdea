//! Integration tests of the timers under the background timer thread:
//! `sleep`, `Sleep::reset`, `timeout` and `interval`, polled by
//! `futures_lite::future::block_on`, by hand and by a tiny hand-written
//! executor. No driver hook is attached in this process (see
//! `driver_hook.rs`), so the `nimsync-timer` thread drives every timer.
//!
//! Timing assertions only ever check that nothing happens *early* and that
//! things happen in order; nothing asserts an upper bound on latency.

use std::cmp::Reverse;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use fastrand::Rng;
use futures_lite::future::block_on;
use nimsync_time::{
    Elapsed, MissedTickBehavior, Sleep, TICK, interval, interval_at, sleep, sleep_until, timeout,
    timeout_at,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A waker that counts its wake-ups.
struct CountingWake(AtomicUsize);

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker and the counter of its wake-ups.
fn counting_waker() -> (Waker, Arc<CountingWake>) {
    let counter = Arc::new(CountingWake(AtomicUsize::new(0)));
    (Waker::from(Arc::clone(&counter)), counter)
}

impl CountingWake {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A waker that unparks a thread.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks a thread and records the name of the thread that
/// woke it.
struct RecordingUnparker {
    thread: Thread,
    wakers: Mutex<Vec<Option<String>>>,
}

impl Wake for RecordingUnparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let name = thread::current().name().map(str::to_owned);
        self.wakers.lock().unwrap().push(name);
        self.thread.unpark();
    }
}

/// A minimal executor: polls `future` on a new thread, parking between
/// polls on a waker that unparks that thread.
fn run_on_own_thread<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    thread::spawn(move || {
        let waker = Waker::from(Arc::new(Unparker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future: Pin<Box<dyn Future<Output = T>>> = Box::pin(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    })
    .join()
    .expect("the executor thread panicked")
}

/// Polls every future until all finished; their outputs in order.
fn join_all<F: Future>(
    futures: impl IntoIterator<Item = F>,
) -> impl Future<Output = Vec<F::Output>> {
    let mut futures: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(move |cx| {
        let mut pending = false;
        for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    })
}

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------
// sleep
// ---------------------------------------------------------------------------

/// 200 concurrent sleeps of pseudo-random lengths (0..30 ms) on 4 threads:
/// none completes before its deadline.
#[test]
fn sleeps_never_complete_early() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            thread::spawn(move || {
                let mut rng = Rng::with_seed(0x9E37_79B9_7F4A_7C15 ^ t);
                let sleeps = (0..50).map(|i| {
                    let length = Duration::from_micros(rng.u64(..30_000));
                    async move {
                        let start = Instant::now();
                        let deadline = start + length;
                        if i % 2 == 0 {
                            sleep(length).await;
                        } else {
                            sleep_until(deadline).await;
                        }
                        let now = Instant::now();
                        assert!(
                            now >= deadline,
                            "a sleep of {length:?} completed {:?} early",
                            deadline - now
                        );
                    }
                });
                block_on(join_all(sleeps)).len()
            })
        })
        .collect();
    let completed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(completed, 200);
}

/// Sleeps fire in deadline order: polled latest deadline first, a sleep
/// never completes in a later poll round than one due at least 5 ms after it.
#[test]
fn sleeps_fire_in_deadline_order() {
    let mut rng = Rng::with_seed(42);
    let start = Instant::now();
    // (deadline, sleep, poll round it completed in, instant it was seen done)
    let mut sleeps: Vec<(Instant, Sleep, Option<usize>, Option<Instant>)> = (0..40)
        .map(|_| {
            let deadline = start + ms(2) + Duration::from_micros(rng.u64(..60_000));
            (deadline, sleep_until(deadline), None, None)
        })
        .collect();
    // Polling the latest deadline first makes the check sound: if a later
    // sleep is seen done before an earlier one is seen pending in the same
    // round, the later one really fired first.
    sleeps.sort_by_key(|s| Reverse(s.0));
    let mut round = 0;
    block_on(poll_fn(|cx| {
        let mut pending = false;
        for (_, sleep, done, at) in &mut sleeps {
            if done.is_none() {
                if Pin::new(sleep).poll(cx).is_ready() {
                    *done = Some(round);
                    *at = Some(Instant::now());
                } else {
                    pending = true;
                }
            }
        }
        round += 1;
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    let mut compared = 0;
    for (a_deadline, _, a_round, a_at) in &sleeps {
        assert!(a_at.unwrap() >= *a_deadline, "a sleep completed early");
        for (b_deadline, _, b_round, _) in &sleeps {
            if *a_deadline + ms(5) <= *b_deadline {
                compared += 1;
                assert!(
                    a_round <= b_round,
                    "a sleep due at +{:?} completed in round {a_round:?}, after one due at +{:?} \
                     (round {b_round:?})",
                    *a_deadline - start,
                    *b_deadline - start,
                );
            }
        }
    }
    assert!(compared > 100, "too few pairs compared: {compared}");
}

/// `sleep(ZERO)` and `sleep_until` a past instant are ready at their first
/// poll, and report themselves elapsed.
#[test]
fn zero_and_past_sleeps_are_ready_at_first_poll() {
    let mut zero = sleep(Duration::ZERO);
    assert!(zero.is_elapsed());
    assert_eq!(poll_once(&mut zero), Poll::Ready(()));

    let past = Instant::now();
    thread::sleep(ms(1)); // let `past` be strictly in the past
    let mut late = sleep_until(past);
    assert_eq!(late.deadline(), past);
    assert_eq!(poll_once(&mut late), Poll::Ready(()));

    let mut now = sleep_until(Instant::now());
    assert_eq!(poll_once(&mut now), Poll::Ready(()));
}

/// A future sleep is pending at its first poll and not elapsed; the wheel's
/// resolution is one millisecond.
#[test]
fn future_sleep_is_pending_and_not_elapsed() {
    assert_eq!(TICK, ms(1));
    let mut long = sleep(Duration::from_secs(3600));
    assert!(!long.is_elapsed());
    assert_eq!(poll_once(&mut long), Poll::Pending);
    assert_eq!(poll_once(&mut long), Poll::Pending);
    assert!(!long.is_elapsed());
    assert!(format!("{long:?}").contains("Sleep"));
}

/// The wake-up of an armed sleep comes from the `nimsync-timer` thread and
/// reaches a future polled on another thread, which then completes.
#[test]
fn wake_comes_from_the_timer_thread() {
    let (deadline, done, wakers) = thread::spawn(|| {
        let recorder = Arc::new(RecordingUnparker {
            thread: thread::current(),
            wakers: Mutex::new(Vec::new()),
        });
        let waker = Waker::from(Arc::clone(&recorder));
        let mut cx = Context::from_waker(&waker);
        let mut nap = sleep(ms(20));
        while Pin::new(&mut nap).poll(&mut cx).is_pending() {
            thread::park();
        }
        let wakers = recorder.wakers.lock().unwrap().clone();
        (nap.deadline(), Instant::now(), wakers)
    })
    .join()
    .unwrap();
    assert!(done >= deadline);
    assert!(!wakers.is_empty(), "the sleep completed without a wake-up");
    for name in &wakers {
        assert_eq!(name.as_deref(), Some("nimsync-timer"));
    }
}

/// A sleep polled on one thread and then moved to and polled on another
/// wakes only the latest waker.
#[test]
fn moved_sleep_wakes_its_latest_waker() {
    let (first, first_count) = counting_waker();
    let mut nap = sleep(ms(50));
    assert!(
        Pin::new(&mut nap)
            .poll(&mut Context::from_waker(&first))
            .is_pending()
    );
    let (deadline, second_pending, done, second_wakes) = thread::spawn(move || {
        let recorder = Arc::new(RecordingUnparker {
            thread: thread::current(),
            wakers: Mutex::new(Vec::new()),
        });
        let waker = Waker::from(Arc::clone(&recorder));
        let mut cx = Context::from_waker(&waker);
        let second_pending = Pin::new(&mut nap).poll(&mut cx).is_pending();
        while Pin::new(&mut nap).poll(&mut cx).is_pending() {
            thread::park();
        }
        let wakes = recorder.wakers.lock().unwrap().len();
        (nap.deadline(), second_pending, Instant::now(), wakes)
    })
    .join()
    .unwrap();
    assert!(done >= deadline);
    // If the re-registration found the sleep still pending, the fire came
    // after it and must have gone to the new waker only.
    if second_pending {
        assert_eq!(first_count.count(), 0, "the replaced waker was woken");
        assert!(second_wakes >= 1);
    }
}

// ---------------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------------

/// A future that finishes before the deadline yields `Ok(output)`.
#[test]
fn timeout_returns_the_output_when_the_future_wins() {
    block_on(async {
        assert_eq!(timeout(Duration::from_secs(10), async { 7 }).await, Ok(7));
        let slowish = async {
            sleep(ms(3)).await;
            "done"
        };
        assert_eq!(timeout(Duration::from_secs(10), slowish).await, Ok("done"));
    });
}

/// An output that is ready when the deadline has already passed still wins.
#[test]
fn timeout_prefers_a_ready_output_to_a_passed_deadline() {
    let past = Instant::now();
    thread::sleep(ms(1));
    let mut t = timeout_at(past, std::future::ready(5));
    assert_eq!(poll_once(&mut t), Poll::Ready(Ok(5)));
}

/// A future that does not finish in time yields `Err(Elapsed)`, never before
/// the deadline, and the error carries that deadline.
#[test]
fn timeout_elapses_for_a_slow_future() {
    let t = timeout(ms(10), std::future::pending::<()>());
    let deadline = t.deadline();
    let err = block_on(t).unwrap_err();
    assert!(Instant::now() >= deadline);
    assert_eq!(err.deadline(), deadline);

    let deadline = Instant::now() + ms(5);
    let slow = sleep(Duration::from_secs(3600));
    let err = block_on(timeout_at(deadline, slow)).unwrap_err();
    assert!(Instant::now() >= deadline);
    assert_eq!(err.deadline(), deadline);
}

/// `Elapsed` is a `std::error::Error` (and `Send + Sync + Copy`) whose
/// message says the deadline has elapsed, as tokio's does.
#[test]
fn elapsed_is_an_error_with_a_helpful_message() {
    fn assert_error<E: std::error::Error + Send + Sync + Copy + 'static>(_: &E) {}
    let deadline = Instant::now();
    let err: Elapsed = block_on(timeout_at(deadline, std::future::pending::<()>())).unwrap_err();
    assert_error(&err);
    assert_eq!(err.deadline(), deadline);
    assert_eq!(err.to_string(), "deadline has elapsed");
    let dyn_err: &dyn std::error::Error = &err;
    assert!(dyn_err.source().is_none());
    assert_eq!(err, err.clone());
}

/// A future that counts its drops and never finishes.
struct DropCounter(Arc<AtomicUsize>);

impl Future for DropCounter {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Dropping a `Timeout` drops its inner future exactly once, whether it was
/// pending or had elapsed; `into_inner` hands the future back undropped.
#[test]
fn dropping_a_timeout_drops_the_inner_future() {
    let drops = Arc::new(AtomicUsize::new(0));

    let mut pending = timeout(Duration::from_secs(3600), DropCounter(Arc::clone(&drops)));
    assert!(poll_once(&mut pending).is_pending());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(pending);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    let mut elapsed = timeout(ms(2), DropCounter(Arc::clone(&drops)));
    assert!(block_on(&mut elapsed).is_err());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped before the Timeout"
    );
    drop(elapsed);
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    let wrapped = timeout(ms(2), DropCounter(Arc::clone(&drops)));
    let inner = wrapped.into_inner();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop(inner);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------
// Sleep::reset
// ---------------------------------------------------------------------------

/// Resetting an armed sleep to an earlier deadline completes it then (not
/// before), and `deadline()` reports the new deadline.
#[test]
fn reset_earlier() {
    let mut nap = sleep(Duration::from_secs(3600));
    assert!(poll_once(&mut nap).is_pending());
    let soon = Instant::now() + ms(10);
    nap.reset(soon);
    assert_eq!(nap.deadline(), soon);
    block_on(&mut nap);
    assert!(Instant::now() >= soon);
}

/// Resetting an armed sleep to a later deadline keeps it from completing
/// at the old one.
#[test]
fn reset_later() {
    let mut nap = sleep(ms(5));
    assert!(poll_once(&mut nap).is_pending());
    let later = Instant::now() + ms(30);
    nap.reset(later);
    block_on(&mut nap);
    assert!(Instant::now() >= later);
}

/// A completed sleep reset into the future is pending again and then
/// completes at the new deadline, whether it completed through the wheel or
/// at its first poll.
#[test]
fn reset_after_completion() {
    // Completed through the wheel.
    let mut nap = sleep(ms(2));
    block_on(&mut nap);
    assert_eq!(poll_once(&mut nap), Poll::Ready(()));
    let again = Instant::now() + ms(20);
    nap.reset(again);
    assert!(!nap.is_elapsed());
    assert_eq!(poll_once(&mut nap), Poll::Pending);
    block_on(&mut nap);
    assert!(Instant::now() >= again);

    // Completed at its first poll, never armed.
    let mut instant = sleep(Duration::ZERO);
    assert_eq!(poll_once(&mut instant), Poll::Ready(()));
    let again = Instant::now() + ms(20);
    instant.reset(again);
    assert_eq!(poll_once(&mut instant), Poll::Pending);
    block_on(&mut instant);
    assert!(Instant::now() >= again);
}

/// Resetting an armed sleep to a passed deadline wakes its task and makes it
/// ready at the next poll, without waiting for the timer thread.
#[test]
fn reset_into_the_past_is_ready_at_once() {
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut nap = sleep(Duration::from_secs(3600));
    assert!(Pin::new(&mut nap).poll(&mut cx).is_pending());
    let past = Instant::now();
    thread::sleep(ms(1));
    nap.reset(past);
    assert_eq!(wakes.count(), 1, "reset into the past must wake the task");
    assert_eq!(Pin::new(&mut nap).poll(&mut cx), Poll::Ready(()));
}

/// Resetting a sleep while another thread waits on it wakes that thread at
/// the new deadline (the registered waker is kept across the reset).
#[test]
fn reset_while_another_thread_waits() {
    let shared = Arc::new(Mutex::new(sleep(Duration::from_secs(3600))));
    let (polled_tx, polled_rx) = mpsc::channel();
    let waiter = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let waker = Waker::from(Arc::new(Unparker(thread::current())));
            let mut cx = Context::from_waker(&waker);
            let mut first = true;
            loop {
                let ready = Pin::new(&mut *shared.lock().unwrap())
                    .poll(&mut cx)
                    .is_ready();
                if ready {
                    return Instant::now();
                }
                if first {
                    first = false;
                    polled_tx.send(()).unwrap();
                }
                thread::park();
            }
        })
    };
    polled_rx.recv().unwrap(); // the waiter registered its waker
    let soon = Instant::now() + ms(10);
    shared.lock().unwrap().reset(soon);
    let done = waiter.join().unwrap();
    assert!(done >= soon);
}

// ---------------------------------------------------------------------------
// Dropping armed sleeps
// ---------------------------------------------------------------------------

/// Armed sleeps dropped before their deadline never wake their waker, even
/// after the wheel has turned past their deadlines.
#[test]
fn dropped_armed_sleeps_never_wake() {
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut naps: Vec<Sleep> = (0..100).map(|i| sleep(ms(100 + i % 10))).collect();
    for nap in &mut naps {
        assert!(Pin::new(nap).poll(&mut cx).is_pending());
    }
    let last = naps.iter().map(Sleep::deadline).max().unwrap();
    drop(naps);
    // Once a sentinel due after all of them completes, the wheel has turned
    // past every dropped deadline.
    block_on(sleep_until(last + ms(2)));
    assert_eq!(wakes.count(), 0, "a dropped sleep woke its task");
}

/// 100 000 create/poll/drop cycles (up to 64 armed at once, dropped in
/// pseudo-random order) wake nothing and leave the timers working.
#[test]
fn many_create_poll_drop_cycles() {
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut rng = Rng::with_seed(0xDEAD_BEEF);
    let mut live: Vec<Sleep> = Vec::with_capacity(64);
    for _ in 0..100_000 {
        let mut nap =
            sleep(Duration::from_secs(60) + Duration::from_micros(rng.u64(..600_000_000)));
        assert!(Pin::new(&mut nap).poll(&mut cx).is_pending());
        live.push(nap);
        if live.len() == 64 {
            while !live.is_empty() {
                let index = rng.usize(..live.len());
                drop(live.swap_remove(index));
            }
        }
    }
    drop(live);
    assert_eq!(wakes.count(), 0);
    let deadline = Instant::now() + ms(3);
    block_on(sleep_until(deadline));
    assert!(Instant::now() >= deadline);
}

// ---------------------------------------------------------------------------
// interval
// ---------------------------------------------------------------------------

/// The first tick is immediate and reports the start instant.
#[test]
fn interval_first_tick_is_immediate() {
    let before = Instant::now();
    let mut every = interval(Duration::from_secs(3600));
    let after = Instant::now();
    assert_eq!(every.period(), Duration::from_secs(3600));
    let first = match poll_once(&mut Box::pin(every.tick())) {
        Poll::Ready(at) => at,
        Poll::Pending => panic!("the first tick must be ready at once"),
    };
    assert!(before <= first && first <= after);
    assert!(poll_once(&mut Box::pin(every.tick())).is_pending());

    let start = Instant::now();
    let mut at = interval_at(start, Duration::from_secs(3600));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(at.poll_tick(&mut cx), Poll::Ready(start));
    assert!(at.poll_tick(&mut cx).is_pending());
}

/// Ticks are exactly `start + k * period` and never early.
#[test]
fn interval_ticks_are_spaced_by_the_period() {
    let period = ms(5);
    let start = Instant::now() + ms(2);
    let mut every = interval_at(start, period);
    block_on(async {
        for k in 0..6 {
            let at = every.tick().await;
            assert_eq!(at, start + period * k);
            assert!(Instant::now() >= at, "tick {k} came early");
        }
    });
}

/// Sets up an interval of `period` that delivered two ticks (the second
/// through the wheel, so its sleep is armed), switches it to `behavior` and
/// blocks the thread for 3.5 periods. Returns the interval, its start and
/// the instant the blocking ended.
fn late_interval(
    period: Duration,
    behavior: MissedTickBehavior,
) -> (nimsync_time::Interval, Instant, Instant) {
    let mut every = interval(period);
    let t0 = block_on(every.tick());
    assert_eq!(block_on(every.tick()), t0 + period);
    every.set_missed_tick_behavior(behavior);
    assert_eq!(every.missed_tick_behavior(), behavior);
    thread::sleep(period * 7 / 2);
    (every, t0, Instant::now())
}

/// Burst (the default): after a 3.5-period stall the missed ticks are
/// delivered back to back with their scheduled instants, each ready at its
/// first poll, then the original schedule resumes.
#[test]
fn interval_burst_delivers_missed_ticks() {
    assert_eq!(
        interval(ms(1)).missed_tick_behavior(),
        MissedTickBehavior::Burst
    );
    let p = ms(10);
    let (mut every, t0, _) = late_interval(p, MissedTickBehavior::Burst);
    assert_eq!(block_on(every.tick()), t0 + p * 2);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(every.poll_tick(&mut cx), Poll::Ready(t0 + p * 3));
    assert_eq!(every.poll_tick(&mut cx), Poll::Ready(t0 + p * 4));
    let next = block_on(every.tick());
    assert_eq!(next, t0 + p * 5);
    assert!(Instant::now() >= next);
}

/// Delay: after a 3.5-period stall, one late tick, then the next a full
/// period after the late one was delivered.
#[test]
fn interval_delay_shifts_the_schedule() {
    let p = ms(10);
    let (mut every, t0, before) = late_interval(p, MissedTickBehavior::Delay);
    assert_eq!(block_on(every.tick()), t0 + p * 2);
    let after = Instant::now();
    let next = block_on(every.tick());
    assert!(
        next >= before + p,
        "the next tick is less than a period after the late one"
    );
    assert!(
        next <= after + p,
        "the next tick is more than a period after the late one"
    );
    assert!(Instant::now() >= next);
}

/// Skip: after a 3.5-period stall, one late tick, then the next tick on the
/// original grid strictly after the late delivery (the missed ones skipped).
#[test]
fn interval_skip_keeps_the_grid() {
    let p = ms(10);
    let (mut every, t0, before) = late_interval(p, MissedTickBehavior::Skip);
    assert_eq!(block_on(every.tick()), t0 + p * 2);
    let after = Instant::now();
    let next = block_on(every.tick());
    let offset = (next - t0).as_nanos();
    assert_eq!(offset % p.as_nanos(), 0, "off the grid by {offset} ns");
    assert!(next > before, "the next tick is not after the late one");
    assert!(next >= t0 + p * 5, "the missed ticks were not skipped");
    assert!(next <= after + p, "more than the missed ticks were skipped");
    assert!(Instant::now() >= next);
}

/// `Interval::reset` moves the next tick a full period from now.
#[test]
fn interval_reset_restarts_the_schedule() {
    let p = ms(10);
    let mut every = interval(p);
    block_on(every.tick());
    let before = Instant::now();
    every.reset();
    let next = block_on(every.tick());
    assert!(next >= before + p);
    assert!(Instant::now() >= next);
}

/// A zero period is refused with a message saying why.
#[test]
#[should_panic(expected = "needs a non-zero period")]
fn interval_with_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

// ---------------------------------------------------------------------------
// Foreign executors
// ---------------------------------------------------------------------------

/// Sleep, timeout and interval all work under a hand-written executor that
/// parks its own thread.
#[test]
fn timers_under_a_hand_written_executor() {
    let (slept, nap_deadline, timed_out, ticks) = run_on_own_thread(async {
        let nap = sleep(ms(5));
        let nap_deadline = nap.deadline();
        nap.await;
        let slept = Instant::now();
        let timed_out = timeout(ms(5), std::future::pending::<()>()).await;
        let timed_out = (timed_out, Instant::now());
        let mut every = interval(ms(2));
        let mut ticks = Vec::new();
        for _ in 0..3 {
            ticks.push((every.tick().await, Instant::now()));
        }
        (slept, nap_deadline, timed_out, ticks)
    });
    assert!(slept >= nap_deadline);
    let err = timed_out.0.unwrap_err();
    assert!(timed_out.1 >= err.deadline());
    assert_eq!(ticks[1].0 - ticks[0].0, ms(2));
    assert_eq!(ticks[2].0 - ticks[1].0, ms(2));
    for (scheduled, seen) in ticks {
        assert!(seen >= scheduled);
    }
}

/// Many executors on many threads, each with its own parked thread, all see
/// their timers complete and never early.
#[test]
fn timers_under_many_hand_written_executors() {
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            thread::spawn(move || {
                run_on_own_thread(async move {
                    let deadline = Instant::now() + ms(1 + i * 3);
                    sleep_until(deadline).await;
                    Instant::now() >= deadline
                })
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap(), "a sleep completed early");
    }
}

/// An interval with a period too long to add to an instant neither panics
/// nor ticks a second time.
#[test]
fn interval_with_a_huge_period_does_not_overflow() {
    let mut every = nimsync_time::interval(Duration::MAX);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(every.poll_tick(&mut cx).is_ready());
    assert!(every.poll_tick(&mut cx).is_pending());
    every.reset();
    assert!(every.poll_tick(&mut cx).is_pending());
}
