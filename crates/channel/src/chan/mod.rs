//! The shapes every flavor shares, written once: the blocking send and
//! receive loops, the futures, the stream and the iterators. Each is
//! generic over the queue it waits on, which a flavor describes by
//! implementing [`SendChan`], [`RecvChan`] or [`CloseChan`] (as tokio's
//! `Chan<T, S>` serves its bounded and unbounded channels). The flavors
//! export them under their own names (`mpmc::SendFuture`,
//! `spsc::RecvStream`, ...).
//!
//! A shape holds a [`Handle`]: the reference or endpoint it borrows or
//! owns (`&mpmc::Flavor<T>`, `&mut spsc::Receiver<T>`, an owned receiver),
//! which gives it the queue. Everything is monomorphised per flavor, so a
//! shape compiles to the code the flavor would have written itself.
//!
//! The traits are public only so that the flavors' aliases may name them;
//! they live in a private module, so no one outside the crate can name or
//! implement them.

use std::time::Instant;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::waiter::{WaitQueue, block_thread};

mod future;
mod iter;
pub(crate) mod run;

pub(crate) use future::{ClosedFuture, RecvFuture, RecvStream, SendFuture};
pub(crate) use iter::{Iter, TryIter};

/// A flavor's channel state, as the shared shapes see it.
pub trait Chan {
    /// The flavor's module name, for `Debug` output (`"mpmc"`).
    const FLAVOR: &'static str;
}

/// The sending side of a flavor.
pub trait SendChan: Chan {
    /// The message type.
    type Item;
    /// Sends without waiting.
    fn try_send(&self, value: Self::Item) -> Result<(), TrySendError<Self::Item>>;
    /// The senders waiting for room.
    fn send_wait(&self) -> &WaitQueue;
    /// Called by a blocking send that found no room on its first try,
    /// before it waits: the mirror of [`RecvChan::before_waiting`], for a
    /// sender at its receivers' heels. Nothing by default.
    #[inline(always)]
    fn before_waiting(&self) {}
    /// Called by a blocking send that waited and then sent on its
    /// `tries`-th try (the first try is 1). Nothing by default.
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        let _ = tries;
    }
}

/// The receiving side of a flavor.
pub trait RecvChan: Chan {
    /// The message type.
    type Item;
    /// Receives without waiting.
    fn try_recv(&self) -> Result<Self::Item, TryRecvError>;
    /// The receivers waiting for a message.
    fn recv_wait(&self) -> &WaitQueue;
    /// Messages buffered right now.
    fn len(&self) -> usize;
    /// Called by a blocking receive that found nothing on its first try,
    /// before it waits: a flavor whose receivers slow its senders down
    /// when they take each message as it lands may wait here for a run of
    /// messages to build up. Nothing by default.
    #[inline(always)]
    fn before_waiting(&self) {}
    /// Called by a blocking receive that waited and then got a value on its
    /// `tries`-th try (the first try is 1). Nothing by default.
    #[inline(always)]
    fn after_waiting(&self, tries: u32) {
        let _ = tries;
    }
}

/// The close of a flavor, as a `closed()` future waits for it.
pub trait CloseChan: Chan {
    /// True once the channel is closed.
    fn is_closed(&self) -> bool;
    /// The `closed()` futures waiting.
    fn close_wait(&self) -> &WaitQueue;
}

/// What a shared shape holds to reach its channel: a reference to it, or
/// an endpoint that owns it.
pub trait Handle {
    /// The channel state the handle reaches.
    type Chan: ?Sized;
    /// True for an owned receiver (so `Debug` tells `IntoIter` from
    /// `Iter`).
    const OWNED: bool = false;
    /// The channel state.
    fn chan(&self) -> &Self::Chan;
}

impl<C: ?Sized> Handle for &C {
    type Chan = C;
    #[inline(always)]
    fn chan(&self) -> &C {
        self
    }
}

impl<C: ?Sized> Handle for &mut C {
    type Chan = C;
    #[inline(always)]
    fn chan(&self) -> &C {
        self
    }
}

/// Sends `value`, blocking the thread while the channel is full, until
/// `deadline` if there is one.
pub(crate) fn send_deadline<C: SendChan + ?Sized>(
    chan: &C,
    value: C::Item,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<C::Item>> {
    let mut slot = Some(value);
    let mut tries = 0u32;
    let res = block_thread(chan.send_wait(), deadline, || {
        tries += 1;
        match chan.try_send(slot.take().expect("value present while sending")) {
            Ok(()) => {
                if tries > 1 {
                    SendChan::after_waiting(chan, tries);
                }
                Some(Ok(()))
            }
            Err(TrySendError::Closed(v)) => Some(Err(v)),
            Err(TrySendError::Full(v)) => {
                slot = Some(v);
                if tries == 1 {
                    SendChan::before_waiting(chan);
                }
                None
            }
        }
    });
    match res {
        Some(Ok(())) => Ok(()),
        Some(Err(v)) => Err(SendTimeoutError::Closed(v)),
        None => Err(SendTimeoutError::Timeout(
            slot.take().expect("value kept on timeout"),
        )),
    }
}

/// Receives, blocking the thread while the channel is empty, until
/// `deadline` if there is one.
pub(crate) fn recv_deadline<C: RecvChan + ?Sized>(
    chan: &C,
    deadline: Option<Instant>,
) -> Result<C::Item, RecvTimeoutError> {
    let mut tries = 0u32;
    let res = block_thread(chan.recv_wait(), deadline, || {
        tries += 1;
        match chan.try_recv() {
            Ok(v) => {
                if tries > 1 {
                    RecvChan::after_waiting(chan, tries);
                }
                Some(Ok(v))
            }
            Err(TryRecvError::Closed) => Some(Err(RecvTimeoutError::Closed)),
            Err(TryRecvError::Empty) => {
                if tries == 1 {
                    RecvChan::before_waiting(chan);
                }
                None
            }
        }
    });
    res.unwrap_or(Err(RecvTimeoutError::Timeout))
}

/// The deadline `timeout` from now, or none if that is out of range.
pub(crate) fn deadline_after(timeout: std::time::Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
