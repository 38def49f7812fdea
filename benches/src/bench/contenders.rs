//! One trait per kind of contender; nimsync and each peer implement the
//! kinds they offer. The workloads in `workloads.rs` are written once
//! against these traits.

use std::future::Future;

/// A queue driven by non-blocking push/pop in a spin loop.
pub trait SpinQueue: 'static {
    /// Name in the tables.
    const NAME: &'static str;
    /// Producer endpoint.
    type Tx: Send + 'static;
    /// Consumer endpoint.
    type Rx: Send + 'static;
    /// Makes a queue of `cap` slots.
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// True if the value went in.
    fn try_push(tx: &mut Self::Tx, v: u64) -> bool;
    /// A value, if one was there.
    fn try_pop(rx: &mut Self::Rx) -> Option<u64>;
}

/// A queue that moves runs of values at once.
pub trait BatchQueue: 'static {
    /// Name in the tables.
    const NAME: &'static str;
    /// Producer endpoint.
    type Tx: Send + 'static;
    /// Consumer endpoint.
    type Rx: Send + 'static;
    /// Makes a queue of `cap` slots.
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// Pushes a prefix of `src`; returns its length (0 when full).
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize;
    /// Pops up to `max` values, handing each to `visit`; returns how many
    /// (0 when empty).
    fn pop_batch(rx: &mut Self::Rx, max: usize, visit: impl FnMut(u64)) -> usize;
}

/// A channel with blocking send and receive that closes when its senders
/// are gone.
pub trait BlockingChannel: 'static {
    /// Name in the tables.
    const NAME: &'static str;
    /// True if it allows several senders / receivers.
    const MULTI_CONSUMER: bool;
    /// Sender endpoint.
    type Tx: Send + 'static;
    /// Receiver endpoint.
    type Rx: Send + 'static;
    /// Makes a channel of `cap` slots.
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// Another sender (for multi-producer scenarios).
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Another receiver (only called when `MULTI_CONSUMER`).
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
    /// Blocks until sent.
    fn send(tx: &mut Self::Tx, v: u64);
    /// Blocks until a value arrives; `None` once closed and drained.
    fn recv(rx: &mut Self::Rx) -> Option<u64>;
}

/// A channel with async send and receive.
pub trait AsyncChannel: 'static {
    /// Name in the tables.
    const NAME: &'static str;
    /// True if it allows several receivers.
    const MULTI_CONSUMER: bool;
    /// Sender endpoint.
    type Tx: Send + 'static;
    /// Receiver endpoint.
    type Rx: Send + 'static;
    /// Makes a channel of `cap` slots.
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// Another sender.
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Another receiver (only called when `MULTI_CONSUMER`).
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
    /// Sends, waiting while full.
    fn send(tx: &mut Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;
    /// Receives; `None` once closed and drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
}

/// Implements [`BlockingChannel`] for a channel whose senders are `Clone` and
/// whose blocking `send`/`recv` return `Result`.
macro_rules! blocking_peer {
    ($ty:ty, $name:literal, multi: $multi:literal, $tx:ty, $rx:ty, new: $new:expr, clone_rx: $clone_rx:expr) => {
        impl BlockingChannel for $ty {
            const NAME: &'static str = $name;
            const MULTI_CONSUMER: bool = $multi;
            type Tx = $tx;
            type Rx = $rx;
            fn new(cap: usize) -> (Self::Tx, Self::Rx) {
                ($new)(cap)
            }
            fn clone_tx(tx: &Self::Tx) -> Self::Tx {
                tx.clone()
            }
            fn clone_rx(rx: &Self::Rx) -> Self::Rx {
                ($clone_rx)(rx)
            }
            #[inline]
            fn send(tx: &mut Self::Tx, v: u64) {
                tx.send(v).unwrap()
            }
            #[inline]
            fn recv(rx: &mut Self::Rx) -> Option<u64> {
                rx.recv().ok()
            }
        }
    };
}

/// Implements [`AsyncChannel`] for a multi-consumer channel whose async
/// `send`/`recv` methods return futures of `Result`.
macro_rules! async_peer {
    ($ty:ty, $name:literal, $tx:ty, $rx:ty, new: $new:expr, $send:ident, $recv:ident) => {
        impl AsyncChannel for $ty {
            const NAME: &'static str = $name;
            const MULTI_CONSUMER: bool = true;
            type Tx = $tx;
            type Rx = $rx;
            fn new(cap: usize) -> (Self::Tx, Self::Rx) {
                ($new)(cap)
            }
            fn clone_tx(tx: &Self::Tx) -> Self::Tx {
                tx.clone()
            }
            fn clone_rx(rx: &Self::Rx) -> Self::Rx {
                rx.clone()
            }
            async fn send(tx: &mut Self::Tx, v: u64) {
                tx.$send(v).await.unwrap()
            }
            async fn recv(rx: &mut Self::Rx) -> Option<u64> {
                rx.$recv().await.ok()
            }
        }
    };
}

