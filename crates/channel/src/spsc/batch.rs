//! The SPSC batch API: runs of values moved with one index publish and
//! one wake-up (`try_send_iter`, `send_iter`, `try_send_slice`,
//! `send_slice`, `try_recv_many`, `recv_many`), and [`Drain`], which reads
//! values straight from the ring.
//!
//! Batches walk slot indices directly rather than computing a position
//! per value (docs/perf-notes.md#batches-walk-slot-indices-a-zero-copy-drain-spscreceiverdrain).

use core::fmt;

use super::{Receiver, Sender};
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::sync::Ordering;
use crate::waiter::block_thread;

impl<T> Sender<T> {
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
        let free = self.batch_room()?;
        Ok(self.push_batch(iter, free))
    }

    /// Copies as many values of `src` as there is room for into the free
    /// slots with at most two `memcpy`s, and publishes them all at once:
    /// the batch send for `Copy` values, already in a slice.
    ///
    /// Returns how many values were sent (the first that many of `src`;
    /// 0 only if `src` is empty).
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`]`(())` when there was no room for even one value,
    /// [`TrySendError::Closed`]`(())` when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use nimsync_channel::{spsc, TrySendError};
    ///
    /// let (mut tx, mut rx) = spsc::channel(4);
    /// assert_eq!(tx.try_send_slice(&[1, 2, 3, 4, 5, 6]), Ok(4));
    /// assert_eq!(tx.try_send_slice(&[5, 6]), Err(TrySendError::Full(())));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(tx.try_send_slice(&[5, 6]), Ok(1));
    /// let rest: Vec<u32> = rx.drain(usize::MAX).collect();
    /// assert_eq!(rest, [2, 3, 4, 5]);
    /// ```
    pub fn try_send_slice(&mut self, src: &[T]) -> Result<usize, TrySendError<()>>
    where
        T: Copy,
    {
        let free = self.batch_room()?;
        Ok(self.push_copies(src, free))
    }

    /// Sends every value of `src`, blocking whenever the channel is full,
    /// and copying each run of values into the ring at once.
    ///
    /// # Errors
    ///
    /// When the channel closes, [`SendError`] holds how many values of
    /// `src` had been sent (its first that many).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, rx) = nimsync_channel::spsc::channel(4);
    /// let values: Vec<u64> = (0..100).collect();
    /// let t = std::thread::spawn(move || tx.send_slice(&values));
    /// assert_eq!(rx.into_iter().sum::<u64>(), 4950);
    /// assert!(t.join().unwrap().is_ok());
    /// ```
    pub fn send_slice(&mut self, src: &[T]) -> Result<(), SendError<usize>>
    where
        T: Copy,
    {
        let mut sent = 0;
        while sent < src.len() {
            if !self.wait_for_room() {
                return Err(SendError(sent));
            }
            let free = self.free_fresh();
            sent += self.push_copies(&src[sent..], free);
        }
        Ok(())
    }

    /// The free slots a batch may fill now (reading the receiver's head),
    /// or why there are none.
    fn batch_room(&self) -> Result<usize, TrySendError<()>> {
        if self.shared.is_closed() {
            return Err(TrySendError::Closed(()));
        }
        match self.free_fresh() {
            0 => Err(TrySendError::Full(())),
            free => Ok(free),
        }
    }

    /// Blocks the thread until there is room (true) or the channel is
    /// closed (false).
    fn wait_for_room(&self) -> bool {
        let room = block_thread(&self.shared.send_wait, None, || match self.check_ready() {
            Ok(()) => Some(true),
            Err(TrySendError::Closed(())) => Some(false),
            Err(TrySendError::Full(())) => None,
        });
        room == Some(true)
    }

    /// Copies up to `free` values of `src` into the ring and publishes them.
    fn push_copies(&self, src: &[T], free: usize) -> usize
    where
        T: Copy,
    {
        let n = src.len().min(free);
        if n == 0 {
            return 0;
        }
        let s = &*self.shared;
        let start = self.tail.get();
        // SAFETY: `n <= free`, so the `n` slots from the tail on are outside
        // the initialised range; only this endpoint writes; the index of a
        // position is below `cap`.
        unsafe { s.write_copies(s.slot_index(start), &src[..n]) };
        let next = s.advance(start, n);
        self.tail.set(next);
        s.tail.store(next, Ordering::Release);
        s.recv_wait.notify_one();
        n
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
            if !self.wait_for_room() {
                return Err(SendError(iter));
            }
            let free = self.free_fresh();
            self.push_batch(&mut iter, free);
        }
        Ok(())
    }
}

impl<T> Receiver<T> {
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
