//! `broadcast`: one producer side, many subscribers, each with its own
//! policy for when it falls behind.
//!
//! # Protocol
//!
//! One lock guards a ring of the last `capacity` items, numbered by a
//! sequence that only grows, and every subscriber's cursor (the sequence
//! of the next item it reads). A send evicts the oldest item when the ring
//! is full, unless a [`Lagging::Block`] subscriber has not read it yet: then
//! the send waits (its waker in the senders' list) until that subscriber
//! reads or leaves. A subscriber whose cursor fell below the oldest
//! sequence has lagged: on its next receive it applies its own policy
//! (skip to the oldest, skip to the newest, or disconnect) and counts what
//! it missed. Every send wakes the subscribers waiting for an item, and
//! every departure of a `Block` subscriber wakes the waiting senders;
//! wakers are taken under the lock and woken after it.
//!
//! **`Block` subscribers read in batches.** Such a subscriber copies up to
//! [`PREFETCH`] items out of the ring per hold of the lock and hands them
//! out one by one without it. Its cursor still counts only the items it
//! handed out: the subscriber alone writes it, an atomic, one step per
//! item, so a send sees exactly what has been read and the ring's meaning
//! (never more than `capacity` items held back) is unchanged. A send
//! about to wait for a `Block` subscriber sets `senders_flag`, issues a
//! `SeqCst` fence and looks at the cursors again; a subscriber advancing
//! its cursor issues a `SeqCst` fence and then reads the flag, and if it is
//! set takes the senders' wakers under the lock. Of the two fences one
//! comes first, so either the send sees the new cursor or the subscriber
//! sees the flag: no send waits for an item already read.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::block::block_on;
use crate::sync::{AtomicBool, AtomicU64, Mutex, Ordering, fence};

/// What a subscriber does when it falls behind the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lagging {
    /// Never miss an item: the publisher waits for this subscriber (the
    /// slowest `Block` subscriber paces every send).
    Block,
    /// Skip to the oldest item still held; the items missed are counted
    /// ([`Subscriber::lagged`]).
    DropOldest,
    /// Skip to the newest item: a subscriber that falls behind gets only
    /// the latest; the items missed are counted.
    Conflate,
    /// Skip as `DropOldest`, but end this subscriber with
    /// [`BroadcastError::Disconnected`] once it has missed more than this
    /// many items in all.
    Disconnect(u64),
}

/// Why a subscriber gets no more items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BroadcastError {
    /// Every publisher is gone and this subscriber read every item.
    Closed,
    /// This subscriber lagged past its [`Lagging::Disconnect`] limit; it
    /// had missed this many items.
    Disconnected {
        /// Items it missed in all.
        lagged: u64,
    },
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BroadcastError::Closed => f.write_str("receiving on a closed and drained broadcast"),
            BroadcastError::Disconnected { lagged } => write!(
                f,
                "a broadcast subscriber missed {lagged} items in all, past its limit, and was disconnected"
            ),
        }
    }
}

impl std::error::Error for BroadcastError {}

/// Items a `Block` subscriber copies out of the ring per hold of the lock.
const PREFETCH: usize = 128;

/// One subscriber's state, under the lock.
struct Sub {
    /// The sequence of the next item it reads. Written only by its
    /// [`Subscriber`]: under the lock for the lossy policies, outside it
    /// for `Block` (see the protocol).
    cursor: Arc<AtomicU64>,
    lagging: Lagging,
    lagged: u64,
    waker: Option<Waker>,
    /// Disconnected for lagging; it reads nothing more.
    cut: bool,
}

struct State<T> {
    items: VecDeque<T>,
    /// The sequence of `items[0]`.
    oldest: u64,
    capacity: usize,
    /// Subscribers by id; `None` once gone.
    subs: Vec<Option<Sub>>,
    /// Wakers of sends waiting for a `Block` subscriber.
    senders_waiting: Vec<Waker>,
    publishers: usize,
}

