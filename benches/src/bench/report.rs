//! Summaries, verdicts and the table, Markdown, JSON and SVG outputs.

use std::fmt::Write as _;
use std::time::Duration;

use super::targets::Targets;
use super::{Outcome, Scenario};

/// Summary of one contender in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    /// Contender name.
    pub name: String,
    /// nimsync's own entry.
    pub nimsync: bool,
    /// Per-round throughput in messages per second (throughput scenarios).
    pub per_round: Vec<f64>,
    /// Per-round CPU-seconds per million messages.
    pub cpu_per_m: Vec<f64>,
    /// Pooled round-trip latencies in ns, sorted (latency scenarios).
    pub latencies: Vec<u64>,
}

impl Row {
    fn median_rate(&self) -> f64 {
        median(&self.per_round)
    }
    fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p)
    }
}

/// Summary of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Scenario id.
    pub id: String,
    /// What it measures.
    pub title: String,
    /// Kind of contenders.
    pub kind: String,
    /// Threads against cores.
    pub shape: String,
    /// Messages (or round trips) per run.
    pub messages: u64,
    /// Contenders, nimsync first.
    pub rows: Vec<Row>,
}

impl ScenarioResult {
    fn latency(&self) -> bool {
        self.kind.starts_with("latency")
    }
    fn nim(&self) -> &Row {
        self.rows
            .iter()
            .find(|r| r.nimsync)
            .expect("every scenario has a nimsync contender")
    }
    /// The best peer: highest median throughput, or lowest p50.
    fn best_peer(&self) -> Option<&Row> {
        let peers = self.rows.iter().filter(|r| !r.nimsync);
        if self.latency() {
            peers.min_by(|a, b| a.pct(50.0).total_cmp(&b.pct(50.0)))
        } else {
            peers.max_by(|a, b| a.median_rate().total_cmp(&b.median_rate()))
        }
    }
    /// Median over rounds of nimsync's throughput divided by the best peer's.
    pub fn ratio(&self) -> Option<f64> {
        let (nim, peer) = (self.nim(), self.best_peer()?);
        if self.latency() {
            return Some(peer.pct(50.0) / self.nim().pct(50.0));
        }
        let per: Vec<f64> = nim
            .per_round
            .iter()
            .zip(&peer.per_round)
            .map(|(a, b)| a / b)
            .collect();
        Some(median(&per))
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Results {
    /// In run order.
    pub scenarios: Vec<ScenarioResult>,
    /// Heap bytes per idle task, per runtime: (name, median, min, max).
    pub memory: Vec<(String, f64, f64, f64)>,
}

/// Summarises per-round byte counts as (median, min, max).
pub fn spread(v: &[f64]) -> (f64, f64, f64) {
    (median(v), min(v), max(v))
}

/// Prints the memory table.
pub fn print_memory(memory: &[(String, f64, f64, f64)], tasks: usize) {
    println!(
        "\n== rt-memory — heap bytes per idle task ({tasks} tasks parked on a 2-worker runtime, live heap growth counted by the allocator)"
    );
    println!(
        "   {:<24} {:>10} {:>10} {:>10}",
        "runtime", "bytes", "min", "max"
    );
    for (name, med, lo, hi) in memory {
        let mark = if name.starts_with("nimsync") {
            '>'
        } else {
            ' '
        };
        println!(" {mark} {name:<24} {med:>10.0} {lo:>10.0} {hi:>10.0}");
    }
}

/// One target's outcome.
#[derive(Debug)]
pub struct Verdict {
    /// Scenario id.
    pub scenario: String,
    /// What was compared.
    pub what: String,
    /// Measured value.
    pub measured: f64,
    /// Target value.
    pub target: f64,
    /// `Some(pass)` for gated targets, `None` for informational floors.
    pub pass: Option<bool>,
    /// True when a lower measurement is better (CPU per message).
    pub lower_is_better: bool,
}

impl Verdict {
    /// True for a pass inside the 5 % band below the target: the gate lets
    /// the machine's noise through, the report says the target was not met.
    pub fn passed_in_band(&self) -> bool {
        self.pass == Some(true)
            && if self.lower_is_better {
                self.measured > self.target
            } else {
                self.measured < self.target
            }
    }
}

pub(crate) fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Turns raw runs into rows.
pub fn summarize(s: &Scenario, runs: Vec<Vec<Outcome>>) -> ScenarioResult {
    let rows = s
        .contenders
        .iter()
        .zip(runs)
        .map(|(c, outs)| {
            let mut row = Row {
                name: c.name.to_string(),
                nimsync: c.nimsync,
                per_round: Vec::new(),
                cpu_per_m: Vec::new(),
                latencies: Vec::new(),
            };
            let ns = |l: Vec<Duration>| l.into_iter().map(|d| d.as_nanos() as u64);
            for o in outs {
                let sample = match o {
                    Outcome::Run(sample) => sample,
                    Outcome::Latencies(l) => {
                        row.latencies.extend(ns(l));
                        continue;
                    }
                    Outcome::Served(sample, l) => {
                        row.latencies.extend(ns(l));
                        sample
                    }
                };
                row.per_round
                    .push(s.messages as f64 / sample.wall.as_secs_f64());
                row.cpu_per_m
                    .push(sample.cpu.as_secs_f64() / (s.messages as f64 / 1e6));
            }
            row.latencies.sort_unstable();
            row
        })
        .collect();
    ScenarioResult {
        id: s.id.to_string(),
        title: s.title.to_string(),
        kind: s.kind.to_string(),
        shape: s.shape.to_string(),
        messages: s.messages,
        rows,
    }
}

pub(crate) fn fmt_rate(r: f64) -> String {
    // Below a million per second (servers, brokers), three decimals.
    if r < 1e6 {
        format!("{:.3}", r / 1e6)
    } else {
        format!("{:.1}", r / 1e6)
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2}ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2}us", ns / 1e3)
    } else {
        format!("{ns:.0}ns")
    }
}

