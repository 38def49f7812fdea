//! Wakers of runtime tasks: from other threads, after completion, inside
//! poll, cloned and dropped everywhere; and fairness of `yield_now` and of
//! the global queue.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};

use common::within;
use nimsync_scheduler::{Builder, Runtime, spawn, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// A future that hands out its waker and completes once `ready` is set.
struct Gate {
    /// Set by whoever opens the gate.
    ready: Arc<AtomicBool>,
    /// Where the future publishes its waker on each poll.
    waker: Arc<Mutex<Option<Waker>>>,
    /// Polls so far.
    polls: Arc<AtomicUsize>,
}

impl Future for Gate {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let polls = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        // Read before the waker is published: whoever opens the gate after
        // taking the waker is then always seen by a later poll, never by
        // this one, so a poll that needed a wake-up is counted as such.
        let ready = self.ready.load(Ordering::SeqCst);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if ready {
            Poll::Ready(polls)
        } else {
            Poll::Pending
        }
    }
}

/// A gate and the handles to open it.
fn gate() -> (Gate, Arc<AtomicBool>, Arc<Mutex<Option<Waker>>>) {
    let ready = Arc::new(AtomicBool::new(false));
    let waker = Arc::new(Mutex::new(None));
    let gate = Gate {
        ready: Arc::clone(&ready),
        waker: Arc::clone(&waker),
        polls: Arc::new(AtomicUsize::new(0)),
    };
    (gate, ready, waker)
}

/// Waits until the gate published a waker and returns a clone.
fn wait_for_waker(slot: &Mutex<Option<Waker>>) -> Waker {
    loop {
        if let Some(w) = slot.lock().unwrap().clone() {
            return w;
        }
        std::thread::yield_now();
    }
}

/// A plain thread holding a task's waker wakes it and the task completes, on both flavors.
#[test]
fn wake_from_another_thread() {
    within("wake from another thread", || {
        for rt in [rt(2), Builder::new_current_thread().build().unwrap()] {
            let (gate, ready, slot) = gate();
            let handle = rt.spawn(gate);
            let waker_thread = std::thread::spawn(move || {
                let waker = wait_for_waker(&slot);
                ready.store(true, Ordering::SeqCst);
                waker.wake();
            });
            assert!(rt.block_on(handle).unwrap() >= 2);
            waker_thread.join().unwrap();
        }
    });
}

/// Waking a completed task, from many threads, has no effect and does not disturb the runtime.
#[test]
fn wake_after_completion_is_harmless() {
    let rt = rt(2);
    let (gate, ready, slot) = gate();
    ready.store(true, Ordering::SeqCst);
    assert_eq!(rt.block_on(rt.spawn(gate)).unwrap(), 1);
    let waker = slot.lock().unwrap().take().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let waker = waker.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    waker.wake_by_ref();
                }
                waker.wake();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    waker.wake();
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    let m = rt.metrics();
    assert_eq!(m.tasks_completed, 2);
    assert_eq!(m.tasks_alive, 0);
}

/// A future that wakes itself with `wake_by_ref` and returns `Pending` a
/// number of times is polled again each time.
struct SelfWake {
    /// Pendings left.
    left: usize,
    /// Polls so far.
    polls: usize,
}

