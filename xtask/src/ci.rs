//! `cargo xtask ci`: every CI job, in order, each under a time bound.
//!
//! The steps are the data table [`STEPS`]; add a row to add a job. Each step
//! runs as a child process in its own process group (xtask steps re-invoke
//! this binary), so a step that overruns its bound is killed with everything
//! it started and reported by name. The run stops at the first failure,
//! prints a summary table either way, and shows the command that reproduces
//! the failed step.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Args;
use crate::util::{self, Outcome, Result};

/// What a step runs.
#[derive(Debug)]
enum Action {
    /// `cargo ARGS` at the workspace root.
    Cargo(&'static [&'static str]),
    /// `cargo xtask ARGS`: this binary, re-invoked with ARGS.
    Xtask(&'static [&'static str]),
}

/// One CI step.
#[derive(Debug)]
struct Step {
    /// A short name, used by `--skip` and in the summary.
    name: &'static str,
    /// The wall-clock bound; past it the step is killed and fails.
    bound: Duration,
    /// The command it runs.
    action: Action,
}

/// `n` minutes.
const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// The CI steps, in the order they run.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        bound: minutes(2),
        action: Action::Cargo(&["fmt", "--all", "--", "--check"]),
    },
    Step {
        name: "clippy",
        bound: minutes(12),
        action: Action::Cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    },
    Step {
        name: "clippy-tracing",
        bound: minutes(6),
        action: Action::Cargo(&[
            "clippy",
            "-p",
            "nimsync-scheduler",
            "-p",
            "nimsync-group",
            "-p",
            "nimsync-stream",
            "--all-targets",
            "--features",
            "tracing",
            "--",
            "-D",
            "warnings",
        ]),
    },
    Step {
        name: "layers",
        bound: minutes(2),
        action: Action::Xtask(&["layers"]),
    },
    Step {
        name: "features",
        bound: minutes(4),
        action: Action::Xtask(&["features"]),
    },
    Step {
        name: "nats-server",
        bound: minutes(3),
        action: Action::Xtask(&["nats-server"]),
    },
    Step {
        name: "test",
        bound: minutes(15),
        action: Action::Cargo(&["test", "--workspace"]),
    },
    Step {
        name: "tracing",
        bound: minutes(8),
        action: Action::Cargo(&[
            "test",
            "-p",
            "nimsync-scheduler",
            "-p",
            "nimsync-group",
            "-p",
            "nimsync-stream",
            "--features",
            "tracing",
        ]),
    },
    Step {
        name: "package",
        bound: minutes(6),
        action: Action::Xtask(&["package"]),
    },
    Step {
        name: "examples",
        bound: minutes(4),
        action: Action::Xtask(&["examples"]),
    },
    Step {
        name: "criterion",
        bound: minutes(6),
        action: Action::Cargo(&["test", "--workspace", "--bench", "hot_paths"]),
    },
    Step {
        name: "stress",
        bound: minutes(8),
        action: Action::Xtask(&["stress", "--quick"]),
    },
    Step {
        name: "bench",
        bound: minutes(8),
        action: Action::Xtask(&["bench", "--quick"]),
    },
    Step {
        name: "loom",
        bound: minutes(12),
        action: Action::Xtask(&["loom", "--preemptions", "2"]),
    },
    Step {
        name: "miri",
        bound: minutes(20),
        action: Action::Xtask(&["miri"]),
    },
    Step {
        name: "tsan",
        bound: minutes(20),
        action: Action::Xtask(&["tsan"]),
    },
];

impl Step {
    /// The child process for this step.
    fn command(&self, xtask: &Path) -> Command {
        match self.action {
            Action::Cargo(args) => {
                let mut cmd = util::cargo();
                cmd.args(args);
                cmd
            }
            Action::Xtask(args) => {
                let mut cmd = Command::new(xtask);
                cmd.args(args).current_dir(util::root());
                cmd
            }
        }
    }

    /// The command as a user would type it to reproduce the step.
    fn shown(&self, xtask: &Path) -> String {
        match self.action {
            Action::Cargo(_) => util::display(&self.command(xtask)),
            Action::Xtask(args) => format!("cargo xtask {}", args.join(" ")),
        }
    }
}

/// How a step ended.
#[derive(Debug)]
enum Status {
    /// It passed.
    Passed,
    /// It failed; the text says how.
    Failed(String),
    /// It overran its bound and was killed.
    TimedOut,
    /// `--skip` named it.
    Skipped,
    /// An earlier step failed.
    NotRun,
}

