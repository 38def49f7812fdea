//! `cargo xtask examples`: runs the example programs with small sizes, so
//! an example that stops compiling or stops working fails CI.
//!
//! Each example checks its own results (every echo, every job, every log
//! line accounted for) and panics otherwise.

use crate::Args;
use crate::util::{self, Result};

/// The example programs (package, example) and the small sizes CI runs
/// them with: the facade's, and the NATS bridge's two-process pipeline
/// (which starts the server `cargo xtask nats-server` installed).
const EXAMPLES: &[(&str, &str, &[&str])] = &[
    (
        "nimsync",
        "echo_server",
        &["--clients", "8", "--lines", "200"],
    ),
    (
        "nimsync",
        "job_queue",
        &["--jobs", "5000", "--workers", "4"],
    ),
    (
        "nimsync",
        "log_pipeline",
        &["--services", "4", "--lines", "20000"],
    ),
    (
        "nimsync",
        "worker_pool",
        &["--jobs", "5000", "--workers", "4"],
    ),
    (
        "nimsync",
        "chat_room",
        &["--members", "8", "--lines", "300"],
    ),
    (
        "nimsync-nats",
        "nats_pipeline",
        &["demo", "--services", "4", "--lines", "20000"],
    ),
];

/// Builds and runs every example, stopping at the first failure.
///
/// # Errors
/// When an argument is given, or an example fails to build or panics.
pub(crate) fn run(args: Args) -> Result {
    let rest = args.positionals()?;
    if !rest.is_empty() {
        return Err(format!(
            "`examples` takes no arguments, got `{}`",
            rest.join(" ")
        ));
    }
    crate::nats::ensure()?;
    for (package, name, sizes) in EXAMPLES {
        let mut cmd = util::cargo();
        cmd.args(["run", "-p", package, "--example", name, "--"])
            .args(*sizes);
        util::run(&mut cmd)?;
    }
    Ok(())
}
