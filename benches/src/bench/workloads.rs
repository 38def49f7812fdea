//! Every workload, written once against the contender traits.

use std::hint::spin_loop;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use super::contenders::{AsyncChannel, BatchQueue, BlockingChannel, ForceChannel, SpinQueue};

/// Wall-clock and CPU time of one run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Wall-clock time from the start signal to the last message received.
    pub wall: Duration,
    /// CPU time the whole process spent meanwhile (all threads).
    pub cpu: Duration,
}

/// CPU time used by the whole process so far.
pub fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `body` between a start and a stop mark of both clocks.
pub(crate) fn timed(body: impl FnOnce()) -> Sample {
    let (c0, w0) = (process_cpu(), Instant::now());
    body();
    Sample {
        wall: w0.elapsed(),
        cpu: process_cpu().saturating_sub(c0),
    }
}

/// Spawns the given closures as threads that start together after a
/// barrier, and times them from the barrier to the last join.
pub(crate) fn run_threads(bodies: Vec<Box<dyn FnOnce() + Send>>) -> Sample {
    let barrier = Arc::new(Barrier::new(bodies.len() + 1));
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let b = barrier.clone();
            thread::spawn(move || {
                b.wait();
                body();
            })
        })
        .collect();
    timed(|| {
        barrier.wait();
        for h in handles {
            h.join().expect("benchmark thread panicked");
        }
    })
}

/// One producer and one consumer in spin loops.
pub fn spin_spsc<Q: SpinQueue>(n: u64, cap: usize) -> Sample {
    let (mut tx, mut rx) = Q::new(cap);
    run_threads(vec![
        Box::new(move || {
            for i in 0..n {
                while !Q::try_push(&mut tx, i) {
                    spin_loop();
                }
            }
        }),
        Box::new(move || {
            let mut expect = 0;
            while expect < n {
                match Q::try_pop(&mut rx) {
                    Some(v) => {
                        assert_eq!(v, expect, "{}: out of order", Q::NAME);
                        expect += 1;
                    }
                    None => spin_loop(),
                }
            }
        }),
    ])
}

/// One thread: push one value, pop it back, `n` times (a message is one
/// push plus its pop).
pub fn single_thread<Q: SpinQueue>(n: u64, cap: usize) -> Sample {
    let (mut tx, mut rx) = Q::new(cap);
    timed(|| {
        for i in 0..n {
            assert!(Q::try_push(&mut tx, i));
            assert_eq!(std::hint::black_box(Q::try_pop(&mut rx)), Some(i));
        }
    })
}

/// One producer and one consumer moving runs of `batch` values.
pub fn batch_spsc<Q: BatchQueue>(n: u64, cap: usize, batch: usize) -> Sample {
    let (mut tx, mut rx) = Q::new(cap);
    run_threads(vec![
        Box::new(move || {
            let mut src: Vec<u64> = (0..batch as u64).collect();
            let mut next = 0u64;
            while next < n {
                let want = ((n - next) as usize).min(batch);
                for (k, s) in src[..want].iter_mut().enumerate() {
                    *s = next + k as u64;
                }
                let mut off = 0;
                while off < want {
                    let pushed = Q::push_batch(&mut tx, &src[off..want]);
                    if pushed == 0 {
                        spin_loop();
                    }
                    off += pushed;
                }
                next += want as u64;
            }
        }),
        Box::new(move || {
            let mut expect = 0u64;
            while expect < n {
                let got = Q::pop_batch(&mut rx, batch, |v| {
                    assert_eq!(v, expect, "{}: out of order", Q::NAME);
                    expect += 1;
                });
                if got == 0 {
                    spin_loop();
                }
            }
        }),
    ])
}