// ---- nimsync ---------------------------------------------------------------

/// nimsync's SPSC channel.
#[derive(Debug)]
pub struct NimSpsc;
/// nimsync's MPMC channel.
#[derive(Debug)]
pub struct NimMpmc;

impl SpinQueue for NimSpsc {
    const NAME: &'static str = "nimsync spsc";
    type Tx = nimsync_channel::spsc::Sender<u64>;
    type Rx = nimsync_channel::spsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::spsc::channel(cap)
    }
    #[inline]
    fn try_push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.try_send(v).is_ok()
    }
    #[inline]
    fn try_pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_recv().ok()
    }
}

impl BatchQueue for NimSpsc {
    const NAME: &'static str = "nimsync spsc";
    type Tx = nimsync_channel::spsc::Sender<u64>;
    type Rx = nimsync_channel::spsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::spsc::channel(cap)
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        tx.try_send_iter(&mut src.iter().copied()).unwrap_or(0)
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, max: usize, visit: impl FnMut(u64)) -> usize {
        let drain = rx.drain(max);
        let n = drain.len();
        drain.for_each(visit);
        n
    }
}

impl BlockingChannel for NimSpsc {
    const NAME: &'static str = "nimsync spsc";
    const MULTI_CONSUMER: bool = false;
    type Tx = nimsync_channel::spsc::Sender<u64>;
    type Rx = nimsync_channel::spsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::spsc::channel(cap)
    }
    fn clone_tx(_: &Self::Tx) -> Self::Tx {
        unreachable!("spsc has one sender")
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("spsc has one receiver")
    }
    #[inline]
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).unwrap()
    }
    #[inline]
    fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

blocking_peer!(NimMpmc, "nimsync mpmc", multi: true,
    nimsync_channel::mpmc::Sender<u64>, nimsync_channel::mpmc::Receiver<u64>,
    new: nimsync_channel::mpmc::channel, clone_rx: Clone::clone);

impl AsyncChannel for NimSpsc {
    const NAME: &'static str = "nimsync spsc";
    const MULTI_CONSUMER: bool = false;
    type Tx = nimsync_channel::spsc::Sender<u64>;
    type Rx = nimsync_channel::spsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::spsc::channel(cap)
    }
    fn clone_tx(_: &Self::Tx) -> Self::Tx {
        unreachable!("spsc has one sender")
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("spsc has one receiver")
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send_async(v).await.unwrap()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_async().await.ok()
    }
}

async_peer!(NimMpmc, "nimsync mpmc", nimsync_channel::mpmc::Sender<u64>,
    nimsync_channel::mpmc::Receiver<u64>, new: nimsync_channel::mpmc::channel, send_async, recv_async);

// ---- spinning peers ----------------------------------------------------------

/// rtrb's `RingBuffer`.
#[derive(Debug)]
pub struct Rtrb;

impl SpinQueue for Rtrb {
    const NAME: &'static str = "rtrb";
    type Tx = rtrb::Producer<u64>;
    type Rx = rtrb::Consumer<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        rtrb::RingBuffer::new(cap)
    }
    #[inline]
    fn try_push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline]
    fn try_pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop().ok()
    }
}

impl BatchQueue for Rtrb {
    const NAME: &'static str = "rtrb chunks";
    type Tx = rtrb::Producer<u64>;
    type Rx = rtrb::Consumer<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        rtrb::RingBuffer::new(cap)
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        let n = tx.slots().min(src.len());
        if n == 0 {
            return 0;
        }
        tx.write_chunk_uninit(n)
            .expect("slots checked")
            .fill_from_iter(src.iter().copied())
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, max: usize, mut visit: impl FnMut(u64)) -> usize {
        let n = rx.slots().min(max);
        if n == 0 {
            return 0;
        }
        let chunk = rx.read_chunk(n).expect("slots checked");
        let (a, b) = chunk.as_slices();
        a.iter().chain(b).copied().for_each(&mut visit);
        chunk.commit_all();
        n
    }
}

/// ringbuf's `HeapRb`.
#[derive(Debug)]
pub struct Ringbuf;

type RbProd = ringbuf::HeapProd<u64>;
type RbCons = ringbuf::HeapCons<u64>;

impl SpinQueue for Ringbuf {
    const NAME: &'static str = "ringbuf";
    type Tx = RbProd;
    type Rx = RbCons;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        use ringbuf::traits::Split;
        ringbuf::HeapRb::<u64>::new(cap).split()
    }
    #[inline]
    fn try_push(tx: &mut Self::Tx, v: u64) -> bool {
        use ringbuf::traits::Producer;
        tx.try_push(v).is_ok()
    }
    #[inline]
    fn try_pop(rx: &mut Self::Rx) -> Option<u64> {
        use ringbuf::traits::Consumer;
        rx.try_pop()
    }
}

