//! `bench --sweep`: how the cost of a blocking MPMC channel grows with
//! contention. Every cell of producers x consumers (1 to 8 each) at
//! capacities 1, 16 and 1024 moves the same number of messages through
//! nimsync's MPMC channel and the two strongest peers (kanal and
//! crossbeam-channel), interleaved within the cell and rotated between
//! rounds; the results print as a table, and draw as a chart of throughput
//! and CPU per message against the thread count.

use std::fmt::Write as _;

use super::contenders::{BlockingChannel, Crossbeam, Kanal, NimMpmc};
use super::report::{esc, fmt_rate, median};
use super::workloads::{Sample, blocking};

/// What a sweep covers.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Producer counts.
    pub producers: Vec<usize>,
    /// Consumer counts.
    pub consumers: Vec<usize>,
    /// Channel capacities.
    pub capacities: Vec<usize>,
    /// Messages per run of a cell at capacity 1; larger capacities move
    /// more (see [`Grid::messages_at`]), so that every run lasts long
    /// enough to measure.
    pub messages: u64,
    /// Runs per contender per cell.
    pub rounds: usize,
    /// Only the cells named here, as `PxC@CAP` (`1x1@1`: one producer, one
    /// consumer, capacity 1); every cell when empty.
    pub only: Vec<String>,
}

impl Grid {
    /// Messages per run at `capacity`: 5x at 16, 10x from 1024 on.
    pub fn messages_at(&self, capacity: usize) -> u64 {
        match capacity {
            0..=15 => self.messages,
            16..=1023 => self.messages * 5,
            _ => self.messages * 10,
        }
    }

    /// The full grid: 1 to 8 producers and consumers, capacities 1, 16 and
    /// 1024; quick runs move few messages (correctness only).
    pub fn full(quick: bool, rounds: Option<usize>) -> Self {
        Grid {
            producers: (1..=8).collect(),
            consumers: (1..=8).collect(),
            capacities: vec![1, 16, 1024],
            messages: if quick { 1_000 } else { 200_000 },
            rounds: rounds.unwrap_or(if quick { 1 } else { 3 }),
            only: Vec::new(),
        }
    }

    /// Whether the cell of `p` producers, `c` consumers and `capacity`
    /// is to run.
    fn wants(&self, p: usize, c: usize, capacity: usize) -> bool {
        self.only.is_empty() || self.only.contains(&format!("{p}x{c}@{capacity}"))
    }
}

/// A contender of the sweep.
struct Entry {
    name: &'static str,
    run: fn(u64, usize, usize, usize) -> Sample,
}

fn entry<C: BlockingChannel>() -> Entry {
    Entry {
        name: C::NAME,
        run: blocking::<C>,
    }
}

/// One cell's figures for one contender.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Contender name.
    pub name: &'static str,
    /// Channel capacity.
    pub capacity: usize,
    /// Producer threads.
    pub producers: usize,
    /// Consumer threads.
    pub consumers: usize,
    /// Messages per second, one per round.
    pub rates: Vec<f64>,
    /// CPU-seconds per million messages, one per round.
    pub cpu_per_m: Vec<f64>,
}

impl Cell {
    fn rate(&self) -> f64 {
        median(&self.rates)
    }
    fn cpu(&self) -> f64 {
        median(&self.cpu_per_m)
    }
}

