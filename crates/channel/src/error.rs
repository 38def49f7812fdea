//! Error types shared by every channel flavor.
//!
//! Each error that carries an unsent value hands it back, so nothing is lost
//! when a send fails. `Debug` and `Display` never require `T: Debug`.
//! `Display` is a short lowercase phrase, as std's and crossbeam's channel
//! errors print; what to do about an error is said in its type's docs. No
//! error has a `source()`.

use core::fmt;

/// Error returned by `try_send`: the value could not be sent without waiting.
///
/// The value is handed back in either variant. On `Full`, retry after a
/// receiver takes a message, or use a blocking or async send to wait for
/// room. On `Closed`, the receiving side is gone or the channel was
/// closed: no further value can be sent.
///
/// # Examples
///
/// ```
/// use nimsync_channel::{mpmc, TrySendError};
///
/// let (tx, rx) = mpmc::channel(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// Every slot is taken; try again after a receiver has made room.
    Full(T),
    /// The channel is closed; no receiver will ever take this value.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Takes back the value that was not sent.
    ///
    /// ```
    /// use nimsync_channel::TrySendError;
    /// assert_eq!(TrySendError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Closed(v) => v,
        }
    }

    /// True for [`TrySendError::Full`].
    ///
    /// ```
    /// use nimsync_channel::TrySendError;
    /// assert!(TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// True for [`TrySendError::Closed`].
    ///
    /// ```
    /// use nimsync_channel::TrySendError;
    /// assert!(TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("sending on a full channel"),
            Self::Closed(_) => f.write_str(CLOSED_SEND),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

const CLOSED_SEND: &str = "sending on a closed channel";

/// Error returned by a blocking or async send, a permit's send and a
/// oneshot send: the channel is closed.
///
/// The unsent value is in the public field. The receiving side is gone or
/// the channel was closed, so no further value can be sent.
///
/// # Examples
///
/// ```
/// use nimsync_channel::{mpmc, SendError};
///
/// let (tx, rx) = mpmc::channel::<u8>(4);
/// drop(rx);
/// assert_eq!(tx.send(5), Err(SendError(5)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Takes back the value that was not sent.
    ///
    /// ```
    /// use nimsync_channel::SendError;
    /// assert_eq!(SendError("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOSED_SEND)
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Error returned by `send_timeout` and `send_deadline`.
///
/// The value is handed back in either variant. On `Timeout`, receivers are
/// slower than the deadline allows: retry, wait longer or add capacity.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nimsync_channel::{mpmc, SendTimeoutError};
///
/// let (tx, _rx) = mpmc::channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(
///     tx.send_timeout(2, Duration::from_millis(1)),
///     Err(SendTimeoutError::Timeout(2)),
/// );
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// No slot became free before the time ran out; the value is handed back.
    Timeout(T),
    /// The channel is closed; the value is handed back.
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// Takes back the value that was not sent.
    ///
    /// ```
    /// use nimsync_channel::SendTimeoutError;
    /// assert_eq!(SendTimeoutError::Timeout(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(v) | Self::Closed(v) => v,
        }
    }

    /// True for [`SendTimeoutError::Timeout`].
    ///
    /// ```
    /// use nimsync_channel::SendTimeoutError;
    /// assert!(SendTimeoutError::Timeout(()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// True for [`SendTimeoutError::Closed`].
    ///
    /// ```
    /// use nimsync_channel::SendTimeoutError;
    /// assert!(SendTimeoutError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("timed out sending on a full channel"),
            Self::Closed(_) => f.write_str(CLOSED_SEND),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        Self::Closed(e.0)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        Self::Closed(e.0)
    }
}

/// Error returned by `try_recv`.
///
/// On `Empty`, retry later, or use a blocking or async receive to wait for
/// a message. On `Closed`, every sender is gone or the channel was closed,
/// and everything buffered has been received: no message will arrive.
///
/// # Examples
///
/// ```
/// use nimsync_channel::{mpmc, TryRecvError};
///
/// let (tx, rx) = mpmc::channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing is buffered right now; a sender may still send.
    Empty,
    /// The channel is closed and everything buffered has been received.
    Closed,
}

impl TryRecvError {
    /// True for [`TryRecvError::Empty`].
    ///
    /// ```
    /// use nimsync_channel::TryRecvError;
    /// assert!(TryRecvError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// True for [`TryRecvError::Closed`].
    ///
    /// ```
    /// use nimsync_channel::TryRecvError;
    /// assert!(TryRecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("receiving on an empty channel"),
            Self::Closed => f.write_str(CLOSED_RECV),
        }
    }
}

impl std::error::Error for TryRecvError {}

const CLOSED_RECV: &str = "receiving on a closed channel";

/// Error returned by a blocking or async receive: the channel is closed and
/// drained, so no message will ever arrive (every sender is gone or the
/// channel was closed, and everything buffered has been received).
///
/// # Examples
///
/// ```
/// use nimsync_channel::{mpmc, RecvError};
///
/// let (tx, rx) = mpmc::channel::<u8>(1);
/// drop(tx);
/// assert_eq!(rx.recv(), Err(RecvError));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOSED_RECV)
    }
}

impl std::error::Error for RecvError {}

/// Error returned by `recv_timeout` and `recv_deadline`.
///
/// On `Timeout`, senders may still send: retry or wait longer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nimsync_channel::{mpmc, RecvTimeoutError};
///
/// let (_tx, rx) = mpmc::channel::<u8>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvTimeoutError {
    /// No message arrived before the time ran out; senders may still send.
    Timeout,
    /// The channel is closed and everything buffered has been received.
    Closed,
}

impl RecvTimeoutError {
    /// True for [`RecvTimeoutError::Timeout`].
    ///
    /// ```
    /// use nimsync_channel::RecvTimeoutError;
    /// assert!(RecvTimeoutError::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// True for [`RecvTimeoutError::Closed`].
    ///
    /// ```
    /// use nimsync_channel::RecvTimeoutError;
    /// assert!(RecvTimeoutError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out receiving on an empty channel"),
            Self::Closed => f.write_str(CLOSED_RECV),
        }
    }
}

impl std::error::Error for RecvTimeoutError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        Self::Closed
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        Self::Closed
    }
}
