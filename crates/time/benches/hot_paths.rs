//! Timer hot paths, measured with criterion: `cargo bench -p nimsync-time`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nimsync_time::sleep;

/// A sleep polled once (so it is inserted into the wheel) and dropped
/// (so it is cancelled), as a timeout that is not reached does.
fn insert_cancel(c: &mut Criterion) {
    let mut cx = Context::from_waker(Waker::noop());
    c.bench_function("sleep insert+cancel", |b| {
        b.iter(|| {
            let mut s = pin!(sleep(black_box(Duration::from_secs(60))));
            black_box(s.as_mut().poll(&mut cx).is_pending())
        });
    });
}

criterion_group!(benches, insert_cancel);
criterion_main!(benches);