/// Runs the grid; returns every contender's cells, nimsync's first.
pub fn run(grid: &Grid) -> Vec<Cell> {
    let entries = [entry::<NimMpmc>(), entry::<Kanal>(), entry::<Crossbeam>()];
    let mut total = 0;
    for &capacity in &grid.capacities {
        for &p in &grid.producers {
            for &c in &grid.consumers {
                total += usize::from(grid.wants(p, c, capacity));
            }
        }
    }
    let mut out = Vec::new();
    let mut done = 0;
    println!(
        "nimsync sweep: {total} cells x {} contenders x {} rounds, {} messages per run at capacity 1 ({} at 16, {} at 1024), contenders interleaved",
        entries.len(),
        grid.rounds,
        grid.messages_at(1),
        grid.messages_at(16),
        grid.messages_at(1024),
    );
    println!(
        "{:>5} {:>2} {:>2} | {:>22} | {:>22} | {:>22} | {:>6}",
        "cap", "P", "C", "nimsync M/s (CPU-s/M)", "kanal", "crossbeam", "ratio"
    );
    for &capacity in &grid.capacities {
        for &p in &grid.producers {
            for &c in &grid.consumers {
                if !grid.wants(p, c, capacity) {
                    continue;
                }
                let mut cells: Vec<Cell> = entries
                    .iter()
                    .map(|e| Cell {
                        name: e.name,
                        capacity,
                        producers: p,
                        consumers: c,
                        rates: Vec::new(),
                        cpu_per_m: Vec::new(),
                    })
                    .collect();
                let m = grid.messages_at(capacity);
                for round in 0..grid.rounds {
                    for k in 0..entries.len() {
                        let i = (k + round) % entries.len();
                        let s = (entries[i].run)(m, capacity, p, c);
                        cells[i].rates.push(m as f64 / s.wall.as_secs_f64());
                        cells[i]
                            .cpu_per_m
                            .push(s.cpu.as_secs_f64() / (m as f64 / 1e6));
                    }
                }
                done += 1;
                let ratio = ratio_to_best(&cells);
                let mut line = format!("{capacity:>5} {p:>2} {c:>2} |");
                for cell in &cells {
                    let _ = write!(
                        line,
                        " {:>9} ({:>9.4}) |",
                        fmt_rate(cell.rate()),
                        cell.cpu()
                    );
                }
                let _ = write!(line, " {ratio:>5.2}x  [{done}/{total}]");
                println!("{line}");
                out.extend(cells);
            }
        }
    }
    out
}

/// nimsync's rounds over the best peer's (by median rate), the median of
/// the per-round ratios. `cells[0]` is nimsync.
fn ratio_to_best(cells: &[Cell]) -> f64 {
    let best = cells[1..]
        .iter()
        .max_by(|a, b| a.rate().total_cmp(&b.rate()))
        .expect("at least one peer");
    let per: Vec<f64> = cells[0]
        .rates
        .iter()
        .zip(&best.rates)
        .map(|(a, b)| a / b)
        .collect();
    median(&per)
}

/// The median, over the cells with `threads` producers and consumers in
/// all, of one contender's figure `f` at one capacity.
fn by_threads(
    cells: &[Cell],
    name: &str,
    capacity: usize,
    threads: usize,
    f: fn(&Cell) -> f64,
) -> Option<f64> {
    let v: Vec<f64> = cells
        .iter()
        .filter(|c| {
            c.name == name && c.capacity == capacity && c.producers + c.consumers == threads
        })
        .map(f)
        .collect();
    (!v.is_empty()).then(|| median(&v))
}

fn names(cells: &[Cell]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for c in cells {
        if !v.contains(&c.name) {
            v.push(c.name);
        }
    }
    v
}