impl<T> State<T> {
    /// The sequence the next item gets.
    fn next(&self) -> u64 {
        self.oldest + self.items.len() as u64
    }

    /// True if the oldest item may be evicted now: no `Block` subscriber
    /// still has to read it.
    fn may_evict(&self) -> bool {
        self.subs.iter().flatten().all(|s| {
            !(s.lagging == Lagging::Block
                && !s.cut
                && s.cursor.load(Ordering::Acquire) == self.oldest)
        })
    }

    /// Takes the waiting senders' wakers and lowers the flag.
    fn take_senders(&mut self, flag: &AtomicBool) -> Vec<Waker> {
        flag.store(false, Ordering::Relaxed);
        std::mem::take(&mut self.senders_waiting)
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Set while `senders_waiting` may hold a waker (see the protocol).
    senders_flag: AtomicBool,
}

/// Wakes the wakers taken under the lock, after it.
fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

/// The subscribers' wakers a send takes under the lock, to wake after it:
/// the first eight without an allocation.
#[derive(Default)]
struct Wakeups {
    inline: [Option<Waker>; 8],
    len: usize,
    more: Vec<Waker>,
}

impl Wakeups {
    fn push(&mut self, w: Waker) {
        if self.len < self.inline.len() {
            self.inline[self.len] = Some(w);
            self.len += 1;
        } else {
            self.more.push(w);
        }
    }

    fn wake(self) {
        self.inline.into_iter().flatten().for_each(Waker::wake);
        self.more.into_iter().for_each(Waker::wake);
    }
}

/// Makes a broadcast that keeps the last `capacity` items for its
/// subscribers.
///
/// # Panics
///
/// If `capacity` is 0: a subscriber could never read an item.
///
/// ```
/// use nimsync_stream::{broadcast, Lagging};
///
/// let publisher = broadcast(4);
/// let mut all = publisher.subscribe(Lagging::Block);
/// let mut recent = publisher.subscribe(Lagging::DropOldest);
/// for i in 0..4 {
///     publisher.send(i).unwrap();
/// }
/// assert_eq!(all.try_recv(), Some(Ok(0)));
/// assert_eq!(recent.try_recv(), Some(Ok(0)));
/// ```
pub fn broadcast<T: Clone>(capacity: usize) -> Publisher<T> {
    assert!(
        capacity > 0,
        "a broadcast needs a capacity of at least 1; a subscriber reads each item from it"
    );
    Publisher {
        shared: Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                oldest: 0,
                capacity,
                subs: Vec::new(),
                senders_waiting: Vec::new(),
                publishers: 1,
            }),
            senders_flag: AtomicBool::new(false),
        }),
    }
}

