//! Stress tests of nimsync-actor: a crash storm (actors panicking at
//! random under load from several threads, under a supervisor) where every
//! message is handled or dead-lettered exactly once and every panic is one
//! restart; and rounds that check escalation happens exactly when the
//! restart intensity is exceeded, never before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nimsync_actor::{
    Actor, ActorRef, ChildSpec, Context, Handler, Mailbox, Overflow, Supervisor, SupervisorError,
    SupervisorEvent,
};
use nimsync_time::ManualClock;

use super::inject::inject_panic;
use super::rng::Rng;
use super::{Ledger, Size, Test, Tracked, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test::new("actor-crash-storm", 240, crash_storm),
        Test::new("actor-escalation-exact", 120, escalation_exact),
    ]
}

/// A tracked message; `crash` makes the handler panic after taking it.
struct Job {
    msg: Tracked,
    crash: bool,
}

/// Asks for nothing: answered once everything queued before it is handled.
struct Sync;

struct Storm {
    ledger: Arc<Ledger>,
    panics: Arc<AtomicU64>,
}

impl Actor for Storm {}

impl Handler<Job> for Storm {
    type Reply = ();
    async fn handle(&mut self, job: Job, _: &mut Context<Self>) {
        self.ledger.take(job.msg);
        if job.crash {
            self.panics.fetch_add(1, Ordering::Relaxed);
            inject_panic();
        }
    }
}

impl Handler<Sync> for Storm {
    type Reply = ();
    async fn handle(&mut self, _: Sync, _: &mut Context<Self>) {}
}

