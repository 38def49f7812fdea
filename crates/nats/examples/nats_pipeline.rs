//! A log pipeline split across two processes through NATS JetStream.
//!
//! `ship` runs services that write log lines into a nimsync stream channel;
//! a JetStream sink drains it into the `LOGS` stream, each line with an id.
//! `index` reads `LOGS` through a durable consumer, acknowledging each line
//! after counting it, and checks that every line arrived once and in order
//! per service. `demo` starts a nats-server on a free port, runs both as
//! child processes and checks that both succeed.
//!
//! ```text
//! cargo xtask nats-server      # installs the pinned server under target/
//! cargo run -p nimsync-nats --example nats_pipeline -- demo --services 4 --lines 20000
//! # or against a server of your own, in two terminals:
//! cargo run -p nimsync-nats --example nats_pipeline -- index --url nats://127.0.0.1:4222 --services 4 --lines 20000
//! cargo run -p nimsync-nats --example nats_pipeline -- ship  --url nats://127.0.0.1:4222 --services 4 --lines 20000
//! ```

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use nimsync_nats::{Client, ConnectOptions, Record, SinkOptions, SourceOptions, StreamSpec};
use nimsync_stream::Overflow;

/// The command line: a mode and `--name value` options.
struct Args {
    mode: String,
    url: String,
    services: u64,
    lines: u64,
}

fn parse() -> Result<Args, String> {
    let mut argv = std::env::args().skip(1);
    let mode = argv
        .next()
        .ok_or("usage: nats_pipeline ship|index|demo [--url U] [--services N] [--lines N]")?;
    let mut args = Args {
        mode,
        url: "nats://127.0.0.1:4222".into(),
        services: 4,
        lines: 20_000,
    };
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--url" => args.url = value.clone(),
            "--services" => args.services = number()?.max(1),
            "--lines" => args.lines = number()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// The lines each service writes.
fn per_service(args: &Args) -> u64 {
    args.lines / args.services
}

/// Writes every service's lines into a stream channel drained into JetStream.
async fn ship(args: &Args) -> Result<(), String> {
    let client = Client::connect(ConnectOptions::new(&args.url).name("shipper"))
        .await
        .map_err(|e| e.to_string())?;
    let js = client.jetstream();
    js.create_stream(&StreamSpec::new("LOGS", ["logs.>"]))
        .await
        .map_err(|e| e.to_string())?;
    let (tx, rx) = nimsync_stream::channel::<Record>(1024, Overflow::Block);
    let n = per_service(args);
    let services: Vec<_> = (0..args.services)
        .map(|s| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..n {
                    let line = format!("service {s} line {i}");
                    let record = Record::new(line)
                        .id(format!("{s}-{i}"))
                        .subject(format!("logs.svc{s}"));
                    tx.send(record)
                        .expect("the sink drains until the services stop");
                }
            })
        })
        .collect();
    drop(tx);
    let start = Instant::now();
    // One sink per service keeps each service's lines in order across a
    // lost connection; here one ordered sink carries them all.
    let sink = js.sink("logs.all", SinkOptions::new(256).ordered());
    let report = sink.send_all(rx).await.map_err(|e| e.to_string())?;
    for s in services {
        s.join().map_err(|_| "a service panicked")?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ship: {} lines acknowledged by the server ({} duplicates) in {secs:.2} s, {:.0} lines/s",
        report.acked,
        report.duplicates,
        report.acked as f64 / secs
    );
    if report.acked != n * args.services {
        return Err(format!(
            "acknowledged {} of {}",
            report.acked,
            n * args.services
        ));
    }
    Ok(())
}

/// Reads until every line has arrived, checking order per service.
async fn index(args: &Args) -> Result<(), String> {
    let client = Client::connect(ConnectOptions::new(&args.url).name("indexer"))
        .await
        .map_err(|e| e.to_string())?;
    let js = client.jetstream();
    js.create_stream(&StreamSpec::new("LOGS", ["logs.>"]))
        .await
        .map_err(|e| e.to_string())?;
    let mut source = js
        .source("LOGS", SourceOptions::new("indexer").batch(256))
        .await
        .map_err(|e| e.to_string())?;
    let n = per_service(args);
    let total = n * args.services;
    let mut next: HashMap<String, u64> = HashMap::new();
    let (mut seen, mut again) = (0u64, 0u64);
    let start = Instant::now();
    while seen < total {
        let d = source.next().await.ok_or("the source ended")?;
        let id = d.message_id().ok_or("a line without an id")?.to_owned();
        let (service, i) = id.split_once('-').ok_or("a malformed id")?;
        let i: u64 = i.parse().map_err(|_| "a malformed id")?;
        let expected = next.entry(service.to_owned()).or_insert(0);
        if i < *expected {
            again += 1; // a redelivery of a line already counted
        } else if i == *expected {
            *expected += 1;
            seen += 1;
        } else {
            return Err(format!(
                "service {service}: line {i} came before line {expected}"
            ));
        }
        d.ack().await.map_err(|e| e.to_string())?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "index: {seen} lines from {} services, each once and in order ({again} redeliveries skipped), {:.0} lines/s",
        next.len(),
        seen as f64 / secs
    );
    Ok(())
}

/// The nats-server to start for the demo.
fn server_binary() -> Option<PathBuf> {
    let installed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/nats-server/bin/nats-server");
    std::env::var_os("NIMSYNC_NATS_SERVER")
        .map(PathBuf::from)
        .or_else(|| installed.is_file().then_some(installed))
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
}

/// Starts a server, then the indexer and the shipper as two processes.
fn demo(args: &Args) -> Result<(), String> {
    let bin = server_binary().ok_or("no nats-server: run `cargo xtask nats-server` first")?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let store = std::env::temp_dir().join(format!("nimsync-log-pipeline-{}", std::process::id()));
    let mut server = Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting nats-server: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let _ = server.kill();
            return Err("nats-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let url = format!("nats://127.0.0.1:{port}");
    let role = |mode: &str| {
        Command::new(&me)
            .args([
                mode,
                "--url",
                &url,
                "--services",
                &args.services.to_string(),
                "--lines",
                &args.lines.to_string(),
            ])
            .spawn()
    };
    let result = (|| {
        let mut indexer = role("index").map_err(|e| e.to_string())?;
        let shipper = role("ship")
            .map_err(|e| e.to_string())?
            .wait()
            .map_err(|e| e.to_string())?;
        let indexed = indexer.wait().map_err(|e| e.to_string())?;
        if shipper.success() && indexed.success() {
            Ok(())
        } else {
            Err(format!("ship: {shipper}, index: {indexed}"))
        }
    })();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&store);
    result
}

fn main() -> ExitCode {
    let outcome = parse().and_then(|args| match args.mode.as_str() {
        "ship" => futures_lite::future::block_on(ship(&args)),
        "index" => futures_lite::future::block_on(index(&args)),
        "demo" => demo(&args),
        other => Err(format!("unknown mode {other}: ship, index or demo")),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nats_pipeline: {e}");
            ExitCode::FAILURE
        }
    }
}
