//! Trio-style [`start`](crate::TaskGroup::start): the slot a started child
//! leaves its value in, and the [`Started`] handle it is given.
//!
//! The child stores its value (or nothing, when the handle is dropped) and
//! closes the slot, taking the starter's waker, under the slot's lock; the
//! starter reads the slot, or registers its waker when it is still open,
//! under the same lock, so a close is never missed. Wakers are woken after
//! the lock is released.

use core::future::poll_fn;
use core::task::{Context, Poll, Waker};
use std::error::Error;
use std::fmt;

use crate::error::SpawnError;
use crate::sync::{Arc, Mutex};

/// Where a started child leaves its value.
#[derive(Debug)]
pub(crate) struct StartSlot<S> {
    state: Mutex<SlotState<S>>,
}

#[derive(Debug)]
struct SlotState<S> {
    value: Option<S>,
    /// The `Started` handle is gone (with or without a value).
    closed: bool,
    waker: Option<Waker>,
}

impl<S> StartSlot<S> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(SlotState {
                value: None,
                closed: false,
                waker: None,
            }),
        })
    }

    /// Stores `value` (if any), closes the slot and wakes the starter.
    fn close(&self, value: Option<S>) {
        let waker = {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            st.value = value;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ready with the value (or `None`) once the slot is closed.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<Option<S>> {
        let mut st = self.state.lock();
        if st.closed {
            return Poll::Ready(st.value.take());
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Given to a child spawned with
/// [`TaskGroup::start`](crate::TaskGroup::start): call
/// [`started`](Started::started) once the child is ready (listening,
/// connected, initialised); `start` then returns the value.
pub struct Started<S> {
    slot: Arc<StartSlot<S>>,
}

impl<S> fmt::Debug for Started<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Started")
    }
}

impl<S> Started<S> {
    pub(crate) fn new(slot: Arc<StartSlot<S>>) -> Self {
        Self { slot }
    }

    /// Reports that the child has started, handing `value` to the caller of
    /// [`TaskGroup::start`](crate::TaskGroup::start).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<()>::new();
    /// let port = group
    ///     .start(|started| async move {
    ///         started.started(8080u16);
    ///         Ok(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(port, 8080);
    /// # group.join_all().await.unwrap();
    /// # });
    /// ```
    pub fn started(self, value: S) {
        self.slot.close(Some(value));
    }
}

impl<S> Drop for Started<S> {
    fn drop(&mut self) {
        self.slot.close(None);
    }
}

/// Why [`TaskGroup::start`](crate::TaskGroup::start) returned no value.
///
/// A child that ended without reporting is still in its group: join the
/// group to see how it ended. A refusal prints the [`SpawnError`]; the
/// error has no [`source`](Error::source) of its own.
///
/// # Examples
/// ```
/// # let rt = nimsync_scheduler::Runtime::new().unwrap();
/// # rt.block_on(async {
/// use nimsync_group::{StartError, TaskGroup};
/// let group = TaskGroup::<(), ()>::new();
/// let err = group.start(|_started: nimsync_group::Started<u16>| async { Err(()) }).await;
/// assert_eq!(err, Err(StartError::NotStarted));
/// assert!(group.join_all().await.unwrap_err().failures()[0].is_failed());
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// The group refused the child.
    Spawn(SpawnError),
    /// The child ended (returned, failed, panicked or was cancelled)
    /// without calling [`Started::started`].
    NotStarted,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn(e) => write!(f, "could not start the child: {e}"),
            StartError::NotStarted => {
                f.write_str("the child ended without reporting that it started")
            }
        }
    }
}

impl Error for StartError {
    /// The source of the spawn's error: the error itself is printed.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StartError::Spawn(e) => e.source(),
            StartError::NotStarted => None,
        }
    }
}

/// Waits for the slot of a started child.
pub(crate) async fn wait_started<S>(slot: Arc<StartSlot<S>>) -> Result<S, StartError> {
    poll_fn(|cx| slot.poll(cx))
        .await
        .ok_or(StartError::NotStarted)
}
