//! Stress tests of nimsync-select: blocking selects over shared channels
//! on both sides, and async selects cancelled at random.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nimsync_channel::mpmc;
use nimsync_scheduler::Runtime;
use nimsync_select::{after, select, select_async};

use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("select-4p3c-both-sides", 240, both_sides),
        Test::new("select-abandoned-sends", 240, abandoned_sends),
        Test::new("select-async-cancel", 240, async_cancel),
    ]
}

/// Channels in both tests.
const WAYS: usize = 4;

/// Receives from whichever of `rxs` is ready until all are closed and
/// drained, switching each arm off (`None`) once its channel reports
/// closed. Returns how many messages it received.
fn select_until_closed(rxs: &[mpmc::Receiver<Tracked>], ledger: &Ledger) -> usize {
    let mut open = [true; WAYS];
    let mut got = 0;
    while open.iter().any(|&o| o) {
        let arm = |i: usize| open[i].then_some(&rxs[i]);
        let (a, b, c, d) = (arm(0), arm(1), arm(2), arm(3));
        let (i, res) = select! {
            recv(a) -> m => (0, m),
            recv(b) -> m => (1, m),
            recv(c) -> m => (2, m),
            recv(d) -> m => (3, m),
            // A timer arm in every select: it must never take a message.
            recv(after(Duration::from_secs(60))) -> _ => panic!("a select waited a minute"),
        };
        match res {
            Ok(msg) => {
                ledger.received(msg.id);
                got += 1;
            }
            Err(_) => open[i] = false,
        }
    }
    got
}

/// What [`producers_and_selectors`] measured: the producers' own counts
/// summed, each consumer's count, and the time taken.
struct Run {
    produced: usize,
    per_consumer: Vec<usize>,
    elapsed: Duration,
}

/// Runs `producer(k, own, next, ledger)` on four threads, each sending
/// `per` messages (ids `k * per ..`) through its own capacity-4 channel or
/// its neighbour's, and three threads selecting over the four channels
/// until all are closed; checks that every message was received exactly
/// once, none returned and none dropped unreceived.
fn producers_and_selectors<P>(per: usize, producer: P) -> Run
where
    P: Fn(usize, mpmc::Sender<Tracked>, mpmc::Sender<Tracked>, Arc<Ledger>) -> usize
        + Clone
        + Send
        + 'static,
{
    let total = WAYS * per;
    let ledger = Ledger::new(total);
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..WAYS).map(|_| mpmc::channel::<Tracked>(4)).unzip();
    let start = Instant::now();
    let producers: Vec<_> = (0..WAYS)
        .map(|k| {
            let (own, next) = (txs[k].clone(), txs[(k + 1) % WAYS].clone());
            let (ledger, producer) = (ledger.clone(), producer.clone());
            thread::spawn(move || producer(k, own, next, ledger))
        })
        .collect();
    drop(txs);
    let rxs = Arc::new(rxs);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (rxs, ledger) = (rxs.clone(), ledger.clone());
            thread::spawn(move || select_until_closed(&rxs, &ledger))
        })
        .collect();
    let produced = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let per_consumer: Vec<usize> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = start.elapsed();
    let (received, returned, buffered) = ledger.assert_conserved(total);
    assert_eq!(
        (received, returned, buffered),
        (total, 0, 0),
        "every message made is received"
    );
    assert_eq!(per_consumer.iter().sum::<usize>(), total);
    Run {
        produced,
        per_consumer,
        elapsed,
    }
}

/// Four producers, each sending with a two-arm `select!` into its own
/// channel or its neighbour's (the value is made only when an arm wins,
/// so a losing arm would show as a created message never sent), and
/// three consumers selecting over all four channels, on two cores.
fn both_sides(size: Size) -> String {
    let per = size.pick(50_000, 2_500_000);
    let total = WAYS * per;
    let run = producers_and_selectors(per, move |k, own, next, ledger| {
        let mut own_count = 0;
        for i in 0..per {
            let id = k * per + i;
            select! {
                send(own, ledger.make(id)) -> r => {
                    r.expect("receivers alive");
                    own_count += 1;
                }
                send(next, ledger.make(id)) -> r => r.expect("receivers alive"),
            }
        }
        own_count
    });
    format!(
        "{total} sent by select (own channel {}, neighbour {}), {total} received exactly once \
         by 3 selecting consumers {:?}, 0 returned, 0 dropped unreceived, {}",
        run.produced,
        total - run.produced,
        run.per_consumer,
        rate(total, run.elapsed)
    )
}

