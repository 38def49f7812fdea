//! Select workloads: nimsync-select against crossbeam-channel's `Select`
//! (threads) and tokio's `select!` (async), each written once.

use std::sync::Arc;

use super::workloads::{Sample, run_threads, timed};

/// Channels a select runs over, and the select loop itself.
pub trait SelectPeer {
    /// Name in the tables.
    const NAME: &'static str;
    /// Sending endpoint.
    type Tx: Send + 'static;
    /// Receiving endpoint.
    type Rx: Send + 'static;
    /// A channel of `cap` slots.
    fn channel(cap: usize) -> (Self::Tx, Self::Rx);
    /// A blocking send.
    fn send(tx: &mut Self::Tx, v: u64);
    /// Runs `n` selects over `rxs`, calling `before(i)` ahead of the
    /// `i`-th; returns the sum of the messages.
    fn select_loop(rxs: &mut [Self::Rx], n: u64, before: impl FnMut(u64)) -> u64;
}

/// nimsync-select over nimsync spsc channels: one channel per producer,
/// the select built per round (it borrows the receivers exclusively).
#[derive(Debug)]
pub struct NimSpscSelect;

impl SelectPeer for NimSpscSelect {
    const NAME: &'static str = "nimsync Select (spsc)";
    type Tx = nimsync_channel::spsc::Sender<u64>;
    type Rx = nimsync_channel::spsc::Receiver<u64>;
    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::spsc::channel(cap)
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).expect("receiver alive");
    }
    fn select_loop(rxs: &mut [Self::Rx], n: u64, mut before: impl FnMut(u64)) -> u64 {
        let mut sum = 0;
        for i in 0..n {
            before(i);
            let op = {
                let mut sel = nimsync_select::Select::new();
                for rx in rxs.iter_mut() {
                    sel.recv(rx);
                }
                sel.select()
            };
            let k = op.index();
            sum += op.recv(&rxs[k]).expect("senders alive");
        }
        sum
    }
}

/// nimsync-select over nimsync mpmc channels, the select built once.
#[derive(Debug)]
pub struct NimSelect;

impl SelectPeer for NimSelect {
    const NAME: &'static str = "nimsync Select (mpmc)";
    type Tx = nimsync_channel::mpmc::Sender<u64>;
    type Rx = nimsync_channel::mpmc::Receiver<u64>;
    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::mpmc::channel(cap)
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).expect("receiver alive");
    }
    fn select_loop(rxs: &mut [Self::Rx], n: u64, mut before: impl FnMut(u64)) -> u64 {
        let rxs: &[Self::Rx] = rxs;
        let mut sel = nimsync_select::Select::new();
        for rx in rxs {
            sel.recv(rx);
        }
        let mut sum = 0;
        for i in 0..n {
            before(i);
            let op = sel.select();
            let k = op.index();
            sum += op.recv(&rxs[k]).expect("senders alive");
        }
        sum
    }
}

/// crossbeam-channel's `Select` over its bounded channels.
#[derive(Debug)]
pub struct CrossbeamSelect;

impl SelectPeer for CrossbeamSelect {
    const NAME: &'static str = "crossbeam Select";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(cap)
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).expect("receiver alive");
    }
    fn select_loop(rxs: &mut [Self::Rx], n: u64, mut before: impl FnMut(u64)) -> u64 {
        let rxs: &[Self::Rx] = rxs;
        let mut sel = crossbeam_channel::Select::new();
        for rx in rxs {
            sel.recv(rx);
        }
        let mut sum = 0;
        for i in 0..n {
            before(i);
            let op = sel.select();
            let k = op.index();
            sum += op.recv(&rxs[k]).expect("senders alive");
        }
        sum
    }
}

/// One message from whichever of four receivers `$select!` picks.
macro_rules! recv_any_of_four {
    ($($select:ident)::+; $r0:ident, $r1:ident, $r2:ident, $r3:ident) => {
        $($select)::+! {
            recv($r0) -> m => m,
            recv($r1) -> m => m,
            recv($r2) -> m => m,
            recv($r3) -> m => m,
        }
        .expect("senders alive")
    };
}

/// A peer whose select loop is a `select!`-style macro over four
/// channels: `$name` with channels from `$channel`, selecting with
/// `$select!`.
macro_rules! macro_select_peer {
    ($(#[$doc:meta])* $peer:ident, $name:literal, $tx:ty, $rx:ty, $channel:path,
        $($select:ident)::+) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $peer;

        impl SelectPeer for $peer {
            const NAME: &'static str = $name;
            type Tx = $tx;
            type Rx = $rx;
            fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
                $channel(cap)
            }
            fn send(tx: &mut Self::Tx, v: u64) {
                tx.send(v).expect("receiver alive");
            }
            fn select_loop(rxs: &mut [Self::Rx], n: u64, mut before: impl FnMut(u64)) -> u64 {
                let [r0, r1, r2, r3] = &*rxs else {
                    panic!("the macro contenders select over 4 channels")
                };
                let mut sum = 0;
                for i in 0..n {
                    before(i);
                    sum += recv_any_of_four!($($select)::+; r0, r1, r2, r3);
                }
                sum
            }
        }
    };
}

