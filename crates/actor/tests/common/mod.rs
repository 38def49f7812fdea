//! Shared test actors and helpers.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use nimsync_actor::{Actor, Context, ExitReason, Handler, SupervisorEvent};
use nimsync_channel::mpmc;

/// A log of lifecycle hooks, in the order they ran.
pub type Log = Arc<Mutex<Vec<String>>>;

pub fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// An actor that counts, logs its hooks and fails on demand.
pub struct Worker {
    pub name: &'static str,
    pub log: Log,
    pub count: u64,
}

impl Worker {
    pub fn factory(name: &'static str, log: &Log) -> impl Fn() -> Worker + Send + Sync + 'static {
        let log = log.clone();
        move || Worker {
            name,
            log: log.clone(),
            count: 0,
        }
    }
}

impl Actor for Worker {
    async fn started(
        &mut self,
        _: &mut Context<Self>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {}", self.name));
        Ok(())
    }

    async fn stopped(&mut self, _: &mut Context<Self>, reason: &ExitReason) {
        let why = match reason {
            ExitReason::Failed(_) => "failed",
            ExitReason::Restarting => "restarting",
            ExitReason::Stopped => "stopped",
            ExitReason::Normal => "normal",
            _ => "other",
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("stop {} {why}", self.name));
    }

    async fn restarted(&mut self, _: &mut Context<Self>, _: &ExitReason) {
        self.log
            .lock()
            .unwrap()
            .push(format!("restart {}", self.name));
    }
}

/// Adds to the count; replies with the new count.
pub struct Add(pub u64);
impl Handler<Add> for Worker {
    type Reply = u64;
    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
        self.count += n;
        self.count
    }
}

/// Panics.
pub struct Crash;
impl Handler<Crash> for Worker {
    type Reply = ();
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("{} crashed", self.name);
    }
}

/// Ends the incarnation normally.
pub struct Quit;
impl Handler<Quit> for Worker {
    type Reply = ();
    async fn handle(&mut self, _: Quit, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// A supervisor event hook feeding a channel the test reads.
pub fn events() -> (
    impl Fn(&SupervisorEvent) + Send + Sync + 'static,
    mpmc::Receiver<SupervisorEvent>,
) {
    let (tx, rx) = mpmc::unbounded();
    (move |e: &SupervisorEvent| drop(tx.send(e.clone())), rx)
}

/// Reads events until one matches; returns it.
pub async fn until(
    rx: &mpmc::Receiver<SupervisorEvent>,
    pred: impl Fn(&SupervisorEvent) -> bool,
) -> SupervisorEvent {
    loop {
        let e = rx.recv_async().await.expect("the supervisor is gone");
        if std::env::var_os("EV").is_some() {
            eprintln!("{e:?}");
        }
        if pred(&e) {
            return e;
        }
    }
}

pub fn started(child: &str) -> impl Fn(&SupervisorEvent) -> bool + '_ {
    move |e| matches!(e, SupervisorEvent::Started { child: c, .. } if &**c == child)
}

pub fn scheduled(child: &str) -> impl Fn(&SupervisorEvent) -> bool + '_ {
    move |e| matches!(e, SupervisorEvent::RestartScheduled { child: c, .. } if &**c == child)
}

pub fn runtime() -> nimsync_scheduler::Runtime {
    nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap()
}
