//! What a group reports: [`TaskFailure`], [`GroupError`], [`SpawnError`].
//!
//! Every error of this crate that wraps another prints it in its `Display`
//! and passes on that error's own `source()`, as the standard library's
//! `io::Error` does for the error it wraps: a child's error may be any
//! `E: Display` (a `String`, a `&str`) that has no `source()` to be
//! returned from, and this way its message appears exactly once in a
//! report that walks the chain. The typed error stays reachable through
//! [`GroupError::failures`] and [`TaskFailure::into_error`].

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use nimsync_scheduler::task::Id;

use crate::deadline::TimedOut;

/// Which child a failure belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLabel {
    /// The name given at spawn, if any.
    pub name: Option<Arc<str>>,
    /// The runtime's id of the task.
    pub id: Id,
    /// Its position in spawn order within the group.
    pub index: usize,
}

impl fmt::Display for TaskLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(
                f,
                "task `{name}` (id {}, #{} in its group)",
                self.id, self.index
            ),
            None => write!(f, "task id {} (#{} in its group)", self.id, self.index),
        }
    }
}

/// How a child failed.
#[derive(Debug)]
pub enum FailureKind<E> {
    /// It returned `Err`.
    Failed(E),
    /// It panicked; the panic message, when it was a string.
    Panicked(String),
    /// It was aborted before it finished: its group was dropped, or a
    /// sibling failed under [`Policy::FailFast`](crate::Policy::FailFast).
    Cancelled,
}

/// One child that did not succeed.
///
/// It prints the child's error (or its panic message) after the child's
/// label, and its [`source`](Error::source) is that error's own source.
#[derive(Debug)]
pub struct TaskFailure<E> {
    /// Which child.
    pub task: TaskLabel,
    /// What happened to it.
    pub kind: FailureKind<E>,
}

impl<E> TaskFailure<E> {
    /// True if it returned `Err`.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), &str>::new();
    /// group.spawn(async { Err("no") }).unwrap();
    /// let failure = group.join_next().await.unwrap().unwrap_err();
    /// assert!(failure.is_failed());
    /// # });
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self.kind, FailureKind::Failed(_))
    }

    /// True if it panicked.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), String>::new();
    /// group.spawn(async { panic!("boom") }).unwrap();
    /// let failure = group.join_next().await.unwrap().unwrap_err();
    /// assert!(failure.is_panic());
    /// assert!(failure.to_string().contains("boom"));
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, FailureKind::Panicked(_))
    }

    /// True if it was aborted before it finished.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<(), &str>::new();
    /// group.spawn(std::future::pending()).unwrap();
    /// group.spawn(async { Err("first") }).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert!(err.failures()[1].is_cancelled());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, FailureKind::Cancelled)
    }

    /// The child's error, if it returned one.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), u8>::new();
    /// group.spawn(async { Err(7) }).unwrap();
    /// let failure = group.join_next().await.unwrap().unwrap_err();
    /// assert_eq!(failure.into_error(), Some(7));
    /// # });
    /// ```
    pub fn into_error(self) -> Option<E> {
        match self.kind {
            FailureKind::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FailureKind::Failed(e) => write!(f, "{} failed: {e}", self.task),
            FailureKind::Panicked(msg) => write!(f, "{} panicked: {msg}", self.task),
            FailureKind::Cancelled => write!(f, "{} was cancelled", self.task),
        }
    }
}

impl<E: Error + 'static> Error for TaskFailure<E> {
    /// The source of the child's error: the error itself is printed.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            FailureKind::Failed(e) => e.source(),
            _ => None,
        }
    }
}

/// A group that did not succeed: its name and every failed child, first
/// failure first.
///
/// It prints the group's name, the deadline that ended it (if one did),
/// the first failure with the child's error, and how many other children
/// failed or were cancelled; every failure is in
/// [`failures`](GroupError::failures). Its [`source`](Error::source) is
/// the source of what it printed first: the deadline's, or the first
/// failure's.
#[derive(Debug)]
pub struct GroupError<E> {
    pub(crate) group: Option<Arc<str>>,
    pub(crate) failures: Vec<TaskFailure<E>>,
    pub(crate) timed_out: Option<TimedOut>,
}

