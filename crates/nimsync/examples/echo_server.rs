//! A TCP echo server on loopback, and clients hammering it, on one
//! nimsync runtime.
//!
//! The server is a task group whose children are the connections; each
//! read has an idle deadline (`with_timeout`), so a silent client is
//! dropped instead of holding its task forever. When the clients are done,
//! a cancel token stops the accept loop and the group is joined: each
//! connection ends as its client hangs up, and the group reports each
//! one's outcome.
//!
//! ```text
//! cargo run -p nimsync --example echo_server -- --clients 16 --lines 1000
//! ```

use std::time::{Duration, Instant};

use futures_lite::io::BufReader;
use futures_lite::{AsyncBufReadExt, AsyncWriteExt};
use nimsync::group::{CancelToken, Policy, TaskGroup, with_timeout};
use nimsync::scheduler::Runtime;

/// How long a connection may stay silent before the server drops it.
const IDLE: Duration = Duration::from_secs(5);

fn main() {
    let clients = arg("--clients", 8);
    let lines = arg("--lines", 100);
    let rt = Runtime::new().expect("a runtime");
    let started = Instant::now();
    let (echoed, served) = rt.block_on(async move {
        let listener = async_net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");

        // The server: an accept loop and one child per connection, in a
        // group that collects every connection's error instead of
        // failing fast (one bad client must not end the others).
        let server = TaskGroup::<u64, std::io::Error>::builder()
            .name("echo-server")
            .policy(Policy::CollectErrors)
            .build();
        let spawner = server.spawner();
        let stop_accepting = CancelToken::new();
        let stop = stop_accepting.clone();
        server
            .spawn_named("accept", async move {
                while let Some(accepted) = stop.run_until_cancelled(listener.accept()).await {
                    let (stream, _) = accepted?;
                    spawner
                        .spawn_named("connection", serve(stream))
                        .expect("the server group is open while it accepts");
                }
                Ok(0)
            })
            .expect("a new group is open");

        // The clients: each sends its lines and checks every echo.
        let clients_group = TaskGroup::<u64, std::io::Error>::new();
        for client in 0..clients {
            clients_group
                .spawn(async move {
                    let stream = async_net::TcpStream::connect(addr).await?;
                    let mut reader = BufReader::new(stream.clone());
                    let mut writer = stream;
                    let mut reply = String::new();
                    for i in 0..lines {
                        let line = format!("client {client} line {i}\n");
                        writer.write_all(line.as_bytes()).await?;
                        reply.clear();
                        reader.read_line(&mut reply).await?;
                        assert_eq!(reply, line, "the echo differs from what was sent");
                    }
                    Ok(lines as u64)
                })
                .expect("a new group is open");
        }
        let echoed: u64 = clients_group
            .join_all()
            .await
            .expect("every client gets its echoes")
            .iter()
            .sum();

        // Shut the server down: the accept loop stops at the cancel, and
        // the connections end as their clients hang up.
        stop_accepting.cancel();
        let served: u64 = server
            .join_all_results()
            .await
            .into_iter()
            .map(|r| r.expect("no connection failed"))
            .sum();
        (echoed, served)
    });
    assert_eq!(echoed, (clients * lines) as u64);
    assert_eq!(served, echoed, "the server counted every line it echoed");
    println!(
        "{clients} clients x {lines} lines echoed and checked in {:.2?}",
        started.elapsed()
    );
}

/// Echoes lines until the client hangs up or stays silent for [`IDLE`];
/// returns how many it echoed.
async fn serve(stream: async_net::TcpStream) -> std::io::Result<u64> {
    let mut reader = BufReader::new(stream.clone());
    let mut writer = stream;
    let mut line = String::new();
    let mut echoed = 0;
    loop {
        line.clear();
        let read = match with_timeout(IDLE, reader.read_line(&mut line)).await {
            Ok(read) => read?,
            Err(_idle) => return Ok(echoed),
        };
        if read == 0 {
            return Ok(echoed);
        }
        writer.write_all(line.as_bytes()).await?;
        echoed += 1;
    }
}

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got `{v}`"))
        })
        .unwrap_or(default)
}
