//! The stress suite behind `cargo xtask stress`.
//!
//! Every test moves uniquely numbered messages and checks, with a
//! [`Ledger`], that each arrived exactly once, that drop counts balance (no
//! leak, no double drop), and that it finished within its time bound. A
//! test that exceeds its bound is reported by name and fails the run.

mod channel;
mod group;
mod ledger;
mod runtime;
mod select;

use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use ledger::{Ledger, Tracked};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// For CI: each test takes a second or two.
    Quick,
    /// The full suite.
    Full,
}

impl Size {
    /// Picks the quick or the full figure.
    pub fn pick(self, quick: usize, full: usize) -> usize {
        match self {
            Size::Quick => quick,
            Size::Full => full,
        }
    }
}

/// One stress test.
#[derive(Debug)]
pub struct Test {
    /// Name used on the command line and in reports.
    pub name: &'static str,
    /// Time bound for the full size; quick runs get the same bound.
    pub bound: Duration,
    /// Runs the test; returns a one-line summary of what it counted, or
    /// panics with what went wrong.
    pub run: fn(Size) -> String,
}

/// Every stress test, in the order they run.
pub fn all() -> Vec<Test> {
    let mut tests = channel::tests();
    tests.extend(runtime::tests());
    tests.extend(select::tests());
    tests.extend(group::tests());
    tests
}

/// Runs the named tests (all when `names` is empty). Returns false if any
/// failed or hung.
pub fn run(size: Size, names: &[String]) -> bool {
    let tests = all();
    for n in names {
        if !tests.iter().any(|t| t.name == n) {
            let known: Vec<_> = tests.iter().map(|t| t.name).collect();
            eprintln!("unknown stress test `{n}`; known: {}", known.join(", "));
            return false;
        }
    }
    let mut ok = true;
    for t in tests
        .into_iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
    {
        let (done_tx, done_rx) = mpsc::channel();
        let start = Instant::now();
        let run = t.run;
        std::thread::Builder::new()
            .name(t.name.to_string())
            .spawn(move || {
                let res = std::panic::catch_unwind(|| run(size));
                let _ = done_tx.send(res);
            })
            .expect("spawn stress test thread");
        match done_rx.recv_timeout(t.bound) {
            Ok(Ok(summary)) => {
                println!(
                    "PASS {:<28} {:>7.2}s  {summary}",
                    t.name,
                    start.elapsed().as_secs_f64()
                )
            }
            Ok(Err(_)) => {
                println!(
                    "FAIL {:<28} {:>7.2}s  (panicked, see above)",
                    t.name,
                    start.elapsed().as_secs_f64()
                );
                ok = false;
            }
            Err(_) => {
                println!(
                    "HUNG {:<28} exceeded its bound of {:?}: a lost wake-up or a deadlock",
                    t.name, t.bound
                );
                // Its threads may be stuck for good: stop here.
                return false;
            }
        }
    }
    ok
}

/// Messages per second, human-readable.
pub fn rate(messages: usize, elapsed: Duration) -> String {
    let per_s = messages as f64 / elapsed.as_secs_f64().max(1e-9);
    if per_s >= 1e6 {
        format!("{:.1}M msg/s", per_s / 1e6)
    } else {
        format!("{:.0}K msg/s", per_s / 1e3)
    }
}