impl<E> GroupError<E> {
    /// The group's name, if it has one.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), &str>::builder().name("fetch").build();
    /// group.spawn(async { Err("404") }).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert_eq!(err.group(), Some("fetch"));
    /// assert!(err.to_string().starts_with("task group `fetch` failed"));
    /// # });
    /// ```
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// The failed children: the one that failed first comes first; under
    /// fail-fast, the siblings it cancelled follow.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), &str>::new();
    /// group.spawn(async { Err("x") }).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert_eq!(err.failures().len(), 1);
    /// # });
    /// ```
    pub fn failures(&self) -> &[TaskFailure<E>] {
        &self.failures
    }

    /// The deadline that ended the group, if its deadline passed while it
    /// was joined (its unshielded children were then cancelled).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<()>::builder().timeout(Duration::ZERO).build();
    /// group.spawn_ok(std::future::pending()).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert!(err.timed_out().is_some());
    /// assert!(err.failures()[0].is_cancelled());
    /// # });
    /// ```
    pub fn timed_out(&self) -> Option<&TimedOut> {
        self.timed_out.as_ref()
    }

    /// The failed children, by value.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<(), u8>::new();
    /// group.spawn(async { Err(1) }).unwrap();
    /// let first = group.join_all().await.unwrap_err().into_failures().remove(0);
    /// assert_eq!(first.into_error(), Some(1));
    /// # });
    /// ```
    pub fn into_failures(self) -> Vec<TaskFailure<E>> {
        self.failures
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(name) => write!(f, "task group `{name}` failed")?,
            None => f.write_str("task group failed")?,
        }
        if let Some(t) = &self.timed_out {
            write!(f, ": {t}")?;
        }
        match self.failures.split_first() {
            Some((first, rest)) => {
                write!(f, ": {first}")?;
                let (cancelled, other): (Vec<_>, Vec<_>) =
                    rest.iter().partition(|r| r.is_cancelled());
                if !other.is_empty() {
                    write!(f, "; {} more failed", other.len())?;
                }
                if !cancelled.is_empty() {
                    write!(f, "; {} cancelled", cancelled.len())?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl<E: Error + 'static> Error for GroupError<E> {
    /// The source of the deadline that ended the group, or of its first
    /// failure: both are printed.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.timed_out {
            Some(t) => t.source(),
            None => self.failures.first().and_then(Error::source),
        }
    }
}

/// A spawn into a group that no longer accepts children.
///
/// A group is closed once it was joined, failed fast, or was dropped:
/// spawn into a new group instead. A group whose token was cancelled takes
/// only shielded children: check [`CancelToken::is_cancelled`] before
/// spawning, or spawn with `spawn_shielded` the work that must run anyway.
///
/// # Examples
/// ```
/// # let rt = nimsync_scheduler::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let group = nimsync_group::TaskGroup::<()>::new();
/// group.token().cancel();
/// let err = group.spawn_ok(async {}).unwrap_err();
/// assert_eq!(err.to_string(), "spawning into a cancelled task group");
/// # });
/// ```
///
/// [`CancelToken::is_cancelled`]: crate::CancelToken::is_cancelled
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnError {
    pub(crate) reason: SpawnRefused,
}

/// Why a spawn was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpawnRefused {
    /// The group finished joining, failed fast, or was dropped.
    Closed,
    /// Its token was cancelled.
    Cancelled,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            SpawnRefused::Closed => f.write_str("spawning into a closed task group"),
            SpawnRefused::Cancelled => f.write_str("spawning into a cancelled task group"),
        }
    }
}

impl Error for SpawnError {}
