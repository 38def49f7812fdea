//! The errors of a [`Select`](crate::Select).

use std::fmt;

/// The error of [`Select::try_select`](crate::Select::try_select) and
/// [`Select::try_ready`](crate::Select::try_ready): no operation was
/// ready.
///
/// Select again later, or block until an operation is ready with
/// [`Select::select`](crate::Select::select).
///
/// # Examples
/// ```
/// use nimsync_select::{Select, TrySelectError};
///
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// sel.recv(&rx);
/// let err = sel.try_select().unwrap_err();
/// assert_eq!(err, TrySelectError);
/// assert_eq!(err.to_string(), "no operation was ready");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrySelectError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation was ready")
    }
}

impl std::error::Error for TrySelectError {}

/// The error of [`Select::select_timeout`](crate::Select::select_timeout),
/// [`Select::select_deadline`](crate::Select::select_deadline) and the
/// other timed waits of a select: no operation became ready in time.
///
/// Retry with a longer timeout, or treat the silence of every channel as
/// the failure it is for the caller.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{Select, SelectTimeoutError};
///
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// sel.recv(&rx);
/// let err = sel.select_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SelectTimeoutError);
/// assert_eq!(err.to_string(), "no operation became ready before the deadline");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation became ready before the deadline")
    }
}

impl std::error::Error for SelectTimeoutError {}
