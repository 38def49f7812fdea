//! Actor workloads: tells from several tasks into one actor and into 100,
//! the ask round trip, spawning and stopping actors, and the restart after
//! a panic; nimsync-actor on its runtime against ractor and kameo on
//! tokio's, each with 2 workers.

use std::time::{Duration, Instant};

use super::workloads::{Sample, timed};

/// Which actor system runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// nimsync-actor on a 2-worker nimsync runtime.
    Nimsync,
    /// ractor on a 2-worker tokio runtime.
    Ractor,
    /// kameo on a 2-worker tokio runtime (bounded mailboxes of 64, the
    /// default of both).
    Kameo,
}

const MAILBOX: usize = 64;

/// The payload of the restart workload's panics, which the panic hook
/// keeps quiet.
const CRASH: &str = "bench: injected actor panic";

fn quiet_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&CRASH) {
                default(info);
            }
        }));
    });
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn nim_rt() -> nimsync_scheduler::Runtime {
    nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

mod nim {
    use nimsync_actor::{Actor, Context, Handler};

    /// Counts what it is told.
    #[derive(Default)]
    pub(super) struct Counter(pub u64);
    impl Actor for Counter {}
    pub(super) struct Add(pub u64);
    impl Handler<Add> for Counter {
        type Reply = ();
        async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
            self.0 += n;
        }
    }
    pub(super) struct Get;
    impl Handler<Get> for Counter {
        type Reply = u64;
        async fn handle(&mut self, _: Get, _: &mut Context<Self>) -> u64 {
            self.0
        }
    }
    pub(super) struct Crash;
    impl Handler<Crash> for Counter {
        type Reply = ();
        async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
            std::panic::panic_any(super::CRASH);
        }
    }
}

mod rac {
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

    pub(super) struct Counter;
    pub(super) enum Msg {
        Add(u64),
        Get(RpcReplyPort<u64>),
    }
    impl Actor for Counter {
        type Msg = Msg;
        type State = u64;
        type Arguments = ();
        async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
            Ok(0)
        }
        async fn handle(
            &self,
            _: ActorRef<Msg>,
            msg: Msg,
            state: &mut u64,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                Msg::Add(n) => *state += n,
                Msg::Get(reply) => reply.send(*state)?,
            }
            Ok(())
        }
    }
}

mod kam {
    use kameo::Actor;
    use kameo::actor::ActorRef;
    use kameo::error::Infallible;
    use kameo::message::{Context, Message};

    #[derive(Default)]
    pub(super) struct Counter(pub u64);
    impl Actor for Counter {
        type Args = Self;
        type Error = Infallible;
        async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
            Ok(args)
        }
    }
    pub(super) struct Add(pub u64);
    impl Message<Add> for Counter {
        type Reply = ();
        async fn handle(&mut self, Add(n): Add, _: &mut Context<Self, ()>) {
            self.0 += n;
        }
    }
    pub(super) struct Get;
    impl Message<Get> for Counter {
        type Reply = u64;
        async fn handle(&mut self, _: Get, _: &mut Context<Self, u64>) -> u64 {
            self.0
        }
    }

    pub(super) fn spawn() -> ActorRef<Counter> {
        use kameo::actor::Spawn;
        Counter::spawn_with_mailbox(Counter(0), kameo::mailbox::bounded(super::MAILBOX))
    }
}

