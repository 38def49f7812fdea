//! [`scope`] and [`scope_with`]: a nursery, a group whose children are
//! spawned from a body and awaited when it ends.

use core::future::Future;

use super::{Builder, Spawner, TaskGroup};
use crate::error::GroupError;

/// Runs `body` with a [`Spawner`] of a new fail-fast group (a nursery),
/// then waits for every child; returns the body's value and the children's
/// results in spawn order.
///
/// If the body itself finishes, the scope still waits for the children.
/// If the scope's future is dropped, the group is dropped with it: its
/// token is cancelled and its children aborted (see [`TaskGroup`]).
///
/// # Errors
/// The group's [`GroupError`] when a child failed.
///
/// # Panics
/// Outside a nimsync-scheduler runtime.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let (label, lengths) = rt.block_on(nimsync_group::scope(|s| async move {
///     for word in ["a", "bb", "ccc"] {
///         s.spawn(async move { Ok::<_, std::io::Error>(word.len()) }).unwrap();
///     }
///     "words"
/// }))
/// .unwrap();
/// assert_eq!((label, lengths), ("words", vec![1, 2, 3]));
/// ```
pub async fn scope<T, E, F, Fut>(body: F) -> Result<(Fut::Output, Vec<T>), GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(Spawner<T, E>) -> Fut,
    Fut: Future,
{
    scope_with(Builder::default(), body).await
}

/// [`scope`] with a configured group (name, policy, limit, parent).
///
/// # Errors
/// The group's [`GroupError`] when a child failed (never under
/// [`Policy::IgnoreErrors`](crate::Policy::IgnoreErrors)).
///
/// # Examples
/// ```
/// use nimsync_group::{Policy, TaskGroup, scope_with};
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let (_, ok) = rt.block_on(scope_with(
///     TaskGroup::<u8, ()>::builder().policy(Policy::IgnoreErrors),
///     |s| async move {
///         s.spawn(async { Ok(1) }).unwrap();
///         s.spawn(async { Err(()) }).unwrap();
///     },
/// ))
/// .unwrap();
/// assert_eq!(ok, vec![1]);
/// ```
pub async fn scope_with<T, E, F, Fut>(
    builder: Builder<T, E>,
    body: F,
) -> Result<(Fut::Output, Vec<T>), GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(Spawner<T, E>) -> Fut,
    Fut: Future,
{
    let group: TaskGroup<T, E> = builder.build();
    let out = body(group.spawner()).await;
    let results = group.join_all().await?;
    Ok((out, results))
}