impl BatchQueue for Ringbuf {
    const NAME: &'static str = "ringbuf slices";
    type Tx = RbProd;
    type Rx = RbCons;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        use ringbuf::traits::Split;
        ringbuf::HeapRb::<u64>::new(cap).split()
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        use ringbuf::traits::Producer;
        tx.push_slice(src)
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, max: usize, mut visit: impl FnMut(u64)) -> usize {
        use ringbuf::traits::Consumer;
        let (a, b) = rx.as_slices();
        let n = (a.len() + b.len()).min(max);
        a.iter().chain(b).take(n).copied().for_each(&mut visit);
        // SAFETY: the `n` values just visited are initialised `u64`s
        // (`Copy`, nothing to drop); skipping them hands the slots back.
        unsafe { rx.advance_read_index(n) };
        n
    }
}

/// crossbeam's `ArrayQueue` (an MPMC queue used SPSC here).
#[derive(Debug)]
pub struct ArrayQueue;

impl SpinQueue for ArrayQueue {
    const NAME: &'static str = "crossbeam ArrayQueue";
    type Tx = std::sync::Arc<crossbeam_queue::ArrayQueue<u64>>;
    type Rx = std::sync::Arc<crossbeam_queue::ArrayQueue<u64>>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        let q = std::sync::Arc::new(crossbeam_queue::ArrayQueue::new(cap));
        (q.clone(), q)
    }
    #[inline]
    fn try_push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline]
    fn try_pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop()
    }
}

// ---- blocking peers ----------------------------------------------------------

/// std's `sync_channel`.
#[derive(Debug)]
pub struct StdSync;
/// crossbeam-channel's `bounded`.
#[derive(Debug)]
pub struct Crossbeam;
/// flume's `bounded`.
#[derive(Debug)]
pub struct Flume;
/// kanal's `bounded`.
#[derive(Debug)]
pub struct Kanal;
/// tokio's `mpsc::channel`.
#[derive(Debug)]
pub struct TokioMpsc;
/// async-channel's `bounded`.
#[derive(Debug)]
pub struct AsyncChan;

blocking_peer!(StdSync, "std sync_channel", multi: false,
    std::sync::mpsc::SyncSender<u64>, std::sync::mpsc::Receiver<u64>,
    new: std::sync::mpsc::sync_channel,
    clone_rx: |_: &std::sync::mpsc::Receiver<u64>| unreachable!("std mpsc has one receiver"));
blocking_peer!(Crossbeam, "crossbeam-channel", multi: true,
    crossbeam_channel::Sender<u64>, crossbeam_channel::Receiver<u64>,
    new: crossbeam_channel::bounded, clone_rx: Clone::clone);
blocking_peer!(Flume, "flume", multi: true, flume::Sender<u64>, flume::Receiver<u64>,
    new: flume::bounded, clone_rx: Clone::clone);
blocking_peer!(Kanal, "kanal", multi: true, kanal::Sender<u64>, kanal::Receiver<u64>,
    new: kanal::bounded, clone_rx: Clone::clone);

// ---- async peers ---------------------------------------------------------------

impl AsyncChannel for TokioMpsc {
    const NAME: &'static str = "tokio mpsc";
    const MULTI_CONSUMER: bool = false;
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio mpsc has one receiver")
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).await.unwrap()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

async_peer!(AsyncChan, "async-channel", async_channel::Sender<u64>, async_channel::Receiver<u64>,
    new: async_channel::bounded, send, recv);
async_peer!(Flume, "flume", flume::Sender<u64>, flume::Receiver<u64>,
    new: flume::bounded, send_async, recv_async);
async_peer!(Kanal, "kanal", kanal::AsyncSender<u64>, kanal::AsyncReceiver<u64>,
    new: kanal::bounded_async, send, recv);

// ---- unbounded channels ------------------------------------------------------
// The `cap` the workloads pass is ignored: each is its library's unbounded
// channel.

/// nimsync's unbounded MPMC flavor.
#[derive(Debug)]
pub struct NimUnbounded;
/// crossbeam-channel's `unbounded`.
#[derive(Debug)]
pub struct CrossbeamUnbounded;
/// flume's `unbounded`.
#[derive(Debug)]
pub struct FlumeUnbounded;
/// kanal's `unbounded` (`unbounded_async` for the async rows).
#[derive(Debug)]
pub struct KanalUnbounded;
/// tokio's `unbounded_channel` (one receiver).
#[derive(Debug)]
pub struct TokioUnbounded;
/// async-channel's `unbounded`.
#[derive(Debug)]
pub struct AsyncChanUnbounded;

