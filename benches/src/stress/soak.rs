//! The soak: randomized scenarios, one after another until a duration
//! ends. Each scenario's parameters (flavor, thread counts, capacity,
//! message count, close point, cancel and panic points) are drawn from a
//! seed printed before it runs, so a failing scenario is replayed, with the
//! same parameters, by `cargo xtask stress --seed N` (thread interleavings
//! differ from run to run, of course).

use std::fmt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nimsync_channel::{RecvTimeoutError, TryRecvError, oneshot};

use super::faults::SelectRun;
use super::inject::{Driven, ThreadWaker, drive, quietly};
use super::rng::{Rng, mix};
use super::rounds::{self, Counts, Ending, Mode, Round, get};
use super::select::AsyncRun;
use super::{Ledger, Outcome, rate, watch};

/// A scenario must end within this, or it counts as hung.
const BOUND: Duration = Duration::from_secs(120);

/// One randomized scenario.
#[derive(Debug, Clone)]
enum Scenario {
    /// Producers and consumers over an spsc or MPMC channel: blocking,
    /// non-blocking and timed calls, futures polled by hand with
    /// panicking wakers and given-up waits, values with panicking drops,
    /// and a close point.
    Channel(Round),
    /// Messages through one-shot channels, each sender and receiver
    /// acting in a drawn way.
    Oneshot(OneshotRun),
    /// Selecting producers and consumers with faulty commits.
    Select(SelectRun),
    /// Async producers and consumers on a nimsync runtime, their selects
    /// and futures given up at random.
    Async(AsyncRun),
}

/// A scenario and the seed it was drawn from.
#[derive(Debug, Clone)]
pub struct Plan {
    seed: u64,
    scenario: Scenario,
}

impl Plan {
    /// The scenario that `seed` draws.
    pub fn draw(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let messages = rng.range(1_000, 100_000);
        let scenario = match rng.below(5) {
            0 | 1 => {
                let mpmc = rng.below(2) == 0;
                let (p, c) = if mpmc {
                    (rng.range(1, 4), rng.range(1, 4))
                } else {
                    (1, 1)
                };
                let per = messages / p;
                let ending = rng.pick(&Ending::ALL);
                Scenario::Channel(Round {
                    mpmc,
                    cap: rng.pick(&[1, 2, 3, 4, 8, 16, 64, 1024]),
                    producers: (0..p).map(|_| rng.pick(&Mode::ALL)).collect(),
                    consumers: (0..c).map(|_| rng.pick(&Mode::ALL)).collect(),
                    per,
                    waker_panics: rng.pick(&[0, 0, 10, 100]),
                    cancels: rng.pick(&[0, 100, 500]),
                    bombs: rng.pick(&[0, 0, 100]),
                    ending,
                    cut: rng.range(
                        0,
                        if ending == Ending::SenderCloses {
                            per
                        } else {
                            p * per
                        },
                    ),
                })
            }
            2 => Scenario::Oneshot(OneshotRun {
                senders: rng.range(1, 3),
                receivers: rng.range(1, 3),
                messages: messages / 4,
                bombs: rng.pick(&[0, 100]),
                cancels: rng.pick(&[0, 100, 500]),
            }),
            3 => Scenario::Select(SelectRun {
                ways: rng.range(1, 4),
                cap: rng.pick(&[1, 2, 4, 16]),
                producers: rng.range(1, 3),
                consumers: rng.range(1, 3),
                total: messages,
                fault_rate: rng.pick(&[0, 50, 250, 500]),
            }),
            _ => {
                let producers = rng.range(1, 4);
                Scenario::Async(AsyncRun {
                    workers: rng.range(1, 3),
                    ways: rng.range(1, 4),
                    cap: rng.pick(&[1, 2, 4, 16, 64]),
                    producers,
                    consumers: rng.range(1, 3),
                    per: messages / producers,
                    plain: rng.pick(&[0, 250, 1000]),
                })
            }
        };
        Self { seed, scenario }
    }

