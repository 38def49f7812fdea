//! `cargo xtask stress`: runs the cross-layer stress tests, a soak of
//! randomized scenarios (`--soak DURATION`), or one scenario replayed from
//! its seed (`--seed N`).
//!
//! The `stress` binary of nimsync-benches owns the tests, the scenarios,
//! their accounting and a watchdog per test; it exits non-zero naming the
//! test that failed or hung, or printing the seed of the failed scenario
//! and the command that replays it. It is built with the light `ci`
//! profile into `target/ci`, which it shares with `bench --quick`.

use crate::Args;
use crate::util::{self, Result};

/// Runs `cargo run --profile ci -p nimsync-benches --bin stress -- ARGS`,
/// passing `[--quick] [NAME...]`, `--soak DURATION [--base N] [--only
/// FLAVOR]...` or `--seed N` through untouched.
///
/// # Errors
/// When the build fails or a stress test fails or hangs.
pub(crate) fn run(args: Args) -> Result {
    let mut cmd = util::cargo();
    cmd.env("CARGO_TARGET_DIR", util::target_dir("ci"))
        .args([
            "run",
            "--profile",
            "ci",
            "-p",
            "nimsync-benches",
            "--bin",
            "stress",
            "--",
        ])
        .args(args.into_raw());
    util::run(&mut cmd)
}
