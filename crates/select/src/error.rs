//! The errors of a [`Select`](crate::Select).

use std::fmt;

/// The error of [`Select::try_select`] and [`Select::try_ready`]: no
/// operation was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrySelectError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no operation of the select was ready; select again later, or block with `select`",
        )
    }
}

impl std::error::Error for TrySelectError {}

/// The error of [`Select::select_timeout`] and
/// [`Select::select_deadline`]: no operation became ready in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation of the select became ready before the deadline; retry with a longer timeout")
    }
}

impl std::error::Error for SelectTimeoutError {}
