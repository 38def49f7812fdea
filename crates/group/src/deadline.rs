//! Deadlines that nest: [`with_deadline`], [`with_timeout`],
//! [`move_on_after`], and the [`TimedOut`] error.
//!
//! The deadline in force is a task-local: a scope sets the nearer of its
//! own deadline and the one it runs under, so an inner scope can shorten
//! the time left but never extend it. Groups pass their deadline on to
//! their children (shielded ones excepted).

use core::future::Future;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_time::Elapsed;

nimsync_scheduler::task_local! {
    /// The deadline in force for the current task, and the scope it
    /// belongs to.
    static DEADLINE: Deadline;
}

/// A deadline and the name of the scope that set it.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) scope: Option<Arc<str>>,
}

impl Deadline {
    /// The nearer of `at` (for `scope`) and the deadline in force.
    pub(crate) fn nearest(at: Instant, scope: Option<Arc<str>>) -> Self {
        match Self::current() {
            Some(outer) if outer.at <= at => outer,
            _ => Self { at, scope },
        }
    }

    /// The deadline in force, if any.
    pub(crate) fn current() -> Option<Self> {
        DEADLINE.try_with(Clone::clone).ok()
    }

    /// Runs `fut` with this deadline in force.
    pub(crate) fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        DEADLINE.scope(self, fut)
    }

    /// The error for this deadline.
    pub(crate) fn timed_out(&self) -> TimedOut {
        TimedOut {
            scope: self.scope.clone(),
            elapsed: Elapsed::new(self.at),
        }
    }
}

/// The deadline in force for the current task: the nearest one set by an
/// enclosing [`with_deadline`], [`with_timeout`] or group.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert_eq!(nimsync_group::current_deadline(), None);
///     let outer = Instant::now() + Duration::from_secs(5);
///     nimsync_group::with_deadline(outer, async move {
///         // An inner scope may shorten the time left, never extend it.
///         let later = outer + Duration::from_secs(60);
///         nimsync_group::with_deadline(later, async move {
///             assert_eq!(nimsync_group::current_deadline(), Some(outer));
///         })
///         .await
///         .unwrap();
///     })
///     .await
///     .unwrap();
/// });
/// ```
pub fn current_deadline() -> Option<Instant> {
    Deadline::current().map(|d| d.at)
}

/// A scope reached its deadline: which scope, and when.
///
/// What the scope was running was cancelled: give it more time, or handle
/// the timeout as a failure. It prints the scope's name; its
/// [`source`](Error::source) is nimsync-time's [`Elapsed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    scope: Option<Arc<str>>,
    elapsed: Elapsed,
}

impl TimedOut {
    /// The name of the scope whose deadline passed (the nearest enclosing
    /// one, which may be an outer scope).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt
    ///     .block_on(nimsync_group::with_timeout_named("db", Duration::ZERO, std::future::pending::<()>()))
    ///     .unwrap_err();
    /// assert_eq!(err.scope(), Some("db"));
    /// ```
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The deadline that passed.
    ///
    /// # Examples
    /// ```
    /// use std::time::Instant;
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let at = Instant::now();
    /// let err = rt.block_on(nimsync_group::with_deadline(at, std::future::pending::<()>())).unwrap_err();
    /// assert_eq!(err.deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.elapsed.deadline()
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(name) => write!(f, "scope `{name}` reached its deadline"),
            None => f.write_str("a scope reached its deadline"),
        }
    }
}

impl Error for TimedOut {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.elapsed)
    }
}

/// Runs `fut` until `deadline` (or an enclosing scope's nearer deadline);
/// at the deadline `fut` is dropped and the result is [`TimedOut`].
///
/// The deadline is in force for `fut` and for the groups it creates (see
/// [`current_deadline`]).
///
/// # Errors
/// [`TimedOut`] naming the scope whose deadline passed.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let soon = Instant::now() + Duration::from_millis(5);
/// let res = rt.block_on(nimsync_group::with_deadline(soon, std::future::pending::<()>()));
/// assert!(res.is_err());
/// ```
pub async fn with_deadline<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, TimedOut> {
    run(Deadline::nearest(deadline, None), fut).await
}

/// [`with_deadline`] for a named scope; the name appears in [`TimedOut`].
///
/// # Errors
/// [`TimedOut`] naming the scope whose deadline passed.
///
/// # Examples
/// ```
/// use std::time::Instant;
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let err = rt
///     .block_on(nimsync_group::with_deadline_named("rpc", Instant::now(), std::future::pending::<()>()))
///     .unwrap_err();
/// assert!(err.to_string().contains("scope `rpc`"));
/// ```
pub async fn with_deadline_named<F: Future>(
    name: impl Into<Arc<str>>,
    deadline: Instant,
    fut: F,
) -> Result<F::Output, TimedOut> {
    run(Deadline::nearest(deadline, Some(name.into())), fut).await
}

/// Runs `fut` for at most `timeout` (or until an enclosing scope's nearer
/// deadline).
///
/// # Errors
/// [`TimedOut`] naming the scope whose deadline passed.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let quick = rt.block_on(nimsync_group::with_timeout(Duration::from_secs(5), async { 1 }));
/// assert_eq!(quick, Ok(1));
/// ```
pub async fn with_timeout<F: Future>(timeout: Duration, fut: F) -> Result<F::Output, TimedOut> {
    with_deadline(deadline_after(timeout), fut).await
}

/// [`with_timeout`] for a named scope.
///
/// # Errors
/// [`TimedOut`] naming the scope whose deadline passed.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let res = rt.block_on(nimsync_group::with_timeout_named("cache", Duration::from_secs(5), async { 2 }));
/// assert_eq!(res, Ok(2));
/// ```
pub async fn with_timeout_named<F: Future>(
    name: impl Into<Arc<str>>,
    timeout: Duration,
    fut: F,
) -> Result<F::Output, TimedOut> {
    with_deadline_named(name, deadline_after(timeout), fut).await
}

/// Like [`with_timeout`], but a scope that runs out of time yields `None`
/// instead of an error (Trio's `move_on_after`).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let gave_up = rt.block_on(nimsync_group::move_on_after(
///     Duration::from_millis(2),
///     std::future::pending::<()>(),
/// ));
/// assert_eq!(gave_up, None);
/// ```
pub async fn move_on_after<F: Future>(timeout: Duration, fut: F) -> Option<F::Output> {
    with_timeout(timeout, fut).await.ok()
}

/// Like [`with_deadline`], yielding `None` at the deadline.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let later = Instant::now() + Duration::from_secs(5);
/// assert_eq!(rt.block_on(nimsync_group::move_on_at(later, async { 3 })), Some(3));
/// ```
pub async fn move_on_at<F: Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    with_deadline(deadline, fut).await.ok()
}

/// `now + timeout`, saturating about a century ahead.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 100))
}

/// Runs `fut` under `deadline`.
async fn run<F: Future>(deadline: Deadline, fut: F) -> Result<F::Output, TimedOut> {
    let at = deadline.at;
    let timed_out = deadline.timed_out();
    nimsync_time::timeout_at(at, deadline.scope(fut))
        .await
        .map_err(|_| {
            #[cfg(feature = "tracing")]
            crate::trace::deadline_expired(timed_out.scope(), None);
            timed_out
        })
}
