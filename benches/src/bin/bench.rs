//! `cargo xtask bench [--quick] [--check] [--rounds N] [--json F] [--md F]
//! [--svg F] [--readme F] [--targets F] [--list] [--compare] [FILTER...]`:
//! nimsync against its peers; `--sweep` runs the contention sweep instead.

use nimsync_benches::bench::{self, Options};

/// Counts live heap bytes for the memory table (off otherwise).
#[global_allocator]
static ALLOC: bench::alloc::CountingAlloc = bench::alloc::CountingAlloc;

const USAGE: &str = "usage: bench [--quick] [--check] [--rounds N] [--json FILE] [--md FILE] [--svg FILE] [--readme FILE] [--targets FILE] [--contender NAME] [--list] [--compare] [--filter ID | ID...] | bench --sweep [--quick] [--rounds N] [--svg FILE] [--json FILE] [PxC@CAP...]";

fn main() {
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value; {USAGE}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--check" => opts.check = true,
            "--rounds" => {
                let v = value("--rounds");
                opts.rounds = Some(v.parse().unwrap_or_else(|_| {
                    eprintln!("--rounds takes a number, got `{v}`");
                    std::process::exit(2)
                }))
            }
            "--json" => opts.json = Some(value("--json")),
            "--md" => opts.md = Some(value("--md")),
            "--svg" => opts.svg = Some(value("--svg")),
            "--readme" => opts.readme = Some(value("--readme")),
            "--targets" => opts.targets = Some(value("--targets")),
            "--contender" => opts.contender = Some(value("--contender")),
            "--filter" => opts.filters.push(value("--filter")),
            "--list" => opts.list = true,
            "--compare" => opts.compare = true,
            "--sweep" => opts.sweep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ if a.starts_with('-') => {
                eprintln!("unknown option `{a}`; {USAGE}");
                std::process::exit(2)
            }
            _ => opts.filters.push(a),
        }
    }
    if opts.quick && opts.check {
        eprintln!("--check needs full runs: quick figures are for correctness only");
        std::process::exit(2)
    }
    std::process::exit(if bench::main(&opts) { 0 } else { 1 });
}
