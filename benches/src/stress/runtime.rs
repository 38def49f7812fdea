//! Stress tests of nimsync-scheduler: spawn storm, abort storm, and a
//! loopback TCP flood served by async-net on the runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use nimsync_scheduler::{JoinError, Runtime, time};

use super::rng::Rng;
use super::{Ledger, Size, Test, rate};

/// The runtime tests.
pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("rt-spawn-storm", 120, spawn_storm),
        Test::new("rt-abort-storm", 120, abort_storm),
        Test::new("rt-tcp-flood", 120, tcp_flood),
    ]
}

/// Waves of tasks spawned from 100 tasks at once (10M tasks in waves of
/// 1M at full size), all joined: every task's result arrives exactly once
/// and every task's value is dropped once.
fn spawn_storm(size: Size) -> String {
    let total = size.pick(20_000, 10_000_000);
    let wave = total.min(1_000_000);
    let spawners = 100;
    let ledger = Ledger::new(total);
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let handle = rt.handle();
    let start = Instant::now();
    let waves = total.div_ceil(wave);
    rt.block_on(async {
        for w in 0..waves {
            let (base, end) = (w * wave, ((w + 1) * wave).min(total));
            let per = (end - base) / spawners;
            let parents: Vec<_> = (0..spawners)
                .map(|s| {
                    let ledger = Arc::clone(&ledger);
                    let handle = handle.clone();
                    handle.clone().spawn(async move {
                        let lo = base + s * per;
                        let hi = if s + 1 == spawners { end } else { lo + per };
                        let children: Vec<_> = (lo..hi)
                            .map(|id| {
                                let msg = ledger.make(id);
                                handle.spawn(async move { msg.id })
                            })
                            .collect();
                        for child in children {
                            let id = child.await.expect("a storm task failed");
                            ledger.received(id);
                        }
                    })
                })
                .collect();
            for p in parents {
                p.await.expect("a spawner failed");
            }
        }
    });
    let elapsed = start.elapsed();
    ledger.assert_all_received_once(total);
    let (received, returned, buffered) = ledger.assert_conserved(total);
    assert_eq!((received, returned, buffered), (total, 0, 0));
    let m = rt.metrics();
    let tasks = (total + spawners * waves) as u64;
    assert_eq!(m.tasks_spawned, tasks);
    assert_eq!(m.tasks_completed, tasks);
    assert_eq!(m.tasks_alive, 0);
    format!(
        "{total} tasks in {waves} waves from {spawners} spawners, each result once, each value \
         dropped once; steals {}; {}",
        m.steals,
        rate(total, elapsed)
    )
}

/// Tasks that finish, yield, sleep or wait forever, aborted at random from
/// other tasks and from a plain thread: every future is dropped exactly
/// once, an aborted handle resolves only after its future was dropped, and
/// the completed ones return their value.
fn abort_storm(size: Size) -> String {
    let total = size.pick(20_000, 10_000_000);
    let wave = total.min(500_000);
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let start = Instant::now();
    let (mut completed, mut cancelled) = (0, 0);
    for w in 0..total.div_ceil(wave) {
        let n = wave.min(total - w * wave);
        let (c, a) = abort_wave(&rt, (w * wave) as u64, n);
        completed += c;
        cancelled += a;
    }
    let elapsed = start.elapsed();
    let m = rt.metrics();
    assert_eq!(m.tasks_alive, 0);
    format!(
        "{total} tasks: {completed} completed, {cancelled} aborted, every future dropped once; {}",
        rate(total, elapsed)
    )
}

/// The kind of task `id` of the abort storm is, and its generator.
fn storm_task(seed: u64, id: usize) -> (u64, Rng) {
    let mut rng = Rng::new(seed + id as u64);
    (rng.below(4), rng)
}

/// One wave of the abort storm: `n` tasks whose draws start at `seed`.
/// Returns how many completed and how many were aborted.
fn abort_wave(rt: &Runtime, seed: u64, n: usize) -> (usize, usize) {
    let ledger = Ledger::new(n);
    let handles: Vec<_> = (0..n)
        .map(|id| {
            let msg = ledger.make(id);
            let (kind, mut rng) = storm_task(seed, id);
            rt.spawn(async move {
                match kind {
                    0 => {}
                    1 => {
                        for _ in 0..rng.below(8) {
                            nimsync_scheduler::yield_now().await;
                        }
                    }
                    2 => time::sleep(Duration::from_millis(rng.below(5))).await,
                    _ => std::future::pending::<()>().await,
                }
                msg.id
            })
        })
        .collect();
    let handles = Arc::new(handles);
    // Abort every pending-forever task (kind 3) and a random third of the
    // others, from a thread and from tasks, while they run.
    let to_abort: Vec<usize> = (0..n)
        .filter(|&id| {
            let (kind, mut rng) = storm_task(seed, id);
            kind == 3 || rng.below(3) == 0
        })
        .collect();
    let (from_thread, from_tasks) = to_abort.split_at(to_abort.len() / 2);
    let aborter = {
        let handles = Arc::clone(&handles);
        let ids = from_thread.to_vec();
        std::thread::spawn(move || ids.iter().for_each(|&id| handles[id].abort()))
    };
    let task_aborters: Vec<_> = from_tasks
        .chunks(1000)
        .map(|chunk| {
            let handles = Arc::clone(&handles);
            let ids = chunk.to_vec();
            rt.spawn(async move {
                for id in ids {
                    handles[id].abort();
                    if id % 64 == 0 {
                        nimsync_scheduler::yield_now().await;
                    }
                }
            })
        })
        .collect();
    aborter.join().expect("aborter thread");
    rt.block_on(async {
        for a in task_aborters {
            a.await.expect("aborter task");
        }
    });
    let Ok(handles) = Arc::try_unwrap(handles) else {
        panic!("the aborters still hold the handles after they finished");
    };
    let mut tally = Tally::default();
    rt.block_on(async {
        for (id, h) in handles.into_iter().enumerate() {
            tally.resolved(&ledger, id, h.await);
        }
    });
    let (received, returned, dropped_unfinished) = ledger.assert_conserved(n);
    assert_eq!(returned, 0);
    assert_eq!(
        (received, dropped_unfinished),
        (tally.completed, tally.cancelled)
    );
    assert!(
        tally.cancelled >= to_abort.len() / 4,
        "too few aborts took effect"
    );
    (tally.completed, tally.cancelled)
}

