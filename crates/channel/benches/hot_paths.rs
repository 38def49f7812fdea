//! Single-thread hot paths of each flavor, measured with criterion:
//! `cargo bench -p nimsync-channel` (add `-- --save-baseline NAME` and
//! `-- --baseline NAME` to compare two builds). The cross-peer,
//! interleaved figures come from `cargo xtask bench`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_lite::future::poll_fn;
use nimsync_channel::{mpmc, oneshot, spsc};

/// One `try_send` and one `try_recv` on a channel with room.
fn try_send_try_recv(c: &mut Criterion) {
    let mut g = c.benchmark_group("try_send+try_recv");
    g.bench_function("spsc", |b| {
        let (mut tx, mut rx) = spsc::channel::<u64>(1024);
        b.iter(|| {
            tx.try_send(black_box(1)).unwrap();
            black_box(rx.try_recv().unwrap())
        });
    });
    g.bench_function("mpmc", |b| {
        let (tx, rx) = mpmc::channel::<u64>(1024);
        b.iter(|| {
            tx.try_send(black_box(1)).unwrap();
            black_box(rx.try_recv().unwrap())
        });
    });
    g.finish();
}

/// Batches of 64 through the SPSC batch API.
fn spsc_batch(c: &mut Criterion) {
    c.bench_function("spsc try_send_iter+drain x64", |b| {
        let (mut tx, mut rx) = spsc::channel::<u64>(1024);
        b.iter(|| {
            tx.try_send_iter(&mut (0..64)).unwrap();
            black_box(rx.drain(64).sum::<u64>())
        });
    });
}

/// A oneshot made, sent on and received from.
fn oneshot_round(c: &mut Criterion) {
    c.bench_function("oneshot channel+send+try_recv", |b| {
        b.iter(|| {
            let (tx, mut rx) = oneshot::channel::<u64>();
            tx.send(black_box(7)).unwrap();
            black_box(rx.try_recv().unwrap())
        });
    });
}

/// The async paths polled once each with a no-op waker: a send with room
/// and a receive with a value ready.
fn async_ready(c: &mut Criterion) {
    c.bench_function("mpmc send_async+recv_async ready", |b| {
        let (tx, rx) = mpmc::channel::<u64>(1024);
        let mut cx = Context::from_waker(Waker::noop());
        b.iter(|| {
            let sent = pin!(tx.send_async(black_box(1))).as_mut().poll(&mut cx);
            assert!(matches!(sent, Poll::Ready(Ok(()))));
            let got = pin!(poll_fn(|cx| pin!(rx.recv_async()).poll(cx))).poll(&mut cx);
            black_box(got)
        });
    });
}

criterion_group!(
    benches,
    try_send_try_recv,
    spsc_batch,
    oneshot_round,
    async_ready
);
criterion_main!(benches);