/// Four healthy actors with `Block` mailboxes and four fragile ones with
/// 16-slot `DropOldest` mailboxes under one one-for-one supervisor; four
/// threads tell them numbered messages, of which one in 200 sent to a
/// fragile actor makes it panic.
fn crash_storm(size: Size) -> String {
    const HEALTHY: usize = 4;
    const FRAGILE: usize = 4;
    let per = size.pick(250_000, 2_500_000);
    let producers = 4;
    let total = producers * per;
    let ledger = Ledger::new(total);
    let panics = Arc::new(AtomicU64::new(0));
    let dead = Arc::new(AtomicU64::new(0));
    let restarts_seen = Arc::new(AtomicU64::new(0));
    let rt = nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let start = Instant::now();

    let mut supervisor = Supervisor::new("storm")
        .intensity(u32::MAX, Duration::from_secs(1))
        .on_event({
            let restarts_seen = restarts_seen.clone();
            move |e| {
                if matches!(e, SupervisorEvent::Started { restarts, .. } if *restarts > 0) {
                    restarts_seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    let mut actors: Vec<ActorRef<Storm>> = Vec::new();
    for i in 0..HEALTHY + FRAGILE {
        let mailbox = if i < HEALTHY {
            Mailbox::bounded(64, Overflow::Block)
        } else {
            Mailbox::bounded(16, Overflow::DropOldest)
        };
        let (ledger, panics, dead) = (ledger.clone(), panics.clone(), dead.clone());
        let (spec, actor) = ChildSpec::builder(format!("a{i}"))
            .mailbox(mailbox)
            .on_dead_letter(move |letter| {
                dead.fetch_add(1, Ordering::Relaxed);
                // Dropping the job drops its tracked message once.
                drop(letter.downcast::<Job>().expect("only jobs are told"));
            })
            .actor(move || Storm {
                ledger: ledger.clone(),
                panics: panics.clone(),
            });
        supervisor = supervisor.child(spec);
        actors.push(actor);
    }
    let control = supervisor.control();
    let running = rt.spawn(supervisor.run());

    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let (actors, ledger) = (actors.clone(), ledger.clone());
            let mut rng = Rng::new(0xac7 ^ ((p as u64 + 1) * 0x9e37));
            thread::spawn(move || {
                for id in p * per..(p + 1) * per {
                    let target = id % (HEALTHY + FRAGILE);
                    let crash = target >= HEALTHY && rng.range(0, 200) == 0;
                    let job = Job {
                        msg: ledger.make(id),
                        crash,
                    };
                    if let Err(e) = actors[target].tell_blocking(job) {
                        panic!("a tell failed while the supervisor runs: {e}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for a in &actors {
            // A fragile actor may drop this ask too: retry until answered.
            while a.ask(Sync).await.is_err() {}
        }
    });
    let processed: u64 = actors.iter().map(|a| a.metrics().processed).sum();
    let restarts: u64 = actors.iter().map(|a| a.metrics().restarts).sum();
    let dead_counted: u64 = actors.iter().map(|a| a.metrics().dead_letters).sum();
    control.stop();
    rt.block_on(running)
        .unwrap()
        .expect("the storm stays within its intensity");
    assert!(
        actors.iter().all(|a| !a.is_alive()),
        "every actor stopped with its supervisor"
    );
    let elapsed = start.elapsed();
    drop(actors);
    rt.shutdown_timeout(Duration::from_secs(10));

    let (received, returned, in_buffer) = ledger.assert_conserved(total);
    assert_eq!(
        returned, 0,
        "nothing was handed back while the supervisor ran"
    );
    assert_eq!(
        in_buffer as u64,
        dead.load(Ordering::Relaxed),
        "each message not handled was dead-lettered once"
    );
    assert_eq!(dead_counted, dead.load(Ordering::Relaxed));
    for id in (0..total).filter(|id| id % (HEALTHY + FRAGILE) < HEALTHY) {
        assert_eq!(
            ledger.fate(id),
            (1, 0),
            "message {id} to a healthy actor was handled once"
        );
    }
    let panics = panics.load(Ordering::Relaxed);
    assert_eq!(restarts, panics, "one restart per panic");
    assert_eq!(restarts_seen.load(Ordering::Relaxed), panics);
    assert!(processed >= received as u64);
    format!(
        "{total} msgs: {received} handled, {in_buffer} dead-lettered, {panics} panics = {restarts} restarts, {}",
        rate(total, elapsed)
    )
}

struct Fragile;
impl Actor for Fragile {}
impl Handler<bool> for Fragile {
    type Reply = ();
    async fn handle(&mut self, crash: bool, _: &mut Context<Self>) {
        if crash {
            inject_panic();
        }
    }
}

/// Rounds with a random intensity `k` within a window on a manual clock:
/// `k` failures are restarted, the next escalates, and the supervisor's
/// children are all stopped when it returns.
fn escalation_exact(size: Size) -> String {
    let rounds = size.pick(300, 2_000);
    let mut rng = Rng::new(0xe5ca);
    let rt = nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut total_restarts = 0;
    for _ in 0..rounds {
        let k = rng.range(0, 6) as u64;
        let manual = ManualClock::new();
        let (a_spec, a) = ChildSpec::actor("a", || Fragile);
        let (b_spec, b) = ChildSpec::actor("b", || Fragile);
        let (events_tx, events) = nimsync_channel::mpmc::unbounded();
        let sup = Supervisor::new("s")
            .intensity(k as u32, Duration::from_secs(60))
            .clock(manual.clock())
            .child(a_spec)
            .child(b_spec)
            .on_event(move |e| drop(events_tx.send(e.clone())));
        let result = rt.block_on(async {
            let running = nimsync_scheduler::spawn(sup.run());
            for n in 0..k {
                let victim = if rng.range(0, 2) == 0 { &a } else { &b };
                victim.tell(true).await.unwrap();
                loop {
                    match events.recv_async().await.unwrap() {
                        SupervisorEvent::Started { restarts, .. } if restarts > 0 => break,
                        SupervisorEvent::Escalating { .. } => {
                            panic!("escalated after {n} of {k} allowed restarts")
                        }
                        _ => {}
                    }
                }
                // Time inside the window does not free a slot.
                manual.advance(Duration::from_secs(rng.range(0, 10) as u64));
            }
            a.tell(true).await.unwrap();
            running.await.unwrap()
        });
        let Err(SupervisorError::Escalated { .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(a.metrics().restarts + b.metrics().restarts, k);
        assert!(!a.is_alive() && !b.is_alive());
        total_restarts += k;
    }
    rt.shutdown_timeout(Duration::from_secs(10));
    format!(
        "{rounds} rounds: escalated each time at restart k + 1 ({total_restarts} restarts allowed in all)"
    )
}
