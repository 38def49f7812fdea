//! nimsync-time under other executors (tokio, async-executor), and the
//! channel crate on the nimsync runtime: the layers work across executors.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sleeps, timeouts and intervals under tokio's multi-thread and
/// current-thread runtimes: never early, and the timeout fires.
#[test]
fn timers_under_tokio() {
    for rt in [
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    ] {
        rt.block_on(async {
            let start = Instant::now();
            let sleeps: Vec<_> = (1..=20u64)
                .map(|ms| {
                    tokio::spawn(async move {
                        let deadline = Instant::now() + Duration::from_millis(ms);
                        nimsync_time::sleep_until(deadline).await;
                        assert!(Instant::now() >= deadline, "woke early");
                    })
                })
                .collect();
            for s in sleeps {
                s.await.unwrap();
            }
            assert!(start.elapsed() >= Duration::from_millis(20));
            let never = std::future::pending::<()>();
            assert!(
                nimsync_time::timeout(Duration::from_millis(3), never)
                    .await
                    .is_err()
            );
            let mut every = nimsync_time::interval(Duration::from_millis(2));
            let first = every.tick().await;
            let third = {
                every.tick().await;
                every.tick().await
            };
            assert_eq!(third - first, Duration::from_millis(4));
        });
    }
}

/// Sleeps and timeouts under async-executor run by two threads.
#[test]
fn timers_under_async_executor() {
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ex = Arc::clone(&ex);
            let stopped = stopped.clone();
            std::thread::spawn(move || {
                let _ = futures_lite::future::block_on(ex.run(stopped.recv()));
            })
        })
        .collect();
    let tasks: Vec<_> = (1..=20u64)
        .map(|ms| {
            ex.spawn(async move {
                let deadline = Instant::now() + Duration::from_millis(ms);
                nimsync_time::sleep_until(deadline).await;
                assert!(Instant::now() >= deadline, "woke early");
                let slow = nimsync_time::sleep(Duration::from_secs(60));
                nimsync_time::timeout(Duration::from_millis(1), slow)
                    .await
                    .is_err()
            })
        })
        .collect();
    for t in tasks {
        assert!(
            futures_lite::future::block_on(t),
            "the timeout did not fire"
        );
    }
    drop(stop);
    for t in threads {
        t.join().unwrap();
    }
}

/// nimsync channels between tasks of the nimsync runtime, with a timer in
/// the loop: every message arrives once, in order.
#[test]
fn channels_and_timers_on_the_nimsync_runtime() {
    let rt = nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let total = rt.block_on(async {
        let (mut tx, mut rx) = nimsync_channel::spsc::channel::<u64>(8);
        let (mtx, mrx) = nimsync_channel::mpmc::channel::<u64>(8);
        let producer = nimsync_scheduler::spawn(async move {
            for i in 0..1_000u64 {
                tx.send_async(i).await.unwrap();
                if i % 250 == 0 {
                    nimsync_scheduler::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        let relay = nimsync_scheduler::spawn(async move {
            let mut expect = 0;
            while let Ok(v) = rx.recv_async().await {
                assert_eq!(v, expect);
                expect += 1;
                mtx.send_async(v).await.unwrap();
            }
        });
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let mrx = mrx.clone();
                nimsync_scheduler::spawn(async move {
                    let mut n = 0u64;
                    while mrx.recv_async().await.is_ok() {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        drop(mrx);
        producer.await.unwrap();
        relay.await.unwrap();
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        total
    });
    assert_eq!(total, 1_000);
}
