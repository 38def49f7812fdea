//! Model-based property tests: random operation sequences on one thread,
//! each result compared with a `VecDeque` model plus a closed flag.

mod common;

use std::collections::VecDeque;
use std::task::Poll;
use std::time::Duration;

use common::{counting_waker, poll_with};
use nimsync_channel::{
    RecvError, RecvTimeoutError, TryRecvError, TrySendError, mpmc, oneshot, spsc,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // Miri runs isolated from the file system; regressions are shrunk
        // and printed instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn max_ops() -> usize {
    if cfg!(miri) { 16 } else { 96 }
}

/// One step of a ring-channel model test.
#[derive(Debug, Clone)]
enum Op {
    TrySend,
    TryRecv,
    CloseFromSender,
    CloseFromReceiver,
    /// `try_send_iter` with an iterator of this many values (at least 1).
    SendBatch(usize),
    /// spsc: `try_send_slice` with a slice of this many values, at least 1 (mpmc:
    /// `try_send_iter`, as `SendBatch`).
    SendSlice(usize),
    /// `try_recv_many` with this limit (may be 0).
    RecvBatch(usize),
    /// Take a permit (mpmc: keep it; spsc: use it at once).
    Reserve,
    /// Send through the oldest held permit (spsc: reserve and send).
    PermitSend,
    /// Drop the oldest held permit (spsc: reserve and drop).
    PermitDrop,
    /// Compare `len`, `is_empty`, `is_full`, `is_closed`, `capacity`.
    Check,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::TrySend),
        4 => Just(Op::TryRecv),
        1 => Just(Op::CloseFromSender),
        1 => Just(Op::CloseFromReceiver),
        2 => (1usize..=10).prop_map(Op::SendBatch),
        2 => (1usize..=10).prop_map(Op::SendSlice),
        2 => (0usize..=10).prop_map(Op::RecvBatch),
        1 => Just(Op::Reserve),
        1 => Just(Op::PermitSend),
        1 => Just(Op::PermitDrop),
        2 => Just(Op::Check),
    ]
}

/// The sequential model of a bounded channel.
#[derive(Debug)]
struct Model {
    buf: VecDeque<u32>,
    cap: usize,
    closed: bool,
    /// Outstanding permits (mpmc only; always 0 for spsc).
    permits: usize,
    next: u32,
}

impl Model {
    fn new(cap: usize) -> Self {
        Self {
            buf: VecDeque::new(),
            cap,
            closed: false,
            permits: 0,
            next: 0,
        }
    }

