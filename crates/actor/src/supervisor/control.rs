//! [`SupervisorRef`]: the commands a running supervisor takes.

use std::fmt;
use std::sync::Arc;

use nimsync_channel::mpmc::Sender;
use nimsync_channel::oneshot;
use nimsync_group::CancelToken;

use crate::supervisor::ChildSpec;

/// A handle to a running [`Supervisor`](super::Supervisor).
///
/// # Examples
/// See [`Supervisor`](super::Supervisor) and [`SupervisorRef::start_child`].
#[derive(Clone)]
pub struct SupervisorRef {
    pub(super) name: Arc<str>,
    pub(super) tx: Sender<Command>,
    pub(super) shutdown: CancelToken,
    pub(super) stopped: CancelToken,
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("name", &self.name)
            .finish()
    }
}

/// A child as [`SupervisorRef::children`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildInfo {
    /// Its id.
    pub id: Arc<str>,
    /// Whether an incarnation is running now (false while a restart
    /// waits out its backoff).
    pub running: bool,
    /// Its restarts under this run of the supervisor.
    pub restarts: u64,
}

/// Error of [`SupervisorRef::start_child`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartChildError {
    /// The supervisor already has a child with this id.
    DuplicateId(Arc<str>),
    /// The supervisor has stopped (or is not running).
    Stopped,
    /// The runtime refused to spawn it.
    Spawn,
}

impl fmt::Display for StartChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartChildError::DuplicateId(id) => {
                write!(
                    f,
                    "the supervisor already has a child `{id}`: pick another id"
                )
            }
            StartChildError::Stopped => f.write_str("the supervisor is not running"),
            StartChildError::Spawn => f.write_str("the runtime refused to spawn the child"),
        }
    }
}

impl std::error::Error for StartChildError {}

pub(super) enum Command {
    Release,
    Start(ChildSpec, oneshot::Sender<Result<(), StartChildError>>),
    Terminate(Arc<str>, oneshot::Sender<bool>),
    Children(oneshot::Sender<Vec<ChildInfo>>),
}

impl SupervisorRef {
    /// The supervisor's name.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_actor::Supervisor::new("top").control().name(), "top");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the supervisor (cancels its [token](crate::Supervisor::token)):
    /// every child is stopped for good in reverse start order (each with its drain and shutdown timeout), then
    /// [`run`](super::Supervisor::run) returns `Ok`. Returns at once.
    ///
    /// # Examples
    /// See [`Supervisor`](super::Supervisor).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    pub(crate) fn release(&self) {
        let _ = self.tx.try_send(Command::Release);
    }

    /// Waits until the supervisor has stopped for good.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sup = nimsync_actor::Supervisor::new("empty");
    ///     let control = sup.control();
    ///     nimsync_scheduler::spawn(sup.run());
    ///     control.stop();
    ///     control.stopped().await;
    /// });
    /// ```
    pub async fn stopped(&self) {
        self.stopped.cancelled().await;
    }

    /// Adds and starts a child (OTP's `start_child`): the dynamic pool's
    /// way to grow.
    ///
    /// # Errors
    /// See [`StartChildError`].
    ///
    /// # Examples
    /// ```
    /// use nimsync_actor::{Actor, ChildSpec, StartChildError, Supervisor};
    ///
    /// struct Job;
    /// impl Actor for Job {}
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sup = Supervisor::new("jobs");
    ///     let control = sup.control();
    ///     let running = nimsync_scheduler::spawn(sup.run());
    ///     let (spec, job) = ChildSpec::actor("job-1", || Job);
    ///     control.start_child(spec).await.unwrap();
    ///     let (again, _) = ChildSpec::actor("job-1", || Job);
    ///     assert!(matches!(control.start_child(again).await, Err(StartChildError::DuplicateId(_))));
    ///     assert_eq!(control.children().await.len(), 1);
    ///     control.stop();
    ///     running.await.unwrap().unwrap();
    ///     assert!(!job.is_alive());
    /// });
    /// ```
    pub async fn start_child(&self, spec: ChildSpec) -> Result<(), StartChildError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .try_send(Command::Start(spec, tx))
            .map_err(|_| StartChildError::Stopped)?;
        rx.await.map_err(|_| StartChildError::Stopped)?
    }

    /// Stops the child `id` for good and removes it (OTP's
    /// `terminate_child` and `delete_child`). Returns whether there was
    /// such a child.
    ///
    /// # Examples
    /// See [`PoolRef`](super::PoolRef).
    pub async fn terminate_child(&self, id: &str) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.try_send(Command::Terminate(id.into(), tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// The current children, in start order (empty once stopped).
    ///
    /// # Examples
    /// See [`SupervisorRef::start_child`].
    pub async fn children(&self) -> Vec<ChildInfo> {
        let (tx, rx) = oneshot::channel();
        if self.tx.try_send(Command::Children(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}
