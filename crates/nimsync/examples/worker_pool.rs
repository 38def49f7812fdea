//! A supervised worker pool: jobs asked round-robin of a pool of actors,
//! some of which are poisoned and make their worker panic. Each panic is
//! one restart of that worker alone; every other job is answered, and the
//! pool keeps serving while members restart.
//!
//! ```text
//! cargo run -p nimsync --example worker_pool -- --jobs 20000 --workers 4
//! ```

use std::time::{Duration, Instant};

use nimsync::actor::{Actor, AskError, Context, Handler, Mailbox, Supervisor};
use nimsync::scheduler::Runtime;

/// A worker: checksums jobs, and counts what it did in this incarnation.
#[derive(Default)]
struct Worker {
    done: u64,
}

impl Actor for Worker {}

/// A job: its number; a poisoned job makes its worker panic.
struct Job {
    n: u64,
    poisoned: bool,
}

impl Handler<Job> for Worker {
    type Reply = u64;
    async fn handle(&mut self, job: Job, _: &mut Context<Self>) -> u64 {
        assert!(!job.poisoned, "job {} is poisoned", job.n);
        self.done += 1;
        job.n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
    }
}

fn main() {
    let jobs = arg("--jobs", 5_000) as u64;
    let workers = arg("--workers", 4);
    // The poisoned jobs' panics are expected: keep them off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.to_string().contains("is poisoned") {
            default_hook(info);
        }
    }));
    let rt = Runtime::new().expect("a runtime");
    let started = Instant::now();
    let (answered, poisoned, restarts) = rt.block_on(async {
        let (supervisor, pool) =
            Supervisor::pool("workers", workers, Mailbox::default(), Worker::default);
        // A poisoned job every 500: well within 1,000 restarts a minute.
        let supervisor = supervisor.intensity(1_000, Duration::from_secs(60));
        let running = nimsync::scheduler::spawn(supervisor.run());
        let (mut answered, mut poisoned) = (0u64, 0u64);
        for n in 0..jobs {
            let job = Job {
                n,
                poisoned: n % 500 == 499,
            };
            match pool.ask(job).await {
                Ok(sum) => {
                    assert_eq!(sum, n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17));
                    answered += 1;
                }
                Err(AskError::Panicked(why)) => {
                    assert!(why.contains("poisoned"), "{why}");
                    poisoned += 1;
                }
                Err(e) => panic!("job {n}: {e}"),
            }
        }
        // One more job for each member: answered by a restarted member's
        // new incarnation, so every restart has happened by now.
        for member in pool.members() {
            member
                .ask(Job {
                    n: 0,
                    poisoned: false,
                })
                .await
                .unwrap();
        }
        pool.supervisor().stop();
        running
            .await
            .expect("the supervisor task")
            .expect("no escalation");
        let restarts = pool_restarts(&pool);
        (answered, poisoned, restarts)
    });
    assert_eq!(answered + poisoned, jobs);
    assert_eq!(restarts, poisoned, "one restart per poisoned job");
    println!(
        "{jobs} jobs on {workers} workers: {answered} answered, {poisoned} poisoned = {restarts} restarts, in {:.1?}",
        started.elapsed()
    );
}

/// The pool's restarts, summed over its members' metrics.
fn pool_restarts(pool: &nimsync::actor::PoolRef<Worker>) -> u64 {
    pool.members().iter().map(|m| m.metrics().restarts).sum()
}

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v}"))
        })
        .unwrap_or(default)
}
