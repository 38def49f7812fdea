//! The bridge against a real nats-server (see `common`): core publish and
//! subscribe under overflow policies, request-reply with deadlines, queue
//! groups, JetStream sinks and sources across server crashes, bad input and
//! authentication.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Auth, Server, run};
use futures_lite::StreamExt;
use nimsync_nats::{
    Client, ConnectOptions, ErrorKind, Record, ServeOptions, SinkOptions, SourceOptions,
    StreamSpec, SubscribeOptions,
};
use nimsync_stream::Overflow;

const LIMIT: Duration = Duration::from_secs(120);

/// Connects to `server` without credentials.
async fn connect(url: String) -> Client {
    Client::connect(ConnectOptions::new(url))
        .await
        .expect("connects to the test server")
}

/// Publishes from several plain threads through one client: each thread's
/// messages arrive in its order, and a flush covers every one queued before
/// it.
#[test]
fn publishes_from_many_threads_keep_each_threads_order() {
    let Some(server) = Server::start("many_threads") else {
        return;
    };
    let url = server.url();
    run("many_threads", LIMIT, async move {
        let client = connect(url).await;
        let mut sub = client
            .subscribe("t.threads", SubscribeOptions::new(20_000, Overflow::Block))
            .await
            .unwrap();
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let c = client.clone();
                std::thread::spawn(move || {
                    futures_lite::future::block_on(async {
                        for i in 0..2_000u32 {
                            c.publish("t.threads", format!("{t} {i}")).await.unwrap();
                        }
                        c.flush().await.unwrap();
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut next = [0u32; 4];
        for _ in 0..8_000 {
            let m = sub.next().await.unwrap();
            let text = std::str::from_utf8(&m.payload).unwrap();
            let (t, i) = text.split_once(' ').unwrap();
            let (t, i): (usize, u32) = (t.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s messages in order");
            next[t] += 1;
        }
        assert_eq!(next, [2_000; 4]);
    });
}

#[test]
fn close_writes_out_everything_published_before_it() {
    let Some(server) = Server::start("close_flushes") else {
        return;
    };
    let url = server.url();
    run("close_flushes", LIMIT, async move {
        let reader = connect(url.clone()).await;
        let mut sub = reader
            .subscribe("t.close", SubscribeOptions::new(10_000, Overflow::Block))
            .await
            .unwrap();
        server_caught_up(&reader, "reader").await;
        let writer = connect(url).await;
        for i in 0..5_000u32 {
            writer.publish("t.close", i.to_string()).await.unwrap();
        }
        writer.close().await.unwrap();
        assert!(writer.is_closed());
        let err = writer.publish("t.close", "late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected);
        for i in 0..5_000u32 {
            assert_eq!(sub.next().await.unwrap().payload, i.to_string().as_bytes());
        }
    });
}

#[test]
fn publish_subscribe_in_order() {
    let Some(server) = Server::start("publish_subscribe_in_order") else {
        return;
    };
    let url = server.url();
    run("publish_subscribe_in_order", LIMIT, async move {
        let client = connect(url).await;
        let mut sub = client
            .subscribe("t.order", SubscribeOptions::default())
            .await
            .unwrap();
        for i in 0..500u32 {
            client.publish("t.order", i.to_string()).await.unwrap();
        }
        client.flush().await.unwrap();
        for i in 0..500u32 {
            let m = sub.next().await.expect("a message");
            assert_eq!(m.payload, i.to_string().as_bytes());
        }
        assert_eq!(sub.metrics().delivered, 500);
        assert_eq!(sub.metrics().dropped(), 0);
    });
}

#[test]
fn drop_oldest_subscription_keeps_newest_and_counts_drops() {
    let Some(server) = Server::start("drop_oldest_subscription") else {
        return;
    };
    let url = server.url();
    run("drop_oldest", LIMIT, async move {
        let client = connect(url).await;
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let opts = SubscribeOptions::new(4, Overflow::DropOldest).on_drop(move |_, _| {
            d.fetch_add(1, Ordering::Relaxed);
        });
        let mut sub = client.subscribe("t.burst", opts).await.unwrap();
        // Nobody reads while 200 messages arrive: only the newest 4 stay.
        for i in 0..200u32 {
            client.publish("t.burst", i.to_string()).await.unwrap();
        }
        client.flush().await.unwrap();
        // Wait for the last one to be buffered; it is never dropped (it is
        // the newest), so the wait ends.
        let mut seen = Vec::new();
        loop {
            let m = sub.next().await.expect("a message");
            let n: u32 = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
            seen.push(n);
            if n == 199 {
                break;
            }
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order: {seen:?}");
        let m = sub.metrics();
        assert_eq!(m.offered, 200);
        assert_eq!(m.delivered as usize, seen.len());
        assert_eq!(m.dropped_oldest as usize, 200 - seen.len());
        assert_eq!(dropped.load(Ordering::Relaxed), 200 - seen.len());
    });
}

#[test]
fn request_reply_through_a_worker_pool_in_a_queue_group() {
    let Some(server) = Server::start("request_reply") else {
        return;
    };
    let url = server.url();
    run("request_reply", LIMIT, async move {
        let client = connect(url.clone()).await;
        let other = connect(url).await;
        let opts = ServeOptions::new(4).queue_group("upper");
        let a = client
            .serve("t.upper", opts.clone(), |m| async move {
                String::from_utf8_lossy(&m.payload).to_uppercase()
            })
            .await
            .unwrap();
        let b = other
            .serve("t.upper", opts, |m| async move {
                String::from_utf8_lossy(&m.payload).to_uppercase()
            })
            .await
            .unwrap();
        server_caught_up(&client, "a0").await;
        server_caught_up(&other, "b0").await;
        for i in 0..200 {
            let reply = client.request("t.upper", format!("abc{i}")).await.unwrap();
            assert_eq!(reply.payload, format!("ABC{i}").as_bytes());
        }
        let (sa, sb) = (a.stop().await, b.stop().await);
        assert_eq!(sa.served + sb.served, 200, "{sa:?} {sb:?}");
        assert!(
            sa.served > 0 && sb.served > 0,
            "the queue group shares: {sa:?} {sb:?}"
        );
        // Nobody serves it any more, once the server has processed both
        // unsubscribes.
        server_caught_up(&client, "a").await;
        server_caught_up(&other, "b").await;
        let err = client.request("t.upper", "x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoResponders, "{err}");
    });
}

/// Returns once the server has processed everything `client` sent before
/// the call: a message published to the client's own subscription comes
/// back only after the server has handled the commands ahead of it (a flush
/// only empties the client's buffer).
async fn server_caught_up(client: &Client, tag: &str) {
    let subject = format!("t.caught-up.{tag}");
    let mut echo = client
        .subscribe(&subject, SubscribeOptions::default())
        .await
        .unwrap();
    client.publish(&subject, "").await.unwrap();
    client.flush().await.unwrap();
    echo.next().await.expect("our own message comes back");
}

#[test]
fn a_request_ends_at_the_callers_group_deadline() {
    let Some(server) = Server::start("request_deadline") else {
        return;
    };
    let url = server.url();
    let rt = nimsync_scheduler::Runtime::new().unwrap();
    rt.block_on(async move {
        let client = connect(url).await;
        // A responder that never answers.
        let silent = client
            .serve(
                "t.silent",
                ServeOptions::new(1).grace(Duration::from_millis(100)),
                |_| std::future::pending::<String>(),
            )
            .await
            .unwrap();
        client.flush().await.unwrap();
        let start = Instant::now();
        let within = nimsync_group::with_timeout(Duration::from_millis(300), async {
            client.request("t.silent", "?").await
        })
        .await;
        // The request's own error, at the scope's deadline (not at the
        // client's 10 s timeout).
        let err = within
            .expect("the request reports its own timeout at the scope's deadline")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
        // A deadline already passed is refused before sending.
        let err = client
            .request_timeout("t.silent", "?", Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        // Its stop aborts the handler that never ends, after the grace.
        let stats = silent.stop().await;
        assert_eq!((stats.served, stats.aborted), (0, 1), "{stats:?}");
    });
}

/// Numbered records `lo..hi` with ids.
fn records(lo: u64, hi: u64) -> impl Iterator<Item = Record> {
    (lo..hi).map(|i| Record::new(i.to_string()).id(format!("m{i}")))
}

/// Reads `n` distinct messages from the source, acknowledging each;
/// returns them in the order first seen and how many were redeliveries.
async fn read_distinct(source: &mut nimsync_nats::Source, n: usize) -> (Vec<u64>, usize) {
    let (mut order, mut seen, mut again) = (Vec::new(), HashSet::new(), 0);
    while order.len() < n {
        let d = source.next().await.expect("the source stays open");
        let i: u64 = std::str::from_utf8(d.payload()).unwrap().parse().unwrap();
        assert_eq!(d.message_id(), Some(format!("m{i}").as_str()));
        if seen.insert(i) {
            order.push(i);
        } else {
            again += 1;
        }
        d.ack().await.unwrap();
    }
    (order, again)
}

/// Checks that `order` is `0..n`, naming the first place it is not.
fn assert_in_order(order: &[u64], n: u64) {
    if let Some(at) = (0..n as usize).find(|&i| order.get(i) != Some(&(i as u64))) {
        let around = &order[at.saturating_sub(3)..(at + 3).min(order.len())];
        panic!(
            "out of order at {at} (of {}): ... {around:?} ...",
            order.len()
        );
    }
    assert_eq!(order.len() as u64, n);
}

#[test]
fn sink_and_source_carry_every_record_once_in_order() {
    let Some(server) = Server::start("sink_and_source") else {
        return;
    };
    let url = server.url();
    run("sink_and_source", LIMIT, async move {
        let js = connect(url).await.jetstream();
        js.create_stream(&StreamSpec::new("ROUND", ["round.>"]))
            .await
            .unwrap();
        let sink = js.sink("round.a", SinkOptions::new(64));
        let n = 20_000u64;
        let report = sink
            .send_all(futures_lite::stream::iter(records(0, n)))
            .await
            .unwrap();
        assert_eq!(report.acked, n);
        assert_eq!(report.duplicates, 0);
        assert_eq!(js.stream_messages("ROUND").await.unwrap(), n);
        let mut source = js
            .source("ROUND", SourceOptions::new("reader").batch(100))
            .await
            .unwrap();
        let (order, again) = read_distinct(&mut source, n as usize).await;
        assert_in_order(&order, n);
        assert_eq!(again, 0);
        let stats = source.stats();
        assert!(stats.fetched >= n && stats.fetches >= n / 100, "{stats:?}");
        // The same consumer asked for with other settings is refused.
        let other = SourceOptions::new("reader").ack_wait(Duration::from_secs(7));
        let err = js.source("ROUND", other).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::JetStream, "{err}");
        assert!(err.to_string().contains("another configuration"), "{err}");
        // An ordered sink refuses a record without an id.
        let ordered = js.sink("round.a", SinkOptions::new(4).ordered());
        let bad = ordered.send(Record::new("no id")).await.unwrap_err();
        assert_eq!(bad.error.kind(), ErrorKind::InvalidRecord);
        // Closing the client ends the source.
        js.client().close().await.unwrap();
        assert!(source.next().await.is_none());
        assert_eq!(
            source.error().map(|e| e.kind()),
            Some(ErrorKind::Disconnected)
        );
    });
}

#[test]
fn an_unacknowledged_delivery_comes_back() {
    let Some(server) = Server::start("redelivery") else {
        return;
    };
    let url = server.url();
    run("redelivery", LIMIT, async move {
        let js = connect(url).await.jetstream();
        js.create_stream(&StreamSpec::new("AGAIN", ["again"]))
            .await
            .unwrap();
        for r in records(0, 10) {
            js.publish("again", r).await.unwrap();
        }
        let mut source = js
            .source("AGAIN", SourceOptions::new("c").batch(10))
            .await
            .unwrap();
        // Acknowledge the even ones; drop the odd ones (a consumer that
        // failed mid-message), nak one explicitly.
        let mut first = Vec::new();
        for _ in 0..10 {
            let d = source.next().await.unwrap();
            let i: u64 = std::str::from_utf8(d.payload()).unwrap().parse().unwrap();
            first.push(i);
            assert_eq!(d.delivered(), 1);
            match i {
                1 => d.nak(None).await.unwrap(),
                _ if i.is_multiple_of(2) => d.ack().await.unwrap(),
                _ => drop(d),
            }
        }
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let mut back = Vec::new();
        for _ in 0..5 {
            let d = source.next().await.unwrap();
            assert_eq!(d.delivered(), 2, "a redelivery");
            back.push(
                std::str::from_utf8(d.payload())
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
            d.ack_confirmed().await.unwrap();
        }
        back.sort_unstable();
        assert_eq!(back, vec![1, 3, 5, 7, 9]);
    });
}

#[test]
fn a_server_crash_mid_stream_loses_nothing_acknowledged() {
    let Some(mut server) = Server::start("server_crash") else {
        return;
    };
    let url = server.url();
    let n = 30_000u64;
    let (acked_tx, acked_rx) = std::sync::mpsc::channel::<(u64, nimsync_nats::Sink)>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    // The producer: sends every record, reporting progress; the crash comes
    // in the middle.
    let producer = std::thread::spawn({
        let url = url.clone();
        move || {
            futures_lite::future::block_on(async move {
                let js = connect(url).await.jetstream();
                js.create_stream(&StreamSpec::new("CRASH", ["crash.>"]))
                    .await
                    .unwrap();
                let opts = SinkOptions::new(128)
                    .ordered()
                    .ack_timeout(Duration::from_millis(500))
                    .retries(100, Duration::from_millis(50));
                let sink = js.sink("crash.a", opts);
                for r in records(0, n / 2) {
                    sink.send(r).await.unwrap();
                }
                let half = sink.flush().await.unwrap();
                acked_tx.send((half.acked, sink.clone())).unwrap();
                go_rx.recv().unwrap();
                let report = sink
                    .send_all(futures_lite::stream::iter(records(n / 2, n)))
                    .await
                    .unwrap();
                (js, report)
            })
        }
    });
    let (acked, sink) = acked_rx.recv().unwrap();
    assert_eq!(acked, n / 2);
    // Crash while the second half is in flight: once some of it is
    // acknowledged, with an outage of a few hundred milliseconds.
    go_tx.send(()).unwrap();
    while sink.report().acked < n / 2 + 1_000 {
        std::thread::yield_now();
    }
    server.kill();
    std::thread::sleep(Duration::from_millis(300));
    server.restart();
    drop(sink);
    let (js, report) = producer.join().unwrap();
    assert_eq!(report.acked, n, "{report:?}");
    eprintln!("across the crash: {report:?}");
    // Every record stored once: the server's duplicate window removed the
    // resends of records it had stored before the crash.
    let (order, again) = run("crash_read", LIMIT, async move {
        let stored = js.stream_messages("CRASH").await.unwrap();
        assert_eq!(stored, n, "stored once each");
        let mut source = js
            .source("CRASH", SourceOptions::new("reader").batch(256))
            .await
            .unwrap();
        read_distinct(&mut source, n as usize).await
    });
    assert_in_order(&order, n);
    assert_eq!(again, 0);
}

#[test]
fn a_source_resumes_after_a_server_crash() {
    let Some(mut server) = Server::start("source_crash") else {
        return;
    };
    let url = server.url();
    let n = 2_000u64;
    let (js, mut source, first) = run("source_first_half", LIMIT, async move {
        let js = connect(url).await.jetstream();
        js.create_stream(&StreamSpec::new("RESUME", ["resume"]))
            .await
            .unwrap();
        let sink = js.sink("resume", SinkOptions::default());
        sink.send_all(futures_lite::stream::iter(records(0, n)))
            .await
            .unwrap();
        let mut source = js
            .source(
                "RESUME",
                SourceOptions::new("r")
                    .batch(50)
                    .max_wait(Duration::from_millis(200)),
            )
            .await
            .unwrap();
        let mut first = Vec::new();
        for _ in 0..n / 2 {
            let d = source.next().await.unwrap();
            first.push(
                std::str::from_utf8(d.payload())
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
            d.ack_confirmed().await.unwrap();
        }
        (js, source, first)
    });
    server.kill();
    server.restart();
    // Reads on until every message has been seen; deliveries made before
    // the crash whose acknowledgement the crash lost come again.
    let (seen, again) = run("source_second_half", LIMIT, async move {
        let mut seen: HashSet<u64> = first.into_iter().collect();
        let mut again = 0;
        while (seen.len() as u64) < n {
            let d = source.next().await.expect("the source stays open");
            let i: u64 = std::str::from_utf8(d.payload()).unwrap().parse().unwrap();
            if !seen.insert(i) {
                again += 1;
            }
            d.ack().await.unwrap();
        }
        drop(js);
        (seen, again)
    });
    assert_eq!(seen, (0..n).collect::<HashSet<_>>(), "{again} redeliveries");
}

#[test]
fn bad_input_gets_typed_errors() {
    let Some(server) = Server::start("bad_input") else {
        return;
    };
    let url = server.url();
    run("bad_input", LIMIT, async move {
        let err = Client::connect(ConnectOptions::new("nats://bad host:4222"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadUrl, "{err}");
        // A port nobody listens on.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = Client::connect(
            ConnectOptions::new(format!("127.0.0.1:{free}"))
                .connect_timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
        assert!(err.to_string().contains("nats-server is running"), "{err}");

        let client = connect(url).await;
        for bad in ["", "a b", "a..b", ".a", "a.", "a.*", "a.>"] {
            let err = client.publish(bad, "x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSubject, "{bad:?}: {err}");
            let err = client.request(bad, "x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSubject, "{bad:?}: {err}");
        }
        for bad in ["", "a b", "a..b", "a.>.b"] {
            let err = client
                .subscribe(bad, SubscribeOptions::default())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSubject, "{bad:?}: {err}");
        }
        client
            .subscribe("a.*.>", SubscribeOptions::default())
            .await
            .unwrap();
        let big = vec![0u8; client.max_payload() + 1];
        let err = client.publish("t.big", big.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
        let told = format!("{} bytes", big.len());
        assert!(
            err.detail().contains(&told) && err.detail().contains("max_payload"),
            "{err}"
        );
        let err = client.request("t.big", big.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");

        let js = client.jetstream();
        let err = js.publish("nowhere.at.all", "x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let err = js
            .source("NOSUCH", SourceOptions::new("c"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        // A sink whose records can never be stored (no stream captures the
        // subject) gives up and hands every one back, in order.
        let sink = js.sink("nostream.x", SinkOptions::new(4));
        for i in 0..3 {
            sink.send(Record::new(i.to_string()).id(i.to_string()))
                .await
                .unwrap();
        }
        let err = sink.flush().await.unwrap_err();
        assert_eq!(err.error.kind(), ErrorKind::NotFound, "{err}");
        let back: Vec<_> = err
            .undelivered
            .iter()
            .map(|r| r.message_id().unwrap())
            .collect();
        assert_eq!(back, ["0", "1", "2"]);
        let refused = sink.send(Record::new("late")).await.unwrap_err();
        assert_eq!(refused.undelivered.len(), 1);
        assert_eq!(refused.error.kind(), ErrorKind::NotFound);
        // A sink that gives up while records keep coming: the send that
        // finds it failed gets its own record back, the next flush every
        // record before it.
        let sink = js.sink("nostream.y", SinkOptions::new(4));
        let mut sent = 0;
        let refused = loop {
            match sink
                .send(Record::new(sent.to_string()).id(sent.to_string()))
                .await
            {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 100_000, "the sink never gave up");
        };
        assert_eq!(refused.error.kind(), ErrorKind::NotFound);
        assert_eq!(
            refused.undelivered[0].message_id(),
            Some(sent.to_string().as_str())
        );
        let err = sink.flush().await.unwrap_err();
        let back: Vec<String> = err
            .undelivered
            .iter()
            .map(|r| r.message_id().unwrap().to_owned())
            .collect();
        assert_eq!(back, (0..sent).map(|i| i.to_string()).collect::<Vec<_>>());
        js.create_stream(&StreamSpec::new("SMALL", ["small"]))
            .await
            .unwrap();
        // An invalid subject is refused at once, and the sink goes on.
        let sink = js.sink("small", SinkOptions::new(4));
        let bad = sink
            .send(Record::new("x").subject("small.*"))
            .await
            .unwrap_err();
        assert_eq!(bad.error.kind(), ErrorKind::InvalidSubject);
        let bad = sink.send(Record::new(big)).await.unwrap_err();
        assert_eq!(bad.error.kind(), ErrorKind::TooLarge);
        assert_eq!(bad.undelivered.len(), 1);
        sink.send(Record::new("ok")).await.unwrap();
        assert_eq!(sink.flush().await.unwrap().acked, 1);
    });
}

#[test]
#[should_panic(expected = "use 1 or more")]
fn zero_capacity_subscription_panics_with_advice() {
    let _ = SubscribeOptions::new(0, Overflow::Block);
}

#[test]
fn only_clients_with_the_right_credentials_get_in() {
    let Some(server) = Server::start_with("auth_user", Auth::User("svc", "pa55word")) else {
        return;
    };
    let Some(token_server) = Server::start_with("auth_token", Auth::Token("t0ken-xyz")) else {
        return;
    };
    let (url, token_url) = (server.url(), token_server.url());
    run("auth", LIMIT, async move {
        for opts in [
            ConnectOptions::new(url.clone()),
            ConnectOptions::new(url.clone()).user_password("svc", "wrong"),
            ConnectOptions::new(token_url.clone()).token("not-it"),
        ] {
            let err = Client::connect(opts).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotAuthorized, "{err}");
        }
        let good = ConnectOptions::new(url).user_password("svc", "pa55word");
        let shown = format!("{good:?}");
        assert!(!shown.contains("pa55word"), "the password shows: {shown}");
        let client = Client::connect(good).await.unwrap();
        assert!(!format!("{client:?}").contains("pa55word"));
        let reply = client.request("nobody", "x").await.unwrap_err();
        assert_eq!(reply.kind(), ErrorKind::NoResponders);
        let tok = ConnectOptions::new(token_url).token("t0ken-xyz");
        assert!(!format!("{tok:?}").contains("t0ken-xyz"));
        Client::connect(tok).await.unwrap().flush().await.unwrap();
    });
}

#[test]
fn an_nkey_user_gets_in_and_a_stranger_does_not() {
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().expect("a user key has a seed");
    let Some(server) = Server::start_with("auth_nkey", Auth::Nkey(user.public_key())) else {
        return;
    };
    let url = server.url();
    run("auth_nkey", LIMIT, async move {
        let stranger = nkeys::KeyPair::new_user().seed().unwrap();
        let err = Client::connect(ConnectOptions::new(url.clone()).nkey(stranger))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAuthorized, "{err}");
        let opts = ConnectOptions::new(url).nkey(seed.clone());
        assert!(!format!("{opts:?}").contains(&seed), "the seed shows");
        let client = Client::connect(opts).await.unwrap();
        client.flush().await.unwrap();
    });
}

#[test]
fn tls_with_the_servers_ca_connects_and_without_it_fails() {
    let dir = std::env::temp_dir().join(format!("nimsync-nats-tls-{}", std::process::id()));
    let (ca, cert, key) = common::test_certificates(&dir);
    let Some(server) = Server::start_with("tls", Auth::Tls { cert, key }) else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let url = server.url().replace("nats://", "tls://");
    run("tls", LIMIT, async move {
        // The server's certificate is signed by a CA nobody trusts yet.
        let err = Client::connect(ConnectOptions::new(url.clone()).require_tls(true))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
        let client = Client::connect(ConnectOptions::new(url).tls_ca(ca).require_tls(true))
            .await
            .unwrap();
        let mut sub = client
            .subscribe("t.tls", SubscribeOptions::default())
            .await
            .unwrap();
        client.publish("t.tls", "over TLS").await.unwrap();
        client.flush().await.unwrap();
        assert_eq!(sub.next().await.unwrap().payload, "over TLS".as_bytes());
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn works_from_inside_a_tokio_runtime() {
    let Some(server) = Server::start("inside_tokio") else {
        return;
    };
    let url = server.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = connect(url).await;
        let _echo = client
            .serve("t.echo", ServeOptions::new(2), |m| async move { m.payload })
            .await
            .unwrap();
        client.flush().await.unwrap();
        let r = client.request("t.echo", "ping").await.unwrap();
        assert_eq!(r.payload, "ping".as_bytes());
        // Publishes from inside the runtime go straight to async-nats, in
        // order.
        let mut sub = client
            .subscribe("t.inside", SubscribeOptions::default())
            .await
            .unwrap();
        for i in 0..100u32 {
            client.publish("t.inside", i.to_string()).await.unwrap();
        }
        client.flush().await.unwrap();
        for i in 0..100u32 {
            assert_eq!(sub.next().await.unwrap().payload, i.to_string().as_bytes());
        }
        let big = vec![0u8; client.max_payload() + 1];
        let err = client.publish("t.inside", big).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
    });
}
