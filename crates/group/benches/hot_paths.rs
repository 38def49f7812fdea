//! Structured-concurrency hot paths, measured with criterion:
//! `cargo bench -p nimsync-group`. The cross-peer, interleaved figures
//! come from `cargo xtask bench`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nimsync_group::{CancelToken, TaskGroup};
use nimsync_scheduler::Builder;

/// A token's check, as a loop polls it between steps of work.
fn token_check(c: &mut Criterion) {
    let parent = CancelToken::new();
    let token = parent.child();
    c.bench_function("CancelToken::is_cancelled", |b| {
        b.iter(|| black_box(&token).is_cancelled());
    });
}

/// 100 children spawned into a group and joined.
fn group_spawn_join(c: &mut Criterion) {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    c.bench_function("TaskGroup 100 spawn+join_all", |b| {
        b.iter(|| {
            rt.block_on(async {
                let group = TaskGroup::<u64>::new();
                for i in 0..100 {
                    group.spawn_ok(async move { i }).unwrap();
                }
                black_box(group.join_all().await.unwrap().len())
            })
        });
    });
}

criterion_group!(benches, token_check, group_spawn_join);
criterion_main!(benches);
