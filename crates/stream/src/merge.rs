//! `merge`: items of many streams as one, polling only the streams that
//! woke.
//!
//! # Protocol
//!
//! Each sub-stream is polled with a waker of its own, which knows its slot.
//! Waking it sets the slot's `queued` flag and, if the flag was clear,
//! pushes the slot onto the ready queue and wakes the merge's task; so a
//! slot is in the queue at most once, and a stream that did not wake is
//! never polled. The merge clears a slot's flag before it polls the
//! stream, so a wake that comes during or after the poll queues the slot
//! again: no wake-up is lost. A stream that yields an item is queued again
//! at the back (after it has used its weight in consecutive items), so the
//! streams take turns; the biased variant always takes the lowest ready
//! slot instead.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;

use crate::sync::{AtomicBool, AtomicWaker, Mutex, Ordering, register_waker};

/// Sub-stream polls in one `poll_next` that yield no item before the merge
/// gives its thread back (waking itself to go on).
const DEFAULT_BUDGET: usize = 64;

/// The slots that woke, and the merge's own waker.
struct Ready {
    queue: Mutex<VecDeque<usize>>,
    waker: AtomicWaker,
}

/// The waker of one slot.
struct SlotWaker {
    index: usize,
    queued: Arc<AtomicBool>,
    ready: Arc<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.queue.lock().push_back(self.index);
            self.ready.waker.wake();
        }
    }
}

/// One sub-stream.
struct Slot<S> {
    stream: Option<Pin<Box<S>>>,
    waker: Waker,
    queued: Arc<AtomicBool>,
    weight: u32,
    /// Items left in its current turn.
    credit: u32,
}

/// Items of many streams as one: made by [`merge`] or [`Merge::new`].
///
/// Fair: only the streams that woke are polled (a thousand idle streams
/// cost nothing per item), each takes turns with the others (up to its
/// weight in items per turn, one by default), and one `poll_next` polls at
/// most a budget of streams that yield nothing (64 by default) before it
/// gives its thread back. [`Merge::biased`] always takes the lowest ready
/// stream first instead. It ends when every stream has ended; streams can
/// be added while it runs ([`push`](Merge::push)).
///
/// ```
/// use futures_lite::{stream, StreamExt};
/// use nimsync_stream::merge;
///
/// let all: Vec<u32> = futures_lite::future::block_on(
///     merge([stream::iter(vec![1, 3, 5]), stream::iter(vec![2, 4, 6])]).collect(),
/// );
/// assert_eq!(all, [1, 2, 3, 4, 5, 6]); // turns, one item each
/// ```
pub struct Merge<S> {
    slots: Vec<Slot<S>>,
    /// Slots of ended streams, for reuse.
    free: Vec<usize>,
    ready: Arc<Ready>,
    live: usize,
    budget: usize,
    biased: bool,
}

/// Merges `streams`; see [`Merge`].
///
/// ```
/// use futures_lite::{stream, StreamExt};
///
/// let n = futures_lite::future::block_on(
///     nimsync_stream::merge((0..100).map(|i| stream::iter(vec![i; 3]))).count(),
/// );
/// assert_eq!(n, 300);
/// ```
pub fn merge<S: Stream>(streams: impl IntoIterator<Item = S>) -> Merge<S> {
    let mut m = Merge::new();
    for s in streams {
        m.push(s);
    }
    m
}

