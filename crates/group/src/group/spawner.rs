//! [`Spawner`]: the handle every spawn goes through, the group's own
//! spawns included.

use core::future::Future;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use nimsync_scheduler::task::Id;

use super::GroupMetrics;
use super::shared::{Shared, Shielding};
use crate::error::SpawnError;
use crate::sync;
use crate::token::CancelToken;

/// A cloneable handle that spawns into a [`TaskGroup`](crate::TaskGroup),
/// from any task. It does not keep the group open: once the group is
/// joined or dropped, spawning fails with [`SpawnError`].
pub struct Spawner<T, E = Infallible> {
    pub(super) shared: sync::Arc<Shared<T, E>>,
}

impl<T, E> Clone for Spawner<T, E> {
    fn clone(&self) -> Self {
        Self {
            shared: sync::Arc::clone(&self.shared),
        }
    }
}

impl<T, E> fmt::Debug for Spawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("group", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static, E: Send + 'static> Spawner<T, E> {
    /// Spawns a fallible child into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().spawn(async { Ok(3) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, Shielding::Unshielded, fut)
    }

    /// Spawns a named fallible child into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().spawn_named("n", async { Ok(3) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn_named<F>(&self, name: impl Into<Arc<str>>, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, Some(name.into()), Shielding::Unshielded, fut)
    }

    /// Spawns a child that cannot fail into the group.
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// group.spawner().spawn_ok(async { 3 }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![3]);
    /// # });
    /// ```
    pub fn spawn_ok<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = T> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, Shielding::Unshielded, async move {
            Ok(fut.await)
        })
    }

    /// Counts of the group's children so far; readable after the group
    /// was consumed by [`TaskGroup::join_all`](crate::TaskGroup::join_all).
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// let spawner = group.spawner();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// group.join_all().await.unwrap();
    /// assert_eq!(spawner.metrics().completed, 1);
    /// # });
    /// ```
    pub fn metrics(&self) -> GroupMetrics {
        self.shared.metrics()
    }

    /// Spawns a shielded child into the group; see
    /// [`TaskGroup::spawn_shielded`](crate::TaskGroup::spawn_shielded).
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, ()>::new();
    /// group.spawner().spawn_shielded(async { Ok(5) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![5]);
    /// # });
    /// ```
    pub fn spawn_shielded<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Shared::spawn(&self.shared, None, Shielding::Shielded, fut)
    }

    /// The group's token.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// assert!(!group.spawner().token().is_cancelled());
    /// # });
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.shared.token
    }
}
