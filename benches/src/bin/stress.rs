//! `cargo xtask stress`: runs the stress suite, a soak of randomized
//! scenarios, or one scenario replayed from its seed.
//!
//! ```text
//! stress [--quick] [NAME...]          the fixed suite (all tests, or those named)
//! stress --soak DURATION [--base N] [--only FLAVOR]...
//!                                     randomized scenarios until DURATION ends
//! stress --seed N                     replays the scenario of seed N
//! stress --list                       the fixed tests' names
//! ```

use std::process::exit;
use std::time::{Duration, Instant, SystemTime};

use nimsync_benches::stress::{self, Size};

/// The usage line.
const USAGE: &str = "usage: stress [--quick] [NAME...] | --soak DURATION [--base N] [--only FLAVOR]... \
                     | --seed N | --list\n  DURATION: 30s, 10m, 1h or plain seconds; FLAVOR: \
                     spsc, mpmc, oneshot, select, async";

/// Prints `message` and the usage, then exits with status 2.
fn usage_error(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    exit(2)
}

/// Parses `30s`, `10m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Takes the value of option `name` from `args`.
fn value(args: &mut impl Iterator<Item = String>, name: &str) -> String {
    args.next()
        .unwrap_or_else(|| usage_error(&format!("`{name}` needs a value")))
}

fn main() {
    let mut size = Size::Full;
    let mut names = Vec::new();
    let (mut soak, mut seed, mut base, mut only) = (None, None, None, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => size = Size::Quick,
            "--list" => {
                for t in stress::all() {
                    println!("{}", t.name);
                }
                return;
            }
            "--soak" => {
                let text = value(&mut args, "--soak");
                soak =
                    Some(parse_duration(&text).unwrap_or_else(|| {
                        usage_error(&format!("`--soak {text}`: not a duration"))
                    }));
            }
            "--seed" | "--base" => {
                let text = value(&mut args, &arg);
                let n: u64 = text
                    .parse()
                    .unwrap_or_else(|_| usage_error(&format!("`{arg} {text}`: not a number")));
                if arg == "--seed" {
                    seed = Some(n)
                } else {
                    base = Some(n)
                }
            }
            "--only" => {
                let flavor = value(&mut args, "--only");
                if !stress::FLAVORS.contains(&flavor.as_str()) {
                    usage_error(&format!("unknown flavor `{flavor}`"));
                }
                only.push(flavor);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ if arg.starts_with('-') => usage_error(&format!("unknown option `{arg}`")),
            _ => names.push(arg),
        }
    }
    let start = Instant::now();
    let ok = if let Some(seed) = seed {
        stress::replay(seed)
    } else if let Some(duration) = soak {
        let base = base.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        let end = stress::soak(duration, base, &only);
        println!(
            "soak: {} scenarios passed{}",
            end.passed,
            if end.failed { ", then one failed" } else { "" }
        );
        !end.failed
    } else {
        stress::run(size, &names)
    };
    println!(
        "stress {} {} in {:.1}s",
        if soak.is_some() || seed.is_some() {
            "run"
        } else {
            "suite"
        },
        if ok { "passed" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    exit(if ok { 0 } else { 1 });
}