impl Future for SelfWake {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.left == 0 {
            return Poll::Ready(self.polls);
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// `wake_by_ref` then `Pending` inside poll reschedules the task, also in `block_on`'s future.
#[test]
fn wake_from_inside_poll() {
    let rt = rt(2);
    let polls = rt.block_on(rt.spawn(SelfWake {
        left: 100,
        polls: 0,
    }));
    assert_eq!(polls.unwrap(), 101);
    assert_eq!(rt.block_on(SelfWake { left: 50, polls: 0 }), 51);
    let ct = Builder::new_current_thread().build().unwrap();
    assert_eq!(
        ct.block_on(ct.spawn(SelfWake {
            left: 100,
            polls: 0
        }))
        .unwrap(),
        101
    );
    assert_eq!(ct.block_on(SelfWake { left: 50, polls: 0 }), 51);
}

/// A task's waker cloned, woken and dropped thousands of times on 4 threads: the task completes.
#[test]
fn waker_clone_and_drop_across_threads() {
    within("waker churn", || {
        let rt = rt(2);
        let done = rt.block_on(rt.spawn(async {
            let (gate, ready, slot) = gate();
            let waker = {
                // Publish the waker by polling the gate once in place.
                let mut gate = gate;
                futures_lite::future::poll_once(&mut gate).await;
                let w = slot.lock().unwrap().clone().unwrap();
                (gate, w)
            };
            let (gate, waker) = waker;
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let waker = waker.clone();
                    std::thread::spawn(move || {
                        for i in 0..common::scale(100, 2_000) {
                            let c = waker.clone();
                            if i % 3 == 0 {
                                c.wake();
                            } else {
                                drop(c);
                            }
                        }
                    })
                })
                .collect();
            drop(waker);
            for t in threads {
                t.join().unwrap();
            }
            ready.store(true, Ordering::SeqCst);
            let w = slot.lock().unwrap().take().unwrap();
            w.wake();
            gate.await
        }));
        assert!(done.unwrap() >= 2);
        assert_eq!(rt.metrics().tasks_alive, 0);
    });
}

/// On one worker, a `yield_now` loop does not starve a task in the same local queue.
#[test]
fn yield_now_lets_local_queue_run() {
    let rt = rt(1);
    let yields = rt
        .block_on(rt.spawn(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = Arc::clone(&flag);
            let setter = spawn(async move { f.store(true, Ordering::SeqCst) });
            let mut yields = 0u32;
            while !flag.load(Ordering::SeqCst) {
                yields += 1;
                assert!(
                    yields < 100_000,
                    "yield_now starved the task that sets the flag"
                );
                yield_now().await;
            }
            setter.await.unwrap();
            yields
        }))
        .unwrap();
    assert!(yields >= 1);
}

/// On one worker, a `yield_now` loop does not starve a task spawned from outside.
#[test]
fn yield_now_lets_outside_spawns_run() {
    let rt = rt(1);
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let (started_tx, started_rx) = mpsc::channel();
    let spinner = rt.spawn(async move {
        started_tx.send(()).unwrap();
        let mut yields = 0u32;
        while !f.load(Ordering::SeqCst) {
            yields += 1;
            assert!(yields < 1_000_000, "yield_now starved the outside spawn");
            yield_now().await;
        }
        yields
    });
    started_rx.recv().unwrap();
    let f = Arc::clone(&flag);
    let setter = rt
        .handle()
        .spawn(async move { f.store(true, Ordering::SeqCst) });
    rt.block_on(setter).unwrap();
    assert!(rt.block_on(spinner).unwrap() >= 1);
}

/// One side of a ping-pong: a turn flag and the waker of the task
/// waiting for it.
#[derive(Default)]
struct Turn {
    /// Whether it is this side's turn.
    mine: AtomicBool,
    /// The waiting task.
    waker: Mutex<Option<Waker>>,
}