/// Prints one scenario as an aligned table.
pub fn print_scenario(r: &ScenarioResult) {
    let best = r.best_peer().map(|p| p.name.clone());
    println!();
    println!("== {} — {}", r.id, r.title);
    println!(
        "   {} kind, {}; {} {} per run",
        r.kind,
        r.shape,
        r.messages,
        if r.latency() {
            "round trips"
        } else {
            "messages"
        }
    );
    if r.latency() {
        println!(
            "   {:<30} {:>10} {:>10} {:>10}",
            "contender", "p50", "p99", "p99.9"
        );
        for row in &r.rows {
            let mark = mark(row, best.as_deref());
            println!(
                "{mark} {:<30} {:>10} {:>10} {:>10}",
                row.name,
                fmt_ns(row.pct(50.0)),
                fmt_ns(row.pct(99.0)),
                fmt_ns(row.pct(99.9))
            );
        }
    } else {
        // Servers under load also timed each request.
        let timed = r.rows.iter().any(|row| !row.latencies.is_empty());
        println!(
            "   {:<30} {:>9} {:>9} {:>9} {:>12}{}",
            "contender",
            "M msg/s",
            "min",
            "max",
            "CPU-s/M msg",
            if timed {
                format!(" {:>10} {:>10}", "p50", "p99")
            } else {
                String::new()
            }
        );
        for row in &r.rows {
            let mark = mark(row, best.as_deref());
            println!(
                "{mark} {:<30} {:>9} {:>9} {:>9} {:>12.4}{}",
                row.name,
                fmt_rate(row.median_rate()),
                fmt_rate(min(&row.per_round)),
                fmt_rate(max(&row.per_round)),
                median(&row.cpu_per_m),
                if timed {
                    format!(
                        " {:>10} {:>10}",
                        fmt_ns(row.pct(50.0)),
                        fmt_ns(row.pct(99.0))
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    if let (Some(ratio), Some(best)) = (r.ratio(), best) {
        println!("   nimsync / best peer ({best}): {ratio:.2}x");
    }
    print_nimsync_variants(r);
}

/// For a scenario with more than one nimsync row (a layer and the layer
/// below it, say), the extra wall-clock time per message of the first row
/// over each other one, from the median rates: what the layer costs.
fn print_nimsync_variants(r: &ScenarioResult) {
    if r.latency() {
        return;
    }
    let mut nim = r.rows.iter().filter(|row| row.nimsync);
    let Some(first) = nim.next() else { return };
    let ns = |row: &Row| 1e9 / row.median_rate().max(1e-9);
    for other in nim {
        println!(
            "   {} vs {}: {:+.0} ns per message ({:.0} ns against {:.0} ns)",
            first.name,
            other.name,
            ns(first) - ns(other),
            ns(first),
            ns(other)
        );
    }
}

fn mark(row: &Row, best: Option<&str>) -> &'static str {
    if row.nimsync {
        " >"
    } else if Some(row.name.as_str()) == best {
        " *"
    } else {
        "  "
    }
}

/// Applies the targets.
pub fn verdicts(results: &Results, targets: &Targets) -> Vec<Verdict> {
    let mut out = Vec::new();
    for r in &results.scenarios {
        let Some(t) = targets.get(&r.id) else {
            continue;
        };
        let Some(peer) = r.best_peer() else { continue };
        let nim = r.nim();
        let gated = |measured: f64, target: f64| Some(measured >= 0.95 * target);
        if let Some(&target) = t.get("min_ratio") {
            let measured = r.ratio().unwrap_or(f64::NAN);
            out.push(Verdict {
                scenario: r.id.clone(),
                what: format!("throughput vs {} (median of per-round ratios)", peer.name),
                measured,
                target,
                pass: gated(measured, target),
                lower_is_better: false,
            });
        }
        if let Some(&target) = t.get("max_cpu_ratio") {
            let measured = median(&nim.cpu_per_m) / median(&peer.cpu_per_m);
            out.push(Verdict {
                scenario: r.id.clone(),
                what: format!("CPU-s per M msg vs {} (lower is better)", peer.name),
                measured,
                target,
                pass: Some(measured * 0.95 <= target),
                lower_is_better: true,
            });
        }
        for (key, p) in [("min_p50_ratio", 50.0), ("min_p99_ratio", 99.0)] {
            if let Some(&target) = t.get(key) {
                let measured = peer.pct(p) / nim.pct(p);
                out.push(Verdict {
                    scenario: r.id.clone(),
                    what: format!("p{p} round trip vs {} (peer / nimsync)", peer.name),
                    measured,
                    target,
                    pass: gated(measured, target),
                    lower_is_better: false,
                });
            }
        }
        if let Some(&floor) = t.get("floor_mmsgs") {
            out.push(Verdict {
                scenario: r.id.clone(),
                what: "absolute floor from the v0.1.0 report, M msg/s (informational)".into(),
                measured: nim.median_rate() / 1e6,
                target: floor,
                pass: None,
                lower_is_better: false,
            });
        }
    }
    out
}

/// Prints a one-line verdict per target.
pub fn print_verdicts(vs: &[Verdict], check: bool) {
    if vs.is_empty() {
        return;
    }
    println!();
    println!(
        "targets (benches/targets.toml; PASS (band): within the 5 % noise band below the target){}:",
        if check {
            ""
        } else {
            " — not gated; pass --check to gate"
        }
    );
    for v in vs {
        let status = match v.pass {
            Some(true) if v.passed_in_band() => "PASS (band)",
            Some(true) => "PASS",
            Some(false) => "MISS",
            None if v.measured >= v.target => "info: above",
            None => "info: below",
        };
        println!(
            "  {status:<12} {:<18} {:.2} (target {:.2}): {}",
            v.scenario, v.measured, v.target, v.what
        );
    }
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the results as JSON.
pub fn write_json(path: &str, results: &Results, verdicts: &[Verdict]) {
    use serde_json::json;
    let scenarios: Vec<_> = results
        .scenarios
        .iter()
        .map(|r| {
            let rows: Vec<_> = r
                .rows
                .iter()
                .map(|row| {
                    let timed = !row.latencies.is_empty();
                    let pct = |p| timed.then(|| row.pct(p));
                    json!({
                        "name": row.name, "nimsync": row.nimsync,
                        "msgs_per_s": row.per_round, "cpu_s_per_m_msgs": row.cpu_per_m,
                        "median_msgs_per_s": if r.latency() { None } else { Some(row.median_rate()) },
                        "p50_ns": pct(50.0),
                        "p99_ns": pct(99.0),
                        "p999_ns": pct(99.9),
                    })
                })
                .collect();
            json!({
                "id": r.id, "title": r.title, "kind": r.kind, "shape": r.shape,
                "messages": r.messages, "ratio_to_best_peer": r.ratio(),
                "best_peer": r.best_peer().map(|p| p.name.clone()), "contenders": rows,
            })
        })
        .collect();
    let vs: Vec<_> = verdicts
        .iter()
        .map(|v| json!({"scenario": v.scenario, "what": v.what, "measured": v.measured, "target": v.target, "pass": v.pass}))
        .collect();
    let memory: Vec<_> = results
        .memory
        .iter()
        .map(|(name, med, lo, hi)| json!({"runtime": name, "bytes_per_idle_task": med, "min": lo, "max": hi}))
        .collect();
    let doc = json!({ "scenarios": scenarios, "verdicts": vs, "memory": memory });
    std::fs::write(
        path,
        serde_json::to_string_pretty(&doc).expect("serializable"),
    )
    .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote {path}");
}

/// Writes a Markdown table of nimsync against the best peer.
pub fn write_md(path: &str, results: &Results, verdicts: &[Verdict]) {
    let mut s = String::new();
    s.push_str(
        "| scenario | shape | nimsync | best peer | ratio | CPU-s/M msg (nimsync / peer) |\n",
    );
    s.push_str("|---|---|---|---|---|---|\n");
    for r in &results.scenarios {
        let nim = r.nim();
        let Some(peer) = r.best_peer() else { continue };
        if r.latency() {
            let _ = writeln!(
                s,
                "| {} | {} | p50 {} / p99 {} | {}: p50 {} / p99 {} | {:.2}x | — |",
                r.id,
                r.shape,
                fmt_ns(nim.pct(50.0)),
                fmt_ns(nim.pct(99.0)),
                peer.name,
                fmt_ns(peer.pct(50.0)),
                fmt_ns(peer.pct(99.0)),
                r.ratio().unwrap_or(f64::NAN)
            );
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} M msg/s | {}: {} M msg/s | {:.2}x | {:.4} / {:.4} |",
                r.id,
                r.shape,
                fmt_rate(nim.median_rate()),
                peer.name,
                fmt_rate(peer.median_rate()),
                r.ratio().unwrap_or(f64::NAN),
                median(&nim.cpu_per_m),
                median(&peer.cpu_per_m)
            );
        }
    }
    if !results.memory.is_empty() {
        s.push_str("\n| runtime | heap bytes per idle task (median, min-max) |\n|---|---|\n");
        for (name, med, lo, hi) in &results.memory {
            let _ = writeln!(s, "| {name} | {med:.0} ({lo:.0}-{hi:.0}) |");
        }
    }
    if !verdicts.is_empty() {
        s.push_str("\n| target | measured | wanted | verdict |\n|---|---|---|---|\n");
        for v in verdicts {
            let verdict = match v.pass {
                Some(true) if v.passed_in_band() => {
                    "pass (within the 5 % noise band, short of the target)"
                }
                Some(true) => "pass",
                Some(false) => "miss",
                None => "info",
            };
            let _ = writeln!(
                s,
                "| {}: {} | {:.2} | {:.2} | {verdict} |",
                v.scenario, v.what, v.measured, v.target
            );
        }
    }
    std::fs::write(path, s).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote {path}");
}

/// The scenarios of the README's headline table, one per kind of use.
const HEADLINES: &[&str] = &[
    "spsc-spin",
    "spsc-block",
    "mpmc-4p4c",
    "async-mpmc-4p4c",
    "pingpong",
    "select-single-thread",
    "rt-spawn-storm",
    "group-spawn-join",
];

/// Where the generated headline table starts in the README.
pub const README_BEGIN: &str =
    "<!-- bench:begin (generated by `cargo xtask bench --readme README.md`) -->";
/// Where it ends.
pub const README_END: &str = "<!-- bench:end -->";

/// The headline table: for each of `HEADLINES` that ran, nimsync's median,
/// the best peer's, and the ratio, with a count of how many of all the
/// scenarios that ran have nimsync at or ahead of the best peer.
pub fn headline_table(results: &Results) -> String {
    let mut s = String::from("| scenario | nimsync | best peer | ratio |\n|---|---|---|---|\n");
    for id in HEADLINES {
        let Some(r) = results.scenarios.iter().find(|r| r.id == *id) else {
            continue;
        };
        let Some(peer) = r.best_peer() else { continue };
        let (nim, best) = if r.latency() {
            (
                format!("p50 {}", fmt_ns(r.nim().pct(50.0))),
                format!("{}: p50 {}", peer.name, fmt_ns(peer.pct(50.0))),
            )
        } else {
            (
                format!("{} M/s", fmt_rate(r.nim().median_rate())),
                format!("{}: {} M/s", peer.name, fmt_rate(peer.median_rate())),
            )
        };
        let ratio = r.ratio().unwrap_or(f64::NAN);
        let _ = writeln!(s, "| {id} | {nim} | {best} | {ratio:.2}x |");
    }
    let ratios: Vec<f64> = results.scenarios.iter().filter_map(|r| r.ratio()).collect();
    let ahead = ratios.iter().filter(|r| **r >= 1.0).count();
    let _ = writeln!(
        s,
        "\nnimsync is at or ahead of the best peer in {ahead} of the {} scenarios of this run.",
        ratios.len()
    );
    s
}

/// Replaces the text between [`README_BEGIN`] and [`README_END`] in `path`
/// with [`headline_table`]. Panics with the reason if the file or its
/// markers are missing, so a stale README cannot pass unnoticed.
pub fn write_readme(path: &str, results: &Results) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let (Some(begin), Some(end)) = (text.find(README_BEGIN), text.find(README_END)) else {
        panic!("{path} has no `{README_BEGIN}` ... `{README_END}` block to rewrite");
    };
    assert!(
        begin < end,
        "{path}: the bench end marker comes before the begin marker"
    );
    let head = &text[..begin + README_BEGIN.len()];
    let tail = &text[end..];
    let out = format!("{head}\n{}{tail}", headline_table(results));
    std::fs::write(path, out).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote the headline table of {path}");
}

/// Writes an SVG bar chart: one group per scenario, one bar per contender,
/// normalised to the scenario's best (throughput) or fastest p50 (latency).
pub fn write_svg(path: &str, results: &Results) {
    let (bar_h, gap, label_w, chart_w) = (14.0, 6.0, 170.0, 420.0);
    let mut y = 30.0;
    let mut body = String::new();
    for r in &results.scenarios {
        let _ = writeln!(
            body,
            r#"<text x="8" y="{y}" font-weight="bold">{} ({})</text>"#,
            esc(&r.id),
            esc(&r.shape)
        );
        y += 8.0;
        let values: Vec<f64> = r
            .rows
            .iter()
            .map(|row| {
                if r.latency() {
                    1.0 / row.pct(50.0)
                } else {
                    row.median_rate()
                }
            })
            .collect();
        let top = values
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        for (row, v) in r.rows.iter().zip(&values) {
            let w = chart_w * v / top;
            let color = if row.nimsync { "#d9480f" } else { "#868e96" };
            let label = if r.latency() {
                format!("p50 {}", fmt_ns(row.pct(50.0)))
            } else {
                format!("{} M msg/s", fmt_rate(row.median_rate()))
            };
            let _ = writeln!(
                body,
                r#"<text x="8" y="{ty}" font-size="11">{}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{color}"/><text x="{tx:.1}" y="{ty}" font-size="11">{}</text>"#,
                esc(&row.name),
                esc(&label),
                ty = y + bar_h - 3.0,
                tx = label_w + w + 4.0,
            );
            y += bar_h + 2.0;
        }
        y += gap + 14.0;
    }
    let width = label_w + chart_w + 130.0;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="8" y="16" font-size="13">nimsync (orange) vs peers: median throughput, or 1 / p50 round trip; a longer bar is faster</text>
{body}</svg>
"##
    );
    std::fs::write(path, svg).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote {path}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, nimsync: bool, rate: f64) -> Row {
        Row {
            name: name.into(),
            nimsync,
            per_round: vec![rate; 3],
            cpu_per_m: vec![0.01; 3],
            latencies: Vec::new(),
        }
    }

    fn scenario(id: &str, nim: f64, peer: f64) -> ScenarioResult {
        ScenarioResult {
            id: id.into(),
            title: String::new(),
            kind: "throughput".into(),
            shape: String::new(),
            messages: 1,
            rows: vec![row("nimsync", true, nim), row("peer", false, peer)],
        }
    }

    fn results() -> Results {
        Results {
            scenarios: vec![
                scenario("spsc-spin", 2e6, 1e6),
                scenario("not-a-headline", 1e6, 2e6),
            ],
            memory: Vec::new(),
        }
    }

    /// A ratio inside the 5 % band passes the gate but is reported as
    /// short of its target; one at or above the target is a plain pass.
    #[test]
    fn a_pass_in_the_noise_band_is_told_apart() {
        let results = Results {
            scenarios: vec![
                scenario("near", 0.97e6, 1e6),
                scenario("over", 1.1e6, 1e6),
                scenario("under", 0.9e6, 1e6),
            ],
            memory: Vec::new(),
        };
        let mut targets = Targets::new();
        for id in ["near", "over", "under"] {
            targets.insert(id.into(), [("min_ratio".to_owned(), 1.0)].into());
        }
        let vs = verdicts(&results, &targets);
        let of = |id: &str| vs.iter().find(|v| v.scenario == id).unwrap();
        assert_eq!(of("near").pass, Some(true));
        assert!(of("near").passed_in_band());
        assert_eq!(of("over").pass, Some(true));
        assert!(!of("over").passed_in_band());
        assert_eq!(of("under").pass, Some(false));
        assert!(!of("under").passed_in_band());
    }

    #[test]
    fn headline_table_lists_headlines_and_counts_every_scenario() {
        let t = headline_table(&results());
        assert!(
            t.contains("| spsc-spin | 2.0 M/s | peer: 1.0 M/s | 2.00x |"),
            "{t}"
        );
        assert!(!t.contains("not-a-headline"), "{t}");
        assert!(t.contains("in 1 of the 2 scenarios"), "{t}");
    }

    #[test]
    fn write_readme_replaces_only_the_marked_block() {
        let path = std::env::temp_dir().join(format!("nimsync-readme-{}.md", std::process::id()));
        let path = path.to_str().unwrap().to_owned();
        let before = format!("# title\n{README_BEGIN}\nold table\n{README_END}\nafter\n");
        std::fs::write(&path, &before).unwrap();
        write_readme(&path, &results());
        let after = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            after.starts_with(&format!("# title\n{README_BEGIN}\n| scenario")),
            "{after}"
        );
        assert!(
            after.ends_with(&format!("{README_END}\nafter\n")),
            "{after}"
        );
        assert!(!after.contains("old table"), "{after}");
    }
}
