//! A bounded single-producer single-consumer channel.
//!
//! [`channel`] returns one [`Sender`] and one [`Receiver`]. Neither can be
//! cloned, and every operation takes `&mut self`, so each endpoint has at
//! most one operation in flight. That is what makes the ring fast: the
//! producer is the only writer of `tail`, the consumer the only writer of
//! `head`, and each side keeps a cached copy of the other's index, so the
//! common case reads no cache line the other side writes.
//!
//! ```
//! use nimsync_channel::spsc;
//!
//! let (mut tx, mut rx) = spsc::channel(4);
//! std::thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! let received: Vec<u32> = rx.iter().collect();
//! assert_eq!(received, (0..100).collect::<Vec<_>>());
//! ```
//!
//! # Protocol
//!
//! `head` and `tail` are positions in `0 .. 2 * capacity`; slot
//! `pos % capacity` holds the value at position `pos`. The channel is empty
//! when `head == tail` and full when they are `capacity` apart, so all
//! `capacity` slots are usable. The producer writes a slot, then publishes
//! `tail` with `Release`; the consumer loads `tail` with `Acquire` before
//! reading, so the value is visible. The consumer publishes `head` the same
//! way after moving the value out, handing the slot back.
//!
//! `closed` is set (with `Release`) by `close()` or by either endpoint's
//! drop. The producer stores `tail` before it can set `closed`, so a
//! consumer that sees `closed` and then re-loads `tail` sees every value
//! sent before the close: receivers drain, then get `Closed`.
//!
//! The receiver's close and a send already past its `closed` check can
//! race: that send returns `Ok` and its value lands after the close. The
//! receiver never reports it (once it has returned `Closed` it always does),
//! and the value is dropped with the buffer, exactly once, as for a send
//! racing with the receiver's drop.
//!
//! Waiting goes through the crate's wait queues: each publish is followed by
//! the notifier's half of a store-load fence (on Linux only a compiler fence;
//! the waiting side pays with `membarrier`) and one load of the other side's
//! waiter count (the `waiter` module explains why no wake-up is lost).

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, UnsafeCell};
use crate::unwind::Panics;
use crate::waiter::{Registration, WaitQueue, block_thread, notify_all_of, poll_op};

/// Creates a bounded SPSC channel with room for exactly `capacity` values.
///
/// # Panics
///
/// Panics if `capacity` is 0 (rendezvous channels are not offered yet: use
/// capacity 1 for the closest behaviour), or larger than
/// [`MAX_CAPACITY`](crate::MAX_CAPACITY), or if the buffer's size in bytes
/// would overflow `isize`.
///
/// # Examples
///
/// ```
/// let (mut tx, mut rx) = nimsync_channel::spsc::channel::<String>(8);
/// tx.try_send("hi".to_string()).unwrap();
/// assert_eq!(rx.try_recv().unwrap(), "hi");
/// assert_eq!(tx.capacity(), 8);
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    crate::check_capacity::<T>(capacity, "spsc");
    let buf = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        cap: capacity,
        buf,
        closed: AtomicBool::new(false),
        recv_wait: CachePadded::new(WaitQueue::single_notifier()),
        send_wait: CachePadded::new(WaitQueue::single_notifier()),
        close_wait: WaitQueue::new(),
    });
    let tx = Sender {
        shared: Arc::clone(&shared),
        tail: Cell::new(0),
        cached_head: Cell::new(0),
        _not_sync: PhantomData,
    };
    let rx = Receiver {
        shared,
        head: Cell::new(0),
        cached_tail: Cell::new(0),
        finished: Cell::new(false),
        lent: Cell::new(false),
        _not_sync: PhantomData,
    };
    (tx, rx)
}

/// The state both endpoints share.
///
/// # Invariants
///
/// - `head` and `tail` are in `0 .. 2 * cap`; `tail` is written only by the
///   sender, `head` only by the receiver.
/// - The slots at positions `head, head + 1, .., tail - 1` (mod `2 * cap`,
///   slot index `pos % cap`) hold initialised values; every other slot is
///   uninitialised. The sender only writes slots outside that range, the
///   receiver only reads slots inside it.
/// - `closed` goes from false to true once and never back.
struct Shared<T> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    cap: usize,
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    closed: AtomicBool,
    /// The receiver (or a select over it) waiting for a message. Padded:
    /// the sender writes its counter on every send in symmetric mode.
    recv_wait: CachePadded<WaitQueue>,
    /// The sender (or a select over it) waiting for room. Padded likewise.
    send_wait: CachePadded<WaitQueue>,
    /// `closed()` futures.
    close_wait: WaitQueue,
}

