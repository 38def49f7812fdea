//! Spans and events through `tracing` (the `tracing` feature; this module
//! is compiled only with it). docs/runtime.md#tracing lists them.
//!
//! Every task gets a `task` span when it is spawned, if a subscriber wants
//! it: the macro asks the callsite's cached interest and the subscriber,
//! and without one that wants it the task keeps no span, only an empty
//! pointer ([`TaskSpan`]), so the polls of untraced tasks enter nothing.
//! The span is created on the spawning thread, before the task's registry
//! shard is locked: its parent is the span current where the task was
//! spawned (the spawning task's, inside a task).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::task::Id;

/// Where the events and spans of this crate come from.
const TARGET: &str = "nimsync_scheduler";

/// A task's span, boxed so that a task without one pays a pointer.
#[derive(Debug)]
pub(crate) struct TaskSpan(Option<Box<tracing::Span>>);

/// A [`TaskSpan`] entered; exits when dropped.
pub(crate) type Entered<'a> = Option<tracing::span::Entered<'a>>;

impl TaskSpan {
    /// The span of task `id`, named `name`; empty when no subscriber
    /// wants it.
    pub(crate) fn new(id: Id, name: Option<&str>) -> Self {
        let span = tracing::debug_span!(target: TARGET, "task", id = id.as_u64(), name);
        if span.is_disabled() {
            Self(None)
        } else {
            Self(Some(Box::new(span)))
        }
    }

    /// No span.
    pub(crate) fn none() -> Self {
        Self(None)
    }

    /// Takes the span out, leaving none.
    #[inline]
    pub(crate) fn take(&mut self) -> Self {
        Self(self.0.take())
    }

    /// Enters the span, if there is one.
    #[inline]
    pub(crate) fn enter(&self) -> Entered<'_> {
        self.0.as_deref().map(tracing::Span::enter)
    }
}

/// A poll of task `id` took `duration`, at least `threshold`.
pub(crate) fn slow_poll(id: Id, name: Option<&Arc<str>>, duration: Duration, threshold: Duration) {
    tracing::warn!(
        target: TARGET,
        id = id.as_u64(),
        name = name.map(|n| &**n),
        ?duration,
        ?threshold,
        "slow poll"
    );
}

/// Task `id` panicked (in a poll, or in the drop of its finished future).
pub(crate) fn panicked(id: Id, name: Option<&Arc<str>>, payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    tracing::error!(
        target: TARGET,
        id = id.as_u64(),
        name = name.map(|n| &**n),
        panic = message,
        "task panicked"
    );
}

/// Why a task's future was dropped unfinished.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cancel {
    /// Its `JoinHandle::abort` (or a group's abort).
    Abort,
    /// Dropped without a poll to see an abort: by the runtime's shutdown,
    /// a spawn refused during one, or a `spawn_local` task whose thread
    /// left the runtime.
    Dropped,
}

/// Task `id`'s future was dropped before it finished.
pub(crate) fn cancelled(id: Id, name: Option<&Arc<str>>, why: Cancel) {
    let reason = match why {
        Cancel::Abort => "abort",
        Cancel::Dropped => "dropped",
    };
    tracing::debug!(
        target: TARGET,
        id = id.as_u64(),
        name = name.map(|n| &**n),
        reason,
        "task cancelled"
    );
}

/// A runtime of `workers` workers was built.
pub(crate) fn runtime_started(workers: usize, current_thread: bool) {
    let flavor = if current_thread {
        "current_thread"
    } else {
        "multi_thread"
    };
    tracing::debug!(target: TARGET, workers, flavor, "runtime started");
}

/// A runtime of `workers` workers begins its shutdown.
pub(crate) fn runtime_shutdown(workers: usize) {
    tracing::debug!(target: TARGET, workers, "runtime shutting down");
}

/// A blocking thread starts running task `id`.
pub(crate) fn blocking_started(id: Id, name: Option<&Arc<str>>) {
    tracing::trace!(
        target: TARGET,
        id = id.as_u64(),
        name = name.map(|n| &**n),
        "blocking task started"
    );
}

/// A blocking thread finished running task `id`.
pub(crate) fn blocking_finished(id: Id, name: Option<&Arc<str>>) {
    tracing::trace!(
        target: TARGET,
        id = id.as_u64(),
        name = name.map(|n| &**n),
        "blocking task finished"
    );
}
