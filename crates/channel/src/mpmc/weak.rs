//! Weak endpoints: a [`WeakSender`] or [`WeakReceiver`] keeps the channel's
//! memory, not its side connected, and becomes a strong endpoint again only
//! while one of that side is alive. The counts and the upgrade's
//! compare-and-swap are the flavor layer's (`flavor::Counts`).

use core::fmt;

use super::counts::Side;
use super::{Flavor, Receiver, Sender};

/// A sender that does not keep the channel open: from
/// [`Sender::downgrade`].
///
/// When the last [`Sender`] is dropped the channel closes on the sending
/// side, whatever weak senders remain, and [`upgrade`](Self::upgrade)
/// returns `None` from then on. A weak sender keeps the channel's memory
/// (and what is buffered) alive, as a sender does.
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert!(rx.recv().is_err()); // closed: no sender is left
/// ```
pub struct WeakSender<T> {
    pub(super) flavor: Flavor<T>,
}

impl<T> WeakSender<T> {
    /// A [`Sender`] of the same channel, if a sender is still alive.
    ///
    /// Racing the last sender's drop, exactly one of the two comes first:
    /// either the upgrade succeeds and the channel stays open, or the drop
    /// closes it and the upgrade returns `None`.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// let tx2 = weak.upgrade().unwrap();
    /// drop(tx);
    /// assert!(tx2.try_send(1).is_ok()); // tx2 keeps the channel open
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.flavor
            .upgrade(Side::Send)
            .map(|flavor| Sender { flavor })
    }

    /// The number of live [`Sender`]s (tokio's `strong_count`).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert_eq!(tx.downgrade().sender_count(), 1);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.flavor.counts().senders()
    }

    /// The number of live [`WeakSender`]s (tokio's `weak_count`).
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(weak.weak_sender_count(), 1);
    /// ```
    pub fn weak_sender_count(&self) -> usize {
        self.flavor.counts().weak_senders()
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(tx.downgrade().same_channel(&tx.downgrade()));
    /// ```
    pub fn same_channel(&self, other: &WeakSender<T>) -> bool {
        self.flavor.queue().id() == other.flavor.queue().id()
    }
}

impl<T> Clone for WeakSender<T> {
    /// Adds a weak sender.
    fn clone(&self) -> Self {
        Self {
            flavor: self.flavor.downgrade(Side::Send),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.flavor.drop_weak(Side::Send);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::WeakSender")
    }
}

/// A receiver that does not keep the channel open: from
/// [`Receiver::downgrade`].
///
/// When the last [`Receiver`] is dropped the channel closes and what is
/// buffered is dropped, whatever weak receivers remain, and
/// [`upgrade`](Self::upgrade) returns `None` from then on.
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let weak = rx.downgrade();
/// drop(rx);
/// assert!(weak.upgrade().is_none());
/// assert!(tx.try_send(1).unwrap_err().is_closed());
/// ```
pub struct WeakReceiver<T> {
    pub(super) flavor: Flavor<T>,
}

impl<T> WeakReceiver<T> {
    /// A [`Receiver`] of the same channel, if a receiver is still alive.
    /// Racing the last receiver's drop, exactly one of the two comes
    /// first, as for [`WeakSender::upgrade`].
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(1);
    /// let weak = rx.downgrade();
    /// tx.send(5).unwrap();
    /// assert_eq!(weak.upgrade().unwrap().recv(), Ok(5));
    /// ```
    pub fn upgrade(&self) -> Option<Receiver<T>> {
        self.flavor.upgrade(Side::Recv).map(Receiver::of)
    }

    /// The number of live [`Receiver`]s.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert_eq!(rx.downgrade().receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.flavor.counts().receivers()
    }

    /// The number of live [`WeakReceiver`]s.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert_eq!(weak.weak_receiver_count(), 1);
    /// ```
    pub fn weak_receiver_count(&self) -> usize {
        self.flavor.counts().weak_receivers()
    }

    /// True if `other` belongs to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// assert!(rx.downgrade().same_channel(&rx.downgrade()));
    /// ```
    pub fn same_channel(&self, other: &WeakReceiver<T>) -> bool {
        self.flavor.queue().id() == other.flavor.queue().id()
    }
}

impl<T> Clone for WeakReceiver<T> {
    /// Adds a weak receiver.
    fn clone(&self) -> Self {
        Self {
            flavor: self.flavor.downgrade(Side::Recv),
        }
    }
}

impl<T> Drop for WeakReceiver<T> {
    fn drop(&mut self) {
        self.flavor.drop_weak(Side::Recv);
    }
}

impl<T> fmt::Debug for WeakReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpmc::WeakReceiver")
    }
}
