//! Workers that wait on async-io's reactor (`Builder::drive_io`, the `io`
//! feature): sockets, timers, wake-ups from other threads and spawns from
//! outside all still reach their tasks, with one worker and with two.
#![cfg(all(feature = "io", not(loom), not(miri)))]

use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use nimsync_scheduler::Runtime;

fn runtime(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .drive_io(true)
        .build()
        .expect("a runtime")
}

/// 16 clients, 200 round trips each, through an echo server on the same
/// runtime: every byte comes back.
fn echo(workers: usize) {
    let rt = runtime(workers);
    let total = rt.block_on(async {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = nimsync_scheduler::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..16 {
                let (mut s, _) = listener.accept().await.unwrap();
                conns.push(nimsync_scheduler::spawn(async move {
                    let mut buf = [0u8; 8];
                    let mut n = 0u64;
                    while s.read_exact(&mut buf).await.is_ok() {
                        s.write_all(&buf).await.unwrap();
                        n += 1;
                    }
                    n
                }));
            }
            let mut n = 0;
            for c in conns {
                n += c.await.unwrap();
            }
            n
        });
        let clients: Vec<_> = (0..16u64)
            .map(|k| {
                nimsync_scheduler::spawn(async move {
                    let mut s = async_net::TcpStream::connect(addr).await.unwrap();
                    for i in 0..200u64 {
                        let v = (k << 32 | i).to_le_bytes();
                        s.write_all(&v).await.unwrap();
                        let mut back = [0u8; 8];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, v, "client {k}: wrong echo for request {i}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap()
    });
    assert_eq!(total, 16 * 200);
}

#[test]
fn echo_on_one_worker() {
    echo(1);
}

#[test]
fn echo_on_two_workers() {
    echo(2);
}

/// A task woken 2,000 times by a plain thread, which waits for each value
/// to be taken before it sends the next: the only worker has gone back to
/// waiting on the reactor every time, and every wake-up reaches it.
#[test]
fn wake_ups_from_another_thread_reach_a_worker_waiting_on_the_reactor() {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Poll;

    struct Slot {
        values: Mutex<VecDeque<u64>>,
        done: AtomicBool,
        waker: atomic_waker::AtomicWaker,
    }
    let slot = Arc::new(Slot {
        values: Mutex::new(VecDeque::new()),
        done: AtomicBool::new(false),
        waker: atomic_waker::AtomicWaker::new(),
    });
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let feeder = {
        let slot = Arc::clone(&slot);
        std::thread::spawn(move || {
            for i in 0..2_000u64 {
                slot.values.lock().unwrap().push_back(i);
                slot.waker.wake();
                ack_rx.recv().unwrap();
            }
            slot.done.store(true, Ordering::SeqCst);
            slot.waker.wake();
        })
    };
    let rt = runtime(1);
    let sum = rt.block_on(rt.spawn(async move {
        let mut sum = 0;
        loop {
            let next = std::future::poll_fn(|cx| {
                slot.waker.register(cx.waker());
                if let Some(v) = slot.values.lock().unwrap().pop_front() {
                    return Poll::Ready(Some(v));
                }
                if slot.done.load(Ordering::SeqCst) {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            match next {
                Some(v) => {
                    sum += v;
                    ack_tx.send(()).unwrap();
                }
                None => return sum,
            }
        }
    }));
    feeder.join().unwrap();
    assert_eq!(sum.unwrap(), (0..2_000u64).sum::<u64>());
}

/// Spawns from outside and timers both reach a runtime whose only worker
/// waits on the reactor (it is the timer driver too).
#[test]
fn spawns_and_timers_reach_a_worker_waiting_on_the_reactor() {
    let rt = runtime(1);
    for _ in 0..200 {
        assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    }
    let start = Instant::now();
    rt.block_on(rt.spawn(nimsync_time::sleep(Duration::from_millis(20))))
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20));
}
