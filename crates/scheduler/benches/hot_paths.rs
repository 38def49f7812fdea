//! Runtime hot paths, measured with criterion:
//! `cargo bench -p nimsync-scheduler`. The cross-peer, interleaved figures
//! come from `cargo xtask bench`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nimsync_scheduler::{Builder, spawn};

/// A task spawned from inside the runtime and joined, on a current-thread
/// runtime (one thread, no stealing) and on two workers.
fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn+join");
    let current = Builder::new_current_thread().build().unwrap();
    g.bench_function("current-thread", |b| {
        b.iter(|| current.block_on(async { spawn(async { black_box(1u64) }).await.unwrap() }));
    });
    let multi = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    g.bench_function("2 workers, 100 per block_on", |b| {
        b.iter(|| {
            multi.block_on(async {
                let handles: Vec<_> = (0..100u64).map(|i| spawn(async move { i })).collect();
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                black_box(sum)
            })
        });
    });
    g.finish();
}

criterion_group!(benches, spawn_join);
criterion_main!(benches);
