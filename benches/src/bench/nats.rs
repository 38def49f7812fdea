//! NATS bridge workloads, against a nats-server each run starts on a free
//! port with a fresh store: core publishes, acknowledged JetStream
//! publishes, consuming a stream with an acknowledgement per message, and
//! the request-reply round trip; nimsync-nats (awaited on a plain thread,
//! its I/O on its own thread) against plain async-nats code doing the same
//! on a tokio runtime with one worker.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;

use super::workloads::Sample;
use crate::nats_server::Server;

/// Which client runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// nimsync-nats, awaited with `block_on` on the calling thread.
    Bridge,
    /// async-nats on a one-worker tokio runtime.
    Plain,
}

/// The payload of every message.
const PAYLOAD: &[u8] = &[7u8; 128];

/// The nats-server binary the scenarios run against, if there is one.
pub fn server_binary() -> Option<std::path::PathBuf> {
    crate::nats_server::binary()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    futures_lite::future::block_on(f)
}

async fn bridge(url: &str) -> nimsync_nats::Client {
    nimsync_nats::Client::connect(nimsync_nats::ConnectOptions::new(url))
        .await
        .expect("connect")
}

/// `n` core publishes and a flush.
pub fn publish(client: Client, n: u64) -> Sample {
    let server = Server::start();
    match client {
        Client::Bridge => block_on(async {
            let c = bridge(&server.url()).await;
            timed_async(async {
                for _ in 0..n {
                    c.publish("bench.core", PAYLOAD).await.expect("publish");
                }
                c.flush().await.expect("flush");
            })
            .await
        }),
        Client::Plain => tokio_rt().block_on(async {
            let c = async_nats::connect(&server.url()).await.expect("connect");
            timed_async(async {
                for _ in 0..n {
                    c.publish("bench.core", bytes::Bytes::from_static(PAYLOAD))
                        .await
                        .expect("publish");
                }
                c.flush().await.expect("flush");
            })
            .await
        }),
    }
}

/// Times an async body on both clocks.
async fn timed_async(body: impl Future<Output = ()>) -> Sample {
    let start = super::workloads::process_cpu();
    let w0 = Instant::now();
    body.await;
    Sample {
        wall: w0.elapsed(),
        cpu: super::workloads::process_cpu().saturating_sub(start),
    }
}

/// Records in flight in the acknowledged-publish workloads.
const IN_FLIGHT: usize = 256;

/// Creates the stream `BENCH` on `bench.js`.
async fn plain_stream(js: &async_nats::jetstream::Context) {
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "BENCH".into(),
        subjects: vec!["bench.js".into()],
        ..Default::default()
    })
    .await
    .expect("stream");
}

/// `n` JetStream publishes with ids, at most `IN_FLIGHT` unacknowledged,
/// until every one is acknowledged.
pub fn js_publish(client: Client, n: u64) -> Sample {
    let server = Server::start();
    let rt = tokio_rt();
    let js = rt.block_on(async {
        let c = async_nats::connect(&server.url()).await.expect("connect");
        let js = async_nats::jetstream::new(c);
        plain_stream(&js).await;
        js
    });
    match client {
        Client::Bridge => block_on(async {
            let js = bridge(&server.url()).await.jetstream();
            let sink = js.sink("bench.js", nimsync_nats::SinkOptions::new(IN_FLIGHT));
            timed_async(async {
                for i in 0..n {
                    let r = nimsync_nats::Record::new(PAYLOAD).id(i.to_string());
                    sink.send(r).await.expect("send");
                }
                assert_eq!(sink.flush().await.expect("flush").acked, n);
            })
            .await
        }),
        Client::Plain => rt.block_on(async move { timed_async(plain_publish_all(&js, n)).await }),
    }
}