// SAFETY: the slots are handed between the two threads by the head/tail
// protocol above (Release publish, Acquire observe); a value moves from the
// sender's thread to the receiver's, so `T: Send` is all that is needed.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; no `&T` is ever shared between threads.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    #[inline(always)]
    fn next(&self, pos: usize) -> usize {
        if pos + 1 == 2 * self.cap { 0 } else { pos + 1 }
    }

    #[inline(always)]
    fn advance(&self, pos: usize, n: usize) -> usize {
        let p = pos + n;
        if p >= 2 * self.cap {
            p - 2 * self.cap
        } else {
            p
        }
    }

    #[inline(always)]
    fn distance(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + 2 * self.cap - from
        }
    }

    #[inline(always)]
    fn slot(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
        let i = if pos >= self.cap { pos - self.cap } else { pos };
        debug_assert!(i < self.buf.len());
        // SAFETY: `pos < 2 * cap`, so `i < cap == buf.len()`.
        unsafe { self.buf.get_unchecked(i) }
    }

    #[inline(always)]
    fn slot_index(&self, pos: usize) -> usize {
        if pos >= self.cap { pos - self.cap } else { pos }
    }

    /// # Safety
    /// As [`write`](Self::write), for the slot with index `idx < cap`.
    #[inline(always)]
    unsafe fn write_slot(&self, idx: usize, value: T) {
        debug_assert!(idx < self.buf.len());
        // SAFETY: `idx < cap == buf.len()`; exclusivity as in `write`.
        let slot = unsafe { self.buf.get_unchecked(idx) };
        // SAFETY: forwarded from the caller.
        slot.with_mut(|p| unsafe { (*p).write(value) });
    }

    /// # Safety
    /// As [`read`](Self::read), for the slot with index `idx < cap`.
    #[inline(always)]
    unsafe fn read_slot(&self, idx: usize) -> T {
        debug_assert!(idx < self.buf.len());
        // SAFETY: `idx < cap == buf.len()`; exclusivity as in `read`.
        let slot = unsafe { self.buf.get_unchecked(idx) };
        // SAFETY: forwarded from the caller.
        slot.with(|p| unsafe { (*p).assume_init_read() })
    }

    /// # Safety
    /// The caller is the sender and the slot at `pos` is outside the
    /// initialised range (the ring is not full at `pos`).
    #[inline(always)]
    unsafe fn write(&self, pos: usize, value: T) {
        // SAFETY: per the caller's contract, nobody reads this slot until
        // `tail` is published past it.
        self.slot(pos).with_mut(|p| unsafe { (*p).write(value) });
    }

    /// # Safety
    /// The caller is the receiver and `pos` is inside the initialised range.
    #[inline(always)]
    unsafe fn read(&self, pos: usize) -> T {
        // SAFETY: per the caller's contract the slot is initialised and the
        // sender does not touch it until `head` is published past it.
        self.slot(pos).with(|p| unsafe { (*p).assume_init_read() })
    }

    fn close(&self) -> bool {
        let was = self.closed.swap(true, Ordering::AcqRel);
        notify_all_of(&[&self.recv_wait, &self.send_wait, &self.close_wait]);
        !was
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        let head = self.head.load(Ordering::Acquire);
        self.distance(head, tail).min(self.cap)
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Drops what is still buffered, every value even if one's drop
        // panics (the first panic is raised again afterwards).
        let mut panics = Panics::new();
        let mut pos = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        while pos != tail {
            // SAFETY: `pos` is in the initialised range and both endpoints
            // are gone, so nobody else touches the slot; each position is
            // visited once.
            let value = unsafe { self.read(pos) };
            panics.run(|| drop(value));
            pos = self.next(pos);
        }
        panics.finish();
    }
}

/// The sending endpoint of an SPSC channel.
///
/// `Send` when `T: Send`; not `Clone` and not `Sync`. Dropping it closes the
/// channel: the receiver drains what is buffered, then gets `Closed`.
///
/// ```compile_fail
/// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(1);
/// let _second = tx.clone(); // an SPSC sender cannot be cloned
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (tx, _rx) = nimsync_channel::spsc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(tx)); // Rc is not Send
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    /// Local copy of `shared.tail` (only this endpoint writes it).
    tail: Cell<usize>,
    /// Last `head` seen; the true head is never behind it.
    cached_head: Cell<usize>,
    _not_sync: PhantomData<*const ()>,
}

// SAFETY: the `Cell`s are only touched through this endpoint, which moves
// between threads as a whole; `Shared<T>` is `Send + Sync` for `T: Send`.
// The raw-pointer marker exists only to opt out of `Sync`.
unsafe impl<T: Send> Send for Sender<T> {}

