//! `cargo xtask package`: every library crate packaged as it would be
//! published and built from its package.
//!
//! Runs `cargo package --workspace --exclude nimsync-benches --exclude
//! xtask --allow-dirty`. Cargo verifies a crate that depends on another
//! workspace crate against that crate's package, served from a temporary
//! registry under `target/package` and unpacked once into cargo's
//! registry sources (`$CARGO_HOME/registry/src/-<hash>/`), and cargo
//! takes a registry crate it has built before as unchanged. The version
//! does not change between commits, so an unpacked copy or a build from an
//! earlier run would stand in for today's package: the run builds in a
//! target directory of its own (`target/package-check`) and removes it,
//! `target/package` and the unpacked copies first.

use std::path::PathBuf;

use crate::Args;
use crate::util::{self, Result};

/// The packages left out: the bench harness and this tool are not
/// published.
const EXCLUDED: &[&str] = &["nimsync-benches", "xtask"];

/// Removes what earlier runs left, then packages and verifies.
///
/// # Errors
/// When an argument is given, a stale copy cannot be removed, or
/// packaging or a verification build fails.
pub(crate) fn run(args: Args) -> Result {
    let rest = args.positionals()?;
    if !rest.is_empty() {
        return Err(format!(
            "`package` takes no arguments, got `{}`",
            rest.join(" ")
        ));
    }
    remove_stale_copies()?;
    let mut cmd = util::cargo();
    cmd.env("CARGO_TARGET_DIR", check_dir());
    cmd.args(["package", "--workspace", "--allow-dirty"]);
    for krate in EXCLUDED {
        cmd.args(["--exclude", krate]);
    }
    util::run(&mut cmd)
}

/// The target directory the verification builds use.
fn check_dir() -> PathBuf {
    util::root().join("target").join("package-check")
}

/// Deletes `target/package`, the verification builds, and the unpacked copies of this workspace's
/// crates in cargo's local-registry source directories (those whose name
/// starts with `-`; crates.io's are left alone).
fn remove_stale_copies() -> Result {
    let mut stale = vec![util::root().join("target").join("package"), check_dir()];
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(src) = home.map(|h| h.join("registry").join("src")) {
        for registry in std::fs::read_dir(&src).into_iter().flatten().flatten() {
            if !registry.file_name().to_string_lossy().starts_with('-') {
                continue;
            }
            for krate in std::fs::read_dir(registry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if krate.file_name().to_string_lossy().starts_with("nimsync") {
                    stale.push(krate.path());
                }
            }
        }
    }
    for path in stale {
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
