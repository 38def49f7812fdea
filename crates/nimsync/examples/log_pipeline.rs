//! A log pipeline with backpressure: services on threads emit log lines
//! into a stream stage that drops the oldest lines when the shipper falls
//! behind (counting and reporting every one), the shipper batches them
//! with `chunks_timeout` and "ships" each batch, and an audit stream of
//! errors that must never be dropped goes through a `Block` stage.
//!
//! At the end the program prints the stage's metrics and checks the
//! accounting: every line was shipped, dropped with a reason, or left
//! undelivered, exactly once.
//!
//! ```text
//! cargo run -p nimsync --example log_pipeline -- --services 4 --lines 50000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use nimsync::scheduler::Runtime;
use nimsync::stream::{Builder, Overflow, StageExt, channel};

fn main() {
    let services = arg("--services", 4);
    let lines = arg("--lines", 20_000);
    let started = Instant::now();

    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    let (logs, log_rx) = Builder::new(256, Overflow::DropOldest)
        .on_drop(move |_line: String, _reason| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build();
    let (audit, audit_rx) = channel::<String>(16, Overflow::Block);

    let emitters: Vec<_> = (0..services)
        .map(|s| {
            let (logs, audit) = (logs.clone(), audit.clone());
            thread::spawn(move || {
                for i in 0..lines {
                    let line = format!("service={s} seq={i} msg=handled request");
                    logs.send(line).expect("the shipper is running");
                    if i % 1000 == 0 {
                        // Errors go to the audit trail, which waits
                        // rather than lose one.
                        audit
                            .send(format!("service={s} seq={i} level=error"))
                            .expect("the auditor is running");
                    }
                }
            })
        })
        .collect();
    drop((logs, audit));

    let rt = Runtime::new().expect("a runtime");
    let (shipped, batches, audited, metrics) = rt.block_on(async move {
        let auditor = nimsync::scheduler::spawn(async move { audit_rx.count().await });
        let mut shipped = 0usize;
        let mut batches = 0usize;
        let mut log_rx = log_rx;
        let mut stage = (&mut log_rx).chunks_timeout(128, Duration::from_millis(20));
        while let Some(batch) = stage.next().await {
            // Shipping a batch: slower per line than producing one, so the
            // stage overflows and drops the oldest lines.
            for line in &batch {
                std::hint::black_box(line.len());
            }
            nimsync::time::sleep(Duration::from_micros(200)).await;
            shipped += batch.len();
            batches += 1;
        }
        drop(stage);
        let metrics = log_rx.metrics();
        (
            shipped,
            batches,
            auditor.await.expect("the auditor"),
            metrics,
        )
    });
    emitters.into_iter().for_each(|e| e.join().unwrap());

    let total = (services * lines) as u64;
    assert_eq!(metrics.offered, total);
    assert_eq!(metrics.delivered, shipped as u64);
    assert_eq!(metrics.dropped_oldest, dropped.load(Ordering::Relaxed));
    assert_eq!(
        metrics.delivered + metrics.dropped(),
        total,
        "every line shipped or dropped (counted), none lost"
    );
    assert_eq!(
        audited,
        services * lines.div_ceil(1000),
        "no audit line is ever dropped"
    );
    println!(
        "{total} lines: {shipped} shipped in {batches} batches, {} dropped as oldest \
         (high water {} of 256), {audited} audit lines kept, in {:.2?}",
        metrics.dropped_oldest,
        metrics.high_water,
        started.elapsed()
    );
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
