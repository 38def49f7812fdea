//! `cargo xtask report`: regenerates `docs/report.md`, the README's
//! headline table and its chart from one run.
//!
//! The report sets each claim of the v0.1.0 performance report (SPSC
//! throughput, the spawn storm, the select target, the four stress tests)
//! beside what nimsync measures today against its best peer, with the
//! command that reproduces each row. It runs the throughput harness once
//! over the report's scenarios and the README's headline scenarios
//! (`--json`, `--readme README.md`, `--svg docs/bench.svg`), then the
//! report's stress tests, and writes the markdown from the harness's JSON
//! and the stress tests' summary lines: no figure is typed by hand.

use std::fmt::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::Args;
use crate::util::{self, Result};

/// One claim of the v0.1.0 report and the scenario that measures it.
struct Claim {
    /// The claim, as the report made it.
    claim: &'static str,
    /// The bench scenario that measures it today.
    scenario: &'static str,
    /// The report's figure, in M msg/s, where it gave one.
    floor: Option<f64>,
}

const CLAIMS: &[Claim] = &[
    Claim {
        claim: "SPSC channel throughput 213,567,459 ops/s (target 52M)",
        scenario: "spsc-single-thread",
        floor: Some(213.0),
    },
    Claim {
        claim: "spawn storm: 10 channels x 10K ops at 31,080,176 ops/s",
        scenario: "rt-channel-storm",
        floor: Some(31.0),
    },
    Claim {
        claim: "select operations: target 34M ops/s (not built in v0.1.0)",
        scenario: "select-single-thread",
        floor: Some(34.0),
    },
    Claim {
        claim: "multi-producer channel thrash, 5 producers x 3 consumers",
        scenario: "mpmc-5p3c",
        floor: None,
    },
    Claim {
        claim: "backpressure avalanche into a 16-slot buffer (latency of a producer's send)",
        scenario: "stream-avalanche-wait",
        floor: None,
    },
    Claim {
        claim: "async spawn storm (tasks spawned and joined)",
        scenario: "rt-spawn-storm",
        floor: None,
    },
];

/// The README's headline scenarios (benches/src/bench/report.rs), run with
/// the claims so the README's table comes from the same run.
const HEADLINES: &[&str] = &[
    "spsc-spin",
    "spsc-block",
    "mpmc-4p4c",
    "async-mpmc-4p4c",
    "pingpong",
    "group-spawn-join",
];

/// The report's four stress tests and the stress-suite tests behind them.
const STRESS: &[(&str, &[&str])] = &[
    ("goroutine/async spawn storm", &["rt-spawn-storm"]),
    ("IO-bound flood", &["rt-tcp-flood"]),
    (
        "multi-producer channel thrash (5P x 3C)",
        &["mpmc-thrash-5p3c"],
    ),
    (
        "backpressure avalanche (16 slots, every overflow policy)",
        &[
            "backpressure-avalanche",
            "stream-avalanche-block",
            "stream-avalanche-drop-oldest",
            "stream-avalanche-drop-newest",
            "stream-avalanche-drop-buffer",
            "stream-avalanche-fail",
            "stream-avalanche-conflate",
        ],
    ),
];

const JSON: &str = "target/report/bench.json";

/// Runs the harness and the stress tests, then writes `docs/report.md`.
///
/// # Errors
/// On bad arguments, a failed build, bench or stress test, or unreadable
/// results.
pub(crate) fn run(mut args: Args) -> Result {
    let rounds = args.value("--rounds")?.unwrap_or_else(|| String::from("5"));
    let full = args.flag("--full");
    let rest = args.positionals()?;
    if !rest.is_empty() {
        return Err(format!(
            "`report` takes no positional arguments, got `{}`",
            rest.join(" ")
        ));
    }
    std::fs::create_dir_all(util::root().join("target/report"))
        .map_err(|e| format!("cannot create target/report: {e}"))?;
    let mut bench = util::cargo();
    bench
        .args([
            "run",
            "--profile",
            "bench",
            "-p",
            "nimsync-benches",
            "--bin",
            "bench",
            "--",
        ])
        .args(["--rounds", &rounds, "--json", JSON])
        .args(["--readme", "README.md", "--svg", "docs/bench.svg"])
        .args(CLAIMS.iter().map(|c| c.scenario))
        .args(HEADLINES);
    util::run(&mut bench)?;
    let mut stress = util::cargo();
    stress
        .env("CARGO_TARGET_DIR", util::target_dir("ci"))
        .args([
            "run",
            "--profile",
            "ci",
            "-p",
            "nimsync-benches",
            "--bin",
            "stress",
            "--",
        ]);
    if !full {
        stress.arg("--quick");
    }
    stress.args(STRESS.iter().flat_map(|(_, tests)| tests.iter()));
    eprintln!("$ {}", util::display(&stress));
    let out = stress
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the stress tests: {e}"))?;
    let stress_out = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stress_out}");
    if !out.status.success() {
        return Err(format!(
            "the stress tests failed ({})",
            util::describe(out.status)
        ));
    }
    let json = std::fs::read_to_string(util::root().join(JSON))
        .map_err(|e| format!("cannot read {JSON}: {e}"))?;
    let results: Value = serde_json::from_str(&json)
        .map_err(|e| format!("{JSON} is not the harness's JSON: {e}"))?;
    let md = render(&results, &stress_out, &rounds, full)?;
    let path = util::root().join("docs/report.md");
    std::fs::write(&path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote docs/report.md, README.md's headline table and docs/bench.svg");
    Ok(())
}

