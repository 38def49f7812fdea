//! What `cargo xtask bench` keeps between runs: each full run's JSON under
//! `target/bench-history/` (named by its UTC start time), and `--compare`,
//! which prints how each ratio to the best peer moved since the previous
//! run kept there.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::report::{Results, Verdict, write_json};

/// The folder the runs are kept in: `bench-history` in `$CARGO_TARGET_DIR`,
/// or in `target/` of the directory the harness runs in (the workspace
/// root under `cargo xtask bench`).
pub fn dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("bench-history")
}

/// `YYYYMMDD-HHMMSS` in UTC for `secs` since the Unix epoch.
pub fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a civil date (proleptic Gregorian), from the era-based
    // algorithm: eras of 400 years, March-based years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Keeps this run's JSON in [`dir`]; returns its path, or `None` (with a
/// warning) if it could not be written: a missing history never fails a
/// run.
pub fn save(results: &Results, verdicts: &[Verdict]) -> Option<PathBuf> {
    let dir = dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("warning: cannot keep this run in {}: {e}", dir.display());
        return None;
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = dir.join(format!("{}.json", timestamp(secs)));
    write_json(path.to_str()?, results, verdicts);
    Some(path)
}

/// The newest run kept in [`dir`] other than `current`.
pub fn previous(current: Option<&Path>) -> Option<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir())
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && Some(p.as_path()) != current)
        .collect();
    runs.sort();
    runs.pop()
}

/// Each scenario's ratio to the best peer in a kept run, by id.
fn ratios(path: &Path) -> Result<Vec<(String, Option<f64>)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a bench run: {e}", path.display()))?;
    let scenarios = doc["scenarios"]
        .as_array()
        .ok_or_else(|| format!("{} has no scenarios", path.display()))?;
    Ok(scenarios
        .iter()
        .filter_map(|s| {
            Some((
                s["id"].as_str()?.to_owned(),
                s["ratio_to_best_peer"].as_f64(),
            ))
        })
        .collect())
}

/// The comparison table: each scenario of this run with its ratio in the
/// run at `previous` and now, and the change.
pub fn compare_table(results: &Results, previous: &Path) -> Result<String, String> {
    use std::fmt::Write as _;
    let before = ratios(previous)?;
    let mut s = format!(
        "ratio to the best peer, against {}:\n{:<28} {:>9} {:>9} {:>8}\n",
        previous.display(),
        "scenario",
        "before",
        "now",
        "change"
    );
    let fmt = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"));
    for r in &results.scenarios {
        let then = before
            .iter()
            .find(|(id, _)| *id == r.id)
            .and_then(|(_, v)| *v);
        let now = r.ratio();
        let change = match (then, now) {
            (Some(a), Some(b)) if a > 0.0 => format!("{:+.0}%", (b / a - 1.0) * 100.0),
            _ => "new".to_owned(),
        };
        let _ = writeln!(
            s,
            "{:<28} {:>9} {:>9} {:>8}",
            r.id,
            fmt(then),
            fmt(now),
            change
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(timestamp(0), "19700101-000000");
        // 2000-02-29 12:34:56 UTC, a leap day.
        assert_eq!(timestamp(951_827_696), "20000229-123456");
        // 2026-12-06 17:12:18 UTC.
        assert_eq!(timestamp(1_796_577_138), "20261206-171218");
    }
}