/// `n` tells of `Add(1)` from 4 sender tasks into `actors` actors
/// (round-robin), then one ask per actor for its count; checks the sum.
pub fn tells(system: System, actors: usize, n: u64) -> Sample {
    let senders = 4u64;
    let per = n / senders;
    let total = per * senders;
    match system {
        System::Nimsync => {
            let rt = nim_rt();
            let refs: Vec<_> = rt.block_on(async {
                (0..actors)
                    .map(|_| nimsync_actor::spawn(nim::Counter::default()))
                    .collect()
            });
            let mut sum = 0;
            let s = timed(|| {
                sum = rt.block_on(async {
                    let tasks: Vec<_> = (0..senders)
                        .map(|t| {
                            let refs = refs.clone();
                            nimsync_scheduler::spawn(async move {
                                for i in 0..per {
                                    let a = &refs[((t * per + i) % refs.len() as u64) as usize];
                                    a.tell(nim::Add(1)).await.expect("running");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("sender");
                    }
                    let mut sum = 0;
                    for a in &refs {
                        sum += a.ask(nim::Get).await.expect("running");
                    }
                    sum
                });
            });
            assert_eq!(sum, total, "nimsync-actor: lost tells");
            s
        }
        System::Ractor => {
            let rt = tokio_rt();
            let refs: Vec<_> = rt.block_on(async {
                let mut v = Vec::new();
                for _ in 0..actors {
                    v.push(
                        ractor::Actor::spawn(None, rac::Counter, ())
                            .await
                            .expect("spawn")
                            .0,
                    );
                }
                v
            });
            let mut sum = 0;
            let s = timed(|| {
                sum = rt.block_on(async {
                    let tasks: Vec<_> = (0..senders)
                        .map(|t| {
                            let refs = refs.clone();
                            tokio::spawn(async move {
                                for i in 0..per {
                                    let a = &refs[((t * per + i) % refs.len() as u64) as usize];
                                    a.cast(rac::Msg::Add(1)).expect("running");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("sender");
                    }
                    let mut sum = 0;
                    for a in &refs {
                        sum += ractor::call!(a, rac::Msg::Get).expect("running");
                    }
                    sum
                });
            });
            for a in &refs {
                a.stop(None);
            }
            assert_eq!(sum, total, "ractor: lost tells");
            s
        }
        System::Kameo => {
            let rt = tokio_rt();
            let refs: Vec<_> = rt.block_on(async { (0..actors).map(|_| kam::spawn()).collect() });
            let mut sum = 0;
            let s = timed(|| {
                sum = rt.block_on(async {
                    let tasks: Vec<_> = (0..senders)
                        .map(|t| {
                            let refs = refs.clone();
                            tokio::spawn(async move {
                                for i in 0..per {
                                    let a = &refs[((t * per + i) % refs.len() as u64) as usize];
                                    a.tell(kam::Add(1)).await.expect("running");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("sender");
                    }
                    let mut sum = 0;
                    for a in &refs {
                        sum += a.ask(kam::Get).await.expect("running");
                    }
                    sum
                });
            });
            assert_eq!(sum, total, "kameo: lost tells");
            s
        }
    }
}

/// `n` asks in a row from one task to one actor: each round trip's time.
pub fn asks(system: System, n: usize) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(n);
    match system {
        System::Nimsync => {
            let rt = nim_rt();
            rt.block_on(rt.spawn(async move {
                let a = nimsync_actor::spawn(nim::Counter::default());
                for _ in 0..n {
                    let t = Instant::now();
                    std::hint::black_box(a.ask(nim::Get).await.expect("running"));
                    lat.push(t.elapsed());
                }
                lat
            }))
            .expect("asker")
        }
        System::Ractor => {
            let rt = tokio_rt();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let (a, _) = ractor::Actor::spawn(None, rac::Counter, ())
                        .await
                        .expect("spawn");
                    for _ in 0..n {
                        let t = Instant::now();
                        std::hint::black_box(ractor::call!(a, rac::Msg::Get).expect("running"));
                        lat.push(t.elapsed());
                    }
                    a.stop(None);
                    lat
                })
                .await
                .expect("asker")
            })
        }
        System::Kameo => {
            let rt = tokio_rt();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let a = kam::spawn();
                    for _ in 0..n {
                        let t = Instant::now();
                        std::hint::black_box(a.ask(kam::Get).await.expect("running"));
                        lat.push(t.elapsed());
                    }
                    lat
                })
                .await
                .expect("asker")
            })
        }
    }
}

/// Spawns `n` actors from a task, then stops each and waits until all
/// have stopped (a message = one actor).
pub fn spawn_stop(system: System, n: u64) -> Sample {
    match system {
        System::Nimsync => {
            let rt = nim_rt();
            timed(|| {
                rt.block_on(rt.spawn(async move {
                    let refs: Vec<_> = (0..n)
                        .map(|_| nimsync_actor::spawn(nim::Counter::default()))
                        .collect();
                    for a in &refs {
                        a.stop();
                    }
                    for a in &refs {
                        a.stopped().await;
                    }
                }))
                .expect("spawner");
            })
        }
        System::Ractor => {
            let rt = tokio_rt();
            timed(|| {
                rt.block_on(async move {
                    tokio::spawn(async move {
                        let mut all = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            all.push(
                                ractor::Actor::spawn(None, rac::Counter, ())
                                    .await
                                    .expect("spawn"),
                            );
                        }
                        for (a, _) in &all {
                            a.stop(None);
                        }
                        for (_, h) in all {
                            h.await.expect("stopped");
                        }
                    })
                    .await
                    .expect("spawner");
                });
            })
        }
        System::Kameo => {
            let rt = tokio_rt();
            timed(|| {
                rt.block_on(async move {
                    tokio::spawn(async move {
                        let refs: Vec<_> = (0..n).map(|_| kam::spawn()).collect();
                        for a in &refs {
                            a.stop_gracefully().await.expect("running");
                        }
                        for a in &refs {
                            a.wait_for_shutdown().await;
                        }
                    })
                    .await
                    .expect("spawner");
                });
            })
        }
    }
}

/// `n` restarts of a supervised actor: each the time from the panicking
/// tell to the answer of the next incarnation.
pub fn restarts(n: usize) -> Vec<Duration> {
    use nimsync_actor::{ChildSpec, Supervisor};
    quiet_crashes();
    let rt = nim_rt();
    rt.block_on(rt.spawn(async move {
        let (spec, a) = ChildSpec::actor("restarted", nim::Counter::default);
        let sup = Supervisor::new("bench")
            .intensity(u32::MAX, Duration::from_secs(1))
            .child(spec);
        let control = sup.control();
        let running = nimsync_scheduler::spawn(sup.run());
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            a.tell(nim::Crash).await.expect("running");
            a.ask(nim::Get).await.expect("restarted");
            lat.push(t.elapsed());
        }
        assert_eq!(a.metrics().restarts, n as u64);
        control.stop();
        running.await.expect("supervisor").expect("no escalation");
        lat
    }))
    .expect("bench task")
}