/// The receiving endpoint of an SPSC channel.
///
/// `Send` when `T: Send`; not `Clone` and not `Sync`. Dropping it closes the
/// channel and drops whatever is still buffered.
///
/// ```compile_fail
/// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
/// let _second = rx.clone(); // an SPSC receiver cannot be cloned
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// let (_tx, rx) = nimsync_channel::spsc::channel::<Rc<u8>>(1);
/// std::thread::spawn(move || drop(rx)); // Rc is not Send
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Local copy of `shared.head` (only this endpoint writes it).
    head: Cell<usize>,
    /// Last `tail` seen; the true tail is never behind it.
    cached_tail: Cell<usize>,
    /// Set once this receiver reported `Closed`: from then on it always
    /// does, even if a send that raced with the close lands later (such a
    /// value is dropped with the buffer).
    finished: Cell<bool>,
    /// Set while a [`Drain`] is out (and for good if one was leaked): the
    /// shared head may lag behind `head` until the drain's drop publishes
    /// it.
    lent: Cell<bool>,
    _not_sync: PhantomData<*const ()>,
}

// SAFETY: as for `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T> Sender<T> {
    /// Room left as the sender sees it, refreshing the cached head only when
    /// the cached view says the ring is full.
    #[inline(always)]
    fn free(&self) -> usize {
        let s = &*self.shared;
        let tail = self.tail.get();
        let free = s.cap - s.distance(self.cached_head.get(), tail);
        if free != 0 {
            return free;
        }
        let head = s.head.load(Ordering::Acquire);
        self.cached_head.set(head);
        s.cap - s.distance(head, tail)
    }

    /// Room left, always reading the receiver's current head (for batches,
    /// which want every free slot, not just one).
    #[inline]
    fn free_fresh(&self) -> usize {
        let s = &*self.shared;
        let head = s.head.load(Ordering::Acquire);
        self.cached_head.set(head);
        s.cap - s.distance(head, self.tail.get())
    }

    /// Writes `value` at the tail and publishes it. The caller checked that
    /// there is room.
    #[inline(always)]
    fn push_unchecked(&self, value: T) {
        let s = &*self.shared;
        let tail = self.tail.get();
        // SAFETY: the caller saw room, and only this endpoint writes, so the
        // slot at `tail` is outside the initialised range.
        unsafe { s.write(tail, value) };
        let next = s.next(tail);
        self.tail.set(next);
        s.tail.store(next, Ordering::Release);
        s.recv_wait.notify_one();
    }

    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when every slot is taken,
    /// [`TrySendError::Closed`] when the channel is closed; both hand the
    /// value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{spsc, TrySendError};
    ///
    /// let (mut tx, _rx) = spsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    #[inline]
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send_ref(value)
    }

    #[inline(always)]
    fn try_send_ref(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.shared.is_closed() {
            return Err(TrySendError::Closed(value));
        }
        if self.free() == 0 {
            return Err(TrySendError::Full(value));
        }
        self.push_unchecked(value);
        Ok(())
    }

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut slot = Some(value);
        let res = block_thread(&self.shared.send_wait, deadline, || {
            match self.try_send_ref(slot.take().expect("value present while sending")) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(v)) => Some(Err(v)),
                Err(TrySendError::Full(v)) => {
                    slot = Some(v);
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

    /// Sends `value`, blocking the thread while the channel is full.
    ///
    /// Spins briefly, then parks until the receiver makes room.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// let t = std::thread::spawn(move || {
    ///     tx.send(1).unwrap();
    ///     tx.send(2).unwrap(); // waits until the receiver takes 1
    /// });
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(rx.recv(), Ok(2));
    /// t.join().unwrap();
    /// ```
    pub fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value`, blocking for at most `timeout` while the channel is
    /// full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], both
    /// with the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::{spsc, SendTimeoutError};
    ///
    /// let (mut tx, _rx) = spsc::channel(1);
    /// tx.send(1).unwrap();
    /// let err = tx.send_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(err, SendTimeoutError::Timeout(2));
    /// ```
    pub fn send_timeout(&mut self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, deadline_after(timeout))
    }

    /// Sends `value`, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`send_timeout`](Self::send_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(1);
    /// assert!(tx.send_deadline(1, Instant::now() + Duration::from_millis(1)).is_ok());
    /// ```
    pub fn send_deadline(
        &mut self,
        value: T,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    /// Sends `value`, waiting asynchronously while the channel is full.
    ///
    /// The future keeps the value until the moment it is written into the
    /// channel; [`SendFuture::cancel`] hands it back if it was not sent yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent and
    /// loses no wake-up. To keep the value, call [`SendFuture::cancel`]
    /// instead of dropping.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`] with the value when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send_async(5).await.unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(5));
    /// # });
    /// ```
    pub fn send_async(&mut self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            tx: self,
            value: Some(value),
            registration: Registration::new(),
        }
    }

    /// Waits for room for one value and returns a [`Permit`] to send it
    /// without waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no room is held until the future completes.
    ///
    /// # Errors
    ///
    /// Resolves to [`SendError`]`(())` when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// permit.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// # });
    /// ```
    pub fn reserve(&mut self) -> ReserveFuture<'_, T> {
        ReserveFuture {
            tx: Some(self),
            registration: Registration::new(),
        }
    }

    /// Returns a [`Permit`] if there is room right now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` or [`TrySendError::Closed`]`(())`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.try_reserve().unwrap().send(1).unwrap();
    /// assert!(tx.try_reserve().unwrap_err().is_full());
    /// # drop(rx);
    /// ```
    pub fn try_reserve(&mut self) -> Result<Permit<'_, T>, TrySendError<()>> {
        if self.shared.is_closed() {
            Err(TrySendError::Closed(()))
        } else if self.free() == 0 {
            Err(TrySendError::Full(()))
        } else {
            Ok(Permit { tx: self })
        }
    }

    /// Moves values from `iter` into the free slots and publishes them all
    /// at once. Pulls an item from `iter` only when there is room for it, so
    /// what does not fit stays in the iterator.
    ///
    /// Returns how many values were sent (0 only if `iter` was empty).
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` when there was no room for even one value,
    /// [`TrySendError::Closed`]`(())` when the channel is closed; in both
    /// cases nothing was taken from `iter` (it is not looked at, so this
    /// holds for an empty `iter` too).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(3);
    /// let mut values = 0..5;
    /// assert_eq!(tx.try_send_iter(&mut values), Ok(3));
    /// assert_eq!(values.next(), Some(3)); // what did not fit stays put
    /// let mut out = Vec::new();
    /// rx.try_recv_many(&mut out, 10).unwrap();
    /// assert_eq!(out, [0, 1, 2]);
    /// ```
    pub fn try_send_iter<I: Iterator<Item = T>>(
        &mut self,
        iter: &mut I,
    ) -> Result<usize, TrySendError<()>> {
        if self.shared.is_closed() {
            return Err(TrySendError::Closed(()));
        }
        let free = self.free_fresh();
        if free == 0 {
            return Err(TrySendError::Full(()));
        }
        Ok(self.push_batch(iter, free))
    }

    /// Writes up to `free` items, then publishes the tail once. A guard
    /// publishes what was written even if the iterator panics.
    fn push_batch<I: Iterator<Item = T>>(&self, iter: &mut I, free: usize) -> usize {
        struct Publish<'a, T> {
            tx: &'a Sender<T>,
            start: usize,
            written: usize,
        }
        impl<T> Drop for Publish<'_, T> {
            fn drop(&mut self) {
                if self.written == 0 {
                    return;
                }
                let s = &*self.tx.shared;
                let next = s.advance(self.start, self.written);
                self.tx.tail.set(next);
                s.tail.store(next, Ordering::Release);
                s.recv_wait.notify_one();
            }
        }
        let s = &*self.shared;
        let mut guard = Publish {
            tx: self,
            start: self.tail.get(),
            written: 0,
        };
        // Walk slot indices directly: no position arithmetic per value.
        let mut idx = s.slot_index(guard.start);
        while guard.written < free {
            let Some(v) = iter.next() else { break };
            // SAFETY: `written < free`, so this slot is outside the
            // initialised range; only this endpoint writes.
            unsafe { s.write_slot(idx, v) };
            guard.written += 1;
            idx = if idx + 1 == s.cap { 0 } else { idx + 1 };
        }
        guard.written
    }

    /// Sends every value of `iter`, blocking whenever the channel is full,
    /// and publishing each run of values at once.
    ///
    /// # Errors
    ///
    /// When the channel closes, [`SendError`] holds the iterator with the
    /// values not yet sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// let t = std::thread::spawn(move || tx.send_iter(0..100).map_err(|_| ()));
    /// assert_eq!(rx.into_iter().sum::<u32>(), 4950);
    /// t.join().unwrap().unwrap();
    /// ```
    pub fn send_iter<I: IntoIterator<Item = T>>(
        &mut self,
        iter: I,
    ) -> Result<(), SendError<core::iter::Peekable<I::IntoIter>>> {
        let mut iter = iter.into_iter().peekable();
        while iter.peek().is_some() {
            let ok = block_thread(&self.shared.send_wait, None, || {
                if self.shared.is_closed() {
                    Some(false)
                } else if self.free() != 0 {
                    Some(true)
                } else {
                    None
                }
            });
            if ok != Some(true) {
                return Err(SendError(iter));
            }
            let free = self.free_fresh();
            self.push_batch(&mut iter, free);
        }
        Ok(())
    }

    /// Closes the channel. Later sends fail with the value handed back; the
    /// receiver drains what is buffered, then gets `Closed`.
    ///
    /// Returns true if this call closed it, false if it was already closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&mut self) -> bool {
        self.shared.close()
    }

    /// True once either side closed the channel or dropped its endpoint.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Resolves once the channel is closed (typically: the receiver is
    /// gone). Useful to stop producing work nobody will take.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&mut self) -> Closed<'_> {
        Closed {
            closed: &self.shared.closed,
            queue: &self.shared.close_wait,
            registration: Registration::new(),
        }
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every slot is taken.
    ///
    /// ```
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`].
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::spsc::channel::<u8>(5);
    /// assert_eq!(tx.capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` is the receiver of this same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// let (_tx2, rx2) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(tx.same_channel(&rx));
    /// assert!(!tx.same_channel(&rx2));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Number of values the receiver can take without looking at the
    /// shared tail again; refreshes the cache when it reads zero.
    #[inline(always)]
    fn available(&self) -> usize {
        let s = &*self.shared;
        let head = self.head.get();
        let n = s.distance(head, self.cached_tail.get());
        if n != 0 {
            return n;
        }
        if self.finished.get() {
            return 0;
        }
        let tail = s.tail.load(Ordering::Acquire);
        self.cached_tail.set(tail);
        s.distance(head, tail)
    }

    /// Like `available`, but tells "empty" from "closed and drained".
    #[inline(always)]
    fn ready(&self) -> Result<usize, TryRecvError> {
        // Once finished, `cached_tail == head` and `available` checks
        // `finished` before it looks at the shared tail, so the fast path
        // needs no extra test.
        let n = self.available();
        if n != 0 {
            return Ok(n);
        }
        self.ready_slow()
    }

    #[cold]
    fn ready_slow(&self) -> Result<usize, TryRecvError> {
        if self.finished.get() {
            return Err(TryRecvError::Closed);
        }
        if self.lent.get() {
            self.publish_head();
        }
        if !self.shared.is_closed() {
            return Err(TryRecvError::Empty);
        }
        // Values sent before the close were published before `closed`.
        match self.available() {
            0 => {
                self.finished.set(true);
                self.cached_tail.set(self.head.get());
                Err(TryRecvError::Closed)
            }
            n => Ok(n),
        }
    }

    /// Like `ready`, but always reads the sender's current tail (for
    /// batches, which want everything buffered).
    fn ready_fresh(&self) -> Result<usize, TryRecvError> {
        if !self.finished.get() {
            self.cached_tail
                .set(self.shared.tail.load(Ordering::Acquire));
        }
        self.ready()
    }

    /// Publishes the local head after a [`Drain`] was leaked (its drop
    /// publishes otherwise), and wakes the sender, which may wait for the
    /// room. Called when the receiver finds the ring empty while `lent` is
    /// set, so the room is never withheld while the receiver waits.
    #[cold]
    #[inline(never)]
    fn publish_head(&self) {
        self.lent.set(false);
        let s = &*self.shared;
        let head = self.head.get();
        // Only this endpoint writes the shared head: a relaxed load reads
        // back its own last store.
        if s.head.load(Ordering::Relaxed) != head {
            s.head.store(head, Ordering::Release);
            s.send_wait.notify_one();
        }
    }

    #[inline(always)]
    fn pop_unchecked(&self) -> T {
        let s = &*self.shared;
        let head = self.head.get();
        // SAFETY: the caller saw `head != tail`, so the slot is initialised.
        let v = unsafe { s.read(head) };
        let next = s.next(head);
        self.head.set(next);
        s.head.store(next, Ordering::Release);
        s.send_wait.notify_one();
        v
    }

    #[inline(always)]
    fn try_recv_ref(&self) -> Result<T, TryRecvError> {
        self.ready()?;
        Ok(self.pop_unchecked())
    }

    /// Takes a value if one is buffered, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{spsc, TryRecvError};
    ///
    /// let (mut tx, mut rx) = spsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.try_recv_ref()
    }

    fn recv_deadline_opt(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let res = block_thread(&self.shared.recv_wait, deadline, || {
            match self.try_recv_ref() {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Closed) => Some(Err(RecvTimeoutError::Closed)),
                Err(TryRecvError::Empty) => None,
            }
        });
        res.unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// Takes a value, blocking the thread while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv(), Ok(7));
    /// assert!(rx.recv().is_err()); // the sender is gone
    /// ```
    pub fn recv(&mut self) -> Result<T, RecvError> {
        self.recv_deadline_opt(None).map_err(|_| RecvError)
    }

    /// Takes a value, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::{spsc, RecvTimeoutError};
    ///
    /// let (_tx, mut rx) = spsc::channel::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(2)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(deadline_after(timeout))
    }

    /// Takes a value, blocking until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, mut rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(Some(deadline))
    }

    /// Takes a value, waiting asynchronously while the channel is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is only taken in the poll that returns it, so
    /// dropping the future loses no message, and a wake-up it had received
    /// passes on to the next waiter.
    ///
    /// # Errors
    ///
    /// Resolves to [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_async().await, Ok(1));
    /// # });
    /// ```
    pub fn recv_async(&mut self) -> RecvFuture<'_, T> {
        RecvFuture {
            rx: self,
            registration: Registration::new(),
        }
    }

    /// Moves up to `limit` buffered values into `buf` with one index
    /// publish, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered,
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(8);
    /// tx.send_iter(0..5).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    /// assert_eq!(buf, [0, 1, 2]);
    /// ```
    pub fn try_recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        self.recv_many_ref(buf, limit)
    }

    fn recv_many_ref(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        if limit == 0 {
            return Ok(0);
        }
        let n = self.ready_fresh()?.min(limit);
        let s = &*self.shared;
        let start = self.head.get();
        let mut idx = s.slot_index(start);
        // Reserve first: `push` then cannot fail or unwind midway, so no
        // value is read without being handed over.
        buf.reserve(n);
        for _ in 0..n {
            // SAFETY: the `n` slots from `start` are in the initialised range
            // and only this endpoint reads them; `head` is published past
            // them right after.
            buf.push(unsafe { s.read_slot(idx) });
            idx = if idx + 1 == s.cap { 0 } else { idx + 1 };
        }
        let next = s.advance(start, n);
        self.head.set(next);
        s.head.store(next, Ordering::Release);
        s.send_wait.notify_one();
        Ok(n)
    }

    /// Takes up to `limit` of the values buffered right now, as an iterator
    /// that reads them straight from the ring. The slots are handed back to
    /// the sender, with one index publish, when the iterator is dropped;
    /// values it did not yield stay buffered.
    ///
    /// Never waits: the iterator is empty when nothing is buffered (check
    /// [`is_closed`](Self::is_closed) to tell an empty channel from a
    /// finished one).
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(8);
    /// tx.send_iter(0..6).unwrap();
    /// let firsts: Vec<_> = rx.drain(4).collect();
    /// assert_eq!(firsts, [0, 1, 2, 3]);
    /// let mut rest = rx.drain(8);
    /// assert_eq!(rest.next(), Some(4));
    /// drop(rest); // 5 stays buffered
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn drain(&mut self, limit: usize) -> Drain<'_, T> {
        let n = match self.ready_fresh() {
            Ok(n) => n.min(limit),
            Err(_) => 0,
        };
        let idx = self.shared.slot_index(self.head.get());
        self.lent.set(true);
        Drain {
            rx: self,
            left: n,
            taken: 0,
            idx,
        }
    }

    /// Moves up to `limit` values into `buf`, blocking until at least one is
    /// buffered.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(8);
    /// tx.send_iter([1, 2]).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 8), Ok(2));
    /// ```
    pub fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        let res = block_thread(&self.shared.recv_wait, None, || {
            match self.recv_many_ref(buf, limit) {
                Ok(n) => Some(Ok(n)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            }
        });
        res.unwrap_or(Err(RecvError))
    }

    /// A blocking iterator: yields values until the channel is closed and
    /// drained.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2, 3]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&mut self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// A non-blocking iterator over what is buffered right now.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// ```
    pub fn try_iter(&mut self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Turns the receiver into a [`futures_core::Stream`] that ends when the
    /// channel is closed and drained.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send_iter([1, 2]).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.into_stream().collect::<Vec<_>>().await, [1, 2]);
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream {
            rx: self,
            registration: Registration::new(),
        }
    }

    /// Closes the channel from the receiving side: sends fail from now on
    /// and hand their value back; what is buffered can still be received.
    ///
    /// Returns true if this call closed it.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(2);
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn close(&mut self) -> bool {
        self.shared.close()
    }

    /// True once either side closed the channel or dropped its endpoint.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Number of values buffered right now.
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every slot is taken.
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.shared.cap
    }

    /// The number of slots, exactly as given to [`channel`].
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(3);
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.cap
    }

    /// True if `other` is the sender of this same channel.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// assert!(rx.same_channel(&tx));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A leaked `Drain` may have moved values out without publishing the
        // shared head: publish it, so the shared state never drops them.
        self.shared.head.store(self.head.get(), Ordering::Release);
        // Close, then drop what is buffered now rather than when the sender
        // goes: every value, even if a waker or a value's drop panics (the
        // first panic is raised again afterwards).
        let mut panics = Panics::new();
        panics.run(|| {
            self.shared.close();
        });
        while let Ok(v) = self.try_recv_ref() {
            panics.run(|| drop(v));
        }
        panics.finish();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Future returned by [`Sender::send_async`].
