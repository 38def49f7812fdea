//! Structured concurrency on the nimsync-scheduler runtime.
//!
//! - [`TaskGroup`]: children awaited together, with an error
//!   [`Policy`] (fail fast, collect errors, ignore errors), results as they
//!   finish ([`TaskGroup::join_next`]) or all at once in spawn order
//!   ([`TaskGroup::join_all`]), an optional concurrency limit, names, and
//!   [`GroupMetrics`]; one child is aborted through the [`AbortHandle`]
//!   [`TaskGroup::spawn_with_handle`] returns.
//! - [`scope`]: a nursery: spawn children from a body, and the scope ends
//!   only when they all did.
//! - [`CancelToken`]: cooperative cancellation that flows from a token to
//!   its children and never back up; every group has one. A future runs
//!   until a token is cancelled with [`CancelToken::run_until_cancelled`],
//!   and a [`CancelGuard`] cancels one when dropped.
//! - Errors with context: a [`GroupError`] names the group and every
//!   failed child (name, id, whether it failed, panicked or was cancelled),
//!   and prints the first child's error.
//! - Tracing, with the `tracing` cargo feature (off by default; it turns
//!   on nimsync-scheduler's): events with the target `nimsync_group` for
//!   a child's failure (`warn`: the group's name, the child's id and name,
//!   the error's text), a group that cancels its children and why, an
//!   expired deadline and a retry (`debug`). A child's events are emitted
//!   from its task, inside the scheduler's `task` span. Without the
//!   feature none of this code is compiled. docs/group.md in the
//!   repository lists every field.
//!
//! ```
//! use nimsync_group::{Policy, TaskGroup};
//!
//! let rt = nimsync_scheduler::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let group = TaskGroup::<u32, String>::builder()
//!         .name("fetch")
//!         .policy(Policy::FailFast)
//!         .limit(8)
//!         .build();
//!     for page in 0..20u32 {
//!         let token = group.token().clone();
//!         group.spawn_named(format!("page-{page}"), async move {
//!             if token.is_cancelled() {
//!                 return Err(String::from("cancelled before starting"));
//!             }
//!             Ok(page * 2)
//!         })
//!         .unwrap();
//!     }
//!     let doubled = group.join_all().await.unwrap();
//!     assert_eq!(doubled[19], 38);
//! });
//! ```

mod abort;
mod deadline;
mod error;
mod finished;
mod group;
mod limit;
mod race;
mod retry;
mod start;
mod sync;
mod token;
#[cfg(feature = "tracing")]
mod trace;

#[cfg(all(test, loom))]
mod loom_tests;

pub use abort::AbortHandle;
pub use deadline::{
    TimedOut, current_deadline, move_on_after, move_on_at, with_deadline, with_deadline_named,
    with_timeout, with_timeout_named,
};
pub use error::{FailureKind, GroupError, SpawnError, TaskFailure, TaskLabel};
pub use group::{Builder, GroupMetrics, Policy, Spawner, TaskGroup, scope, scope_with};
pub use race::race;
pub use retry::{Retry, RetryError};
pub use start::{StartError, Started};
pub use token::{CancelGuard, CancelToken, CancelledFuture};

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
