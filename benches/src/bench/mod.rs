//! The throughput harness behind `cargo xtask bench`.
//!
//! Each scenario moves a fixed number of messages (a message is one send
//! plus its receive) through every contender, round by round, with the
//! contenders interleaved (A B C A B C ...), so that the machine's drift
//! hits them alike. Figures are medians over the rounds with min and max,
//! each beside the CPU-seconds the process spent per million messages, and
//! nimsync is compared with the best peer of the same kind by the median of
//! the per-round ratios.

pub mod actors;
pub mod alloc;
pub mod contenders;
pub mod executors;
pub mod group;
pub mod history;
pub mod http;
pub mod nats;
pub mod report;
pub mod scenarios;
pub mod select;
pub mod streams;
pub mod sweep;
pub mod targets;
pub mod workloads;

use std::time::Duration;

pub use report::Results;
pub use workloads::Sample;

/// Options from the command line.
#[derive(Debug, Default)]
pub struct Options {
    /// Small runs, for correctness checks in CI.
    pub quick: bool,
    /// Rounds per scenario (at least 5 unless quick).
    pub rounds: Option<usize>,
    /// Only scenarios whose id contains one of these.
    pub filters: Vec<String>,
    /// Apply `benches/targets.toml` and fail on a missed target.
    pub check: bool,
    /// Write results as JSON.
    pub json: Option<String>,
    /// Write a Markdown table.
    pub md: Option<String>,
    /// Write an SVG bar chart.
    pub svg: Option<String>,
    /// Rewrite the headline table between the bench markers of this file
    /// (the README's performance section).
    pub readme: Option<String>,
    /// Path of the targets file.
    pub targets: Option<String>,
    /// Only contenders whose name contains this (for profiling one).
    pub contender: Option<String>,
    /// Print the scenario ids and titles, run nothing.
    pub list: bool,
    /// Print how each ratio moved since the previous kept run.
    pub compare: bool,
    /// Run the contention sweep (producers x consumers x capacity) instead
    /// of the scenarios.
    pub sweep: bool,
}

/// What one run of a contender produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A throughput run.
    Run(Sample),
    /// Round-trip latencies.
    Latencies(Vec<Duration>),
    /// A throughput run that also timed each request (a server under
    /// load): rates, CPU and percentiles from one run.
    Served(Sample, Vec<Duration>),
}

/// One contender in a scenario.
pub struct Contender {
    /// Name in the tables.
    pub name: &'static str,
    /// True for nimsync's own entry.
    pub nimsync: bool,
    /// Runs it once.
    pub run: Box<dyn Fn() -> Outcome>,
}

impl std::fmt::Debug for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender")
            .field("name", &self.name)
            .finish()
    }
}

/// One scenario: a workload shape and its contenders.
#[derive(Debug)]
pub struct Scenario {
    /// Short id, used by filters, targets and reports.
    pub id: &'static str,
    /// What it measures.
    pub title: &'static str,
    /// Spinning, blocking, async or latency: peers are compared within a
    /// kind only.
    pub kind: &'static str,
    /// Threads against cores.
    pub shape: &'static str,
    /// Messages per run (for latency scenarios: round trips).
    pub messages: u64,
    /// nimsync first, then the peers.
    pub contenders: Vec<Contender>,
}

