//! The `buffer` stage: a bounded buffer with an overflow policy in front of
//! any stream.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::metrics::Counters;
use crate::overflow::{DropHook, UndeliveredHook};
use crate::{DropReason, Metrics, Overflow};

/// Items pulled from upstream in one poll before the stage returns one,
/// so that an upstream that is always ready cannot keep a poll going.
const PULL_BUDGET: usize = 256;

pin_project! {
    /// A bounded buffer with an [`Overflow`] policy in front of a stream:
    /// made by [`StageExt::buffer`](crate::StageExt::buffer).
    ///
    /// Each time it is polled it pulls every item the upstream has ready
    /// (up to its capacity under `Block`, and at most 256 per poll), applies
    /// the policy to those that do not fit, and returns the oldest item it
    /// holds. In front of a source that produces whether or not it is
    /// polled (a channel, a socket), this is where a slow consumer's
    /// overflow is decided. Under `Fail`, the item that overflows it goes
    /// to the `on_drop` hook with [`DropReason::Failed`], and the stage ends
    /// after the items it holds ([`overflowed`](Buffer::overflowed) says
    /// why).
    ///
    /// Dropping it hands the items it holds to the `on_undelivered` hook;
    /// [`into_remainder`](Buffer::into_remainder) returns them.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let s = stream::iter(0..10).buffer(3, Overflow::DropOldest);
    /// let got: Vec<i32> = futures_lite::future::block_on(s.collect());
    /// assert_eq!(got, [7, 8, 9]);
    /// ```
    pub struct Buffer<S: Stream> {
        #[pin]
        upstream: S,
        held: Held<S::Item>,
        overflow: Overflow<S::Item>,
        on_drop: Option<DropHook<S::Item>>,
        upstream_done: bool,
        failed: bool,
    }
}

/// The items a [`Buffer`] holds; hands them to the `on_undelivered` hook
/// when dropped.
struct Held<T> {
    items: VecDeque<T>,
    capacity: usize,
    counters: Counters,
    on_undelivered: Option<UndeliveredHook<T>>,
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        for item in self.items.drain(..) {
            self.counters.undelivered();
            if let Some(hook) = &self.on_undelivered {
                hook(item);
            }
        }
    }
}

impl<S: Stream> Buffer<S> {
    pub(crate) fn new(upstream: S, capacity: usize, overflow: Overflow<S::Item>) -> Self {
        assert!(
            capacity > 0,
            "`buffer` needs a capacity of at least 1; to pass items straight through, \
             leave the stage out"
        );
        Self {
            upstream,
            held: Held {
                items: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                counters: Counters::default(),
                on_undelivered: None,
            },
            overflow,
            on_drop: None,
            upstream_done: false,
            failed: false,
        }
    }