macro_select_peer!(
    /// nimsync's `select!` macro over four nimsync mpmc channels.
    NimSelectMacro,
    "nimsync select! (mpmc)",
    nimsync_channel::mpmc::Sender<u64>,
    nimsync_channel::mpmc::Receiver<u64>,
    nimsync_channel::mpmc::channel,
    nimsync_select::select
);

macro_select_peer!(
    /// crossbeam-channel's `select!` macro over four of its bounded channels.
    CrossbeamSelectMacro,
    "crossbeam select!",
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
    crossbeam_channel::bounded,
    crossbeam_channel::select
);

/// The sum of `0..n`.
fn triangle(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// One thread: each round sends one message into channel `i % ways`
/// (making it ready) and selects over all `ways` channels.
pub fn single_thread<S: SelectPeer>(n: u64, ways: usize) -> Sample {
    let (mut txs, mut rxs): (Vec<_>, Vec<_>) = (0..ways).map(|_| S::channel(1024)).unzip();
    let mut sum = 0;
    let s = timed(|| {
        sum = S::select_loop(&mut rxs, n, |i| S::send(&mut txs[i as usize % ways], i));
    });
    assert_eq!(sum, triangle(n), "{}: lost or repeated messages", S::NAME);
    s
}

/// `ways` producer threads, each feeding its own channel, and one thread
/// selecting over all of them.
pub fn fed<S: SelectPeer>(n: u64, ways: usize) -> Sample {
    let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..ways).map(|_| S::channel(1024)).unzip();
    // A drained, closed channel is ready (with its error): the producers
    // park their senders here, so every channel stays open until the
    // consumer is done.
    let keep_open = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sum = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut bodies: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
    for (k, mut tx) in txs.into_iter().enumerate() {
        let keep_open = keep_open.clone();
        bodies.push(Box::new(move || {
            let mut i = k as u64;
            while i < n {
                S::send(&mut tx, i);
                i += ways as u64;
            }
            keep_open.lock().expect("not poisoned").push(tx);
        }));
    }
    let total = sum.clone();
    bodies.push(Box::new(move || {
        let got = S::select_loop(&mut rxs, n, |_| {});
        total.store(got, std::sync::atomic::Ordering::Relaxed);
    }));
    let s = run_threads(bodies);
    drop(keep_open);
    assert_eq!(
        sum.load(std::sync::atomic::Ordering::Relaxed),
        triangle(n),
        "{}: lost or repeated messages",
        S::NAME
    );
    s
}

/// Four producer tasks, each feeding its own nimsync mpmc channel, and a
/// consumer task running `select_async!` over the four, on `rt`.
pub fn async_nimsync(rt: &tokio::runtime::Runtime, n: u64) -> Sample {
    use nimsync_channel::mpmc;
    timed(|| {
        rt.block_on(async {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| mpmc::channel::<u64>(1024)).unzip();
            // A drained, closed channel is ready: keep them open.
            let keep_open = txs.clone();
            let producers: Vec<_> = txs
                .into_iter()
                .enumerate()
                .map(|(k, tx)| {
                    rt.spawn(async move {
                        let mut i = k as u64;
                        while i < n {
                            tx.send_async(i).await.expect("receiver alive");
                            i += 4;
                        }
                    })
                })
                .collect();
            let consumer = rt.spawn(async move {
                let [r0, r1, r2, r3] = &rxs[..] else {
                    unreachable!("four channels")
                };
                let mut sum = 0;
                for _ in 0..n {
                    sum += recv_any_of_four!(nimsync_select::select_async; r0, r1, r2, r3);
                }
                sum
            });
            for p in producers {
                p.await.expect("producer");
            }
            let sum = consumer.await.expect("consumer");
            drop(keep_open);
            assert_eq!(sum, triangle(n), "nimsync select_async!: lost messages");
        });
    })
}

/// The same shape with tokio's `select!` over tokio mpsc receivers.
pub fn async_tokio_select(rt: &tokio::runtime::Runtime, n: u64) -> Sample {
    use tokio::sync::mpsc;
    timed(|| {
        rt.block_on(async {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| mpsc::channel::<u64>(1024)).unzip();
            let producers: Vec<_> = txs
                .into_iter()
                .enumerate()
                .map(|(k, tx)| {
                    rt.spawn(async move {
                        let mut i = k as u64;
                        while i < n {
                            tx.send(i).await.expect("receiver alive");
                            i += 4;
                        }
                    })
                })
                .collect();
            let consumer = rt.spawn(async move {
                let [mut r0, mut r1, mut r2, mut r3] =
                    <[_; 4]>::try_from(rxs).expect("four channels");
                let mut sum = 0;
                for _ in 0..n {
                    sum += tokio::select! {
                        Some(v) = r0.recv() => v,
                        Some(v) = r1.recv() => v,
                        Some(v) = r2.recv() => v,
                        Some(v) = r3.recv() => v,
                    };
                }
                sum
            });
            for p in producers {
                p.await.expect("producer");
            }
            let sum = consumer.await.expect("consumer");
            assert_eq!(sum, triangle(n), "tokio select!: lost messages");
        });
    })
}
