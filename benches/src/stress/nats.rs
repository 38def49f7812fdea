//! The NATS bridge end to end: numbered messages from a nimsync stream
//! into JetStream through an ordered sink, and back out through a source
//! into a nimsync channel, with the server killed and restarted in the
//! middle; every message arrives exactly once after dedup, in order per
//! subject. Needs a nats-server (`cargo xtask nats-server`); skipped
//! loudly without one unless `NIMSYNC_REQUIRE_NATS` is set.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use nimsync_channel::mpmc;
use nimsync_nats::{Client, ConnectOptions, Record, SinkOptions, SourceOptions, StreamSpec};
use nimsync_stream::Overflow;

use super::{Size, Test, rate};
use crate::nats_server::{self, Server};

pub(super) fn tests() -> Vec<Test> {
    vec![Test::new("nats-e2e-crash", 300, e2e_crash)]
}

/// Subjects the messages are spread over.
const SUBJECTS: u64 = 4;

fn connect(url: &str) -> Client {
    futures_lite::future::block_on(Client::connect(ConnectOptions::new(url)))
        .expect("connects to the test server")
}

fn e2e_crash(size: Size) -> String {
    if nats_server::binary().is_none() {
        assert!(
            std::env::var_os("NIMSYNC_REQUIRE_NATS").is_none(),
            "NIMSYNC_REQUIRE_NATS is set but there is no nats-server (cargo xtask nats-server)"
        );
        return "SKIPPED: no nats-server here (cargo xtask nats-server); this test did NOT run"
            .to_owned();
    }
    let n = size.pick(50_000, 1_000_000) as u64;
    let mut server = Server::start();
    let url = server.url();
    let start = Instant::now();

    // Producer: numbered records into a nimsync stream channel, drained by
    // an ordered sink.
    let (tx, rx) = nimsync_stream::channel::<Record>(1024, Overflow::Block);
    let producer = thread::spawn(move || {
        for i in 0..n {
            let s = i % SUBJECTS;
            let r = Record::new(i.to_string())
                .id(i.to_string())
                .subject(format!("e2e.s{s}"));
            tx.send(r).expect("the sink drains");
        }
    });
    let sink_url = url.clone();
    let sink = thread::spawn(move || {
        let js = connect(&sink_url).jetstream();
        futures_lite::future::block_on(async move {
            js.create_stream(&StreamSpec::new("E2E", ["e2e.>"]))
                .await
                .expect("stream");
            let opts = SinkOptions::new(256)
                .ordered()
                .ack_timeout(Duration::from_millis(500))
                .retries(200, Duration::from_millis(50));
            js.sink("e2e.s0", opts)
                .send_all(rx)
                .await
                .expect("every record acknowledged")
        })
    });

    // Consumer: the source into a nimsync channel, each delivery
    // acknowledged once it is in the channel; a checker reads the channel.
    let (ctx, crx) = mpmc::channel::<(u64, u64)>(1024);
    let (half_tx, half_rx) = mpsc::channel::<()>();
    let checker = thread::spawn(move || {
        let mut next: HashMap<u64, u64> = HashMap::new();
        let (mut distinct, mut again) = (0u64, 0u64);
        while distinct < n {
            let (s, i) = crx
                .recv()
                .expect("the consumer runs until every message arrived");
            let expected = next.entry(s).or_insert(s);
            if i < *expected {
                again += 1;
                continue;
            }
            assert_eq!(
                i, *expected,
                "subject e2e.s{s}: message {i} came before {expected}"
            );
            *expected += SUBJECTS;
            distinct += 1;
            if distinct == n / 2 {
                let _ = half_tx.send(());
            }
        }
        again
    });
    let source_url = url.clone();
    let consumer = thread::spawn(move || {
        let js = connect(&source_url).jetstream();
        futures_lite::future::block_on(async move {
            // The stream may not exist yet: the sink creates it.
            let mut source = loop {
                match js
                    .source("E2E", SourceOptions::new("checker").batch(256))
                    .await
                {
                    Ok(s) => break s,
                    Err(_) => nimsync_time::sleep(Duration::from_millis(20)).await,
                }
            };
            loop {
                // Ends when the checker has seen everything and hung up.
                let next = futures_lite::future::or(source.next(), async {
                    ctx.closed().await;
                    None
                });
                let Some(d) = next.await else { break };
                let i: u64 = std::str::from_utf8(d.payload())
                    .expect("utf-8")
                    .parse()
                    .expect("a number");
                if ctx.send_async((i % SUBJECTS, i)).await.is_err() {
                    break; // the checker has seen everything
                }
                let _ = d.ack().await;
            }
            source.stats()
        })
    });

    half_rx.recv().expect("half the messages arrive");
    let crash_at = start.elapsed();
    server.crash_and_restart();
    producer.join().expect("producer");
    let report = sink.join().expect("sink");
    let redelivered = checker.join().expect("checker");
    let stats = consumer.join().expect("consumer");
    assert_eq!(report.acked, n, "{report:?}");
    let elapsed = start.elapsed();
    format!(
        "{n} msgs over {SUBJECTS} subjects through JetStream and back, each once and in order per \
         subject after dedup; server killed and restarted at {:.1}s; sink {} acked, {} resends, {} \
         duplicate acks; source {} fetched in {} fetches, {} failed fetches, {redelivered} \
         redeliveries skipped; {}",
        crash_at.as_secs_f64(),
        report.acked,
        report.resends,
        report.duplicates,
        stats.fetched,
        stats.fetches,
        stats.fetch_errors,
        rate(n as usize, elapsed)
    )
}
