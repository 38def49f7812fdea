//! The bounded stream channel: producers on any thread or task, one
//! consumer that is a [`futures_core::Stream`], and an [`Overflow`] policy.

mod receiver;
mod sender;
mod shared;
mod sink;

use std::fmt;
use std::sync::Arc;

use nimsync_channel::mpmc;

pub use receiver::{Receiver, RecvFuture};
pub use sender::{SendFuture, Sender};
use shared::Shared;
pub use sink::SendSink;

use crate::overflow::{DropHook, UndeliveredHook};
use crate::{DropReason, Overflow};

/// A bounded stream channel of `capacity` items with an overflow policy.
///
/// Shorthand for [`Builder::new(capacity, overflow).build()`](Builder);
/// the builder adds the `on_drop` and `on_undelivered` hooks.
///
/// # Panics
///
/// If `capacity` is 0: a stream stage needs at least one slot. For a
/// hand-off with no buffer, use `nimsync_channel::mpmc::channel(0)`.
///
/// # Examples
///
/// ```
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, mut rx) = channel(16, Overflow::Block);
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn channel<T>(capacity: usize, overflow: Overflow<T>) -> (Sender<T>, Receiver<T>) {
    Builder::new(capacity, overflow).build()
}

/// Builds a stream [`channel`] with hooks that see every item it drops and
/// every item left undelivered.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use nimsync_stream::{Builder, DropReason, Overflow};
///
/// let dropped = Arc::new(Mutex::new(Vec::new()));
/// let left = Arc::new(Mutex::new(Vec::new()));
/// let (tx, rx) = Builder::new(2, Overflow::DropOldest)
///     .on_drop({
///         let dropped = dropped.clone();
///         move |item, reason| dropped.lock().unwrap().push((item, reason))
///     })
///     .on_undelivered({
///         let left = left.clone();
///         move |item| left.lock().unwrap().push(item)
///     })
///     .build();
/// for i in 0..4 {
///     tx.send(i).unwrap();
/// }
/// drop(rx); // 2 and 3 were never taken
/// assert_eq!(*dropped.lock().unwrap(), [(0, DropReason::Oldest), (1, DropReason::Oldest)]);
/// assert_eq!(*left.lock().unwrap(), [2, 3]);
/// ```
pub struct Builder<T> {
    capacity: usize,
    overflow: Overflow<T>,
    on_drop: Option<DropHook<T>>,
    on_undelivered: Option<UndeliveredHook<T>>,
}

impl<T> Builder<T> {
    /// A builder for a stage of `capacity` items under `overflow`.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (see [`channel`]).
    ///
    /// ```
    /// let (_tx, rx) = nimsync_stream::Builder::<u8>::new(4, nimsync_stream::Overflow::Block).build();
    /// assert_eq!(rx.capacity(), 4);
    /// ```
    pub fn new(capacity: usize, overflow: Overflow<T>) -> Self {
        assert!(
            capacity > 0,
            "a stream channel needs a capacity of at least 1; for a hand-off with no buffer \
             use nimsync_channel::mpmc::channel(0)"
        );
        Self {
            capacity,
            overflow,
            on_drop: None,
            on_undelivered: None,
        }
    }

    /// Calls `hook(item, reason)` for each item the policy drops, on the
    /// thread of the send that dropped it. Keep it short: the send waits
    /// for it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// let seen = Arc::new(AtomicU32::new(0));
    /// let counter = seen.clone();
    /// let (tx, _rx) = nimsync_stream::Builder::new(1, nimsync_stream::Overflow::DropNewest)
    ///     .on_drop(move |_: u8, _| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(seen.load(Ordering::Relaxed), 1);
    /// ```
    pub fn on_drop(mut self, hook: impl Fn(T, DropReason) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Arc::new(hook));
        self
    }

    /// Calls `hook(item)` for each item the stage still holds when its
    /// receiver is dropped, oldest first, on the thread that drops it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let left = Arc::new(Mutex::new(Vec::new()));
    /// let sink = left.clone();
    /// let (tx, rx) = nimsync_stream::Builder::new(4, nimsync_stream::Overflow::Block)
    ///     .on_undelivered(move |item| sink.lock().unwrap().push(item))
    ///     .build();
    /// tx.send("a").unwrap();
    /// drop(rx);
    /// assert_eq!(*left.lock().unwrap(), ["a"]);
    /// ```
    pub fn on_undelivered(mut self, hook: impl Fn(T) + Send + Sync + 'static) -> Self {
        self.on_undelivered = Some(Arc::new(hook));
        self
    }

    /// Makes the channel.
    ///
    /// ```
    /// let (tx, mut rx) = nimsync_stream::Builder::new(4, nimsync_stream::Overflow::Block).build();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn build(self) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = mpmc::channel(self.capacity);
        let shared = Arc::new(Shared::new(
            &rx,
            self.overflow,
            self.on_drop,
            self.on_undelivered,
        ));
        (
            Sender::new(tx, Arc::clone(&shared)),
            Receiver::new(rx, shared),
        )
    }
}

impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("on_drop", &self.on_drop.is_some())
            .field("on_undelivered", &self.on_undelivered.is_some())
            .finish()
    }
}