///
/// Holds the value until it is written into the channel.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    tx: &'a mut Sender<T>,
    value: Option<T>,
    registration: Registration,
}

impl<T> SendFuture<'_, T> {
    /// Stops the send and hands the value back, or `None` if it was already
    /// sent (or returned in an error).
    ///
    /// ```
    /// # futures_lite::future::block_thread(async {
    /// let (mut tx, _rx) = nimsync_channel::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// let mut fut = tx.send_async(2);
    /// assert!(futures_lite::future::poll_once(&mut fut).await.is_none()); // full: pending
    /// assert_eq!(fut.cancel(), Some(2));
    /// # });
    /// ```
    pub fn cancel(&mut self) -> Option<T> {
        self.registration
            .cancel_and_pass_on(&self.tx.shared.send_wait);
        self.value.take()
    }
}

// The value is never pinned: it is moved out by `poll` and `cancel`.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let tx = &*this.tx;
        let value = &mut this.value;
        assert!(value.is_some(), "`SendFuture` polled after it completed");
        poll_op(
            &mut this.registration,
            &tx.shared.send_wait,
            cx,
            || match tx.try_send_ref(value.take().expect("value present while pending")) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(v)) => Some(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    *value = Some(v);
                    None
                }
            },
        )
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(&self.tx.shared.send_wait);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::SendFuture")
            .field("pending", &self.value.is_some())
            .finish()
    }
}

