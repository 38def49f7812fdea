//! A bounded job queue: producers on plain threads, workers that `select!`
//! over the jobs, a stop channel and a timer, and results collected with
//! a deadline.
//!
//! The queue is an MPMC channel of a few slots, so producers block when
//! the workers fall behind (backpressure, no unbounded memory). Each worker
//! waits on three things at once: a job, the stop signal, and a periodic
//! tick it uses to report that it is idle. The collector takes results
//! with `recv_timeout`, so a stuck worker would show as a timeout, not a
//! hang.
//!
//! ```text
//! cargo run -p nimsync --example job_queue -- --jobs 10000 --workers 4
//! ```

use std::thread;
use std::time::{Duration, Instant};

use nimsync::channel::mpmc;
use nimsync::select::{select, tick};

fn main() {
    let jobs = arg("--jobs", 2_000);
    let workers = arg("--workers", 4);
    let started = Instant::now();

    let (job_tx, job_rx) = mpmc::channel::<u64>(8);
    let (result_tx, result_rx) = mpmc::channel::<(usize, u64)>(64);
    let (stop_tx, stop_rx) = mpmc::channel::<()>(1);

    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let job_tx = job_tx.clone();
            thread::spawn(move || {
                for n in (p..jobs as u64).step_by(2) {
                    job_tx.send(n).expect("the workers are running");
                }
            })
        })
        .collect();
    drop(job_tx);

    let pool: Vec<_> = (0..workers)
        .map(|w| {
            let (job_rx, result_tx, stop_rx) = (job_rx.clone(), result_tx.clone(), stop_rx.clone());
            thread::spawn(move || {
                let idle = tick(Duration::from_millis(100));
                let mut idle_ticks = 0u32;
                loop {
                    select! {
                        recv(job_rx) -> job => match job {
                            // The job: a small computation standing in for
                            // real work.
                            Ok(n) => result_tx.send((w, n * n)).expect("the collector is running"),
                            // Every producer is gone and the queue drained.
                            Err(_) => break,
                        },
                        recv(stop_rx) -> _ => break,
                        recv(idle) -> _ => idle_ticks += 1,
                    }
                }
                idle_ticks
            })
        })
        .collect();
    drop((job_rx, result_tx));

    let mut sum = 0u64;
    let mut per_worker = vec![0usize; workers];
    for _ in 0..jobs {
        let (w, square) = result_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a result within 10 s: no worker is stuck");
        sum += square;
        per_worker[w] += 1;
    }
    stop_tx.send(()).ok();
    producers.into_iter().for_each(|p| p.join().unwrap());
    let idle: u32 = pool.into_iter().map(|w| w.join().unwrap()).sum();

    let n = jobs as u64;
    assert_eq!(
        sum,
        (0..n).map(|x| x * x).sum::<u64>(),
        "every job done once"
    );
    println!(
        "{jobs} jobs on {workers} workers in {:.2?}, per worker {per_worker:?}, {idle} idle ticks",
        started.elapsed()
    );
}

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got `{v}`"))
        })
        .unwrap_or(default)
}
