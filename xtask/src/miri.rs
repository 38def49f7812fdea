//! `cargo xtask miri`: runs the unit and integration tests under Miri.
//!
//! Miri needs the nightly toolchain with the `miri` and `rust-src`
//! components. They are installed on demand; when that is impossible (no
//! rustup, no nightly, no network) the run is skipped with a loud banner and
//! exits successfully, so a machine without nightly is not a red build.
//!
//! The repository pins stable in `rust-toolchain.toml`, and `cargo xtask`
//! runs with `RUSTUP_TOOLCHAIN` and `CARGO` pointing at stable. The child is
//! therefore started as `rustup run nightly cargo miri ...` with
//! `RUSTUP_TOOLCHAIN=nightly` and without `CARGO` (cargo-miri would use it).

use std::fmt::Write as _;
use std::io::{ErrorKind, Write as _};
use std::process::{Command, Stdio};

use crate::Args;
use crate::util::{self, Result};

/// A crate whose tests run under Miri (and ThreadSanitizer).
#[derive(Debug)]
pub(crate) struct MiriCrate {
    /// The package.
    pub(crate) name: &'static str,
    /// The test targets that run under Miri and ThreadSanitizer.
    pub(crate) targets: &'static [&'static str],
    /// The test targets that run under Miri only.
    pub(crate) miri_only: &'static [&'static str],
    /// Whether it depends on crossbeam-epoch (under crossbeam-deque).
    /// crossbeam-epoch casts integers to pointers, which strict provenance
    /// rejects, and is known to break the Stacked Borrows rules while
    /// passing Tree Borrows (crossbeam's own Miri runs use Tree Borrows);
    /// such crates run with permissive provenance and Tree Borrows.
    /// crossbeam-epoch also leaves deferred garbage in its global collector
    /// at exit, so Miri's leak check is off for them (`-Zmiri-ignore-leaks`,
    /// as in crossbeam's own runs); their tests count drops themselves.
    pub(crate) uses_epoch: bool,
    /// The lane it runs in (see [`LANES`]).
    pub(crate) lane: usize,
}

/// How many Miri processes run at once. Miri interprets each test binary
/// on one host thread, so on a machine with two cores one lane would leave
/// a core idle for the whole run. Each lane has its own target directory
/// (`target/miri`, `target/miri-1`, ...), because cargo holds a target
/// directory's lock until its tests end; the crates a lane shares with
/// another are compiled by both, in parallel. Miri's clock is virtual, so a
/// busy host does not change what the tests see.
const LANES: usize = 2;

/// The crates with `unsafe` code whose tests run under Miri: unit and
/// integration tests of each.
///
/// Integration tests that loop thousands of times or spawn thousands of
/// tasks scale down under `cfg(miri)` (`scale(miri, native)` in each
/// crate's `tests/common`), so the whole run fits CI's bound. Under Miri the
/// clock is virtual and advances with every interpreted block, so timing
/// checks that a few milliseconds separate use longer periods there, and
/// the scheduler's deadlock watchdog waits longer. A test is skipped under
/// Miri (`#[cfg_attr(miri, ignore = "...")]`) only when it cannot run there
/// at all; docs/xtask.md lists them.
///
/// ThreadSanitizer (`cargo xtask tsan`) runs `targets` only, as before
/// `miri_only` existed: the select's integration tests include trybuild's
/// compile-fail cases, which build crates with rustc outside the
/// sanitizer's build, and its step has a bound of its own.
pub(crate) const MIRI_CRATES: &[MiriCrate] = &[
    MiriCrate {
        name: "nimsync-channel",
        targets: &["--lib", "--tests"],
        miri_only: &[],
        uses_epoch: false,
        lane: 0,
    },
    MiriCrate {
        name: "nimsync-select",
        targets: &["--lib"],
        miri_only: &["--tests"],
        uses_epoch: false,
        // After the channel crate, whose build it reuses: the scheduler
        // alone takes about as long as the two.
        lane: 0,
    },
    MiriCrate {
        name: "nimsync-scheduler",
        targets: &["--lib"],
        miri_only: &["--tests"],
        uses_epoch: true,
        lane: 1,
    },
];

/// The toolchain Miri runs on.
const TOOLCHAIN: &str = "nightly";

/// The flags every run uses.
const BASE_FLAGS: &str = "-Zmiri-symbolic-alignment-check";

/// Environment variables set by the outer (stable) cargo and rustup that
/// would steer the nightly child back to stable.
const STALE_ENV: &[&str] = &[
    "CARGO",
    "RUSTC",
    "RUSTDOC",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
];