/// Future returned by [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    rx: &'a mut Receiver<T>,
    registration: Registration,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let rx = &*this.rx;
        poll_op(
            &mut this.registration,
            &rx.shared.recv_wait,
            cx,
            || match rx.try_recv_ref() {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            },
        )
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(&self.rx.shared.recv_wait);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::RecvFuture")
    }
}

/// Future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless polled"]
pub struct ReserveFuture<'a, T> {
    tx: Option<&'a mut Sender<T>>,
    registration: Registration,
}

impl<'a, T> Future for ReserveFuture<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let tx = this
            .tx
            .as_deref()
            .expect("`ReserveFuture` polled after it completed");
        let res = poll_op(&mut this.registration, &tx.shared.send_wait, cx, || {
            if tx.shared.is_closed() {
                Some(false)
            } else if tx.free() != 0 {
                Some(true)
            } else {
                None
            }
        });
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(false) => {
                this.tx = None;
                Poll::Ready(Err(SendError(())))
            }
            Poll::Ready(true) => {
                let tx = this.tx.take().expect("checked above");
                Poll::Ready(Ok(Permit { tx }))
            }
        }
    }
}

impl<T> Drop for ReserveFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(tx) = &self.tx {
            self.registration.cancel_and_pass_on(&tx.shared.send_wait);
        }
    }
}

