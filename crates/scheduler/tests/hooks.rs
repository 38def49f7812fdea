//! User hooks that panic do not take runtime threads down.

use std::time::Duration;

use nimsync_scheduler::Runtime;

/// A panicking `on_thread_start` hook leaves the (single) worker running.
#[test]
fn panicking_thread_start_hook_keeps_the_worker() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .on_thread_start(|| panic!("start hook boom"))
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
}

/// A panicking slow-poll hook is contained: the worker keeps running
/// tasks, and the slow poll is still counted.
#[test]
fn panicking_slow_poll_hook_keeps_the_worker() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .on_slow_poll(Duration::from_millis(1), |_| panic!("slow hook boom"))
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(5)) }))
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 6 })).unwrap(), 6);
    assert!(rt.metrics().slow_polls >= 1);
}