    /// Runs the scenario; returns its summary, or panics with what went
    /// wrong.
    pub fn run(&self) -> String {
        let mut rng = Rng::new(mix(self.seed));
        match &self.scenario {
            Scenario::Channel(round) => {
                let total = round.producers.len() * round.per;
                let ledger = Ledger::new(total);
                let counts = Arc::new(Counts::default());
                let start = Instant::now();
                round.run(&ledger, 0, &counts, &mut rng);
                let elapsed = start.elapsed();
                let drained = round.ending == Ending::Drain;
                let (received, returned, unreceived) =
                    Round::check(&ledger, total, &counts, drained);
                format!(
                    "{total} msgs: {received} received once, {returned} given back, {unreceived} \
                     dropped unreceived ({} by receives that raised a waker's panic); {} waker \
                     panics, {} waits given up; {}",
                    get(&counts.lost_at_recv),
                    get(&counts.waker),
                    get(&counts.cancelled),
                    rate(total, elapsed)
                )
            }
            Scenario::Oneshot(run) => run.run(&mut rng),
            Scenario::Select(run) => run.run(rng.next_u64()),
            Scenario::Async(run) => run.run(rng.next_u64()),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scenario {
            Scenario::Channel(r) => write!(
                f,
                "{} cap {} producers {:?} consumers {:?} x{} msgs, {:?} at {}, waker panics {}‰, \
                 cancels {}‰, panicking drops {}‰",
                if r.mpmc { "mpmc" } else { "spsc" },
                r.cap,
                r.producers,
                r.consumers,
                r.per,
                r.ending,
                r.cut,
                r.waker_panics,
                r.cancels,
                r.bombs
            ),
            Scenario::Oneshot(o) => write!(
                f,
                "oneshot {} msgs, {} sender and {} receiver threads, cancels {}‰, panicking \
                 drops {}‰",
                o.messages, o.senders, o.receivers, o.cancels, o.bombs
            ),
            Scenario::Select(s) => write!(
                f,
                "select over {} mpmc channels of cap {}, {} producers, {} consumers, {} msgs, \
                 faulty commits {}‰",
                s.ways, s.cap, s.producers, s.consumers, s.total, s.fault_rate
            ),
            Scenario::Async(a) => write!(
                f,
                "async on a {}-worker runtime, {} channels of cap {}, {} producers x{} msgs, {} \
                 consumers, plain futures {}‰",
                a.workers, a.ways, a.cap, a.producers, a.per, a.consumers, a.plain
            ),
        }
    }
}

/// Messages through one-shot channels: each message's sender sends it or
/// drops the sender; each receiver receives (blocking, by polling with
/// `try_recv`, with timeouts, or as a future polled by hand that may be
/// given up), closes first, or is dropped.
#[derive(Debug, Clone)]
struct OneshotRun {
    senders: usize,
    receivers: usize,
    messages: usize,
    bombs: u32,
    cancels: u32,
}

/// What a one-shot receiver does.
#[derive(Debug, Clone, Copy)]
enum OneshotRecv {
    Blocking,
    Try,
    Timeout,
    Async,
    CloseFirst,
    Drop,
}

impl OneshotRun {
    fn run(&self, rng: &mut Rng) -> String {
        let n = self.messages;
        let ledger = Ledger::new(n);
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel()).unzip();
        let sends: Vec<bool> = (0..n).map(|_| rng.below(8) != 0).collect();
        let start = Instant::now();
        let deal = |k: usize, parts: usize| (k..n).step_by(parts);
        let mut txs: Vec<Option<oneshot::Sender<_>>> = txs.into_iter().map(Some).collect();
        let sender_threads: Vec<_> = (0..self.senders)
            .map(|k| {
                let pairs: Vec<_> = deal(k, self.senders)
                    .map(|id| (id, sends[id], txs[id].take().expect("dealt once")))
                    .collect();
                let (l, mut r, bombs) = (ledger.clone(), rng.fork(), self.bombs);
                thread::spawn(move || {
                    for (id, send, tx) in pairs {
                        if !send {
                            continue;
                        }
                        let v = rounds::maybe_bomb(&l, &mut r, id, bombs);
                        // The value comes back if the receiver went first.
                        if let Err(nimsync_channel::SendError(v)) = tx.send(v) {
                            l.give_back(v);
                        }
                    }
                })
            })
            .collect();
        let mut rxs: Vec<Option<oneshot::Receiver<_>>> = rxs.into_iter().map(Some).collect();
        let receiver_threads: Vec<_> = (0..self.receivers)
            .map(|k| {
                let pairs: Vec<_> = deal(k, self.receivers)
                    .map(|id| (id, rxs[id].take().expect("dealt once")))
                    .collect();
                let (l, mut r, cancels) = (ledger.clone(), rng.fork(), self.cancels);
                thread::spawn(move || {
                    let tw = ThreadWaker::new();
                    let (mut got, mut raised) = (0usize, 0usize);
                    for (id, rx) in pairs {
                        let mut rx = Some(rx);
                        let how = r.pick(&[
                            OneshotRecv::Blocking,
                            OneshotRecv::Try,
                            OneshotRecv::Timeout,
                            OneshotRecv::Async,
                            OneshotRecv::CloseFirst,
                            OneshotRecv::Drop,
                        ]);
                        let v = match how {
                            OneshotRecv::Blocking => rx.take().expect("unused").recv().ok(),
                            OneshotRecv::Try => loop {
                                match rx.as_mut().expect("unused").try_recv() {
                                    Ok(v) => break Some(v),
                                    Err(TryRecvError::Empty) => thread::yield_now(),
                                    Err(TryRecvError::Closed) => break None,
                                }
                            },
                            OneshotRecv::Timeout => loop {
                                match rx
                                    .as_mut()
                                    .expect("unused")
                                    .recv_timeout(Duration::from_micros(100))
                                {
                                    Ok(v) => break Some(v),
                                    Err(RecvTimeoutError::Timeout) => {}
                                    Err(RecvTimeoutError::Closed) => break None,
                                }
                            },
                            OneshotRecv::Async => {
                                let fut = std::pin::Pin::new(rx.as_mut().expect("unused"));
                                match drive(fut, &tw, &mut r, cancels) {
                                    Driven::Ready(res) => res.ok(),
                                    // Given up: the receiver is dropped below.
                                    _ => None,
                                }
                            }
                            OneshotRecv::CloseFirst => {
                                let rx = rx.as_mut().expect("unused");
                                rx.close();
                                rx.try_recv().ok()
                            }
                            OneshotRecv::Drop => None,
                        };
                        if let Some(v) = v {
                            assert_eq!(v.id, id, "a one-shot channel delivered another's value");
                            l.take(v);
                            got += 1;
                        }
                        // A value left in the channel is dropped with the
                        // receiver: its drop may panic.
                        raised += usize::from(quietly(move || drop(rx)).is_err());
                    }
                    (got, raised)
                })
            })
            .collect();
        sender_threads
            .into_iter()
            .for_each(|s| s.join().expect("sender"));
        let (mut got, mut raised) = (0, 0);
        for r in receiver_threads {
            let (g, p) = r.join().expect("receiver");
            got += g;
            raised += p;
        }
        let made = sends.iter().filter(|&&s| s).count();
        // Ids not sent were never made: the ledger counts only the made.
        let (received, returned, dropped) = conserved_subset(&ledger, &sends);
        assert_eq!(received, got, "received vs counted");
        assert_eq!(received + returned + dropped, made);
        format!(
            "{n} one-shot channels, {made} values sent: {received} received, {returned} given \
             back, {dropped} dropped with their receiver ({raised} drops panicked), each dropped \
             once; {}",
            rate(n, start.elapsed())
        )
    }
}

