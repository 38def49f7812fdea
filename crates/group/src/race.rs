//! [`race`]: the first success among children of a new group.

use core::future::Future;

use crate::error::GroupError;
use crate::group::{Policy, TaskGroup};

/// Runs every future as a child of a new group and returns the first
/// `Ok`; the other children are then cancelled and aborted, and reaped
/// before this returns. If every child fails, the error lists them all.
///
/// # Errors
/// A [`GroupError`] with every failure when none succeeded.
///
/// # Panics
/// With no futures (nothing could win), or outside a nimsync-scheduler
/// runtime.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let fastest = rt.block_on(nimsync_group::race([
///     Box::pin(async {
///         nimsync_time::sleep(Duration::from_secs(10)).await;
///         Ok::<_, String>("slow mirror")
///     }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>,
///     Box::pin(async { Err(String::from("broken mirror")) }),
///     Box::pin(async { Ok("fast mirror") }),
/// ]));
/// assert_eq!(fastest.unwrap(), "fast mirror");
/// ```
pub async fn race<T, E, I, F>(futures: I) -> Result<T, GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let mut group: TaskGroup<T, E> = TaskGroup::builder().policy(Policy::CollectErrors).build();
    let mut count = 0;
    for fut in futures {
        group.spawn(fut).expect("a new group accepts children");
        count += 1;
    }
    assert!(count > 0, "nimsync_group::race needs at least one future");
    let mut failures = Vec::new();
    while let Some(result) = group.join_next().await {
        match result {
            Ok(value) => {
                group.cancel_rest();
                while group.join_next().await.is_some() {}
                return Ok(value);
            }
            Err(failure) => failures.push(failure),
        }
    }
    Err(GroupError {
        group: None,
        failures,
        timed_out: None,
    })
}
