//! The errors of the stream channel.
//!
//! Each error that carries an unsent item hands it back. `Debug` and
//! `Display` never require `T: Debug`; what to do about an error is said in
//! its type's docs.

use std::fmt;

/// Error of a blocking or async send on a stream [`Sender`](crate::Sender):
/// the item was not taken, and is handed back.
///
/// On `Closed`, the consumer is gone or the stage was closed: stop
/// producing. On `Overflowed`, the stage's [`Fail`](crate::Overflow::Fail)
/// policy refused this item and failed the stage; every later send gets
/// `Closed`.
///
/// ```
/// use nimsync_stream::{channel, Overflow, SendError};
///
/// let (tx, rx) = channel(1, Overflow::Fail);
/// tx.send(1).unwrap();
/// assert_eq!(tx.send(2), Err(SendError::Overflowed(2)));
/// assert_eq!(tx.send(3), Err(SendError::Closed(3)));
/// drop(rx);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendError<T> {
    /// The stage is closed; no consumer will take this item.
    Closed(T),
    /// The stage was full and its policy is `Fail`: this item failed it.
    Overflowed(T),
}

impl<T> SendError<T> {
    /// Takes back the item that was not sent.
    ///
    /// ```
    /// use nimsync_stream::SendError;
    /// assert_eq!(SendError::Closed(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendError::Closed(v) | SendError::Overflowed(v) => v,
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Overflowed(_) => f.write_str("Overflowed(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str(CLOSED),
            SendError::Overflowed(_) => f.write_str(OVERFLOWED),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}

const CLOSED: &str = "sending on a closed stream stage";
const OVERFLOWED: &str = "sending on a full stream stage whose overflow policy is Fail";

/// Error of [`Sender::try_send`](crate::Sender::try_send): the item was not
/// taken without waiting, and is handed back.
///
/// `Full` comes only from the [`Block`](crate::Overflow::Block) policy:
/// wait with a blocking or async send, or retry later. The other policies
/// never wait, so their `try_send` fails only as their `send` does.
///
/// ```
/// use nimsync_stream::{channel, Overflow, TrySendError};
///
/// let (tx, _rx) = channel(1, Overflow::Block);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The stage is full and its policy is `Block`.
    Full(T),
    /// The stage is closed; no consumer will take this item.
    Closed(T),
    /// The stage was full and its policy is `Fail`: this item failed it.
    Overflowed(T),
}

impl<T> TrySendError<T> {
    /// Takes back the item that was not sent.
    ///
    /// ```
    /// use nimsync_stream::TrySendError;
    /// assert_eq!(TrySendError::Full(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) | TrySendError::Overflowed(v) => v,
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        match e {
            SendError::Closed(v) => TrySendError::Closed(v),
            SendError::Overflowed(v) => TrySendError::Overflowed(v),
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
            TrySendError::Overflowed(_) => f.write_str("Overflowed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full stream stage"),
            TrySendError::Closed(_) => f.write_str(CLOSED),
            TrySendError::Overflowed(_) => f.write_str(OVERFLOWED),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why a receive got no item: the stream ended.
///
/// `Closed` is the normal end (every producer is gone, or the stage was
/// closed, and the items held were all delivered). `Overflowed` is the end
/// of a stage that failed on overflow ([`Overflow::Fail`](crate::Overflow::Fail)):
/// its producers ran faster than its consumer; raise the capacity or pick a
/// dropping policy.
///
/// ```
/// use nimsync_stream::{channel, Overflow, RecvError};
///
/// let (tx, mut rx) = channel(1, Overflow::Fail);
/// tx.send(1).unwrap();
/// let _ = tx.send(2); // overflows
/// assert_eq!(rx.recv(), Ok(1));
/// assert_eq!(rx.recv(), Err(RecvError::Overflowed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// The stream ended normally.
    Closed,
    /// The stream ended because it overflowed under the `Fail` policy.
    Overflowed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::Closed => "receiving on a closed and empty stream stage",
            RecvError::Overflowed => "the stream stage failed on overflow (policy Fail)",
        })
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`](crate::Receiver::try_recv) got no item.
///
/// ```
/// use nimsync_stream::{channel, Overflow, TryRecvError};
///
/// let (tx, mut rx) = channel::<u8>(1, Overflow::Block);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Ended(nimsync_stream::RecvError::Closed)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing is held now; more may come.
    Empty,
    /// The stream ended, as a blocking receive would report.
    Ended(RecvError),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty stream stage"),
            TryRecvError::Ended(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for TryRecvError {}