/// The close-race identity over the ids marked in `made` (the others were
/// never made): see [`Ledger::assert_conserved`].
fn conserved_subset(ledger: &Ledger, made: &[bool]) -> (usize, usize, usize) {
    let mut out = (0, 0, 0);
    for (id, &m) in made.iter().enumerate() {
        if !m {
            assert_eq!(ledger.drops(id), 0, "a value never made was dropped");
            continue;
        }
        match ledger.fate(id) {
            (1, 0) => out.0 += 1,
            (0, 1) => out.1 += 1,
            _ => out.2 += 1,
        }
    }
    out
}

/// How the soak ended.
#[derive(Debug)]
pub struct SoakEnd {
    /// Scenarios that passed.
    pub passed: usize,
    /// Whether one failed or hung (the run stops there).
    pub failed: bool,
}

/// Runs one scenario under the watchdog, printing its seed and plan first
/// and the replay command if it fails. True if it passed.
fn run_one(index: usize, seed: u64) -> bool {
    let plan = Plan::draw(seed);
    println!("SOAK #{index:<5} seed {seed}: {plan}");
    let start = Instant::now();
    let name = format!("soak-{seed}");
    let p = plan.clone();
    let outcome = watch(&name, BOUND, move || p.run());
    let secs = start.elapsed().as_secs_f64();
    match outcome {
        Outcome::Passed(summary) => {
            println!("PASS {name:<30} {secs:>7.2}s  {summary}");
            true
        }
        Outcome::Failed | Outcome::Hung => {
            let what = if matches!(outcome, Outcome::Hung) {
                format!("HUNG (exceeded {BOUND:?}: a lost wake-up or a deadlock)")
            } else {
                "FAILED (panicked, see above)".to_owned()
            };
            println!("{what}: seed {seed}: {plan}");
            println!("replay it with: cargo xtask stress --seed {seed}");
            false
        }
    }
}

/// The flavor names a soak can be restricted to.
pub const FLAVORS: [&str; 5] = ["spsc", "mpmc", "oneshot", "select", "async"];

impl Plan {
    /// The scenario's flavor, one of [`FLAVORS`].
    pub fn flavor(&self) -> &'static str {
        match &self.scenario {
            Scenario::Channel(r) if r.mpmc => "mpmc",
            Scenario::Channel(_) => "spsc",
            Scenario::Oneshot(_) => "oneshot",
            Scenario::Select(_) => "select",
            Scenario::Async(_) => "async",
        }
    }
}

/// Runs randomized scenarios until `duration` has passed (the last one
/// may run past it), their seeds drawn from `base`; with `only` not
/// empty, only scenarios of those flavors. Stops at the first failure or
/// hang.
pub fn soak(duration: Duration, base: u64, only: &[String]) -> SoakEnd {
    println!("soak for {duration:?}; seeds drawn from base {base}");
    let start = Instant::now();
    let (mut passed, mut draws) = (0, 0u64);
    while start.elapsed() < duration {
        let seed = mix(base.wrapping_add(draws));
        draws += 1;
        if !only.is_empty() && !only.iter().any(|f| f == Plan::draw(seed).flavor()) {
            continue;
        }
        if !run_one(passed, seed) {
            return SoakEnd {
                passed,
                failed: true,
            };
        }
        passed += 1;
    }
    SoakEnd {
        passed,
        failed: false,
    }
}

/// Replays the scenario of `seed`. True if it passed.
pub fn replay(seed: u64) -> bool {
    run_one(0, seed)
}