blocking_peer!(NimUnbounded, "nimsync mpmc unbounded", multi: true,
    nimsync_channel::mpmc::Sender<u64>, nimsync_channel::mpmc::Receiver<u64>,
    new: |_| nimsync_channel::mpmc::unbounded(), clone_rx: Clone::clone);
blocking_peer!(CrossbeamUnbounded, "crossbeam-channel unbounded", multi: true,
    crossbeam_channel::Sender<u64>, crossbeam_channel::Receiver<u64>,
    new: |_| crossbeam_channel::unbounded(), clone_rx: Clone::clone);
blocking_peer!(FlumeUnbounded, "flume unbounded", multi: true,
    flume::Sender<u64>, flume::Receiver<u64>,
    new: |_| flume::unbounded(), clone_rx: Clone::clone);
blocking_peer!(KanalUnbounded, "kanal unbounded", multi: true,
    kanal::Sender<u64>, kanal::Receiver<u64>,
    new: |_| kanal::unbounded(), clone_rx: Clone::clone);

async_peer!(NimUnbounded, "nimsync mpmc unbounded", nimsync_channel::mpmc::Sender<u64>,
    nimsync_channel::mpmc::Receiver<u64>, new: |_| nimsync_channel::mpmc::unbounded(),
    send_async, recv_async);
async_peer!(AsyncChanUnbounded, "async-channel unbounded", async_channel::Sender<u64>,
    async_channel::Receiver<u64>, new: |_| async_channel::unbounded(), send, recv);
async_peer!(FlumeUnbounded, "flume unbounded", flume::Sender<u64>, flume::Receiver<u64>,
    new: |_| flume::unbounded(), send_async, recv_async);
async_peer!(KanalUnbounded, "kanal unbounded", kanal::AsyncSender<u64>,
    kanal::AsyncReceiver<u64>, new: |_| kanal::unbounded_async(), send, recv);

impl AsyncChannel for TokioUnbounded {
    const NAME: &'static str = "tokio unbounded_channel";
    const MULTI_CONSUMER: bool = false;
    type Tx = tokio::sync::mpsc::UnboundedSender<u64>;
    type Rx = tokio::sync::mpsc::UnboundedReceiver<u64>;
    fn new(_: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::unbounded_channel()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio mpsc has one receiver")
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).unwrap()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

/// A bounded multi-producer channel with a drop-oldest send, consumed with
/// blocking receives.
pub trait ForceChannel: 'static {
    /// Name in the tables.
    const NAME: &'static str;
    /// Sender endpoint.
    type Tx: Send + 'static;
    /// Receiver endpoint.
    type Rx: Send + 'static;
    /// Makes a channel of `cap` slots.
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// Another sender.
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Sends without waiting, evicting the oldest value when full; true if
    /// a value was evicted.
    fn force_send(tx: &Self::Tx, v: u64) -> bool;
    /// Blocks until a value arrives; `None` once closed and drained.
    fn recv(rx: &mut Self::Rx) -> Option<u64>;
}

impl ForceChannel for NimMpmc {
    const NAME: &'static str = "nimsync mpmc";
    type Tx = nimsync_channel::mpmc::Sender<u64>;
    type Rx = nimsync_channel::mpmc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_channel::mpmc::channel(cap)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn force_send(tx: &Self::Tx, v: u64) -> bool {
        tx.force_send(v).expect("receiver alive").is_some()
    }
    fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

impl ForceChannel for AsyncChan {
    const NAME: &'static str = "async-channel";
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn force_send(tx: &Self::Tx, v: u64) -> bool {
        tx.force_send(v).expect("receiver alive").is_some()
    }
    fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_blocking().ok()
    }
}

// ---- nimsync-stream ----------------------------------------------------------

/// nimsync-stream's stream channel: `Block` as an async channel, and
/// `DropOldest` as a force-sending one.
#[derive(Debug)]
pub struct NimStream;

impl AsyncChannel for NimStream {
    const NAME: &'static str = "nimsync stream";
    const MULTI_CONSUMER: bool = false;
    type Tx = nimsync_stream::Sender<u64>;
    type Rx = nimsync_stream::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_stream::channel(cap, nimsync_stream::Overflow::Block)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("a stream channel has one receiver")
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send_async(v).await.unwrap()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        futures_lite::StreamExt::next(rx).await
    }
}

thread_local! {
    /// Set by the drop hook of [`NimStream`]'s `DropOldest` stage, on the
    /// thread whose send evicted a value.
    static EVICTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl ForceChannel for NimStream {
    const NAME: &'static str = "nimsync stream";
    type Tx = nimsync_stream::Sender<u64>;
    type Rx = nimsync_stream::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        nimsync_stream::Builder::new(cap, nimsync_stream::Overflow::DropOldest)
            .on_drop(|_, _| EVICTED.set(true))
            .build()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn force_send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).expect("receiver alive");
        EVICTED.replace(false)
    }
    fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}