/// The producing side of a [`broadcast`]: clone it for more producers.
/// Subscribers see the end once every publisher is dropped and they have
/// read what is held.
pub struct Publisher<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Publisher<T> {
    /// A new subscriber with `lagging` as its policy; it reads the items
    /// sent from now on.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast(2);
    /// publisher.send(1).unwrap(); // nobody sees this one
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::Block);
    /// publisher.send(2).unwrap();
    /// assert_eq!(sub.try_recv(), Some(Ok(2)));
    /// ```
    pub fn subscribe(&self, lagging: Lagging) -> Subscriber<T> {
        let mut st = self.shared.state.lock();
        let cursor = Arc::new(AtomicU64::new(st.next()));
        let sub = Sub {
            cursor: Arc::clone(&cursor),
            lagging,
            lagged: 0,
            waker: None,
            cut: false,
        };
        let id = match st.subs.iter().position(Option::is_none) {
            Some(free) => {
                st.subs[free] = Some(sub);
                free
            }
            None => {
                st.subs.push(Some(sub));
                st.subs.len() - 1
            }
        };
        Subscriber {
            shared: Arc::clone(&self.shared),
            id,
            cursor,
            prefetched: VecDeque::new(),
            block: lagging == Lagging::Block,
        }
    }

    /// Sends `item` to every subscriber without waiting.
    ///
    /// # Errors
    ///
    /// Hands `item` back if the ring is full and a [`Lagging::Block`]
    /// subscriber has not read its oldest item yet.
    ///
    /// ```
    /// use nimsync_stream::{broadcast, Lagging};
    ///
    /// let publisher = broadcast(1);
    /// let _slow = publisher.subscribe(Lagging::Block);
    /// publisher.try_send(1).unwrap();
    /// assert_eq!(publisher.try_send(2), Err(2));
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), T> {
        self.offer(item, None)
    }

    /// Sends `item`, blocking the thread while a [`Lagging::Block`]
    /// subscriber holds the oldest item of a full ring.
    ///
    /// # Errors
    ///
    /// None today: the signature leaves room for a closed broadcast; with
    /// no subscriber at all the item is dropped, as nobody can read it.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast(8);
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::Block);
    /// publisher.send("hello").unwrap();
    /// assert_eq!(sub.recv(), Ok("hello"));
    /// ```
    pub fn send(&self, item: T) -> Result<(), T> {
        block_on(self.send_async(item))
    }

    /// Sends `item`, waiting while a [`Lagging::Block`] subscriber holds
    /// the oldest item of a full ring.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the item unsent.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast(8);
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::Block);
    /// futures_lite::future::block_on(async {
    ///     publisher.send_async(1).await.unwrap();
    ///     assert_eq!(sub.recv_async().await, Ok(1));
    /// });
    /// ```
    pub fn send_async(&self, item: T) -> PublishFuture<'_, T> {
        PublishFuture {
            publisher: self,
            item: Some(item),
        }
    }

    /// Puts `item` in the ring if it may; else hands it back, registering
    /// `waker` to be woken when it may.
    fn offer(&self, item: T, waker: Option<&Waker>) -> Result<(), T> {
        let mut st = self.shared.state.lock();
        if st.items.len() == st.capacity {
            if !st.may_evict() {
                let Some(w) = waker else {
                    return Err(item);
                };
                if !st.senders_waiting.iter().any(|x| x.will_wake(w)) {
                    st.senders_waiting.push(w.clone());
                }
                let flag = &self.shared.senders_flag;
                flag.store(true, Ordering::Relaxed);
                // Pairs with the fence of a `Block` subscriber advancing
                // its cursor outside the lock (see the protocol).
                fence(Ordering::SeqCst);
                if !st.may_evict() {
                    return Err(item);
                }
                st.senders_waiting.retain(|x| !x.will_wake(w));
                if st.senders_waiting.is_empty() {
                    flag.store(false, Ordering::Relaxed);
                }
            }
            st.items.pop_front();
            st.oldest += 1;
        }
        st.items.push_back(item);
        let mut wakeups = Wakeups::default();
        for w in st.subs.iter_mut().flatten().filter_map(|s| s.waker.take()) {
            wakeups.push(w);
        }
        drop(st);
        wakeups.wake();
        Ok(())
    }

    /// Subscribers now.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast::<u8>(1);
    /// let _a = publisher.subscribe(nimsync_stream::Lagging::Conflate);
    /// assert_eq!(publisher.subscriber_count(), 1);
    /// ```
    pub fn subscriber_count(&self) -> usize {
        self.shared.state.lock().subs.iter().flatten().count()
    }
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().publishers += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        st.publishers -= 1;
        let wakers: Vec<Waker> = if st.publishers == 0 {
            st.subs
                .iter_mut()
                .flatten()
                .filter_map(|s| s.waker.take())
                .collect()
        } else {
            Vec::new()
        };
        drop(st);
        wake_all(wakers);
    }
}

impl<T> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("Publisher")
            .field("held", &st.items.len())
            .field("capacity", &st.capacity)
            .field("subscribers", &st.subs.iter().flatten().count())
            .finish()
    }
}