impl<T> fmt::Debug for ReserveFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::ReserveFuture")
    }
}

/// Room for one value, held until [`Permit::send`] or drop.
///
/// Only the sender fills the ring, so the room a permit saw cannot be taken
/// by anyone else; holding a permit costs nothing.
pub struct Permit<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the
    /// permit was granted.
    ///
    /// ```
    /// let (mut tx, mut rx) = nimsync_channel::spsc::channel(1);
    /// tx.try_reserve().unwrap().send('a').unwrap();
    /// assert_eq!(rx.recv(), Ok('a'));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        if self.tx.shared.is_closed() {
            return Err(SendError(value));
        }
        self.tx.push_unchecked(value);
        Ok(())
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::Permit")
    }
}

/// Future returned by `closed()`; resolves once the channel is closed.
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a> {
    closed: &'a AtomicBool,
    queue: &'a WaitQueue,
    registration: Registration,
}

impl Future for Closed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let closed = this.closed;
        poll_op(&mut this.registration, this.queue, cx, || {
            closed.load(Ordering::Acquire).then_some(())
        })
    }
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.registration.cancel(self.queue);
    }
}

impl fmt::Debug for Closed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spsc::Closed")
    }
}

/// Blocking iterator returned by [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator returned by [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator, from `Receiver::into_iter`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a mut Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The receiver as a [`futures_core::Stream`], from
/// [`Receiver::into_stream`].
pub struct RecvStream<T> {
    rx: Receiver<T>,
    registration: Registration,
}

