//! `merge`: items of many streams as one, polling only the streams that
//! woke.
//!
//! # Protocol
//!
//! Each sub-stream is polled with a waker of its own, which knows its
//! slot's bit in a word of ready bits shared with the merge. Waking it sets
//! the bit with one `fetch_or` and, if the bit was clear, wakes the merge's
//! task. The merge polls the streams whose bits it has taken, in rounds
//! over the slots, clearing each bit before the poll; at the end of each
//! round it takes every word's bits with a `swap` into bits of its own
//! (the biased merge takes them before every poll), and when it finds none
//! it registers its task's waker and takes again. A wake that comes during or after a poll sets the bit again, and
//! either the merge takes it at its next take, or the take before it
//! returned `Pending` came after its registration, so it is woken. No wake-up is lost, and a stream that did not
//! wake is never polled. A stream that yields an item keeps its bit (it may
//! have more) and the turn passes on once it has used its weight in
//! consecutive items, so the streams take turns round the slots; the
//! biased variant always takes the lowest ready slot instead.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;

use crate::sync::{AtomicU64, AtomicWaker, Ordering, register_waker};

/// Sub-stream polls in one `poll_next` that yield no item before the merge
/// gives its thread back (waking itself to go on).
const DEFAULT_BUDGET: usize = 64;

/// Slots per word of ready bits.
const BITS: usize = 64;

/// The waker of one slot: its bit in its word, and the merge's waker.
struct SlotWaker {
    word: Arc<AtomicU64>,
    bit: u64,
    merge: Arc<AtomicWaker>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.word.fetch_or(self.bit, Ordering::AcqRel) & self.bit == 0 {
            self.merge.wake();
        }
    }
}

/// One sub-stream.
struct Slot<S> {
    stream: Option<Pin<Box<S>>>,
    waker: Waker,
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
/// gives its thread back, and gives it back at once when a stream that
/// yields nothing has woken itself (as tokio's streams do once the task's
/// cooperative budget is spent). [`Merge::biased`] always takes the lowest ready
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
    /// The ready bits the slots' wakers set, one word per 64 slots.
    words: Vec<Arc<AtomicU64>>,
    /// The ready bits taken from `words` and not yet polled.
    ready: Vec<u64>,
    /// The merge's task.
    merge_waker: Arc<AtomicWaker>,
    /// Where the next round-robin search starts.
    cursor: usize,
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
            words: Vec::new(),
            ready: Vec::new(),
            merge_waker: Arc::new(AtomicWaker::new()),
            cursor: 0,
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
        // An ended stream's slot is reused; a late wake through its old
        // waker only costs the new stream one poll.
        let index = self.free.pop().unwrap_or(self.slots.len());
        if index / BITS == self.words.len() {
            self.words.push(Arc::new(AtomicU64::new(0)));
            self.ready.push(0);
        }
        let bit = 1u64 << (index % BITS);
        let waker = Waker::from(Arc::new(SlotWaker {
            word: Arc::clone(&self.words[index / BITS]),
            bit,
            merge: Arc::clone(&self.merge_waker),
        }));
        let slot = Slot {
            stream: Some(Box::pin(stream)),
            waker,
            weight,
            credit: weight,
        };
        if index == self.slots.len() {
            self.slots.push(slot);
        } else {
            self.slots[index] = slot;
        }
        self.live += 1;
        // A new stream is polled once to learn whether it is ready.
        self.ready[index / BITS] |= bit;
        self.merge_waker.wake();
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

    /// The next slot to poll, its ready bit cleared: the first ready slot
    /// from the cursor on (round the slots), or the lowest when biased.
    fn next_ready(&mut self, cx: &Context<'_>) -> Option<usize> {
        let n = self.ready.len() * BITS;
        let mut found = if self.biased {
            // The lowest ready slot, as of now.
            self.take_woken();
            first_set(&self.ready, 0, n)
        } else {
            first_set(&self.ready, self.cursor, n)
        };
        if found.is_none() {
            // A round over the slots is over: take what woke meanwhile, so
            // a stream that woke is polled within a round, and start the
            // next round at the first slot.
            self.take_woken();
            found = first_set(&self.ready, 0, n);
        }
        if found.is_none() {
            // Nothing is ready: register, then take again, so a wake after
            // this take wakes this task.
            register_waker(&self.merge_waker, cx.waker());
            self.take_woken();
            found = first_set(&self.ready, 0, n);
        }
        let found = found?;
        self.ready[found / BITS] &= !(1u64 << (found % BITS));
        Some(found)
    }

    /// Moves the bits the slots' wakers set into the merge's own.
    fn take_woken(&mut self) {
        for (word, mine) in self.words.iter().zip(self.ready.iter_mut()) {
            if word.load(Ordering::Relaxed) != 0 {
                *mine |= word.swap(0, Ordering::Acquire);
            }
        }
    }
}

/// The first set bit of `bits` in `from .. to`.
fn first_set(bits: &[u64], from: usize, to: usize) -> Option<usize> {
    let mut i = from;
    while i < to {
        let word = bits[i / BITS] >> (i % BITS);
        if word != 0 {
            let found = i + word.trailing_zeros() as usize;
            return (found < to).then_some(found);
        }
        i = (i / BITS + 1) * BITS;
    }
    None
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
        let mut idle_polls = 0;
        while this.live > 0 {
            if idle_polls == this.budget {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(index) = this.next_ready(cx) else {
                return Poll::Pending;
            };
            let slot = &mut this.slots[index];
            let Some(stream) = slot.stream.as_mut() else {
                continue;
            };
            match stream
                .as_mut()
                .poll_next(&mut Context::from_waker(&slot.waker))
            {
                Poll::Ready(Some(item)) => {
                    // It may have more: ready again, without a wake-up.
                    this.ready[index / BITS] |= 1u64 << (index % BITS);
                    slot.credit -= 1;
                    if slot.credit == 0 {
                        // Its turn is over: the search starts after it.
                        slot.credit = slot.weight;
                        this.cursor = index + 1;
                    } else {
                        this.cursor = index;
                    }
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => {
                    slot.stream = None;
                    this.live -= 1;
                    this.free.push(index);
                }
                Poll::Pending => {
                    slot.credit = slot.weight;
                    idle_polls += 1;
                    let bit = 1u64 << (index % BITS);
                    if this.words[index / BITS].load(Ordering::Relaxed) & bit != 0 {
                        // Woken already, most likely by itself while polled:
                        // the stream asks for the thread back (tokio's
                        // cooperative budget does so, and then every stream
                        // of this task would), so give it back now.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
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
