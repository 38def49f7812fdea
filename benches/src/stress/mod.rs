//! The stress suite behind `cargo xtask stress`.
//!
//! Every test moves uniquely numbered messages and checks, with a
//! [`Ledger`], that each arrived exactly once, that drop counts balance (no
//! leak, no double drop), and that it finished within its time bound. A
//! test that exceeds its bound is reported by name and fails the run.

mod actor;
mod channel;
mod endpoints;
mod faults;
mod group;
mod inject;
mod ledger;
mod nats;
mod rendezvous;
mod rng;
mod rounds;
mod runtime;
mod select;
mod soak;
mod stream;
mod unbounded;

use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use ledger::{Ledger, Tracked};
pub use soak::{FLAVORS, Plan, SoakEnd, replay, soak};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// For CI: each test takes a second or a few.
    Quick,
    /// The full suite: each test moves at least 10M uniquely numbered
    /// messages (or tasks), or runs 30 s where a count makes no sense.
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

/// The longest a quick test may take before it counts as hung.
const QUICK_BOUND: Duration = Duration::from_secs(120);

/// How often a running test's progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// One stress test.
#[derive(Debug)]
pub struct Test {
    /// Name used on the command line and in reports.
    pub name: &'static str,
    /// Time bound for the full size; quick runs get at most
    /// `QUICK_BOUND`.
    pub bound: Duration,
    /// Runs the test; returns a one-line summary of what it counted, or
    /// panics with what went wrong.
    pub run: fn(Size) -> String,
}

impl Test {
    /// A test named `name` with a bound of `secs` seconds at full size.
    pub const fn new(name: &'static str, secs: u64, run: fn(Size) -> String) -> Self {
        Self {
            name,
            bound: Duration::from_secs(secs),
            run,
        }
    }
}

/// Every stress test, in the order they run.
pub fn all() -> Vec<Test> {
    let mut tests = channel::tests();
    tests.extend(rendezvous::tests());
    tests.extend(runtime::tests());
    tests.extend(select::tests());
    tests.extend(group::tests());
    tests.extend(faults::tests());
    tests.extend(unbounded::tests());
    tests.extend(endpoints::tests());
    tests.extend(stream::tests());
    tests.extend(actor::tests());
    tests.extend(nats::tests());
    tests
}

/// How a watched run ended.
#[derive(Debug)]
pub enum Outcome {
    /// It returned this summary.
    Passed(String),
    /// It panicked (the panic was printed).
    Failed,
    /// It exceeded its bound; its threads may be stuck for good.
    Hung,
}

/// Runs `f` on a thread named `name` under a watchdog: reports whether it
/// passed, panicked, or exceeded `bound`, printing a progress line (the
/// messages received so far) every `PROGRESS_EVERY`.
pub fn watch(name: &str, bound: Duration, f: impl FnOnce() -> String + Send + 'static) -> Outcome {
    inject::install_quiet_hook();
    let (done_tx, done_rx) = mpsc::channel();
    let start = Instant::now();
    let received = ledger::progress();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done_tx.send(res);
        })
        .expect("spawn stress test thread");
    loop {
        let left = bound.saturating_sub(start.elapsed());
        match done_rx.recv_timeout(left.min(PROGRESS_EVERY)) {
            Ok(Ok(summary)) => return Outcome::Passed(summary),
            Ok(Err(_)) => return Outcome::Failed,
            Err(_) if left <= PROGRESS_EVERY => return Outcome::Hung,
            Err(_) => println!(
                "     {name:<30} {:>6.0}s  ... {} messages received so far",
                start.elapsed().as_secs_f64(),
                ledger::progress() - received
            ),
        }
    }
}

/// Prints a test's outcome; true if it passed.
fn report(name: &str, bound: Duration, start: Instant, outcome: Outcome) -> bool {
    let secs = start.elapsed().as_secs_f64();
    match outcome {
        Outcome::Passed(summary) => {
            println!("PASS {name:<30} {secs:>7.2}s  {summary}");
            true
        }
        Outcome::Failed => {
            println!("FAIL {name:<30} {secs:>7.2}s  (panicked, see above)");
            false
        }
        Outcome::Hung => {
            println!(
                "HUNG {name:<30} exceeded its bound of {bound:?}: a lost wake-up or a deadlock"
            );
            false
        }
    }
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
        let bound = match size {
            Size::Quick => t.bound.min(QUICK_BOUND),
            Size::Full => t.bound,
        };
        if size == Size::Full {
            println!("RUN  {:<30} (bound {bound:?})", t.name);
        }
        let start = Instant::now();
        let run = t.run;
        let outcome = watch(t.name, bound, move || run(size));
        let hung = matches!(outcome, Outcome::Hung);
        ok &= report(t.name, bound, start, outcome);
        if hung {
            // Its threads may be stuck for good: stop here.
            return false;
        }
    }
    ok
}

/// Joins every thread of `handles`, failing with `what` if one panicked;
/// returns their results in order.
pub(crate) fn join_all<T>(handles: Vec<std::thread::JoinHandle<T>>, what: &str) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| panic!("a {what} thread panicked"))
        })
        .collect()
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
