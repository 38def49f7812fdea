//! `cargo xtask features`: checks that the `nimsync` facade builds with
//! each of its layer features alone and with none, so a feature that
//! forgets a layer it stands on fails here rather than in a user's build.
//!
//! Runs `cargo check -p nimsync --no-default-features [--features F]` for
//! every entry of [`FEATURES`] (the default build is checked by `clippy`
//! and `test`; the `tracing` feature with the layers it traces by the
//! `tracing` and `clippy-tracing` steps of `ci`).

use crate::Args;
use crate::util::{self, Result};

/// The feature sets checked: none, then each feature alone (the layers,
/// and `tracing`, which alone turns on nothing it could trace). Keep in
/// step with `[features]` in `crates/nimsync/Cargo.toml`.
const FEATURES: &[&str] = &[
    "",
    "channel",
    "time",
    "select",
    "scheduler",
    "group",
    "stream",
    "actor",
    "tracing",
    "io",
];

/// Runs the checks, stopping at the first failure.
///
/// # Errors
/// When an argument is given, or a check fails (the message names its
/// command).
pub(crate) fn run(args: Args) -> Result {
    let rest = args.positionals()?;
    if !rest.is_empty() {
        return Err(format!(
            "`features` takes no arguments, got `{}`",
            rest.join(" ")
        ));
    }
    for features in FEATURES {
        let mut cmd = util::cargo();
        cmd.args(["check", "-p", "nimsync", "--no-default-features"]);
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        util::run(&mut cmd)?;
    }
    eprintln!(
        "features: ok (the facade builds with no feature and with each of {} alone)",
        FEATURES[1..].join(", ")
    );
    Ok(())
}