/// Publishes `n` records with ids to `bench.js` with plain async-nats, at
/// most [`IN_FLIGHT`] unacknowledged, until every one is acknowledged.
async fn plain_publish_all(js: &async_nats::jetstream::Context, n: u64) {
    let mut window = VecDeque::with_capacity(IN_FLIGHT);
    for i in 0..n {
        if window.len() == IN_FLIGHT {
            let ack: async_nats::jetstream::context::PublishAckFuture =
                window.pop_front().expect("full");
            ack.await.expect("ack");
        }
        let msg = async_nats::jetstream::message::PublishMessage::build()
            .payload(bytes::Bytes::from_static(PAYLOAD))
            .message_id(i.to_string());
        window.push_back(js.send_publish("bench.js", msg).await.expect("publish"));
    }
    for ack in window {
        ack.await.expect("ack");
    }
}

/// Fills `BENCH` with `n` messages (untimed), then consumes them all
/// through a durable pull consumer, acknowledging each.
pub fn js_consume(client: Client, n: u64) -> Sample {
    let server = Server::start();
    let rt = tokio_rt();
    let js = rt.block_on(async {
        let c = async_nats::connect(&server.url()).await.expect("connect");
        let js = async_nats::jetstream::new(c);
        plain_stream(&js).await;
        plain_publish_all(&js, n).await;
        js
    });
    match client {
        Client::Bridge => block_on(async {
            let js = bridge(&server.url()).await.jetstream();
            let mut source = js
                .source(
                    "BENCH",
                    nimsync_nats::SourceOptions::new("reader").batch(IN_FLIGHT),
                )
                .await
                .expect("source");
            timed_async(async {
                for _ in 0..n {
                    let d = source.next().await.expect("a message");
                    d.ack().await.expect("ack");
                }
            })
            .await
        }),
        Client::Plain => rt.block_on(async move {
            use async_nats::jetstream::consumer::{AckPolicy, pull};
            let stream = js.get_stream("BENCH").await.expect("stream");
            let consumer = stream
                .get_or_create_consumer(
                    "reader",
                    pull::Config {
                        durable_name: Some("reader".into()),
                        ack_policy: AckPolicy::Explicit,
                        ..Default::default()
                    },
                )
                .await
                .expect("consumer");
            timed_async(async {
                let mut messages = consumer
                    .stream()
                    .max_messages_per_batch(IN_FLIGHT)
                    .messages()
                    .await
                    .expect("messages");
                for _ in 0..n {
                    let m = messages.next().await.expect("a message").expect("ok");
                    m.ack().await.expect("ack");
                }
            })
            .await
        }),
    }
}

/// `n` request-reply round trips to a responder written with plain
/// async-nats (the same responder for both clients).
pub fn requests(client: Client, n: usize) -> Vec<Duration> {
    let server = Server::start();
    let rt = tokio_rt();
    let ready = rt.block_on(async {
        let c = async_nats::connect(&server.url()).await.expect("connect");
        let mut sub = c.subscribe("bench.echo").await.expect("subscribe");
        c.flush().await.expect("flush");
        let responder = c.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                if let Some(reply) = m.reply {
                    let _ = responder.publish(reply, m.payload).await;
                }
            }
        });
        // A first round trip: the server has the responder's subscription.
        c.request("bench.echo", bytes::Bytes::from_static(PAYLOAD))
            .await
            .expect("the responder answers");
        c
    });
    let mut lat = Vec::with_capacity(n);
    match client {
        Client::Bridge => block_on(async {
            let c = bridge(&server.url()).await;
            for _ in 0..n {
                let t = Instant::now();
                std::hint::black_box(c.request("bench.echo", PAYLOAD).await.expect("reply"));
                lat.push(t.elapsed());
            }
        }),
        Client::Plain => rt.block_on(async {
            let c = async_nats::connect(&server.url()).await.expect("connect");
            for _ in 0..n {
                let t = Instant::now();
                std::hint::black_box(
                    c.request("bench.echo", bytes::Bytes::from_static(PAYLOAD))
                        .await
                        .expect("reply"),
                );
                lat.push(t.elapsed());
            }
        }),
    }
    drop(ready);
    lat
}
