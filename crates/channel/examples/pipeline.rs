//! A three-stage pipeline that shows every flavor at work: an SPSC ring
//! feeds a pool of workers through an MPMC channel, each job carries a
//! oneshot for its reply, and async code shares the same channels.
//!
//! Run with `cargo run --release --example pipeline`.

use std::time::Instant;

use nimsync_channel::{mpmc, oneshot, spsc};

struct Job {
    n: u64,
    reply: oneshot::Sender<u64>,
}

fn main() {
    let jobs = 200_000u64;
    let start = Instant::now();

    // Stage 1 -> 2: one producer, one dispatcher: the SPSC ring.
    let (mut numbers_tx, mut numbers_rx) = spsc::channel::<u64>(1024);
    // Stage 2 -> 3: one dispatcher, four workers: the MPMC channel.
    let (work_tx, work_rx) = mpmc::channel::<Job>(256);
    // Replies are collected asynchronously through an MPMC channel of
    // oneshot receivers.
    let (replies_tx, replies_rx) = mpmc::channel::<oneshot::Receiver<u64>>(256);

    let producer = std::thread::spawn(move || {
        numbers_tx
            .send_iter(0..jobs)
            .expect("the dispatcher outlives the producer");
    });

    let dispatcher = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(64);
        while numbers_rx.recv_many(&mut batch, 64).is_ok() {
            for n in batch.drain(..) {
                let (reply, answer) = oneshot::channel();
                work_tx.send(Job { n, reply }).expect("workers are running");
                replies_tx.send(answer).expect("the collector is running");
            }
        }
    });

    let workers: Vec<_> = (0..4)
        .map(|_| {
            let work_rx = work_rx.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                for job in work_rx.iter() {
                    let _ = job.reply.send(job.n * job.n);
                    done += 1;
                }
                done
            })
        })
        .collect();
    drop(work_rx);

    // The collector is async: the same channels, awaited instead of blocked on.
    let sum = futures_lite::future::block_on(async move {
        let mut sum = 0u64;
        while let Ok(answer) = replies_rx.recv_async().await {
            sum += answer.await.expect("every job is answered");
        }
        sum
    });

    producer.join().unwrap();
    dispatcher.join().unwrap();
    let per_worker: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let expected: u64 = (0..jobs).map(|n| n * n).sum();
    assert_eq!(sum, expected, "every job answered exactly once");
    println!(
        "{jobs} jobs through spsc -> mpmc -> 4 workers -> oneshot replies in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    println!("jobs per worker: {per_worker:?}; sum of squares = {sum} (checked)");
}
