//! `cargo xtask loom`: runs the loom models of every crate that has them.
//!
//! The models are ordinary `#[test]`s compiled only under `cfg(loom)`; their
//! names contain `loom`, which is the default test filter. They are built in
//! release mode (loom explores many interleavings) with debug assertions on,
//! into `target/loom` so that the `--cfg loom` build does not invalidate the
//! normal one.

use crate::Args;
use crate::util::{self, Result};

/// The crates whose library tests hold loom models. Add a crate here when it
/// gains models (and, if it has atomics of its own, its `sync` facade).
pub(crate) const LOOM_CRATES: &[&str] = &[
    "nimsync-channel",
    "nimsync-time",
    "nimsync-select",
    "nimsync-scheduler",
    "nimsync-group",
    "nimsync-stream",
    "nimsync-actor",
];

/// The preemption bound used when `--preemptions` is not given (and by CI).
pub(crate) const DEFAULT_PREEMPTIONS: u32 = 2;

/// The test-name filter used when none is given.
const DEFAULT_FILTER: &str = "loom";

/// Runs `cargo test --release --lib FILTER` with `--cfg loom` on
/// [`LOOM_CRATES`].
///
/// # Errors
/// On bad arguments or when a model fails.
pub(crate) fn run(mut args: Args) -> Result {
    let preemptions = args.number("--preemptions", DEFAULT_PREEMPTIONS)?;
    let filters = args.positionals()?;
    let filter = match filters.as_slice() {
        [] => DEFAULT_FILTER,
        [one] => one.as_str(),
        [_, extra, ..] => return Err(format!("loom takes one FILTER, got also `{extra}`")),
    };

    let mut cmd = util::cargo();
    cmd.env("RUSTFLAGS", "--cfg loom -C debug-assertions")
        .env("LOOM_MAX_PREEMPTIONS", preemptions.to_string())
        .env("CARGO_TARGET_DIR", util::target_dir("loom"))
        .args(["test", "--release"]);
    for krate in LOOM_CRATES {
        cmd.args(["-p", krate]);
    }
    cmd.args(["--lib", filter]);
    util::run(&mut cmd)
}
