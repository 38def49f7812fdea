//! Work stealing: work spawned on one worker spreads to the others, with
//! both victim-selection policies, and a task queued behind a blocked
//! worker is taken by an idle one.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::DEADLOCK;
use nimsync_scheduler::{Runtime, VictimSelection, spawn};

/// A runtime with `n` workers and the given victim selection.
fn rt(n: usize, selection: VictimSelection) -> Runtime {
    Runtime::builder()
        .worker_threads(n)
        .victim_selection(selection)
        .build()
        .unwrap()
}

/// Keeps the calling thread busy for `d` (a stand-in for CPU-bound work).
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Children spawned by [`children_spread`].
const CHILDREN: usize = common::scale(100, 1000);

/// One task spawns 1000 children (100 under Miri) on its own worker; the
/// children (each a little CPU work) run on more than one thread and the
/// metrics count steals.
fn children_spread(selection: VictimSelection) {
    let rt = rt(4, selection);
    let threads: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let t = Arc::clone(&threads);
    let before = rt.metrics();
    let count = rt
        .block_on(rt.spawn(async move {
            let handles: Vec<_> = (0..CHILDREN)
                .map(|_| {
                    let t = Arc::clone(&t);
                    spawn(async move {
                        spin(Duration::from_micros(50));
                        t.lock().unwrap().insert(std::thread::current().id());
                    })
                })
                .collect();
            let n = handles.len();
            for h in handles {
                h.await.unwrap();
            }
            n
        }))
        .unwrap();
    assert_eq!(count, CHILDREN);
    let m = rt.metrics();
    assert!(m.steals > before.steals, "no steal happened: {m:?}");
    assert!(m.steal_attempts >= m.steals, "{m:?}");
    let distinct = threads.lock().unwrap().len();
    assert!(distinct > 1, "all children ran on one thread: {m:?}");
}

/// 1000 children spawned on one worker are stolen and run on several threads (adaptive victims).
#[test]
fn local_spawns_are_stolen_adaptive() {
    children_spread(VictimSelection::Adaptive);
}

/// 1000 children spawned on one worker are stolen and run on several threads (random victims).
#[test]
fn local_spawns_are_stolen_random() {
    children_spread(VictimSelection::Random);
}

/// A child spawned by a task that then blocks its worker runs on another worker (no deadlock).
#[test]
fn blocked_worker_does_not_strand_its_queue() {
    for selection in [VictimSelection::Adaptive, VictimSelection::Random] {
        let rt = rt(2, selection);
        // Let the runtime settle so the other worker is parked.
        rt.block_on(rt.spawn(async {})).unwrap();
        for _ in 0..common::scale(3, 20) {
            let (ok, a, b) = rt
                .block_on(rt.spawn(async {
                    let (tx, rx) = mpsc::channel();
                    let child = spawn(async move {
                        tx.send(std::thread::current().id()).unwrap();
                    });
                    let here = std::thread::current().id();
                    let got = rx.recv_timeout(DEADLOCK);
                    drop(child);
                    let there = got.as_ref().ok().copied();
                    (got.is_ok(), here, there)
                }))
                .unwrap();
            assert!(
                ok,
                "the child was stranded behind the blocked worker ({selection:?})"
            );
            assert_ne!(Some(a), b, "the child ran on the blocked worker?");
        }
    }
}
