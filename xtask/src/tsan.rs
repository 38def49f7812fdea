//! `cargo xtask tsan`: the unit and integration tests of the crates with
//! `unsafe` code under ThreadSanitizer.
//!
//! TSAN needs nightly with `rust-src` (the standard library is rebuilt with
//! the sanitizer, `-Zbuild-std`), installed on demand like Miri's
//! components; without them the run is skipped with a loud banner. Tests run
//! one at a time so reports are attributed to one test.

use crate::Args;
use crate::miri::{MIRI_CRATES, ensure_components, nightly_cargo};
use crate::util::{self, Result};

/// The only target the sanitizer build is set up for here.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds std with TSAN and runs the tests of [`MIRI_CRATES`].
///
/// # Errors
/// On bad arguments or when a test fails or TSAN reports a race. Missing
/// tooling or another host is not an error: it prints a banner.
pub(crate) fn run(args: Args) -> Result {
    if let Some(extra) = args.positionals()?.first() {
        return Err(format!("tsan takes no positional arguments, got `{extra}`"));
    }
    if std::env::consts::ARCH != "x86_64" || std::env::consts::OS != "linux" {
        skipped("only x86_64 Linux hosts are set up for the sanitizer build");
        return Ok(());
    }
    if let Err(reason) = ensure_components() {
        skipped(&reason);
        return Ok(());
    }
    for krate in MIRI_CRATES {
        let mut cmd = nightly_cargo();
        cmd.env("RUSTFLAGS", "-Zsanitizer=thread")
            .env("CARGO_TARGET_DIR", util::target_dir("tsan"))
            .args(["test", "-Zbuild-std", "--target", TARGET, "-p", krate.name])
            .args(krate.targets)
            .args(["--", "--test-threads=1"]);
        util::run(&mut cmd)?;
    }
    Ok(())
}

/// Prints the loud banner for a skipped run.
fn skipped(reason: &str) {
    let rule = "!".repeat(72);
    eprintln!(
        "\n{rule}\n!!! TSAN SKIPPED: {reason}\n!!! No test ran under ThreadSanitizer.\n{rule}\n"
    );
}