impl Turn {
    /// Waits for this side's turn and takes it.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.mine.swap(false, Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.mine.swap(false, Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    /// Gives this side its turn and wakes its task.
    fn give(&self) {
        self.mine.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Ping-pong rounds after which the players give up.
const ROUNDS: usize = 100_000;

/// On one worker, two tasks waking each other through the LIFO slot do not starve the queue.
#[test]
fn lifo_ping_pong_does_not_starve_the_queue() {
    let rt = rt(1);
    let (ran_at, rounds) = rt
        .block_on(rt.spawn(async {
            let a = Arc::new(Turn::default());
            let b = Arc::new(Turn::default());
            let stop = Arc::new(AtomicBool::new(false));
            let rounds = Arc::new(AtomicUsize::new(0));
            let ran_at = Arc::new(AtomicUsize::new(usize::MAX));
            let player = |me: Arc<Turn>, other: Arc<Turn>, first: bool| {
                let (stop, rounds, ran_at) = (stop.clone(), rounds.clone(), ran_at.clone());
                spawn(async move {
                    let mut victim = None;
                    loop {
                        me.wait().await;
                        if first && victim.is_none() {
                            // Queued behind the ping-pong from now on.
                            let (stop, rounds, ran_at) =
                                (stop.clone(), rounds.clone(), ran_at.clone());
                            victim = Some(spawn(async move {
                                ran_at.store(rounds.load(Ordering::SeqCst), Ordering::SeqCst);
                                stop.store(true, Ordering::SeqCst);
                            }));
                        }
                        let done = stop.load(Ordering::SeqCst)
                            || rounds.fetch_add(1, Ordering::SeqCst) >= ROUNDS;
                        other.give();
                        if done {
                            stop.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                    if let Some(victim) = victim {
                        victim.await.unwrap();
                    }
                })
            };
            a.give();
            let pa = player(Arc::clone(&a), Arc::clone(&b), true);
            let pb = player(Arc::clone(&b), Arc::clone(&a), false);
            pa.await.unwrap();
            pb.await.unwrap();
            (ran_at.load(Ordering::SeqCst), rounds.load(Ordering::SeqCst))
        }))
        .unwrap();
    assert!(
        ran_at < 1_000,
        "the queued task ran only after {ran_at} ping-pong rounds ({rounds} in all)"
    );
}

/// On one worker, a task spawning and yielding in a loop does not starve an outside spawn.
#[test]
fn global_queue_not_starved_by_local_spawns() {
    let rt = rt(1);
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let (started_tx, started_rx) = mpsc::channel();
    let busy = rt.spawn(async move {
        started_tx.send(()).unwrap();
        let mut rounds = 0u32;
        while !f.load(Ordering::SeqCst) {
            rounds += 1;
            assert!(rounds < 1_000_000, "the outside task never ran");
            drop(spawn(async {}));
            yield_now().await;
        }
        rounds
    });
    started_rx.recv().unwrap();
    let f = Arc::clone(&flag);
    let handle = rt.handle();
    let outside =
        std::thread::spawn(move || handle.spawn(async move { f.store(true, Ordering::SeqCst) }))
            .join()
            .unwrap();
    rt.block_on(outside).unwrap();
    assert!(rt.block_on(busy).unwrap() >= 1);
}

/// The cooperative budget: a loop that stays ready but spends the budget
/// lets the other task of a one-worker runtime run, and a task joining
/// handles that are all finished yields every 128 joins.
#[test]
fn budget_makes_always_ready_loops_yield() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let rt = nimsync_scheduler::Runtime::builder()
        .worker_threads(1)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicUsize::new(0));
    let spinner = {
        let (stop, spins) = (Arc::clone(&stop), Arc::clone(&spins));
        rt.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                spins.fetch_add(1, Ordering::Relaxed);
                nimsync_scheduler::task::consume_budget().await;
            }
        })
    };
    let setter = rt.spawn(async move { stop.store(true, Ordering::Relaxed) });
    rt.block_on(async {
        setter.await.unwrap();
        spinner.await.unwrap();
    });
    assert!(spins.load(Ordering::Relaxed) >= 1);

    // 300 finished handles (130 under Miri) joined in one loop: the joiner
    // yields after 128 and 256 joins, and each time the queued observer
    // runs in between.
    let joins = common::scale(130, 300);
    let ran_during_joins = rt.block_on(async {
        let handles: Vec<_> = (0..joins as i32)
            .map(|i| nimsync_scheduler::spawn(async move { i }))
            .collect();
        nimsync_scheduler::yield_now().await; // let them all finish
        let observed = Arc::new(AtomicUsize::new(0));
        let observer = {
            let observed = Arc::clone(&observed);
            nimsync_scheduler::spawn(async move {
                loop {
                    observed.fetch_add(1, Ordering::Relaxed);
                    nimsync_scheduler::yield_now().await;
                }
            })
        };
        let joined = {
            let observed = Arc::clone(&observed);
            nimsync_scheduler::spawn(async move {
                let at_start = observed.load(Ordering::Relaxed);
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                assert_eq!(sum, (0..joins as i32).sum::<i32>());
                observed.load(Ordering::Relaxed) - at_start
            })
        };
        let ran = joined.await.unwrap();
        observer.abort();
        ran
    });
    assert!(
        ran_during_joins >= joins / 128,
        "the observer ran {ran_during_joins} times while {joins} finished handles were joined"
    );
}