impl<T> RecvStream<T> {
    /// Gives the receiver back.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// let rx = rx.into_stream().into_inner();
    /// assert_eq!(rx.capacity(), 1);
    /// ```
    pub fn into_inner(mut self) -> Receiver<T> {
        self.registration
            .cancel_and_pass_on(&self.rx.shared.recv_wait);
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out
        // exactly once and `RecvStream::drop` does not run.
        let (rx, registration) = unsafe {
            (
                core::ptr::read(&this.rx),
                core::ptr::read(&this.registration),
            )
        };
        drop(registration);
        rx
    }
}

impl<T> futures_core::Stream for RecvStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let rx = &this.rx;
        poll_op(
            &mut this.registration,
            &rx.shared.recv_wait,
            cx,
            || match rx.try_recv_ref() {
                Ok(v) => Some(Some(v)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => None,
            },
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rx.len(), None)
    }
}

impl<T> Drop for RecvStream<T> {
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(&self.rx.shared.recv_wait);
    }
}

impl<T> fmt::Debug for RecvStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::RecvStream")
            .field("rx", &self.rx)
            .finish()
    }
}

// Crate-internal hooks for the select protocol (see `select.rs`).
impl<T> Receiver<T> {
    pub(crate) fn addr(&self) -> u64 {
        Arc::as_ptr(&self.shared) as *const () as usize as u64
    }
    pub(crate) fn recv_wait(&self) -> &WaitQueue {
        &self.shared.recv_wait
    }
    pub(crate) fn poll_ready(&self) -> Result<(), TryRecvError> {
        self.ready().map(|_| ())
    }
    pub(crate) fn finish_recv(&self) -> T {
        // Only this endpoint consumes, so what `poll_ready` saw is still
        // there; check anyway rather than trust the caller.
        assert!(
            self.available() != 0,
            "spsc select commit without a buffered value"
        );
        self.pop_unchecked()
    }
}