/// The future of [`Publisher::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct PublishFuture<'a, T> {
    publisher: &'a Publisher<T>,
    item: Option<T>,
}

// The item is never pinned: it is moved into the ring.
impl<T> Unpin for PublishFuture<'_, T> {}

impl<T: Clone> Future for PublishFuture<'_, T> {
    type Output = Result<(), T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let item = this
            .item
            .take()
            .expect("`PublishFuture` polled after it completed");
        match this.publisher.offer(item, Some(cx.waker())) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(item) => {
                this.item = Some(item);
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for PublishFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublishFuture")
    }
}

/// One subscriber of a [`broadcast`]: a [`Stream`] of clones of the items
/// sent after it subscribed, with its own [`Lagging`] policy.
///
/// Dropping it releases any send its `Block` policy held back.
///
/// ```
/// use futures_lite::StreamExt;
/// use nimsync_stream::{broadcast, Lagging};
///
/// let publisher = broadcast(2);
/// let mut latest = publisher.subscribe(Lagging::Conflate);
/// for i in 0..10 {
///     publisher.send(i).unwrap();
/// }
/// drop(publisher);
/// let got: Vec<u32> = futures_lite::future::block_on((&mut latest).collect());
/// assert_eq!(got, [9]);
/// assert_eq!(latest.lagged(), 9);
/// ```
pub struct Subscriber<T> {
    shared: Arc<Shared<T>>,
    id: usize,
    /// Its cursor, shared with its state under the lock.
    cursor: Arc<AtomicU64>,
    /// `Block` only: items copied out of the ring and not handed out yet.
    prefetched: VecDeque<T>,
    /// Its policy is [`Lagging::Block`].
    block: bool,
}

