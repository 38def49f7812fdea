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

/// An idle current-thread runtime (nobody in `block_on`) does not hold up
/// timers used elsewhere in the process.
#[test]
fn idle_current_thread_runtime_leaves_timers_to_others() {
    let rt = nimsync_scheduler::Builder::new_current_thread()
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    futures_lite::future::block_on(nimsync_scheduler::time::sleep(Duration::from_millis(5)));
    assert!(start.elapsed() >= Duration::from_millis(5));
    // And the runtime still drives timers while it runs.
    rt.block_on(nimsync_scheduler::time::sleep(Duration::from_millis(2)));
}

/// A future whose drop panics after it completed: the task reports a
/// panic instead of aborting the process, and the worker carries on.
#[test]
fn panic_in_a_completed_futures_drop_is_a_join_error() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop boom");
        }
    }
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async {
            let _guard = PanicOnDrop;
            7
        }))
        .unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert!(err.to_string().contains("drop boom"), "{err}");
    assert_eq!(rt.block_on(rt.spawn(async { 8 })).unwrap(), 8);
}

/// A task cancelled at shutdown whose drop panics does not abort the
/// process.
#[test]
fn panic_in_a_cancelled_futures_drop_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("shutdown drop boom");
        }
    }
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let handle = rt.spawn(async {
        let _guard = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    rt.block_on(nimsync_scheduler::yield_now());
    drop(rt);
    assert!(
        futures_lite::future::block_on(handle)
            .unwrap_err()
            .is_cancelled()
    );
}

/// A worker busy in a long poll does not hold up a timer another task
/// waits on: the timer still fires and the busy task sees its effect.
#[test]
fn timers_fire_while_a_worker_is_busy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let set = {
        let flag = Arc::clone(&flag);
        rt.spawn(async move {
            nimsync_scheduler::time::sleep(Duration::from_millis(10)).await;
            flag.store(true, Ordering::Release);
        })
    };
    let busy = {
        let flag = Arc::clone(&flag);
        rt.spawn(async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while !flag.load(Ordering::Acquire) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the timer never fired"
                );
                std::hint::spin_loop();
            }
        })
    };
    rt.block_on(async {
        busy.await.unwrap();
        set.await.unwrap();
    });
}
