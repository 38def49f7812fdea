//! Running child commands, optionally under a wall-clock bound.
//!
//! Every command inherits stdout and stderr, so its output streams straight
//! to the terminal or the CI log. A bounded command is spawned as the leader
//! of its own process group; when the bound is exceeded the whole group
//! (cargo, rustc, test binaries, a nested xtask and its children) is killed
//! with `kill -KILL -- -PGID`, so a hung grandchild cannot outlive its step.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// The error type of every subcommand: a message for the user.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// How often a bounded child is polled for completion.
const POLL: Duration = Duration::from_millis(100);

/// The workspace root: the parent of the xtask package directory.
pub(crate) fn root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// A target directory under `<root>/target/`, kept apart from the default
/// one so special builds (loom, miri, ci) do not invalidate it.
pub(crate) fn target_dir(name: &str) -> PathBuf {
    root().join("target").join(name)
}

/// The cargo binary to invoke: `$CARGO` when run through cargo, else `cargo`.
pub(crate) fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// A `cargo` command whose working directory is the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.current_dir(root());
    cmd
}

/// Renders a command the way a user would type it: the environment it sets,
/// then the program and its arguments. The program `$CARGO` shows as `cargo`.
pub(crate) fn display(cmd: &Command) -> String {
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            let _ = write!(out, "{}={} ", key.to_string_lossy(), quote(value));
        }
    }
    let program = cmd.get_program();
    if program == OsStr::new(&cargo_program()) {
        out.push_str("cargo");
    } else {
        out.push_str(&quote(program));
    }
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(arg));
    }
    out
}

/// Quotes a word for display if it contains whitespace or shell syntax.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Formats a duration as whole minutes or seconds, for messages.
pub(crate) fn human(bound: Duration) -> String {
    let secs = bound.as_secs();
    if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// How a bounded command ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It exited with status 0.
    Success,
    /// It exited unsuccessfully (non-zero code or killed by a signal).
    Failed(ExitStatus),
    /// It exceeded its bound and was killed with its process group.
    TimedOut,
}

/// Describes an unsuccessful exit status: its code, or the signal.
pub(crate) fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// Runs `cmd` to completion with no bound, printing it first.
///
/// # Errors
/// When it cannot be spawned or exits unsuccessfully; the message names the
/// command.
pub(crate) fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", display(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({})", display(cmd), describe(status)))
    }
}

/// Runs `cmd` in its own process group, killing the group once `bound` has
/// elapsed. The caller prints the command.
///
/// # Errors
/// Only when the command cannot be spawned or waited for; an unsuccessful or
/// timed-out run is an [`Outcome`].
pub(crate) fn run_bounded(cmd: &mut Command, bound: Duration) -> Result<Outcome> {
    let mut child = cmd
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", display(cmd)))?;
    let deadline = Instant::now() + bound;
    loop {
        let polled = child
            .try_wait()
            .map_err(|e| format!("cannot wait for `{}`: {e}", display(cmd)))?;
        if let Some(status) = polled {
            return Ok(if status.success() {
                Outcome::Success
            } else {
                Outcome::Failed(status)
            });
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(POLL);
    }
    // The child leads its own group, so its pid is the group id.
    let group = format!("-{}", child.id());
    let killed_group = Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .is_ok_and(|s| s.success());
    if !killed_group {
        // `kill` is missing or failed: at least stop the direct child.
        let _ = child.kill();
    }
    let _ = child.wait();
    Ok(Outcome::TimedOut)
}

/// Unit tests of the bounded runner.
#[cfg(test)]
mod tests {
    use super::*;

    /// A `sh -c SCRIPT` command.
    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    /// Exit statuses map to outcomes.
    #[test]
    fn success_and_failure() {
        let bound = Duration::from_secs(30);
        assert!(matches!(
            run_bounded(&mut sh("exit 0"), bound),
            Ok(Outcome::Success)
        ));
        assert!(
            matches!(run_bounded(&mut sh("exit 3"), bound), Ok(Outcome::Failed(s)) if s.code() == Some(3))
        );
    }

    /// An overrunning command is killed with its children, promptly.
    #[test]
    fn timeout_kills_the_group() {
        let start = Instant::now();
        let outcome = run_bounded(
            &mut sh("sleep 30 & sleep 30; wait"),
            Duration::from_millis(300),
        );
        assert!(matches!(outcome, Ok(Outcome::TimedOut)));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    /// Commands display as typed, with `$CARGO` shown as `cargo`.
    #[test]
    fn display_quotes() {
        let mut cmd = cargo();
        cmd.env("RUSTFLAGS", "--cfg loom").args(["test", "--lib"]);
        assert_eq!(display(&cmd), "RUSTFLAGS=\"--cfg loom\" cargo test --lib");
    }
}
