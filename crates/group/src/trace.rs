//! Events through `tracing` (the `tracing` feature; this module is
//! compiled only with it). docs/group.md#tracing lists them.
//!
//! A group makes no span of its own: its children are nimsync-scheduler
//! tasks, polled inside their `task` spans (the scheduler's `tracing`
//! feature, which this one turns on), and the events of a child are
//! emitted from its task, inside that span.

use std::any::Any;
use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use nimsync_scheduler::task;

/// Where the events of this crate come from.
const TARGET: &str = "nimsync_group";

/// How a child failed.
pub(crate) enum Failure<'a> {
    /// It returned this error, of the type named.
    Error(&'a dyn Any, &'static str),
    /// It panicked (the scheduler's `task panicked` event has the message).
    Panic,
}

/// The child running on this thread failed, and the group `group` counts
/// the failure.
pub(crate) fn child_failed(group: Option<&str>, failure: Failure<'_>) {
    let id = task::try_id().map(task::Id::as_u64);
    let name = task::name();
    let name = name.as_deref();
    match failure {
        Failure::Error(error, type_name) => tracing::warn!(
            target: TARGET,
            group,
            child.id = id,
            child.name = name,
            error = %Described(error, type_name),
            "child failed"
        ),
        Failure::Panic => tracing::warn!(
            target: TARGET,
            group,
            child.id = id,
            child.name = name,
            error = "panicked",
            "child failed"
        ),
    }
}

/// Why a group's children were cancelled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cancel {
    /// A child failed under `Policy::FailFast`: the token is cancelled, the
    /// other children are aborted at the next join.
    FailFast,
    /// `TaskGroup::abort_all`: the children are aborted, the token is not
    /// cancelled.
    AbortAll,
    /// The group's own deadline passed while joining.
    Deadline,
    /// The group was dropped with children not joined.
    Dropped,
}

/// The group `group` cancels its children.
pub(crate) fn group_cancelled(group: Option<&str>, why: Cancel) {
    let reason = match why {
        Cancel::FailFast => "fail-fast",
        Cancel::AbortAll => "abort_all",
        Cancel::Deadline => "deadline",
        Cancel::Dropped => "dropped",
    };
    tracing::debug!(target: TARGET, group, reason, "group cancelled");
}

/// The deadline of scope `scope` passed (a `with_deadline` family scope,
/// or the group `group`'s own deadline while it joined).
pub(crate) fn deadline_expired(scope: Option<&str>, group: Option<&str>) {
    tracing::debug!(target: TARGET, scope, group, "deadline expired");
}

/// A `Retry` waits `backoff` before attempt `attempt + 1`, after attempt
/// `attempt` failed.
pub(crate) fn retrying(attempt: u32, backoff: Duration) {
    tracing::debug!(target: TARGET, attempt, ?backoff, "retrying");
}

/// An error of a type the group knows only as `Any`: printed with its
/// `Display` when it is one of the common error and string types, named by
/// its type otherwise (a group's error type need not be `Display`).
struct Described<'a>(&'a dyn Any, &'static str);

/// Writes `$any` with its `Display` if it is one of `$ty`.
macro_rules! display_if {
    ($f:expr, $any:expr, $($ty:ty),+ $(,)?) => {
        $(
            if let Some(value) = $any.downcast_ref::<$ty>() {
                return fmt::Display::fmt(value, $f);
            }
        )+
    };
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let any = self.0;
        display_if!(
            f,
            any,
            String,
            &'static str,
            Box<str>,
            Arc<str>,
            Cow<'static, str>,
            Box<dyn Error + Send + Sync>,
            Box<dyn Error + Send>,
            Arc<dyn Error + Send + Sync>,
            std::io::Error,
            std::fmt::Error,
            std::num::ParseIntError,
            std::num::ParseFloatError,
            std::string::FromUtf8Error,
            crate::TimedOut,
            nimsync_time::Elapsed,
            i8,
            i16,
            i32,
            i64,
            isize,
            u8,
            u16,
            u32,
            u64,
            usize,
            char,
            bool,
        );
        write!(f, "an error of type `{}`", self.1)
    }
}
