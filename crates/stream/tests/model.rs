//! Each overflow policy of the stream channel and of the `buffer` stage
//! against a sequential model: a `VecDeque` and counters.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_lite::{Stream, StreamExt, stream};
use nimsync_stream::{
    Builder, DropReason, Metrics, Overflow, RecvError, StageExt, TryRecvError, TrySendError,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Policy {
    Block,
    DropOldest,
    DropNewest,
    DropBuffer,
    Fail,
    Conflate,
}

impl Policy {
    fn overflow(self) -> Overflow<u32> {
        match self {
            Policy::Block => Overflow::Block,
            Policy::DropOldest => Overflow::DropOldest,
            Policy::DropNewest => Overflow::DropNewest,
            Policy::DropBuffer => Overflow::DropBuffer,
            Policy::Fail => Overflow::Fail,
            Policy::Conflate => Overflow::conflate(fold),
        }
    }
}

/// A fold whose result shows what was folded, in order.
fn fold(newest: &mut u32, new: u32) {
    *newest = newest.wrapping_mul(31).wrapping_add(new);
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Block),
        Just(Policy::DropOldest),
        Just(Policy::DropNewest),
        Just(Policy::DropBuffer),
        Just(Policy::Fail),
        Just(Policy::Conflate),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Send(u32),
    Recv,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u32>().prop_map(Op::Send),
        4 => Just(Op::Recv),
        1 => Just(Op::Close),
    ]
}

/// The sequential model of a stream channel.
#[derive(Default)]
struct Model {
    items: VecDeque<u32>,
    /// The item being conflated, after `items`.
    spill: Option<u32>,
    closed: bool,
    failed: bool,
    dropped: Vec<(u32, DropReason)>,
    m: Metrics,
}

impl Model {
    fn send(&mut self, policy: Policy, cap: usize, v: u32) -> Result<(), TrySendError<u32>> {
        if self.closed {
            return Err(TrySendError::Closed(v));
        }
        let full = self.items.len() == cap;
        if let (Policy::Conflate, Some(s)) = (policy, self.spill.as_mut()) {
            self.m.offered += 1;
            fold(s, v);
            self.m.conflated += 1;
            return Ok(());
        }
        if !full {
            self.m.offered += 1;
            self.items.push_back(v);
        } else {
            match policy {
                Policy::Block => return Err(TrySendError::Full(v)),
                Policy::DropOldest => {
                    self.m.offered += 1;
                    let old = self.items.pop_front().unwrap();
                    self.dropped.push((old, DropReason::Oldest));
                    self.m.dropped_oldest += 1;
                    self.items.push_back(v);
                }
                Policy::DropNewest => {
                    self.m.offered += 1;
                    self.dropped.push((v, DropReason::Newest));
                    self.m.dropped_newest += 1;
                }
                Policy::DropBuffer => {
                    self.m.offered += 1;
                    for old in self.items.drain(..) {
                        self.dropped.push((old, DropReason::Buffer));
                        self.m.dropped_buffer += 1;
                    }
                    self.items.push_back(v);
                }
                Policy::Fail => {
                    self.m.offered += 1;
                    self.m.rejected += 1;
                    self.failed = true;
                    self.closed = true;
                    return Err(TrySendError::Overflowed(v));
                }
                Policy::Conflate => {
                    self.m.offered += 1;
                    self.spill = Some(v);
                }
            }
        }
        self.m.high_water = self.m.high_water.max(self.depth());
        Ok(())
    }

    fn recv(&mut self) -> Result<u32, TryRecvError> {
        match self.items.pop_front().or_else(|| self.spill.take()) {
            Some(v) => {
                self.m.delivered += 1;
                Ok(v)
            }
            None if !self.closed => Err(TryRecvError::Empty),
            None if self.failed => Err(TryRecvError::Ended(RecvError::Overflowed)),
            None => Err(TryRecvError::Ended(RecvError::Closed)),
        }
    }

    fn depth(&self) -> usize {
        self.items.len() + usize::from(self.spill.is_some())
    }

    fn metrics(&self) -> Metrics {
        let mut m = self.m;
        m.depth = self.depth();
        m
    }
}

