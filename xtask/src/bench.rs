//! `cargo xtask bench`: runs the throughput harness.
//!
//! Measurements use the `bench` profile (fat LTO, one codegen unit) in the
//! default target directory. `--quick` is a correctness run (as in CI), so it
//! switches to the light `ci` profile and `target/ci`, shared with `stress`.

use crate::Args;
use crate::util::{self, Result};

/// Runs `cargo run --profile bench -p nimsync-benches --bin bench -- ARGS`,
/// passing every argument through to the harness.
///
/// # Errors
/// When the build or the harness fails.
pub(crate) fn run(args: Args) -> Result {
    let args = args.into_raw();
    let quick = args.iter().any(|arg| arg == "--quick");
    // The NATS scenarios run against the pinned server; without Python to
    // install it they are left out, and the harness says so.
    if let Err(why) = crate::nats::ensure() {
        eprintln!("bench: the NATS scenarios will not run: {why}");
    }
    let mut cmd = util::cargo();
    if quick {
        cmd.env("CARGO_TARGET_DIR", util::target_dir("ci"));
    }
    let profile = if quick { "ci" } else { "bench" };
    cmd.args([
        "run",
        "--profile",
        profile,
        "-p",
        "nimsync-benches",
        "--bin",
        "bench",
        "--",
    ])
    .args(args);
    util::run(&mut cmd)
}
