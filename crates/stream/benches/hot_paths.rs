//! Stream hot paths, measured with criterion: `cargo bench -p
//! nimsync-stream`. The cross-peer, interleaved figures come from
//! `cargo xtask bench`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_lite::{StreamExt, stream};
use nimsync_stream::{Overflow, StageExt, channel};

/// One `try_send` and one `try_recv` on a stage with room, per policy.
fn send_recv(c: &mut Criterion) {
    let policies: [(&str, Overflow<u64>); 3] = [
        ("Block", Overflow::Block),
        ("DropOldest", Overflow::DropOldest),
        ("Conflate", Overflow::conflate(|a, b| *a += b)),
    ];
    for (name, overflow) in policies {
        let (tx, mut rx) = channel(64, overflow);
        c.bench_function(&format!("stream channel try_send+try_recv ({name})"), |b| {
            b.iter(|| {
                tx.try_send(black_box(1)).unwrap();
                black_box(rx.try_recv().unwrap())
            });
        });
    }
}

/// A full drop-oldest stage taking one more item: the eviction path.
fn drop_oldest_full(c: &mut Criterion) {
    let (tx, _rx) = channel(64, Overflow::DropOldest);
    for i in 0..64u64 {
        tx.try_send(i).unwrap();
    }
    c.bench_function("stream channel try_send on a full DropOldest stage", |b| {
        b.iter(|| tx.try_send(black_box(1)).unwrap());
    });
}

/// 1,000 items through a `buffer` stage that drops the oldest.
fn buffer_stage(c: &mut Criterion) {
    c.bench_function("buffer(16, DropOldest) over 1000 items", |b| {
        b.iter(|| {
            futures_lite::future::block_on(
                stream::iter(0..1000u64)
                    .buffer(16, Overflow::DropOldest)
                    .fold(0, |a, b| a + b),
            )
        });
    });
}

criterion_group!(benches, send_recv, drop_oldest_full, buffer_stage);
criterion_main!(benches);