    /// Calls `hook(item, reason)` for each item the policy drops.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let dropped = Arc::new(Mutex::new(Vec::new()));
    /// let sink = dropped.clone();
    /// let s = stream::iter(0..5)
    ///     .buffer(2, Overflow::DropNewest)
    ///     .on_drop(move |item, _| sink.lock().unwrap().push(item));
    /// let got: Vec<i32> = futures_lite::future::block_on(s.collect());
    /// assert_eq!(got, [0, 1]);
    /// assert_eq!(*dropped.lock().unwrap(), [2, 3, 4]);
    /// ```
    pub fn on_drop(mut self, hook: impl Fn(S::Item, DropReason) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Arc::new(hook));
        self
    }

    /// Calls `hook(item)` for each item the stage holds when it is dropped.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let left = Arc::new(Mutex::new(Vec::new()));
    /// let sink = left.clone();
    /// let mut s = stream::iter(0..5)
    ///     .buffer(8, Overflow::Block)
    ///     .on_undelivered(move |item| sink.lock().unwrap().push(item));
    /// assert_eq!(futures_lite::future::block_on(s.next()), Some(0));
    /// drop(s);
    /// assert_eq!(*left.lock().unwrap(), [1, 2, 3, 4]);
    /// ```
    pub fn on_undelivered(mut self, hook: impl Fn(S::Item) + Send + Sync + 'static) -> Self {
        self.held.on_undelivered = Some(Arc::new(hook));
        self
    }

    /// The stage's counters now.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let mut s = stream::iter(0..10).buffer(4, Overflow::DropOldest);
    /// assert_eq!(futures_lite::future::block_on(s.next()), Some(6));
    /// let m = s.metrics();
    /// assert_eq!((m.offered, m.delivered, m.dropped_oldest, m.depth), (10, 1, 6, 3));
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.held.counters.snapshot(self.held.items.len())
    }

    /// True once a `Fail` policy ended the stage.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let mut s = stream::iter(0..10).buffer(4, Overflow::Fail);
    /// let got: Vec<i32> = futures_lite::future::block_on((&mut s).collect());
    /// assert_eq!(got, [0, 1, 2, 3]);
    /// assert!(s.overflowed());
    /// ```
    pub fn overflowed(&self) -> bool {
        self.failed
    }

    /// Items held now.
    ///
    /// ```
    /// use futures_lite::stream;
    /// use nimsync_stream::{Overflow, StageExt};
    /// assert_eq!(stream::iter(0..3).buffer(4, Overflow::Block).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.held.items.len()
    }

    /// True if nothing is held now.
    ///
    /// ```
    /// use futures_lite::stream;
    /// use nimsync_stream::{Overflow, StageExt};
    /// assert!(stream::iter(0..3).buffer(4, Overflow::Block).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.held.items.is_empty()
    }

    /// Returns the items held, oldest first, counted as undelivered, and
    /// drops the upstream.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::{Overflow, StageExt};
    ///
    /// let mut s = stream::iter(0..5).buffer(8, Overflow::Block);
    /// assert_eq!(futures_lite::future::block_on(s.next()), Some(0));
    /// assert_eq!(s.into_remainder(), [1, 2, 3, 4]);
    /// ```
    pub fn into_remainder(mut self) -> Vec<S::Item> {
        let rest: Vec<_> = self.held.items.drain(..).collect();
        for _ in &rest {
            self.held.counters.undelivered();
        }
        rest
    }
}

impl<S: Stream> Stream for Buffer<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        let held = this.held;
        let mut pulled = 0;
        while !*this.upstream_done && !*this.failed && pulled < PULL_BUDGET {
            if matches!(this.overflow, Overflow::Block) && held.items.len() >= held.capacity {
                break;
            }
            let item = match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => item,
                Poll::Ready(None) => {
                    *this.upstream_done = true;
                    break;
                }
                Poll::Pending => break,
            };
            pulled += 1;
            held.counters.offered();
            if held.items.len() < held.capacity {
                held.items.push_back(item);
                held.counters.depth(held.items.len());
                continue;
            }
            let drop_item = |item, reason| {
                held.counters.dropped(reason);
                if let Some(hook) = this.on_drop.as_ref() {
                    hook(item, reason);
                }
            };
            match &*this.overflow {
                Overflow::Block => unreachable!("a full Block buffer pulls nothing"),
                Overflow::DropOldest => {
                    if let Some(oldest) = held.items.pop_front() {
                        drop_item(oldest, DropReason::Oldest);
                    }
                    held.items.push_back(item);
                }
                Overflow::DropNewest => drop_item(item, DropReason::Newest),
                Overflow::DropBuffer => {
                    for old in held.items.drain(..).collect::<Vec<_>>() {
                        drop_item(old, DropReason::Buffer);
                    }
                    held.items.push_back(item);
                }
                Overflow::Fail => {
                    drop_item(item, DropReason::Failed);
                    *this.failed = true;
                }
                Overflow::Conflate(fold) => {
                    let newest = held.items.back_mut().expect("a full buffer holds an item");
                    fold.fold(newest, item);
                    held.counters.conflated();
                }
            }
        }
        if let Some(item) = held.items.pop_front() {
            held.counters.delivered(1);
            return Poll::Ready(Some(item));
        }
        if *this.upstream_done || *this.failed {
            return Poll::Ready(None);
        }
        // Nothing held and the upstream neither ended nor failed the stage:
        // it returned `Pending` (every policy holds an item after a pull), so
        // it will wake this task.
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = self.held.items.len();
        if self.upstream_done || self.failed {
            (held, Some(held))
        } else {
            let (_, upper) = self.upstream.size_hint();
            (held, upper.map(|u| u.saturating_add(held)))
        }
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Buffer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("upstream", &self.upstream)
            .field("overflow", &self.overflow)
            .field("len", &self.held.items.len())
            .field("capacity", &self.held.capacity)
            .finish()
    }
}