fn capacities(cells: &[Cell]) -> Vec<usize> {
    let mut v: Vec<usize> = cells.iter().map(|c| c.capacity).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Prints, per capacity and contender, the median rate at each thread
/// count and how much of its best rate the contender keeps at its worst:
/// the shape of the curve, in numbers.
pub fn print_summary(cells: &[Cell]) {
    let threads: Vec<usize> = {
        let mut t: Vec<usize> = cells.iter().map(|c| c.producers + c.consumers).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    println!();
    println!("median M msg/s over the cells with the same number of threads (P + C), 2 cores:");
    for cap in capacities(cells) {
        let mut head = format!("  capacity {cap:<5} {:<26}", "threads:");
        for t in &threads {
            let _ = write!(head, " {t:>6}");
        }
        println!("{head}  worst/best");
        for name in names(cells) {
            let rates: Vec<f64> = threads
                .iter()
                .filter_map(|&t| by_threads(cells, name, cap, t, Cell::rate))
                .collect();
            let mut line = format!("  {:<41}", name);
            for r in &rates {
                let _ = write!(line, " {:>6}", fmt_rate(*r));
            }
            let best = rates.iter().copied().fold(0.0, f64::max);
            let worst = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let _ = write!(line, "  {:>9.2}", worst / best);
            println!("{line}");
        }
    }
}

/// Writes every cell as JSON.
pub fn write_json(path: &str, cells: &[Cell]) {
    use serde_json::json;
    let rows: Vec<_> = cells
        .iter()
        .map(|c| {
            json!({
                "contender": c.name, "capacity": c.capacity,
                "producers": c.producers, "consumers": c.consumers,
                "msgs_per_s": c.rates, "cpu_s_per_m_msgs": c.cpu_per_m,
                "median_msgs_per_s": c.rate(), "median_cpu_s_per_m_msgs": c.cpu(),
            })
        })
        .collect();
    std::fs::write(
        path,
        serde_json::to_string_pretty(&json!({ "sweep": rows })).expect("serializable"),
    )
    .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote {path}");
}

/// A chart panel: its label, the figure it draws, and a scale.
type Panel = (&'static str, fn(&Cell) -> f64, f64);

const COLORS: [&str; 3] = ["#d9480f", "#1971c2", "#2f9e44"];

/// Draws the sweep: one column per capacity, throughput above and CPU per
/// message below, each against the number of threads, one line per
/// contender (the median over the cells with that many threads).
pub fn write_svg(path: &str, cells: &[Cell]) {
    let (pw, ph, ml, mt, gap) = (300.0, 190.0, 60.0, 50.0, 70.0);
    let caps = capacities(cells);
    let names = names(cells);
    let threads: Vec<usize> = {
        let mut t: Vec<usize> = cells.iter().map(|c| c.producers + c.consumers).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let (t0, t1) = (
        *threads.first().unwrap_or(&2) as f64,
        *threads.last().unwrap_or(&16) as f64,
    );
    let mut body = String::new();
    let panels: [Panel; 2] = [
        ("M msg/s", Cell::rate, 1e-6),
        ("CPU-s per M msg", Cell::cpu, 1.0),
    ];
    for (ci, &cap) in caps.iter().enumerate() {
        for (pi, (label, f, scale)) in panels.iter().enumerate() {
            let x0 = ml + ci as f64 * (pw + gap);
            let y0 = mt + pi as f64 * (ph + gap);
            let series: Vec<Vec<(f64, f64)>> = names
                .iter()
                .map(|n| {
                    threads
                        .iter()
                        .filter_map(|&t| {
                            by_threads(cells, n, cap, t, *f).map(|v| (t as f64, v * scale))
                        })
                        .collect()
                })
                .collect();
            let top = series
                .iter()
                .flatten()
                .map(|p| p.1)
                .fold(0.0, f64::max)
                .max(f64::MIN_POSITIVE)
                * 1.1;
            let px = |t: f64| x0 + (t - t0) / (t1 - t0).max(1.0) * pw;
            let py = |v: f64| y0 + ph - v / top * ph;
            let _ = writeln!(
                body,
                r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ced4da"/><text x="{x0}" y="{ty}" font-weight="bold">capacity {cap}: {}</text>"##,
                esc(label),
                ty = y0 - 8.0
            );
            for k in 0..=4 {
                let v = top * k as f64 / 4.0;
                let _ = writeln!(
                    body,
                    r##"<text x="{tx}" y="{ty:.1}" font-size="10" text-anchor="end">{v:.3}</text><line x1="{x0}" x2="{x1}" y1="{ly:.1}" y2="{ly:.1}" stroke="#f1f3f5"/>"##,
                    tx = x0 - 4.0,
                    ty = py(v) + 3.0,
                    x1 = x0 + pw,
                    ly = py(v),
                );
            }
            for &t in &threads {
                let _ = writeln!(
                    body,
                    r##"<text x="{tx:.1}" y="{ty}" font-size="10" text-anchor="middle">{t}</text>"##,
                    tx = px(t as f64),
                    ty = y0 + ph + 13.0
                );
            }
            let _ = writeln!(
                body,
                r##"<text x="{tx:.1}" y="{ty}" font-size="10" text-anchor="middle">threads (producers + consumers)</text>"##,
                tx = x0 + pw / 2.0,
                ty = y0 + ph + 26.0
            );
            for (si, s) in series.iter().enumerate() {
                let pts: Vec<String> = s
                    .iter()
                    .map(|&(t, v)| format!("{:.1},{:.1}", px(t), py(v)))
                    .collect();
                let _ = writeln!(
                    body,
                    r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
                    pts.join(" "),
                    COLORS[si % COLORS.len()]
                );
            }
        }
    }
    let width = ml + caps.len() as f64 * (pw + gap);
    let height = mt + 2.0 * (ph + gap);
    let mut legend = String::new();
    for (i, n) in names.iter().enumerate() {
        let x = 8.0 + i as f64 * 190.0;
        let _ = write!(
            legend,
            r##"<rect x="{x}" y="26" width="12" height="12" fill="{}"/><text x="{tx}" y="36">{}</text>"##,
            COLORS[i % COLORS.len()],
            esc(n),
            tx = x + 16.0
        );
    }
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="8" y="16" font-size="13">Blocking MPMC under contention on 2 cores: median over the cells with the same thread count</text>{legend}
{body}</svg>
"##
    );
    std::fs::write(path, svg).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("wrote {path}");
}

/// `bench --sweep [PxC@CAP...]`: runs the grid (or the cells named),
/// prints the table and the summary, and writes the chart (to `svg`,
/// `target/sweep.svg` by default) and, if asked, the JSON.
pub fn main(
    quick: bool,
    rounds: Option<usize>,
    only: &[String],
    svg: Option<&str>,
    json: Option<&str>,
) {
    let mut grid = Grid::full(quick, rounds);
    grid.only = only.to_vec();
    let cells = run(&grid);
    if cells.is_empty() {
        eprintln!("no sweep cell matches {only:?}; cells are named PxC@CAP, as 1x1@1 or 8x8@1024");
        return;
    }
    print_summary(&cells);
    write_svg(svg.unwrap_or("target/sweep.svg"), &cells);
    if let Some(path) = json {
        write_json(path, &cells);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_grid_has_a_cell_per_contender_and_shape_and_draws() {
        let grid = Grid {
            producers: vec![1, 3],
            consumers: vec![1, 2],
            capacities: vec![1, 16],
            messages: 500,
            rounds: 2,
            only: Vec::new(),
        };
        let cells = run(&grid);
        assert_eq!(cells.len(), 3 * 2 * 2 * 2);
        assert!(cells.iter().all(|c| c.rates.len() == 2 && c.rate() > 0.0));
        assert_eq!(cells[0].name, "nimsync mpmc");
        let dir = std::env::temp_dir().join(format!("nimsync-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("sweep.svg");
        write_svg(svg.to_str().unwrap(), &cells);
        let text = std::fs::read_to_string(&svg).unwrap();
        // One line per contender in each of 2 capacities x 2 panels.
        assert_eq!(text.matches("<polyline").count(), 3 * 2 * 2);
        assert!(text.contains("capacity 16: CPU-s per M msg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn named_cells_run_alone() {
        let mut grid = Grid::full(true, Some(1));
        grid.only = vec!["2x3@16".into(), "1x1@1".into()];
        let cells = run(&grid);
        let mut shapes: Vec<_> = cells
            .iter()
            .map(|c| (c.producers, c.consumers, c.capacity))
            .collect();
        shapes.dedup();
        assert_eq!(shapes, vec![(1, 1, 1), (2, 3, 16)]);
    }
}