impl<T> Sender<T> {
    pub(crate) fn addr(&self) -> u64 {
        Arc::as_ptr(&self.shared) as *const () as usize as u64
    }
    pub(crate) fn send_wait(&self) -> &WaitQueue {
        &self.shared.send_wait
    }
    pub(crate) fn poll_ready(&self) -> Result<(), TrySendError<()>> {
        if self.shared.is_closed() {
            Err(TrySendError::Closed(()))
        } else if self.free() == 0 {
            Err(TrySendError::Full(()))
        } else {
            Ok(())
        }
    }
    pub(crate) fn finish_send(&self, value: T) {
        // Only this endpoint produces, so the room `poll_ready` saw is still
        // there; check anyway rather than trust the caller.
        assert!(self.free() != 0, "spsc select commit without room");
        self.push_unchecked(value);
    }
}

/// Iterator returned by [`Receiver::drain`]: moves values out of the ring
/// and hands the slots back when dropped.
pub struct Drain<'a, T> {
    rx: &'a mut Receiver<T>,
    /// Values still to yield.
    left: usize,
    /// Values yielded so far (published on drop).
    taken: usize,
    /// Slot index of the next value.
    idx: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        let s = &*self.rx.shared;
        // SAFETY: `drain` counted `left` initialised slots from `head`; this
        // one is at the receiver's local head, which moves past it right
        // away, so it is never read again, even if this iterator is leaked.
        // The shared head is then published by the receiver's next receive,
        // by its first look at an empty ring (`publish_head`, before any
        // wait, as `lent` stays set), or by its drop, so the sender never
        // waits for room that this receiver already freed.
        let v = unsafe { s.read_slot(self.idx) };
        self.rx.head.set(s.next(self.rx.head.get()));
        self.idx = if self.idx + 1 == s.cap {
            0
        } else {
            self.idx + 1
        };
        self.left -= 1;
        self.taken += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.rx.lent.set(false);
        if self.taken == 0 {
            return;
        }
        let s = &*self.rx.shared;
        s.head.store(self.rx.head.get(), Ordering::Release);
        s.send_wait.notify_one();
    }
}

impl<T> fmt::Debug for Drain<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Drain")
            .field("left", &self.left)
            .finish()
    }
}