/// The scenario `id` of the harness's JSON.
fn scenario<'a>(results: &'a Value, id: &str) -> Option<&'a Value> {
    results["scenarios"]
        .as_array()?
        .iter()
        .find(|s| s["id"] == id)
}

/// A contender's headline figure: M msg/s, or the p99 for latency runs.
fn figure(contender: &Value, latency: bool) -> String {
    if latency {
        contender["p99_ns"]
            .as_f64()
            .map_or_else(|| String::from("?"), |ns| format!("p99 {}", fmt_ns(ns)))
    } else {
        contender["median_msgs_per_s"]
            .as_f64()
            .map_or_else(|| String::from("?"), |r| format!("{:.1} M/s", r / 1e6))
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} us", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The markdown of `docs/report.md`.
fn render(results: &Value, stress: &str, rounds: &str, full: bool) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# nimsync against the v0.1.0 report\n\n\
         Generated by `cargo xtask report` (do not edit by hand): each claim of\n\
         the v0.1.0 performance report beside what nimsync measures today on\n\
         this project's 2-core machine, against the best peer measured in the\n\
         same run (contenders interleaved round by round, {rounds} rounds; the\n\
         ratio is the median of per-round ratios, above 1 when nimsync is\n\
         ahead; for latency, the peer's p99 over nimsync's). The machine is\n\
         shared, so absolute figures move between minutes; the ratios are the\n\
         comparison. `cargo xtask bench ID` reruns one row.\n"
    );
    let _ = writeln!(
        s,
        "| v0.1.0 claim | scenario | nimsync | best peer | ratio | v0.1.0 figure |\n|---|---|---|---|---|---|"
    );
    for c in CLAIMS {
        let Some(r) = scenario(results, c.scenario) else {
            return Err(format!("the run has no scenario `{}`", c.scenario));
        };
        let latency = r["kind"].as_str().is_some_and(|k| k.starts_with("latency"));
        let contenders = r["contenders"].as_array().cloned().unwrap_or_default();
        let nim = contenders.iter().find(|x| x["nimsync"] == true);
        let peer_name = r["best_peer"].as_str().unwrap_or("?");
        let peer = contenders.iter().find(|x| x["name"] == peer_name);
        let ratio = if latency {
            match (
                nim.and_then(|n| n["p99_ns"].as_f64()),
                peer.and_then(|p| p["p99_ns"].as_f64()),
            ) {
                (Some(n), Some(p)) if n > 0.0 => format!("{:.2}x", p / n),
                _ => String::from("?"),
            }
        } else {
            r["ratio_to_best_peer"]
                .as_f64()
                .map_or_else(|| String::from("?"), |x| format!("{x:.2}x"))
        };
        let floor = c
            .floor
            .map_or_else(|| String::from("none given"), |f| format!("{f} M/s"));
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {}: {} | {ratio} | {floor} |",
            c.claim,
            c.scenario,
            nim.map_or_else(|| String::from("?"), |n| figure(n, latency)),
            peer_name,
            peer.map_or_else(|| String::from("?"), |p| figure(p, latency)),
        );
    }
    let _ = writeln!(
        s,
        "\nThe v0.1.0 figures came from another language's build on another\n\
         machine and compared with no peer; the floors in\n\
         `benches/targets.toml` keep them as absolute figures, printed but\n\
         not gated.\n\n## The four stress tests\n\n\
         Each counts every message (delivered, handed back, dropped by a\n\
         policy or left undelivered, exactly once) under a watchdog; `cargo\n\
         xtask stress NAME` reruns one{}.\n\n| v0.1.0 stress test | test | result |\n|---|---|---|",
        if full {
            ""
        } else {
            " (this run used the quick sizes; `--full` runs at least 10M messages each)"
        }
    );
    for (name, tests) in STRESS {
        for (i, test) in tests.iter().enumerate() {
            let name = if i == 0 { name } else { "" };
            let line = stress
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(test))
                .ok_or_else(|| format!("the stress run printed no line for `{test}`"))?;
            let summary: Vec<&str> = line.split_whitespace().collect();
            let _ = writeln!(
                s,
                "| {name} | `{test}` | {} |",
                summary
                    .iter()
                    .skip(2)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    let _ = writeln!(s, "\n![nimsync against its peers](bench.svg)");
    Ok(s)
}