/// Tasks whose handles resolved, by outcome.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Completed with their id.
    pub completed: usize,
    /// Cancelled (aborted, or by a runtime's shutdown).
    pub cancelled: usize,
}

impl Tally {
    /// Records what the handle of task `id` (whose output is its id)
    /// resolved to: its id, received once, or its cancellation, which
    /// must come after its future (holding message `id`) was dropped.
    pub(super) fn resolved(&mut self, ledger: &Ledger, id: usize, res: Result<usize, JoinError>) {
        match res {
            Ok(got) => {
                assert_eq!(got, id);
                ledger.received(id);
                self.completed += 1;
            }
            Err(e) => {
                assert!(e.is_cancelled(), "task {id}: {e}");
                assert_eq!(
                    ledger.drops(id),
                    1,
                    "task {id}: its handle resolved before its future was dropped"
                );
                self.cancelled += 1;
            }
        }
    }
}

/// Request size: client id, sequence number.
const REQUEST: usize = 16;

/// A loopback TCP echo server on the runtime (async-net: executor-agnostic
/// I/O, its own reactor thread) and 64 concurrent clients on the same
/// runtime sending request/response pairs for a bounded time: every
/// request is answered with its own bytes, no connection is lost.
fn tcp_flood(size: Size) -> String {
    let clients = 64;
    let run_for = Duration::from_millis(size.pick(1_000, 30_000) as u64);
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let served = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (requests, mut latencies) = rt.block_on(async {
        let listener = async_net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let server = {
            let served = Arc::clone(&served);
            let connections = Arc::clone(&connections);
            nimsync_scheduler::spawn(async move {
                for _ in 0..clients {
                    let (mut stream, _) = listener.accept().await.expect("accept");
                    connections.fetch_add(1, Ordering::Relaxed);
                    let served = Arc::clone(&served);
                    nimsync_scheduler::spawn(async move {
                        let mut buf = [0u8; REQUEST];
                        loop {
                            match stream.read_exact(&mut buf).await {
                                Ok(()) => {}
                                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                                Err(e) => panic!("server read: {e}"),
                            }
                            stream.write_all(&buf).await.expect("server write");
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            })
        };
        let deadline = Instant::now() + run_for;
        let tasks: Vec<_> = (0..clients as u64)
            .map(|client| {
                nimsync_scheduler::spawn(async move {
                    let mut stream = async_net::TcpStream::connect(addr).await.expect("connect");
                    stream.set_nodelay(true).expect("nodelay");
                    let mut latencies = Vec::new();
                    let mut seq = 0u64;
                    while Instant::now() < deadline {
                        let mut request = [0u8; REQUEST];
                        request[..8].copy_from_slice(&client.to_le_bytes());
                        request[8..].copy_from_slice(&seq.to_le_bytes());
                        let t0 = Instant::now();
                        stream.write_all(&request).await.expect("client write");
                        let mut reply = [0u8; REQUEST];
                        stream
                            .read_exact(&mut reply)
                            .await
                            .expect("client read: connection lost");
                        latencies.push(t0.elapsed());
                        assert_eq!(
                            reply, request,
                            "client {client}: wrong reply to request {seq}"
                        );
                        seq += 1;
                    }
                    (seq, latencies)
                })
            })
            .collect();
        let mut total = 0u64;
        let mut latencies = Vec::new();
        for t in tasks {
            let (n, l) = t.await.expect("client task");
            total += n;
            latencies.extend(l);
        }
        server.await.expect("server accept loop");
        (total, latencies)
    });
    // Connections close as the client tasks end; the handlers then see EOF.
    drop(rt);
    assert_eq!(connections.load(Ordering::Relaxed), clients);
    assert_eq!(
        served.load(Ordering::Relaxed),
        requests,
        "every request was answered exactly once"
    );
    assert!(requests > 0);
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    format!(
        "{clients} connections, {requests} requests all answered; latency p50 {:?} p99 {:?} p99.9 {:?}; {}",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        rate(requests as usize, run_for)
    )
}
