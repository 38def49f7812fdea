//! `cargo xtask examples`: runs the facade's example programs with small
//! sizes, so an example that stops compiling or stops working fails CI.
//!
//! Each example checks its own results (every echo, every job, every log
//! line accounted for) and panics otherwise.

use crate::Args;
use crate::util::{self, Result};

/// The examples of `crates/nimsync/examples` and the small sizes CI runs
/// them with.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("echo_server", &["--clients", "8", "--lines", "200"]),
    ("job_queue", &["--jobs", "5000", "--workers", "4"]),
    ("log_pipeline", &["--services", "4", "--lines", "20000"]),
    ("worker_pool", &["--jobs", "5000", "--workers", "4"]),
    ("chat_room", &["--members", "8", "--lines", "300"]),
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
    for (name, sizes) in EXAMPLES {
        let mut cmd = util::cargo();
        cmd.args(["run", "-p", "nimsync", "--example", name, "--"])
            .args(*sizes);
        util::run(&mut cmd)?;
    }
    Ok(())
}