/// `p` producers and `c` consumers with blocking calls; `n` messages in all.
pub fn blocking<C: BlockingChannel>(n: u64, cap: usize, p: usize, c: usize) -> Sample {
    assert!(c == 1 || C::MULTI_CONSUMER);
    let (tx, rx) = C::new(cap);
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut bodies: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
    let mut tx = Some(tx);
    for k in 0..p {
        let mut tx = if k + 1 == p {
            tx.take().unwrap()
        } else {
            C::clone_tx(tx.as_ref().unwrap())
        };
        let share = n / p as u64 + u64::from((k as u64) < n % p as u64);
        bodies.push(Box::new(move || {
            for i in 0..share {
                C::send(&mut tx, i);
            }
        }));
    }
    let mut rx = Some(rx);
    for k in 0..c {
        let mut rx = if k + 1 == c {
            rx.take().unwrap()
        } else {
            C::clone_rx(rx.as_ref().unwrap())
        };
        let received = received.clone();
        bodies.push(Box::new(move || {
            let mut got = 0;
            while C::recv(&mut rx).is_some() {
                got += 1;
            }
            received.fetch_add(got, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    let s = run_threads(bodies);
    assert_eq!(
        received.load(std::sync::atomic::Ordering::Relaxed),
        n,
        "{}: lost messages",
        C::NAME
    );
    s
}

/// SPSC with blocking calls (the endpoints are moved, not cloned).
pub fn blocking_spsc<C: BlockingChannel>(n: u64, cap: usize) -> Sample {
    let (mut tx, mut rx) = C::new(cap);
    run_threads(vec![
        Box::new(move || {
            for i in 0..n {
                C::send(&mut tx, i);
            }
        }),
        Box::new(move || {
            let mut expect = 0;
            while let Some(v) = C::recv(&mut rx) {
                assert_eq!(v, expect, "{}: out of order", C::NAME);
                expect += 1;
            }
            assert_eq!(expect, n, "{}: lost messages", C::NAME);
        }),
    ])
}

/// `p` producer tasks and `c` consumer tasks on a tokio runtime.
pub fn async_tokio<C: AsyncChannel>(
    rt: &tokio::runtime::Runtime,
    n: u64,
    cap: usize,
    p: usize,
    c: usize,
) -> Sample {
    assert!(c == 1 || C::MULTI_CONSUMER);
    timed(|| {
        rt.block_on(async {
            let (tx, rx) = C::new(cap);
            let mut producers = Vec::new();
            let mut tx = Some(tx);
            for k in 0..p {
                let mut t = if k + 1 == p {
                    tx.take().unwrap()
                } else {
                    C::clone_tx(tx.as_ref().unwrap())
                };
                let share = n / p as u64 + u64::from((k as u64) < n % p as u64);
                producers.push(rt.spawn(async move {
                    for i in 0..share {
                        C::send(&mut t, i).await;
                    }
                }));
            }
            let mut consumers = Vec::new();
            let mut rx = Some(rx);
            for k in 0..c {
                let mut r = if k + 1 == c {
                    rx.take().unwrap()
                } else {
                    C::clone_rx(rx.as_ref().unwrap())
                };
                consumers.push(rt.spawn(async move {
                    let mut got = 0u64;
                    while C::recv(&mut r).await.is_some() {
                        got += 1;
                    }
                    got
                }));
            }
            for h in producers {
                h.await.unwrap();
            }
            let mut total = 0;
            for h in consumers {
                total += h.await.unwrap();
            }
            assert_eq!(total, n, "{}: lost messages", C::NAME);
        })
    })
}

/// Blocking ping-pong between two threads over two capacity-1 channels;
/// returns every round trip.
pub fn pingpong_blocking<C: BlockingChannel>(iters: usize) -> Vec<Duration> {
    pingpong_blocking_with::<C>(iters, 1)
}

/// [`pingpong_blocking`] over two channels of capacity `cap` (0: two
/// rendezvous channels, where each send waits for the other thread's
/// receive).
pub fn pingpong_blocking_with<C: BlockingChannel>(iters: usize, cap: usize) -> Vec<Duration> {
    let (mut ping_tx, mut ping_rx) = C::new(cap);
    let (mut pong_tx, mut pong_rx) = C::new(cap);
    let echo = thread::spawn(move || {
        while let Some(v) = C::recv(&mut ping_rx) {
            C::send(&mut pong_tx, v);
        }
    });
    let mut rtts = Vec::with_capacity(iters);
    for i in 0..iters as u64 {
        let t0 = Instant::now();
        C::send(&mut ping_tx, i);
        let v = C::recv(&mut pong_rx);
        rtts.push(t0.elapsed());
        assert_eq!(v, Some(i));
    }
    drop(ping_tx);
    echo.join().unwrap();
    rtts
}

/// Spinning ping-pong between two threads over two queues.
pub fn pingpong_spin<Q: SpinQueue>(iters: usize) -> Vec<Duration> {
    let (mut ping_tx, mut ping_rx) = Q::new(1);
    let (mut pong_tx, mut pong_rx) = Q::new(1);
    let n = iters as u64;
    let echo = thread::spawn(move || {
        for _ in 0..n {
            let v = loop {
                if let Some(v) = Q::try_pop(&mut ping_rx) {
                    break v;
                }
                spin_loop();
            };
            while !Q::try_push(&mut pong_tx, v) {
                spin_loop();
            }
        }
    });
    let mut rtts = Vec::with_capacity(iters);
    for i in 0..n {
        let t0 = Instant::now();
        while !Q::try_push(&mut ping_tx, i) {
            spin_loop();
        }
        let v = loop {
            if let Some(v) = Q::try_pop(&mut pong_rx) {
                break v;
            }
            spin_loop();
        };
        rtts.push(t0.elapsed());
        assert_eq!(v, i);
    }
    echo.join().unwrap();
    rtts
}

/// `p` producers force-send `n` values in all into a channel of `cap`
/// slots, faster than one consumer drains it; every value is received or
/// evicted exactly once (counted).
pub fn force_send_overload<C: ForceChannel>(n: u64, cap: usize, p: usize) -> Sample {
    let (tx, mut rx) = C::new(cap);
    let evicted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut bodies: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
    let mut tx = Some(tx);
    for k in 0..p {
        let tx = if k + 1 == p {
            tx.take().unwrap()
        } else {
            C::clone_tx(tx.as_ref().unwrap())
        };
        let share = n / p as u64 + u64::from((k as u64) < n % p as u64);
        let evicted = evicted.clone();
        bodies.push(Box::new(move || {
            let mut out = 0;
            for i in 0..share {
                out += u64::from(C::force_send(&tx, i));
            }
            evicted.fetch_add(out, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    {
        let received = received.clone();
        bodies.push(Box::new(move || {
            let mut got = 0;
            while C::recv(&mut rx).is_some() {
                got += 1;
            }
            received.fetch_add(got, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    let s = run_threads(bodies);
    let (r, e) = (
        received.load(std::sync::atomic::Ordering::Relaxed),
        evicted.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert_eq!(r + e, n, "{}: received {r} + evicted {e} != {n}", C::NAME);
    s
}
