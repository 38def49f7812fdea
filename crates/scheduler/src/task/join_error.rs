//! [`JoinError`]: why a task did not produce its output.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::harness::TaskMeta;
use super::id::Id;
use crate::sync::Mutex;

/// Why a task did not produce its output.
pub(crate) enum Repr {
    /// Aborted, or dropped by runtime shutdown.
    Cancelled,
    /// Its future panicked; the payload (behind a mutex so the error is
    /// `Sync`).
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// A task that did not produce its output: it was cancelled or it
/// panicked.
///
/// It prints as `task 7 was cancelled` or `task 7 panicked: <message>`
/// (with the task's name, when it has one, after its id). A cancelled task
/// was aborted through its [`JoinHandle`](crate::JoinHandle) or dropped
/// when its runtime shut down; await the handle before the runtime is
/// dropped to get the output instead. A panicked task's payload is
/// [`JoinError::into_panic`]; pass it to [`std::panic::resume_unwind`] to
/// raise the panic in the awaiting task.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), format!("task {} panicked: boom", err.id()));
///
/// let pending = rt.spawn(std::future::pending::<()>());
/// pending.abort();
/// let err = rt.block_on(pending).unwrap_err();
/// assert_eq!(err.to_string(), format!("task {} was cancelled", err.id()));
/// ```
pub struct JoinError(Box<Inner>);

/// A [`JoinError`]'s contents, boxed: a task's output slot is as large as
/// `Result<T, JoinError>`, so the error is kept to one pointer
/// (docs/perf-notes.md#heap-bytes-per-idle-task).
struct Inner {
    /// The task.
    id: Id,
    /// Its name.
    name: Option<Arc<str>>,
    /// What happened.
    repr: Repr,
}

impl JoinError {
    /// An error for the task `meta` describes.
    pub(crate) fn new(meta: &TaskMeta, repr: Repr) -> Self {
        Self(Box::new(Inner {
            id: meta.id(),
            name: meta.name().cloned(),
            repr,
        }))
    }

    /// Whether the task was cancelled (aborted, or dropped at shutdown).
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// assert!(rt.block_on(rt.spawn(async { panic!() })).unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.0.repr, Repr::Panic(_))
    }

    /// The id of the task.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(async { panic!() });
    /// let id = h.id();
    /// assert_eq!(rt.block_on(h).unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> Id {
        self.0.id
    }

    /// The panic payload, to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked; check with
    /// [`JoinError::is_panic`] or use [`JoinError::try_into_panic`].
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt.block_on(rt.spawn(async { std::panic::panic_any(7_u8) })).unwrap_err();
    /// assert_eq!(*err.into_panic().downcast::<u8>().unwrap(), 7);
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|err| {
            panic!("JoinError::into_panic called on a cancelled task's error ({err}); check is_panic() first")
        })
    }

    /// The panic payload, or the error back when the task was cancelled.
    ///
    /// # Errors
    /// Returns `self` when the task was cancelled.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.0.repr {
            Repr::Panic(payload) => Ok(payload.into_inner()),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string.
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.0.repr else {
            return None;
        };
        let payload = payload.lock();
        payload
            .downcast_ref::<&'static str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }

    /// "task 7" or "task 7 (`name`)".
    fn subject(&self) -> String {
        match &self.0.name {
            Some(name) => format!("task {} (`{name}`)", self.0.id),
            None => format!("task {}", self.0.id),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.repr {
            Repr::Cancelled => write!(f, "{} was cancelled", self.subject()),
            Repr::Panic(_) => match self.panic_message() {
                Some(message) => write!(f, "{} panicked: {message}", self.subject()),
                None => write!(f, "{} panicked with a non-string payload", self.subject()),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_cancelled() {
            "Cancelled"
        } else {
            "Panic"
        };
        f.debug_struct("JoinError")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("kind", &kind)
            .field("message", &self.panic_message())
            .finish()
    }
}

impl std::error::Error for JoinError {}
