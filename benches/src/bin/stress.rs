//! `cargo xtask stress [--quick] [NAME...]`: runs the stress suite.

use nimsync_benches::stress::{self, Size};

fn main() {
    let mut size = Size::Full;
    let mut names = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => size = Size::Quick,
            "--list" => {
                for t in stress::all() {
                    println!("{}", t.name);
                }
                return;
            }
            "-h" | "--help" => {
                println!("usage: stress [--quick] [--list] [NAME...]");
                return;
            }
            _ if arg.starts_with('-') => {
                eprintln!("unknown option `{arg}`; usage: stress [--quick] [--list] [NAME...]");
                std::process::exit(2);
            }
            _ => names.push(arg),
        }
    }
    let start = std::time::Instant::now();
    let ok = stress::run(size, &names);
    println!(
        "stress suite {} in {:.1}s",
        if ok { "passed" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    std::process::exit(if ok { 0 } else { 1 });
}