/// Four producers whose `select!` send arms give up about a third of the
/// reservations they win (the value expression `continue`s, so the arm's
/// guard abandons the claimed position and the producer tries the same
/// message again), and three consumers selecting over the four channels.
/// Capacity 4, so abandoned positions wrap the rings constantly. Every
/// message that was made is received exactly once, and no receiver ever
/// gets a value for an abandoned position (the ledger would see an unknown
/// or repeated id).
fn abandoned_sends(size: Size) -> String {
    let per = size.pick(50_000, 2_500_000);
    let total = WAYS * per;
    let run = producers_and_selectors(per, move |k, own, next, ledger| {
        let mut rng = Rng::new(0xAB5E_0000 + k as u64);
        let mut abandoned = 0usize;
        for i in 0..per {
            let id = k * per + i;
            // A won send's value: a third of the time it leaves early
            // (`continue`), giving the reservation up.
            macro_rules! value_or_give_up {
                () => {
                    if rng.below(3) == 0 {
                        abandoned += 1;
                        continue;
                    } else {
                        ledger.make(id)
                    }
                };
            }
            loop {
                select! {
                    send(own, value_or_give_up!()) -> r => {
                        r.expect("receivers alive");
                        break;
                    }
                    send(next, value_or_give_up!()) -> r => {
                        r.expect("receivers alive");
                        break;
                    }
                }
            }
        }
        abandoned
    });
    assert!(run.produced > 0, "no reservation was abandoned");
    format!(
        "{total} sent by select after {} won reservations were abandoned, {total} received \
         exactly once by 3 selecting consumers {:?}, 0 returned, 0 dropped unreceived, {}",
        run.produced,
        run.per_consumer,
        rate(total, run.elapsed)
    )
}

/// Four producer tasks and three consumer tasks on a 2-worker nimsync
/// runtime, all using `select_async!`, each select raced against a short
/// random timer or polled once and dropped: a cancelled select must take
/// no message (a consumer) and create none (a producer).
fn async_cancel(size: Size) -> String {
    AsyncRun {
        workers: 2,
        ways: WAYS,
        cap: 4,
        producers: WAYS,
        consumers: 3,
        per: size.pick(50_000, 2_500_000),
        plain: 0,
    }
    .run(1)
}

/// The parameters of a run of async producers and consumers on a nimsync
/// runtime (see [`async_cancel`]).
#[derive(Debug, Clone)]
pub(super) struct AsyncRun {
    /// Runtime workers.
    pub workers: usize,
    /// MPMC channels (1 to 4).
    pub ways: usize,
    /// Their capacity.
    pub cap: usize,
    /// Producer tasks; producer `k` sends into channel `k` or the next.
    pub producers: usize,
    /// Consumer tasks, receiving from every channel.
    pub consumers: usize,
    /// Messages per producer.
    pub per: usize,
    /// Per mille of operations that are a plain `send_async` or
    /// `recv_async` (given up the same ways) rather than a select.
    pub plain: u32,
}