    fn fresh(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    fn free(&self) -> usize {
        self.cap - self.buf.len() - self.permits
    }

    fn try_send(&mut self, v: u32) -> Result<(), TrySendError<u32>> {
        if self.closed {
            Err(TrySendError::Closed(v))
        } else if self.free() == 0 {
            Err(TrySendError::Full(v))
        } else {
            self.buf.push_back(v);
            Ok(())
        }
    }

    fn try_recv(&mut self) -> Result<u32, TryRecvError> {
        match self.buf.pop_front() {
            Some(v) => Ok(v),
            None if self.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }

    /// Sends up to `values.len()` values; returns the result and how many
    /// were taken.
    fn send_batch(&mut self, values: &[u32]) -> Result<usize, TrySendError<()>> {
        if self.closed {
            return Err(TrySendError::Closed(()));
        }
        let n = values.len().min(self.free());
        if n == 0 {
            return Err(TrySendError::Full(()));
        }
        self.buf.extend(&values[..n]);
        Ok(n)
    }

    fn recv_batch(&mut self, limit: usize) -> Result<Vec<u32>, TryRecvError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if self.buf.is_empty() {
            return Err(if self.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let n = limit.min(self.buf.len());
        Ok(self.buf.drain(..n).collect())
    }

    fn try_reserve(&mut self) -> Result<(), TrySendError<()>> {
        if self.closed {
            Err(TrySendError::Closed(()))
        } else if self.free() == 0 {
            Err(TrySendError::Full(()))
        } else {
            self.permits += 1;
            Ok(())
        }
    }
}

fn run_spsc(cap: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let (mut tx, mut rx) = spsc::channel::<u32>(cap);
    let mut m = Model::new(cap);
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::TrySend => {
                let v = m.fresh();
                prop_assert_eq!(tx.try_send(v), m.try_send(v), "step {}: {:?}", step, op);
            }
            Op::TryRecv => prop_assert_eq!(rx.try_recv(), m.try_recv(), "step {}", step),
            Op::CloseFromSender => prop_assert_eq!(tx.close(), m.close(), "step {}", step),
            Op::CloseFromReceiver => prop_assert_eq!(rx.close(), m.close(), "step {}", step),
            Op::SendBatch(k) => {
                let values: Vec<u32> = (0..k).map(|_| m.fresh()).collect();
                let mut iter = values.iter().copied();
                let got = tx.try_send_iter(&mut iter);
                let want = m.send_batch(&values);
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
                let taken = want.unwrap_or(0);
                prop_assert_eq!(iter.collect::<Vec<_>>(), &values[taken..], "step {}", step);
            }
            Op::SendSlice(k) => {
                let values: Vec<u32> = (0..k).map(|_| m.fresh()).collect();
                let got = tx.try_send_slice(&values);
                let want = m.send_batch(&values);
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
            }
            Op::RecvBatch(limit) => {
                let mut buf = vec![0];
                let got = rx.try_recv_many(&mut buf, limit);
                match m.recv_batch(limit) {
                    Ok(values) => {
                        prop_assert_eq!(got, Ok(values.len()), "step {}: {:?}", step, op);
                        prop_assert_eq!(&buf[1..], &values[..], "step {}", step);
                    }
                    Err(e) => {
                        prop_assert_eq!(got, Err(e), "step {}: {:?}", step, op);
                        prop_assert_eq!(buf.len(), 1);
                    }
                }
            }
            Op::Reserve | Op::PermitSend => {
                // An spsc permit borrows the sender: reserve and use it at once.
                let v = m.fresh();
                let got = match tx.try_reserve() {
                    Ok(permit) => permit.send(v).map_err(|e| TrySendError::Closed(e.0)),
                    Err(TrySendError::Full(())) => Err(TrySendError::Full(v)),
                    Err(TrySendError::Closed(())) => Err(TrySendError::Closed(v)),
                };
                prop_assert_eq!(got, m.try_send(v), "step {}: {:?}", step, op);
            }
            Op::PermitDrop => {
                let ok = !m.closed && m.free() != 0;
                prop_assert_eq!(tx.try_reserve().is_ok(), ok, "step {}", step);
            }
            Op::Check => {
                prop_assert_eq!(
                    (tx.len(), rx.len()),
                    (m.buf.len(), m.buf.len()),
                    "step {}",
                    step
                );
                prop_assert_eq!(tx.is_empty(), m.buf.is_empty());
                prop_assert_eq!(rx.is_empty(), m.buf.is_empty());
                prop_assert_eq!(tx.is_full(), m.buf.len() == cap);
                prop_assert_eq!(rx.is_full(), m.buf.len() == cap);
                prop_assert_eq!((tx.is_closed(), rx.is_closed()), (m.closed, m.closed));
                prop_assert_eq!((tx.capacity(), rx.capacity()), (cap, cap));
            }
        }
    }
    // Close and drain: exactly what the model holds, in order.
    tx.close();
    let rest: Vec<u32> = rx.try_iter().collect();
    prop_assert_eq!(rest, m.buf.iter().copied().collect::<Vec<_>>());
    prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    Ok(())
}

fn run_mpmc(cap: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let (tx, rx) = mpmc::channel::<u32>(cap);
    // A second pair of handles, used on odd steps, to mix endpoints.
    let (tx2, rx2) = (tx.clone(), rx.clone());
    let mut permits: VecDeque<mpmc::Permit<'_, u32>> = VecDeque::new();
    let mut m = Model::new(cap);
    for (step, op) in ops.iter().enumerate() {
        let (tx, rx) = if step % 2 == 0 {
            (&tx, &rx)
        } else {
            (&tx2, &rx2)
        };
        match *op {
            Op::TrySend => {
                let v = m.fresh();
                prop_assert_eq!(tx.try_send(v), m.try_send(v), "step {}: {:?}", step, op);
            }
            Op::TryRecv => prop_assert_eq!(rx.try_recv(), m.try_recv(), "step {}", step),
            Op::CloseFromSender => prop_assert_eq!(tx.close(), m.close(), "step {}", step),
            Op::CloseFromReceiver => prop_assert_eq!(rx.close(), m.close(), "step {}", step),
            Op::SendBatch(k) | Op::SendSlice(k) => {
                let values: Vec<u32> = (0..k).map(|_| m.fresh()).collect();
                let mut iter = values.iter().copied().peekable();
                let got = tx.try_send_iter(&mut iter);
                let want = m.send_batch(&values);
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
                let taken = want.unwrap_or(0);
                prop_assert_eq!(iter.collect::<Vec<_>>(), &values[taken..], "step {}", step);
            }
            Op::RecvBatch(limit) => {
                let mut buf = vec![0];
                let got = rx.try_recv_many(&mut buf, limit);
                match m.recv_batch(limit) {
                    Ok(values) => {
                        prop_assert_eq!(got, Ok(values.len()), "step {}: {:?}", step, op);
                        prop_assert_eq!(&buf[1..], &values[..], "step {}", step);
                    }
                    Err(e) => {
                        prop_assert_eq!(got, Err(e), "step {}: {:?}", step, op);
                        prop_assert_eq!(buf.len(), 1);
                    }
                }
            }
            Op::Reserve => {
                let got = tx.try_reserve();
                let want = m.try_reserve();
                prop_assert_eq!(
                    got.as_ref().err().copied(),
                    want.err(),
                    "step {}: {:?}",
                    step,
                    op
                );
                if let Ok(p) = got {
                    permits.push_back(p);
                }
            }
            Op::PermitSend => {
                if let Some(p) = permits.pop_front() {
                    m.permits -= 1;
                    let v = m.fresh();
                    let want = if m.closed {
                        Err(v)
                    } else {
                        m.buf.push_back(v);
                        Ok(())
                    };
                    prop_assert_eq!(p.send(v).map_err(|e| e.0), want, "step {}", step);
                }
            }
            Op::PermitDrop => {
                if permits.pop_front().is_some() {
                    m.permits -= 1;
                }
            }
            Op::Check => {
                prop_assert_eq!(
                    (tx.len(), rx.len()),
                    (m.buf.len(), m.buf.len()),
                    "step {}",
                    step
                );
                prop_assert_eq!(tx.is_empty(), m.buf.is_empty());
                prop_assert_eq!(rx.is_empty(), m.buf.is_empty());
                // Both views count promised room: held permits make it fuller.
                prop_assert_eq!(tx.is_full(), m.buf.len() + m.permits == cap);
                prop_assert_eq!(rx.is_full(), m.buf.len() + m.permits == cap);
                prop_assert_eq!((tx.is_closed(), rx.is_closed()), (m.closed, m.closed));
                prop_assert_eq!((tx.capacity(), rx.capacity()), (cap, cap));
            }
        }
    }
    drop(permits);
    tx.close();
    let rest: Vec<u32> = rx2.try_iter().collect();
    prop_assert_eq!(rest, m.buf.iter().copied().collect::<Vec<_>>());
    prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    Ok(())
}

/// One step of a oneshot model test.
#[derive(Debug, Clone)]
enum OneshotOp {
    Send,
    DropSender,
    TryRecv,
    /// `recv_timeout(0)`.
    RecvTimeout,
    /// Poll the receiver as a future (skipped once it completed).
    Poll,
    Close,
    Check,
}

fn oneshot_op() -> impl Strategy<Value = OneshotOp> {
    prop_oneof![
        Just(OneshotOp::Send),
        Just(OneshotOp::DropSender),
        Just(OneshotOp::TryRecv),
        Just(OneshotOp::RecvTimeout),
        Just(OneshotOp::Poll),
        Just(OneshotOp::Close),
        Just(OneshotOp::Check),
    ]
}

fn run_oneshot(ops: &[OneshotOp]) -> Result<(), TestCaseError> {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let mut tx = Some(tx);
    let (wakes, waker) = counting_waker();
    // Model state.
    let mut value: Option<u32> = None;
    let mut tx_gone = false;
    let mut rx_closed = false;
    let mut done = false;
    let mut registered = false;
    let mut expected_wakes = 0;
    let mut next = 0u32;
    for (step, op) in ops.iter().enumerate() {
        match op {
            OneshotOp::Send => {
                let Some(sender) = tx.take() else { continue };
                next += 1;
                let want = if rx_closed {
                    Err(nimsync_channel::SendError(next))
                } else {
                    value = Some(next);
                    Ok(())
                };
                prop_assert_eq!(sender.send(next), want, "step {}", step);
                tx_gone = true;
                if registered {
                    // Sending or dropping the sender wakes the pending receiver.
                    expected_wakes += 1;
                    registered = false;
                }
            }
            OneshotOp::DropSender => {
                if tx.take().is_some() {
                    tx_gone = true;
                    if registered {
                        expected_wakes += 1;
                        registered = false;
                    }
                }
            }
            OneshotOp::TryRecv => {
                let want = match value.take() {
                    Some(v) => {
                        done = true;
                        Ok(v)
                    }
                    None if tx_gone || rx_closed => Err(TryRecvError::Closed),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(rx.try_recv(), want, "step {}", step);
            }
            OneshotOp::RecvTimeout => {
                let want = match value.take() {
                    Some(v) => {
                        done = true;
                        Ok(v)
                    }
                    None if tx_gone || rx_closed => Err(RecvTimeoutError::Closed),
                    None => Err(RecvTimeoutError::Timeout),
                };
                prop_assert_eq!(rx.recv_timeout(Duration::ZERO), want, "step {}", step);
            }
            OneshotOp::Poll => {
                if done {
                    continue; // polling again would panic, by contract
                }
                let want = match value.take() {
                    Some(v) => Poll::Ready(Ok(v)),
                    None if tx_gone || rx_closed => Poll::Ready(Err(RecvError)),
                    None => Poll::Pending,
                };
                done = want.is_ready();
                registered = want.is_pending();
                prop_assert_eq!(poll_with(&mut rx, &waker), want, "step {}", step);
            }
            OneshotOp::Close => {
                rx.close();
                rx_closed = true;
            }
            OneshotOp::Check => {
                let terminated = done || (value.is_none() && (tx_gone || rx_closed));
                prop_assert_eq!(rx.is_terminated(), terminated, "step {}", step);
                if let Some(sender) = &tx {
                    prop_assert_eq!(sender.is_closed(), rx_closed, "step {}", step);
                }
            }
        }
        prop_assert_eq!(wakes.count(), expected_wakes, "step {}: {:?}", step, op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn spsc_matches_the_model(cap in 1usize..=8, ops in vec(op(), 0..max_ops())) {
        run_spsc(cap, &ops)?;
    }

    #[test]
    fn mpmc_matches_the_model(cap in 1usize..=8, ops in vec(op(), 0..max_ops())) {
        run_mpmc(cap, &ops)?;
    }

    #[test]
    fn oneshot_matches_the_model(ops in vec(oneshot_op(), 0..if cfg!(miri) { 12 } else { 32 })) {
        run_oneshot(&ops)?;
    }
}