impl<T: Clone> Subscriber<T> {
    /// Takes the next item if one is there: `None` if there is none yet,
    /// `Some(Err(..))` once this subscriber has ended.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast::<u8>(2);
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::Block);
    /// assert_eq!(sub.try_recv(), None);
    /// ```
    pub fn try_recv(&mut self) -> Option<Result<T, BroadcastError>> {
        match self.poll_recv_with(None) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Waits for the next item, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`BroadcastError`] once this subscriber has ended.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast(2);
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::Block);
    /// std::thread::spawn(move || publisher.send(5).unwrap());
    /// assert_eq!(sub.recv(), Ok(5));
    /// ```
    pub fn recv(&mut self) -> Result<T, BroadcastError> {
        block_on(self.recv_async())
    }

    /// Waits for the next item.
    ///
    /// # Errors
    ///
    /// [`BroadcastError`] once this subscriber has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item is read only when the future completes.
    ///
    /// ```
    /// let publisher = nimsync_stream::broadcast(2);
    /// let mut sub = publisher.subscribe(nimsync_stream::Lagging::DropOldest);
    /// publisher.send(1).unwrap();
    /// assert_eq!(futures_lite::future::block_on(sub.recv_async()), Ok(1));
    /// ```
    pub fn recv_async(&mut self) -> impl Future<Output = Result<T, BroadcastError>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv_with(Some(cx.waker())))
    }

    fn poll_recv_with(&mut self, waker: Option<&Waker>) -> Poll<Result<T, BroadcastError>> {
        if self.block {
            return self.poll_recv_block(waker);
        }
        let mut guard = self.shared.state.lock();
        let st = &mut *guard;
        let oldest = st.oldest;
        let next = st.next();
        let sub = st.subs[self.id]
            .as_mut()
            .expect("a live subscriber has its state");
        if sub.cut {
            return Poll::Ready(Err(BroadcastError::Disconnected { lagged: sub.lagged }));
        }
        // Only this subscriber writes its cursor, and this one under the lock.
        let mut cursor = sub.cursor.load(Ordering::Relaxed);
        if cursor < oldest || (sub.lagging == Lagging::Conflate && next > cursor + 1) {
            let to = if sub.lagging == Lagging::Conflate {
                next - 1
            } else {
                oldest
            };
            sub.lagged += to - cursor;
            cursor = to;
            sub.cursor.store(cursor, Ordering::Relaxed);
            if let Lagging::Disconnect(limit) = sub.lagging {
                if sub.lagged > limit {
                    sub.cut = true;
                    return Poll::Ready(Err(BroadcastError::Disconnected { lagged: sub.lagged }));
                }
            }
        }
        if cursor < next {
            let item = st.items[(cursor - oldest) as usize].clone();
            sub.cursor.store(cursor + 1, Ordering::Relaxed);
            return Poll::Ready(Ok(item));
        }
        if st.publishers == 0 {
            return Poll::Ready(Err(BroadcastError::Closed));
        }
        if let Some(w) = waker {
            sub.waker = Some(w.clone());
        }
        Poll::Pending
    }

    /// A `Block` subscriber's receive: hands out a prefetched item, copying
    /// the next batch out of the ring first if none is left.
    fn poll_recv_block(&mut self, waker: Option<&Waker>) -> Poll<Result<T, BroadcastError>> {
        if self.prefetched.is_empty() {
            let mut guard = self.shared.state.lock();
            let st = &mut *guard;
            // Only this subscriber writes its cursor.
            let cursor = self.cursor.load(Ordering::Relaxed);
            let next = st.next();
            if cursor == next {
                if st.publishers == 0 {
                    return Poll::Ready(Err(BroadcastError::Closed));
                }
                if let Some(w) = waker {
                    let sub = st.subs[self.id]
                        .as_mut()
                        .expect("a live subscriber has its state");
                    sub.waker = Some(w.clone());
                }
                return Poll::Pending;
            }
            // A `Block` subscriber's items are never evicted unread.
            let from = (cursor - st.oldest) as usize;
            let to = from + ((next - cursor) as usize).min(PREFETCH);
            self.prefetched.extend(st.items.range(from..to).cloned());
        }
        let item = self
            .prefetched
            .pop_front()
            .expect("a batch holds at least one item");
        self.advance();
        Poll::Ready(Ok(item))
    }

    /// Counts one more item handed out and wakes the senders if one may be
    /// waiting for it (see the protocol).
    fn advance(&self) {
        let cursor = self.cursor.load(Ordering::Relaxed);
        self.cursor.store(cursor + 1, Ordering::Release);
        // Pairs with the fence of a send about to wait.
        fence(Ordering::SeqCst);
        if self.shared.senders_flag.load(Ordering::Relaxed) {
            let wakers = self
                .shared
                .state
                .lock()
                .take_senders(&self.shared.senders_flag);
            wake_all(wakers);
        }
    }

    /// Items this subscriber missed by falling behind.
    ///
    /// ```
    /// use nimsync_stream::{broadcast, Lagging};
    ///
    /// let publisher = broadcast(2);
    /// let mut sub = publisher.subscribe(Lagging::DropOldest);
    /// for i in 0..5 {
    ///     publisher.send(i).unwrap();
    /// }
    /// assert_eq!(sub.try_recv(), Some(Ok(3)));
    /// assert_eq!(sub.lagged(), 3);
    /// ```
    pub fn lagged(&self) -> u64 {
        let st = self.shared.state.lock();
        st.subs[self.id].as_ref().map_or(0, |s| s.lagged)
    }
}

// The prefetched items are never pinned: they are moved out by value.
impl<T> Unpin for Subscriber<T> {}

impl<T: Clone> Stream for Subscriber<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut()
            .poll_recv_with(Some(cx.waker()))
            .map(Result::ok)
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        let was_block = st.subs[self.id]
            .take()
            .is_some_and(|s| s.lagging == Lagging::Block);
        let wakers = if was_block {
            st.take_senders(&self.shared.senders_flag)
        } else {
            Vec::new()
        };
        drop(st);
        wake_all(wakers);
    }
}

impl<T> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber").field("id", &self.id).finish()
    }
}