impl Status {
    /// The text for the summary table.
    fn text(&self) -> String {
        match self {
            Status::Passed => "ok".to_owned(),
            Status::Failed(how) => format!("FAILED ({how})"),
            Status::TimedOut => "TIMED OUT (killed)".to_owned(),
            Status::Skipped => "skipped".to_owned(),
            Status::NotRun => "not run".to_owned(),
        }
    }
}

/// Runs the steps of [`STEPS`] not named by `--skip`.
///
/// # Errors
/// On bad arguments, or naming the first step that failed or timed out.
pub(crate) fn run(mut args: Args) -> Result {
    let skip = args.values("--skip")?;
    if let Some(extra) = args.positionals()?.first() {
        return Err(format!("ci takes no positional arguments, got `{extra}`"));
    }
    let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
    if let Some(unknown) = skip.iter().find(|s| !names.contains(&s.as_str())) {
        return Err(format!(
            "--skip: unknown step `{unknown}` (steps: {})",
            names.join(", ")
        ));
    }
    let xtask = std::env::current_exe()
        .map_err(|e| format!("cannot find the xtask binary to re-invoke: {e}"))?;

    // With the server installed by its step, the broker tests must run:
    // one that finds no server fails instead of skipping.
    let require_nats = !skip.iter().any(|s| s == "nats-server");
    let started = Instant::now();
    let mut results: Vec<(&Step, Status, Option<Duration>)> = Vec::new();
    let mut failed: Option<&Step> = None;
    for (index, step) in STEPS.iter().enumerate() {
        if failed.is_some() {
            results.push((step, Status::NotRun, None));
            continue;
        }
        let header = format!("[{}/{}] {}", index + 1, STEPS.len(), step.name);
        if skip.iter().any(|s| s == step.name) {
            println!("\n==> {header}: skipped (--skip)");
            results.push((step, Status::Skipped, None));
            continue;
        }
        println!("\n==> {header} (bound {})", util::human(step.bound));
        println!("$ {}", step.shown(&xtask));
        let start = Instant::now();
        let mut command = step.command(&xtask);
        if require_nats {
            command.env("NIMSYNC_REQUIRE_NATS", "1");
        }
        let status = match util::run_bounded(&mut command, step.bound) {
            Ok(Outcome::Success) => Status::Passed,
            Ok(Outcome::Failed(exit)) => Status::Failed(util::describe(exit)),
            Ok(Outcome::TimedOut) => Status::TimedOut,
            Err(message) => Status::Failed(message),
        };
        let elapsed = start.elapsed();
        match status {
            Status::Passed => {}
            Status::TimedOut => {
                eprintln!(
                    "ci: step `{}` exceeded its bound of {} and was killed",
                    step.name,
                    util::human(step.bound)
                );
                failed = Some(step);
            }
            _ => failed = Some(step),
        }
        println!(
            "<== {}: {} in {:.1} s",
            step.name,
            status.text(),
            elapsed.as_secs_f64()
        );
        results.push((step, status, Some(elapsed)));
    }

    print_summary(&results, started.elapsed());
    match failed {
        None => {
            if skip.is_empty() {
                println!("ci: all {} steps passed", STEPS.len());
            } else {
                println!(
                    "ci: passed, but {} step(s) were skipped: this is not a full CI run",
                    results
                        .iter()
                        .filter(|(_, status, _)| matches!(status, Status::Skipped))
                        .count()
                );
            }
            Ok(())
        }
        Some(step) => {
            eprintln!(
                "hint: reproduce the failed step with `{}`",
                step.shown(&xtask)
            );
            Err(format!("ci failed at step `{}`", step.name))
        }
    }
}

/// Prints one line per step: name, status, bound, seconds.
fn print_summary(results: &[(&Step, Status, Option<Duration>)], total: Duration) {
    let rows: Vec<[String; 4]> = results
        .iter()
        .map(|(step, status, elapsed)| {
            [
                step.name.to_owned(),
                status.text(),
                util::human(step.bound),
                elapsed.map_or_else(|| "-".to_owned(), |e| format!("{:.1}", e.as_secs_f64())),
            ]
        })
        .collect();
    let header = ["step", "status", "bound", "seconds"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    println!("\nci summary:");
    let line = |cells: [&str; 4]| {
        let [a, b, c, d] = cells;
        let [wa, wb, wc, wd] = widths;
        println!("  {a:<wa$}  {b:<wb$}  {c:>wc$}  {d:>wd$}");
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    println!("  total {:.1} s", total.as_secs_f64());
}