/// Installs Miri if needed, then runs the tests of [`MIRI_CRATES`].
///
/// # Errors
/// On bad arguments or when a test fails under Miri. Missing tooling is not
/// an error: it prints a banner and returns `Ok`.
pub(crate) fn run(mut args: Args) -> Result {
    let tree_borrows = args.flag("--tree-borrows");
    let seeds = args.value("--seeds")?;
    if let Some(extra) = args.positionals()?.first() {
        return Err(format!("miri takes no positional arguments, got `{extra}`"));
    }
    let mut flags = BASE_FLAGS.to_owned();
    if tree_borrows {
        flags.push_str(" -Zmiri-tree-borrows");
    }
    if let Some(seeds) = seeds {
        match seeds.parse::<u32>() {
            Ok(n) if n > 0 => {
                let _ = write!(flags, " -Zmiri-many-seeds=0..{n}");
            }
            _ => return Err(format!("`--seeds` needs a positive integer, got `{seeds}`")),
        }
    }

    if let Err(reason) = ensure_components() {
        skipped(&reason);
        return Ok(());
    }
    let mut setup = nightly_cargo();
    setup.args(["miri", "setup"]);
    if let Err(reason) = util::run(&mut setup) {
        skipped(&format!("the Miri sysroot could not be built: {reason}"));
        return Ok(());
    }

    let flags = flags.as_str();
    std::thread::scope(|scope| {
        let lanes: Vec<_> = (1..LANES)
            .map(|lane| scope.spawn(move || run_lane(lane, flags, tree_borrows, false)))
            .collect();
        let mut result = run_lane(0, flags, tree_borrows, true);
        for (i, lane) in lanes.into_iter().enumerate() {
            let outcome = lane
                .join()
                .unwrap_or_else(|_| Err(format!("Miri lane {} panicked", i + 1)));
            result = result.and(outcome);
        }
        result
    })
}

/// Runs the crates of one lane in order, each with `cargo miri test`.
/// Lane 0 prints as it goes; the others keep their output and print it
/// whole when they end, so the lanes' lines do not interleave.
fn run_lane(lane: usize, flags: &str, tree_borrows: bool, live: bool) -> Result {
    let target = if lane == 0 {
        util::target_dir("miri")
    } else {
        util::target_dir(&format!("miri-{lane}"))
    };
    for krate in MIRI_CRATES.iter().filter(|k| k.lane == lane) {
        let provenance = if !krate.uses_epoch {
            "-Zmiri-strict-provenance"
        } else if tree_borrows {
            "-Zmiri-permissive-provenance -Zmiri-ignore-leaks"
        } else {
            "-Zmiri-permissive-provenance -Zmiri-ignore-leaks -Zmiri-tree-borrows"
        };
        let mut cmd = nightly_cargo();
        cmd.env("MIRIFLAGS", format!("{flags} {provenance}"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["miri", "test", "-p", krate.name])
            .args(krate.targets)
            .args(krate.miri_only);
        if live {
            util::run(&mut cmd)?;
            continue;
        }
        let shown = util::display(&cmd);
        eprintln!("$ {shown} (lane {lane}: its output follows when it ends)");
        // One file takes both streams, so they keep their order.
        let log_path = target.join("lane.log");
        let cannot_log = |e: std::io::Error| format!("cannot log to {}: {e}", log_path.display());
        std::fs::create_dir_all(&target).map_err(cannot_log)?;
        let log = std::fs::File::create(&log_path).map_err(cannot_log)?;
        let log2 = log.try_clone().map_err(cannot_log)?;
        let status = cmd
            .stdout(log)
            .stderr(log2)
            .status()
            .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
        let output = std::fs::read(&log_path).map_err(cannot_log)?;
        eprintln!("\n---- Miri lane {lane}: {} ----", krate.name);
        std::io::stderr()
            .write_all(&output)
            .map_err(|e| format!("cannot print the output of `{shown}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{shown}` failed ({})", util::describe(status)));
        }
    }
    Ok(())
}

/// `rustup run nightly cargo` at the workspace root, with the stable
/// toolchain's environment removed.
pub(crate) fn nightly_cargo() -> Command {
    let mut cmd = Command::new("rustup");
    for key in STALE_ENV {
        cmd.env_remove(key);
    }
    cmd.env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .args(["run", TOOLCHAIN, "cargo"])
        .current_dir(util::root());
    cmd
}

/// Makes sure nightly has `miri` and `rust-src`, installing them if needed.
///
/// # Errors
/// The reason Miri cannot run, for the skip banner.
pub(crate) fn ensure_components() -> Result {
    let mut list = Command::new("rustup");
    list.args(["component", "list", "--installed", "--toolchain", TOOLCHAIN])
        .stdout(Stdio::piped());
    let output = match list.output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err("rustup is not installed".to_owned());
        }
        Err(e) => return Err(format!("cannot run rustup: {e}")),
    };
    if !output.status.success() {
        return Err(format!(
            "the {TOOLCHAIN} toolchain is not installed (`rustup toolchain install {TOOLCHAIN}`)"
        ));
    }
    let installed = String::from_utf8_lossy(&output.stdout);
    let has = |component: &str| {
        installed.lines().any(|line| {
            let line = line.trim();
            line == component || line.starts_with(&format!("{component}-"))
        })
    };
    let missing: Vec<&str> = ["miri", "rust-src"]
        .into_iter()
        .filter(|c| !has(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["component", "add", "--toolchain", TOOLCHAIN])
        .args(&missing);
    util::run(&mut add).map_err(|e| format!("installing {} failed: {e}", missing.join(" and ")))
}

/// Prints the loud banner for a skipped run.
fn skipped(reason: &str) {
    let rule = "!".repeat(72);
    eprintln!(
        "\n{rule}\n\
         !!! MIRI SKIPPED: {reason}\n\
         !!! No test ran under Miri. Install it with\n\
         !!!     rustup component add --toolchain {TOOLCHAIN} miri rust-src\n\
         !!! and run `cargo xtask miri` again.\n\
         {rule}\n"
    );
}