/// Runs the harness; returns false if `--check` found a missed target.
pub fn main(opts: &Options) -> bool {
    if opts.sweep {
        sweep::main(
            opts.quick,
            opts.rounds,
            &opts.filters,
            opts.svg.as_deref(),
            opts.json.as_deref(),
        );
        return true;
    }
    if opts.list {
        for s in scenarios::all(true) {
            println!("{:<28} {} ({})", s.id, s.title, s.shape);
        }
        println!("{:<28} heap bytes per idle task, per runtime", "rt-memory");
        return true;
    }
    let rounds = opts.rounds.unwrap_or(if opts.quick { 5 } else { 7 });
    let mut scenarios: Vec<Scenario> = scenarios::all(opts.quick)
        .into_iter()
        .filter(|s| {
            opts.filters.is_empty() || opts.filters.iter().any(|f| s.id.contains(f.as_str()))
        })
        .collect();
    if let Some(only) = &opts.contender {
        // nimsync always stays: it is what the others are compared with.
        for s in &mut scenarios {
            s.contenders
                .retain(|c| c.nimsync || c.name.contains(only.as_str()));
        }
    }
    if scenarios.is_empty()
        && !opts
            .filters
            .iter()
            .any(|f| "rt-memory".contains(f.as_str()))
    {
        eprintln!(
            "no scenario matches {:?}; ids: {}",
            opts.filters,
            scenarios::ids(opts.quick).join(", ")
        );
        return false;
    }
    println!(
        "nimsync bench: {} scenarios x {rounds} rounds, contenders interleaved per round{}",
        scenarios.len(),
        if opts.quick {
            " (quick: correctness only, figures are not comparable)"
        } else {
            ""
        }
    );
    let mut results = Results::default();
    let memory_wanted = opts.filters.is_empty()
        || opts
            .filters
            .iter()
            .any(|f| "rt-memory".contains(f.as_str()));
    let mut progress = Progress::new(scenarios.len() * rounds);
    for (n, s) in scenarios.iter().enumerate() {
        let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); s.contenders.len()];
        for round in 0..rounds {
            progress.show(n + 1, scenarios.len(), s.id, round + 1, rounds);
            // Rotate the starting contender so no one always goes first.
            for k in 0..s.contenders.len() {
                let i = (k + round) % s.contenders.len();
                runs[i].push((s.contenders[i].run)());
            }
            progress.done_one();
        }
        progress.clear();
        let r = report::summarize(s, runs);
        report::print_scenario(&r);
        results.scenarios.push(r);
    }
    if memory_wanted {
        let tasks = if opts.quick { 2_000 } else { 100_000 };
        results.memory = executors::memory_table(tasks, rounds.min(5));
        report::print_memory(&results.memory, tasks);
    }
    let targets = targets::load(opts.targets.as_deref());
    let verdicts = report::verdicts(&results, &targets);
    report::print_verdicts(&verdicts, opts.check);
    if let Some(path) = &opts.json {
        report::write_json(path, &results, &verdicts);
    }
    // Quick runs are for correctness: their figures are not kept.
    let kept = if opts.quick {
        None
    } else {
        history::save(&results, &verdicts)
    };
    if opts.compare {
        match history::previous(kept.as_deref()) {
            Some(previous) => match history::compare_table(&results, &previous) {
                Ok(table) => print!("{table}"),
                Err(e) => eprintln!("--compare: {e}"),
            },
            None => eprintln!(
                "--compare: no earlier run kept in {}",
                history::dir().display()
            ),
        }
    }
    if let Some(path) = &opts.md {
        report::write_md(path, &results, &verdicts);
    }
    if let Some(path) = &opts.readme {
        report::write_readme(path, &results);
    }
    if let Some(path) = &opts.svg {
        report::write_svg(path, &results);
    }
    !opts.check || verdicts.iter().all(|v| v.pass != Some(false))
}

/// The live progress line: scenario i of N, round, elapsed time and an
/// estimate of the time left, redrawn in place on a terminal's stderr;
/// silent when stderr is not a terminal (CI logs, redirections).
#[derive(Debug)]
struct Progress {
    /// Whether to draw at all.
    on: bool,
    /// When the run started.
    start: std::time::Instant,
    /// Rounds in the whole run, and rounds finished.
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        use std::io::IsTerminal as _;
        Self {
            on: std::io::stderr().is_terminal(),
            start: std::time::Instant::now(),
            total,
            done: 0,
        }
    }

    fn show(&self, i: usize, n: usize, id: &str, round: usize, rounds: usize) {
        if !self.on {
            return;
        }
        let elapsed = self.start.elapsed().as_secs();
        let left = if self.done == 0 {
            "estimating".to_owned()
        } else {
            let per = self.start.elapsed().as_secs_f64() / self.done as f64;
            format!("~{:.0}s left", per * (self.total - self.done) as f64)
        };
        eprint!("\r\x1b[K[{i}/{n}] {id}: round {round}/{rounds}, {elapsed}s elapsed, {left}");
    }

    fn done_one(&mut self) {
        self.done += 1;
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}
