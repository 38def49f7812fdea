//! Single-thread select hot paths, measured with criterion:
//! `cargo bench -p nimsync-select`. The cross-peer, interleaved figures
//! come from `cargo xtask bench`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nimsync_channel::mpmc;
use nimsync_select::{Select, select};

/// Four channels, one of them (round robin) holding a value: a send and
/// then a select that takes it.
fn select_4way(c: &mut Criterion) {
    let chans: Vec<_> = (0..4).map(|_| mpmc::channel::<u64>(64)).collect();
    let mut g = c.benchmark_group("select over 4 mpmc");
    g.bench_function("select!", |b| {
        let mut i = 0;
        b.iter(|| {
            chans[i % 4].0.try_send(black_box(1)).unwrap();
            i += 1;
            let got = select! {
                recv(chans[0].1) -> v => v,
                recv(chans[1].1) -> v => v,
                recv(chans[2].1) -> v => v,
                recv(chans[3].1) -> v => v,
            };
            black_box(got.unwrap())
        });
    });
    g.bench_function("Select builder", |b| {
        let mut i = 0;
        b.iter(|| {
            chans[i % 4].0.try_send(black_box(1)).unwrap();
            i += 1;
            let mut sel = Select::new();
            for (_, rx) in &chans {
                sel.recv(rx);
            }
            let op = sel.select();
            let index = op.index();
            black_box(op.recv(&chans[index].1).unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, select_4way);
criterion_main!(benches);