impl AsyncRun {
    /// Runs it with generators drawn from `seed`; returns the summary.
    /// Panics if a message is lost, received twice, leaked or dropped
    /// twice, or a task fails.
    pub(super) fn run(&self, seed: u64) -> String {
        let (ways, per, plain) = (self.ways, self.per, self.plain);
        assert!((1..=WAYS).contains(&ways));
        let total = self.producers * per;
        let ledger = Ledger::new(total);
        let cancelled = Arc::new(AtomicUsize::new(0));
        let rt = Runtime::builder()
            .worker_threads(self.workers)
            .build()
            .expect("runtime");
        let handle = rt.handle();
        let mut rng = Rng::new(seed);
        let start = Instant::now();
        let per_consumer = rt.block_on(async {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..ways)
                .map(|_| mpmc::channel::<Tracked>(self.cap))
                .unzip();
            let producers: Vec<_> = (0..self.producers)
                .map(|k| {
                    let (own, next) = (txs[k % ways].clone(), txs[(k + 1) % ways].clone());
                    let (ledger, cancelled) = (ledger.clone(), cancelled.clone());
                    let mut rng = rng.fork();
                    handle.spawn(async move {
                        for id in k * per..(k + 1) * per {
                            // A plain send keeps its value across attempts.
                            let mut plain_value = None;
                            loop {
                                let sent = if rng.chance(plain) || plain_value.is_some() {
                                    let v = plain_value.take().unwrap_or_else(|| ledger.make(id));
                                    let mut fut = own.send_async(v);
                                    let done = cancellable(&mut fut, &mut rng).await;
                                    if done.is_none() {
                                        plain_value = fut.cancel();
                                    }
                                    done.map(|r| r.expect("receivers alive"))
                                } else {
                                    let send = async {
                                        select_async! {
                                            send(own, ledger.make(id)) -> r => r.expect("receivers alive"),
                                            send(next, ledger.make(id)) -> r => r.expect("receivers alive"),
                                        }
                                    };
                                    cancellable(send, &mut rng).await
                                };
                                if sent.is_some() {
                                    break;
                                }
                                cancelled.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    })
                })
                .collect();
            drop(txs);
            let rxs = Arc::new(rxs);
            let consumers: Vec<_> = (0..self.consumers)
                .map(|_| {
                    let (rxs, ledger, cancelled) = (rxs.clone(), ledger.clone(), cancelled.clone());
                    let mut rng = rng.fork();
                    handle.spawn(async move {
                        let mut open = [true; WAYS];
                        open[ways..].fill(false);
                        let mut got = 0usize;
                        while open.iter().any(|&o| o) {
                            let res = if rng.chance(plain) {
                                let i = (0..WAYS).cycle().skip(rng.below(WAYS as u64) as usize);
                                let i = i.take(WAYS).find(|&i| open[i]).expect("one is open");
                                let recv = async { (i, rxs[i].recv_async().await) };
                                // Never awaited without a bound: with every
                                // consumer waiting on one empty channel, a
                                // producer blocked on a full other channel
                                // (which it keeps open) would wait for ever.
                                bounded(recv, &mut rng).await
                            } else {
                                let arm = |i: usize| open[i].then(|| &rxs[i]);
                                let (a, b, c, d) = (arm(0), arm(1), arm(2), arm(3));
                                let recv = async {
                                    select_async! {
                                        recv(a) -> m => (0, m),
                                        recv(b) -> m => (1, m),
                                        recv(c) -> m => (2, m),
                                        recv(d) -> m => (3, m),
                                    }
                                };
                                cancellable(recv, &mut rng).await
                            };
                            match res {
                                Some((_, Ok(msg))) => {
                                    ledger.received(msg.id);
                                    got += 1;
                                }
                                Some((i, Err(_))) => open[i] = false,
                                None => {
                                    cancelled.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        got
                    })
                })
                .collect();
            for p in producers {
                p.await.expect("producer task");
            }
            let mut per_consumer = Vec::new();
            for c in consumers {
                per_consumer.push(c.await.expect("consumer task"));
            }
            per_consumer
        });
        let elapsed = start.elapsed();
        let (received, returned, buffered) = ledger.assert_conserved(total);
        assert_eq!(
            (received, returned, buffered),
            (total, 0, 0),
            "every message is received"
        );
        format!(
            "{total} sent by select_async! and send_async, {received} received exactly once by \
             {} consumers {per_consumer:?}, {} operations cancelled (none lost a message), \
             0 returned, 0 dropped unreceived, {}",
            self.consumers,
            cancelled.load(Ordering::Relaxed),
            rate(total, elapsed)
        )
    }
}

/// Runs `fut` until it completes or a timer of up to 1 ms fires, or polls
/// it once (a quarter of the time). `None` if it was cancelled.
async fn bounded<F: std::future::Future>(fut: F, rng: &mut Rng) -> Option<F::Output> {
    if rng.below(4) == 0 {
        return futures_lite::future::poll_once(fut).await;
    }
    let timer = Duration::from_micros(rng.below(1_000));
    futures_lite::future::or(async { Some(fut.await) }, async {
        nimsync_time::sleep(timer).await;
        None
    })
    .await
}

/// Runs `fut` with a random chance of cancelling it: a quarter of the
/// time it is polled once and dropped, a quarter it races a timer of up
/// to 50 µs, otherwise it runs to completion. `None` if it was cancelled.
async fn cancellable<F: std::future::Future>(fut: F, rng: &mut Rng) -> Option<F::Output> {
    match rng.below(4) {
        0 => futures_lite::future::poll_once(fut).await,
        1 => {
            let timer = Duration::from_micros(rng.below(50));
            futures_lite::future::or(async { Some(fut.await) }, async {
                nimsync_time::sleep(timer).await;
                None
            })
            .await
        }
        _ => Some(fut.await),
    }
}
