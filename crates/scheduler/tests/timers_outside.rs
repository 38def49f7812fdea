//! nimsync-time's timers stay on time for code outside a runtime, whatever
//! the runtime's tasks do: a worker stuck in a long poll (or every worker,
//! or a current-thread `block_on` spinning) delays no sleep or timeout on a
//! plain thread. The timer thread fires them; the runtime only helps.
//!
//! The busy tasks spin for at most [`BUSY`] and stop as soon as the timer
//! under test completed, so a passing run is short. The bound on the
//! timer's lateness is generous (the machine may be busy with other
//! builds); it is far below [`BUSY`], which is what a timer waiting for the
//! busy worker took.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::DEADLOCK;
use nimsync_scheduler::{Builder, JoinHandle, Runtime, time};

/// How long a busy task spins at most.
const BUSY: Duration = Duration::from_millis(1_500);

/// How late a 10 ms timer may complete and still count as on time here.
const LATE: Duration = Duration::from_secs(1);

/// Spins on the calling thread until `done` is set or [`BUSY`] passed.
/// Returns whether it was stopped by `done`.
fn spin(done: &AtomicBool) -> bool {
    let start = Instant::now();
    while start.elapsed() < BUSY {
        if done.load(Ordering::Acquire) {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}

/// Spawns `n` tasks that each spin in one long poll; returns once all of
/// them are spinning.
fn occupy(rt: &Runtime, n: usize, done: &Arc<AtomicBool>) -> Vec<JoinHandle<bool>> {
    let (started_tx, started) = mpsc::channel();
    let tasks = (0..n)
        .map(|_| {
            let (done, started_tx) = (Arc::clone(done), started_tx.clone());
            rt.spawn(async move {
                started_tx.send(()).unwrap();
                spin(&done)
            })
        })
        .collect();
    for _ in 0..n {
        started
            .recv_timeout(DEADLOCK)
            .expect("a busy task never started");
    }
    tasks
}

/// Runs `f` on a plain thread, returning how long it took; fails after
/// [`DEADLOCK`].
fn timed_on_plain_thread(f: impl FnOnce() + Send + 'static) -> Duration {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        f();
        let _ = tx.send(start.elapsed());
    });
    rx.recv_timeout(DEADLOCK)
        .expect("the timer on a plain thread never completed")
}

/// A 10 ms sleep on a plain thread; returns how long it took.
fn plain_sleep() -> Duration {
    timed_on_plain_thread(|| {
        futures_lite::future::block_on(time::sleep(Duration::from_millis(10)));
    })
}

/// Asserts that a 10 ms timer took at least 10 ms and less than [`LATE`].
fn assert_on_time(took: Duration, while_what: &str) {
    assert!(took >= Duration::from_millis(10), "early: {took:?}");
    assert!(
        took < LATE,
        "a 10 ms timer on a plain thread took {took:?} while {while_what}"
    );
}

/// The single worker of a runtime stuck in one long poll does not hold up
/// a sleep on a plain thread.
#[test]
fn a_busy_worker_does_not_delay_a_sleep_elsewhere() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    // Once so it parks as the timer driver first, as in a real program.
    rt.block_on(rt.spawn(time::sleep(Duration::from_millis(1))))
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let busy = occupy(&rt, 1, &done);
    let took = plain_sleep();
    done.store(true, Ordering::Release);
    assert_on_time(took, "the only worker was busy");
    for task in busy {
        assert!(rt.block_on(task).unwrap(), "the busy task ran out first");
    }
}

/// Every worker busy: a sleep and a timeout on plain threads still
/// complete on time.
#[test]
fn every_worker_busy_does_not_delay_timers_elsewhere() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let busy = occupy(&rt, 2, &done);
    let slept = plain_sleep();
    let timed_out = timed_on_plain_thread(|| {
        let never = std::future::pending::<()>();
        let result =
            futures_lite::future::block_on(time::timeout(Duration::from_millis(10), never));
        assert!(result.is_err());
    });
    done.store(true, Ordering::Release);
    assert_on_time(slept, "both workers were busy");
    assert_on_time(timed_out, "both workers were busy");
    for task in busy {
        assert!(rt.block_on(task).unwrap(), "a busy task ran out first");
    }
}

/// A current-thread runtime whose `block_on` spins (its thread is the only
/// worker, and it just turned the wheel) does not hold up timers on other
/// threads.
#[test]
fn a_spinning_current_thread_block_on_does_not_delay_timers_elsewhere() {
    let rt = Builder::new_current_thread().build().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (spinning_tx, spinning) = mpsc::channel();
    let runner = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            rt.block_on(async {
                // Park once on a timer, as the runtime's own thread does.
                time::sleep(Duration::from_millis(1)).await;
                spinning_tx.send(()).unwrap();
                spin(&done)
            })
        })
    };
    spinning
        .recv_timeout(DEADLOCK)
        .expect("block_on never started spinning");
    let took = plain_sleep();
    done.store(true, Ordering::Release);
    assert_on_time(took, "a current-thread block_on was spinning");
    assert!(runner.join().unwrap(), "the spin ran out first");
}

/// Timers on plain threads fire while a runtime sits idle, and after it is
/// dropped.
#[test]
fn timers_elsewhere_fire_beside_an_idle_runtime_and_after_it() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {});
    assert_on_time(plain_sleep(), "a runtime was idle");
    drop(rt);
    assert_on_time(plain_sleep(), "a runtime had just been dropped");
}
