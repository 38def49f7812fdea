//! `spawn_blocking`: results, the thread limit, the runtime context on
//! blocking threads, and closures that wait for each other.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use common::DEADLOCK;
use nimsync_scheduler::{Handle, Runtime, spawn_blocking};

/// A multi-thread runtime with one worker and at most `max` blocking
/// threads.
fn rt(max: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(max)
        .build()
        .unwrap()
}

/// 200 blocking closures (20 under Miri) all run and return their own results.
#[test]
fn many_blocking_closures_return_results() {
    let rt = rt(4);
    let handles: Vec<_> = (0..common::scale(20, 200) as u64)
        .map(|i| rt.spawn_blocking(move || i * i))
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(rt.block_on(h).unwrap(), (i * i) as u64);
    }
    assert!(rt.metrics().blocking_threads <= 4);
}

/// Never more than `max_blocking_threads` blocking closures run at once.
#[test]
fn blocking_thread_limit_is_respected() {
    let rt = rt(3);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..common::scale(10, 30))
        .map(|_| {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            rt.spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        rt.block_on(h).unwrap();
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak {peak}");
    assert!(rt.metrics().blocking_threads <= 3);
}

/// Blocking closures see the runtime: `Handle::current`, `spawn` and nested `spawn_blocking` work.
#[test]
fn blocking_closures_see_the_runtime() {
    let rt = rt(2);
    let v = rt
        .block_on(rt.spawn_blocking(|| {
            let h = Handle::current();
            let task = h.spawn(async { 1 });
            let nested = spawn_blocking(|| 2);
            let free = nimsync_scheduler::spawn(async { 3 });
            futures_lite::future::block_on(async {
                task.await.unwrap() + nested.await.unwrap() + free.await.unwrap()
            })
        }))
        .unwrap();
    assert_eq!(v, 6);
}

/// A closure waiting for the next one does not deadlock when both are handed to one idle thread.
#[test]
fn dependent_closures_do_not_queue_behind_an_idle_thread() {
    let rt = rt(8);
    for round in 0..common::scale(5, 20) {
        // Leave exactly the threads of earlier rounds idle.
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let waiter = rt.spawn_blocking(move || rx.recv_timeout(DEADLOCK).is_ok());
        let sender = rt.spawn_blocking(move || tx.send(()).unwrap());
        assert!(
            rt.block_on(waiter).unwrap(),
            "round {round}: the second closure waited behind the first"
        );
        rt.block_on(sender).unwrap();
    }
}

/// Waits until `arrived` reaches `n` (after adding this caller), for at
/// most [`DEADLOCK`]; returns whether everyone arrived.
fn rendezvous(arrived: &AtomicUsize, n: usize) -> bool {
    arrived.fetch_add(1, Ordering::SeqCst);
    let start = std::time::Instant::now();
    while arrived.load(Ordering::SeqCst) < n {
        if start.elapsed() > DEADLOCK {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// As many mutually waiting closures as the limit all get threads, starting from one idle thread.
#[test]
fn closures_up_to_the_limit_run_concurrently() {
    let rt = rt(4);
    // Warm one thread so the pool starts with an idle thread.
    rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let a = Arc::clone(&arrived);
            rt.spawn_blocking(move || rendezvous(&a, 4))
        })
        .collect();
    for h in handles {
        assert!(
            rt.block_on(h).unwrap(),
            "the closures did not all run at once"
        );
    }
}