impl<S: Stream> Merge<S> {
    /// An empty merge (it ends at once unless streams are pushed).
    ///
    /// ```
    /// let m = nimsync_stream::Merge::<futures_lite::stream::Empty<u8>>::new();
    /// assert!(m.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            ready: Arc::new(Ready {
                queue: Mutex::new(VecDeque::new()),
                waker: AtomicWaker::new(),
            }),
            live: 0,
            budget: DEFAULT_BUDGET,
            biased: false,
        }
    }

    /// A merge that always polls the lowest ready stream first (in push
    /// order): the first stream starves the others while it has items.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::Merge;
    ///
    /// let mut m = Merge::biased();
    /// m.push(stream::iter(vec![1, 2]));
    /// m.push(stream::iter(vec![10, 20]));
    /// let all: Vec<u32> = futures_lite::future::block_on(m.collect());
    /// assert_eq!(all, [1, 2, 10, 20]);
    /// ```
    pub fn biased() -> Self {
        Self {
            biased: true,
            ..Self::new()
        }
    }

    /// Sets how many streams one poll may poll without getting an item
    /// before it yields.
    ///
    /// # Panics
    ///
    /// If `budget` is 0: the merge could never poll a stream.
    ///
    /// ```
    /// let m = nimsync_stream::Merge::<futures_lite::stream::Empty<u8>>::new().with_budget(8);
    /// assert!(m.is_empty());
    /// ```
    pub fn with_budget(mut self, budget: usize) -> Self {
        assert!(budget > 0, "a merge needs a poll budget of at least 1");
        self.budget = budget;
        self
    }

    /// Adds a stream with weight 1.
    ///
    /// ```
    /// use futures_lite::stream;
    /// let mut m = nimsync_stream::Merge::new();
    /// m.push(stream::iter([1]));
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn push(&mut self, stream: S) {
        self.push_weighted(stream, 1);
    }

    /// Adds a stream that yields up to `weight` items in a row before the
    /// next stream's turn.
    ///
    /// # Panics
    ///
    /// If `weight` is 0: a stream with no turn would never be polled.
    ///
    /// ```
    /// use futures_lite::{stream, StreamExt};
    /// use nimsync_stream::Merge;
    ///
    /// let mut m = Merge::new();
    /// m.push_weighted(stream::iter(vec![1, 1, 1, 1]), 2);
    /// m.push(stream::iter(vec![0, 0]));
    /// let all: Vec<u8> = futures_lite::future::block_on(m.collect());
    /// assert_eq!(all, [1, 1, 0, 1, 1, 0]);
    /// ```
    pub fn push_weighted(&mut self, stream: S, weight: u32) {
        assert!(weight > 0, "a merged stream needs a weight of at least 1");
        // An ended stream's slot is reused; its old waker holds the old
        // flag, left set, so a late wake through it queues nothing.
        let index = self.free.pop().unwrap_or(self.slots.len());
        let queued = Arc::new(AtomicBool::new(true));
        let waker = Waker::from(Arc::new(SlotWaker {
            index,
            queued: queued.clone(),
            ready: self.ready.clone(),
        }));
        let slot = Slot {
            stream: Some(Box::pin(stream)),
            waker,
            queued,
            weight,
            credit: weight,
        };
        if index == self.slots.len() {
            self.slots.push(slot);
        } else {
            self.slots[index] = slot;
        }
        self.live += 1;
        // New streams are polled once to learn whether they are ready.
        self.ready.queue.lock().push_back(index);
        self.ready.waker.wake();
    }

    /// Streams not yet ended.
    ///
    /// ```
    /// let m = nimsync_stream::merge(Vec::<futures_lite::stream::Empty<u8>>::new());
    /// assert_eq!(m.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when every stream has ended (or none was added).
    ///
    /// ```
    /// let m = nimsync_stream::merge(Vec::<futures_lite::stream::Empty<u8>>::new());
    /// assert!(m.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The next slot to poll: the oldest woken, or the lowest when biased.
    fn next_ready(&self) -> Option<usize> {
        let mut queue = self.ready.queue.lock();
        if self.biased {
            let (pos, _) = queue.iter().enumerate().min_by_key(|&(_, &i)| i)?;
            queue.remove(pos)
        } else {
            queue.pop_front()
        }
    }
}

impl<S: Stream> Default for Merge<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Stream> Stream for Merge<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        register_waker(&this.ready.waker, cx.waker());
        let mut idle_polls = 0;
        while this.live > 0 {
            if idle_polls == this.budget {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(index) = this.next_ready() else {
                return Poll::Pending;
            };
            let slot = &mut this.slots[index];
            // Cleared before the poll: a wake from now on queues it again.
            slot.queued.store(false, Ordering::Release);
            let Some(stream) = slot.stream.as_mut() else {
                continue;
            };
            match stream
                .as_mut()
                .poll_next(&mut Context::from_waker(&slot.waker))
            {
                Poll::Ready(Some(item)) => {
                    slot.credit -= 1;
                    if slot.credit == 0 {
                        slot.credit = slot.weight;
                        // Its turn is over: to the back of the queue.
                        slot.waker.wake_by_ref();
                    } else if !slot.queued.swap(true, Ordering::AcqRel) {
                        // Its turn goes on: to the front.
                        this.ready.queue.lock().push_front(index);
                    }
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => {
                    slot.stream = None;
                    // A late wake may queue it again: it is skipped above.
                    slot.queued.store(true, Ordering::Release);
                    this.live -= 1;
                    this.free.push(index);
                }
                Poll::Pending => {
                    slot.credit = slot.weight;
                    idle_polls += 1;
                }
            }
        }
        Poll::Ready(None)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots
            .iter()
            .filter_map(|s| s.stream.as_ref())
            .map(|s| s.size_hint())
            .fold((0, Some(0)), |(lo, hi), (l, h)| {
                (
                    lo.saturating_add(l),
                    hi.zip(h).and_then(|(a, b)| a.checked_add(b)),
                )
            })
    }
}

impl<S> fmt::Debug for Merge<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merge")
            .field("streams", &self.slots.len())
            .field("live", &self.live)
            .field("budget", &self.budget)
            .field("biased", &self.biased)
            .finish()
    }
}