type Log = Arc<Mutex<Vec<(u32, DropReason)>>>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 512 }))]

    #[test]
    fn channel_matches_the_model(
        policy in policy(),
        cap in 1usize..5,
        ops in prop::collection::vec(op(), 0..80),
    ) {
        let log: Log = Arc::default();
        let left = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = Builder::new(cap, policy.overflow())
            .on_drop({ let log = log.clone(); move |v, r| log.lock().unwrap().push((v, r)) })
            .on_undelivered({ let left = left.clone(); move |v| left.lock().unwrap().push(v) })
            .build();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Send(v) => prop_assert_eq!(tx.try_send(v), model.send(policy, cap, v)),
                Op::Recv => prop_assert_eq!(rx.try_recv(), model.recv()),
                Op::Close => {
                    prop_assert_eq!(rx.close(), !model.closed);
                    model.closed = true;
                }
            }
            prop_assert_eq!(rx.metrics(), model.metrics());
            prop_assert_eq!(&*log.lock().unwrap(), &model.dropped);
        }
        let m = rx.metrics();
        prop_assert_eq!(
            m.offered,
            m.delivered + m.dropped() + m.conflated + m.rejected + m.undelivered + m.depth as u64
        );
        // What the consumer never took goes to the hook, oldest first.
        let held: Vec<u32> = model.items.iter().copied().chain(model.spill).collect();
        drop(rx);
        prop_assert_eq!(&*left.lock().unwrap(), &held);
        prop_assert_eq!(tx.metrics().undelivered, held.len() as u64);
        prop_assert!(tx.is_closed());
    }

    #[test]
    fn buffer_matches_the_model(
        policy in policy(),
        cap in 1usize..5,
        // Each inner batch is what the upstream has ready before its next
        // `Pending`.
        batches in prop::collection::vec(prop::collection::vec(any::<u32>(), 0..8), 0..12),
    ) {
        let log: Log = Arc::default();
        let mut stage = Script::new(batches.clone())
            .buffer(cap, policy.overflow())
            .on_drop({ let log = log.clone(); move |v, r| log.lock().unwrap().push((v, r)) });
        let mut model = BufferModel { script: Script::new(batches), ..BufferModel::default() };
        for _ in 0..1000 {
            let got = futures_lite::future::block_on(futures_lite::future::poll_once(stage.next()));
            let want = model.poll(policy, cap);
            prop_assert_eq!(got, want);
            let mut want_m = model.m;
            want_m.depth = model.items.len();
            prop_assert_eq!(stage.metrics(), want_m);
            prop_assert_eq!(&*log.lock().unwrap(), &model.dropped);
            if want == Some(None) {
                prop_assert_eq!(stage.overflowed(), model.failed);
                break;
            }
        }
    }
}

/// The sequential model of the `buffer` stage over a [`Script`].
#[derive(Default)]
struct BufferModel {
    script: Script,
    items: VecDeque<u32>,
    done: bool,
    failed: bool,
    dropped: Vec<(u32, DropReason)>,
    m: Metrics,
}

impl BufferModel {
    /// One poll: `None` for pending, `Some(None)` for the end.
    fn poll(&mut self, policy: Policy, cap: usize) -> Option<Option<u32>> {
        while !self.done && !self.failed {
            if matches!(policy, Policy::Block) && self.items.len() == cap {
                break;
            }
            let v = match self.script.pull() {
                Pull::Item(v) => v,
                Pull::Pending => break,
                Pull::End => {
                    self.done = true;
                    break;
                }
            };
            self.m.offered += 1;
            if self.items.len() < cap {
                self.items.push_back(v);
            } else {
                match policy {
                    Policy::Block => unreachable!(),
                    Policy::DropOldest => {
                        let old = self.items.pop_front().unwrap();
                        self.drop(old, DropReason::Oldest);
                        self.items.push_back(v);
                    }
                    Policy::DropNewest => self.drop(v, DropReason::Newest),
                    Policy::DropBuffer => {
                        for old in std::mem::take(&mut self.items) {
                            self.drop(old, DropReason::Buffer);
                        }
                        self.items.push_back(v);
                    }
                    Policy::Fail => {
                        self.drop(v, DropReason::Failed);
                        self.failed = true;
                    }
                    Policy::Conflate => {
                        fold(self.items.back_mut().unwrap(), v);
                        self.m.conflated += 1;
                    }
                }
            }
            self.m.high_water = self.m.high_water.max(self.items.len());
        }
        if let Some(v) = self.items.pop_front() {
            self.m.delivered += 1;
            Some(Some(v))
        } else if self.done || self.failed {
            Some(None)
        } else {
            None
        }
    }

    fn drop(&mut self, v: u32, reason: DropReason) {
        self.dropped.push((v, reason));
        match reason {
            DropReason::Oldest => self.m.dropped_oldest += 1,
            DropReason::Newest => self.m.dropped_newest += 1,
            DropReason::Buffer => self.m.dropped_buffer += 1,
            _ => self.m.dropped_failed += 1,
        }
    }
}

enum Pull {
    Item(u32),
    Pending,
    End,
}

/// A stream that yields its batches, returning `Pending` (and waking
/// itself) between two batches.
#[derive(Default)]
struct Script {
    batches: VecDeque<VecDeque<u32>>,
}

impl Script {
    fn new(batches: Vec<Vec<u32>>) -> Self {
        Self {
            batches: batches.into_iter().map(VecDeque::from).collect(),
        }
    }

    fn pull(&mut self) -> Pull {
        let Some(batch) = self.batches.front_mut() else {
            return Pull::End;
        };
        if let Some(v) = batch.pop_front() {
            return Pull::Item(v);
        }
        self.batches.pop_front();
        if self.batches.is_empty() {
            Pull::End
        } else {
            Pull::Pending
        }
    }
}

impl Stream for Script {
    type Item = u32;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u32>> {
        match self.pull() {
            Pull::Item(v) => std::task::Poll::Ready(Some(v)),
            Pull::End => std::task::Poll::Ready(None),
            Pull::Pending => {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }
    }
}

#[test]
fn zero_capacity_panics_with_advice() {
    let err =
        std::panic::catch_unwind(|| nimsync_stream::channel::<u8>(0, Overflow::Block)).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or_default()
        .to_owned()
        + err
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
    assert!(msg.contains("mpmc::channel(0)"), "{msg}");
    let err =
        std::panic::catch_unwind(|| stream::iter(0..1).buffer(0, Overflow::Block)).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("at least 1"), "{msg}");
}
