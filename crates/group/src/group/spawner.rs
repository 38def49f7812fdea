//! [`Spawner`]: the handle every spawn goes through, the group's own
//! spawns included.

use core::future::Future;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use nimsync_scheduler::Handle;
use nimsync_scheduler::task::Id;

use super::GroupMetrics;
use super::shared::{Shared, Shielding, SpawnOpts, Spawned};
use crate::abort::AbortHandle;
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
        Shared::spawn(&self.shared, SpawnOpts::plain(None), fut).map(|s| s.id)
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
        Shared::spawn(&self.shared, SpawnOpts::plain(Some(name.into())), fut).map(|s| s.id)
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
        Shared::spawn(&self.shared, SpawnOpts::plain(None), async move {
            Ok(fut.await)
        })
        .map(|s| s.id)
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
        let opts = SpawnOpts {
            shielding: Shielding::Shielded,
            ..SpawnOpts::plain(None)
        };
        Shared::spawn(&self.shared, opts, fut).map(|s| s.id)
    }

    /// Spawns a fallible child into the group and returns an
    /// [`AbortHandle`] that aborts this child alone; see
    /// [`TaskGroup::spawn_with_handle`](crate::TaskGroup::spawn_with_handle).
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8>::new();
    /// let handle = group.spawner().spawn_with_handle(std::future::pending()).unwrap();
    /// handle.abort();
    /// assert!(group.join_all_results().await[0].as_ref().unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn spawn_with_handle<F>(&self, fut: F) -> Result<AbortHandle, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let opts = SpawnOpts {
            abortable: true,
            ..SpawnOpts::plain(None)
        };
        let spawned = Shared::spawn(&self.shared, opts, fut)?;
        Ok(handle_of(spawned))
    }

    /// Spawns a fallible child into the group on the runtime of `handle`
    /// rather than the group's; see
    /// [`TaskGroup::spawn_on`](crate::TaskGroup::spawn_on).
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Examples
    /// ```
    /// let io = nimsync_scheduler::Runtime::new().unwrap();
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let group = nimsync_group::TaskGroup::<u8>::new();
    ///     group.spawner().spawn_on(async { Ok(2) }, &io.handle()).unwrap();
    ///     assert_eq!(group.join_all().await.unwrap(), vec![2]);
    /// });
    /// ```
    pub fn spawn_on<F>(&self, fut: F, handle: &Handle) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let opts = SpawnOpts {
            on: Some(handle),
            ..SpawnOpts::plain(None)
        };
        Shared::spawn(&self.shared, opts, fut).map(|s| s.id)
    }

    /// Spawns a fallible `!Send` child into the group, on the current
    /// thread; see [`TaskGroup::spawn_local`](crate::TaskGroup::spawn_local).
    ///
    /// # Errors
    /// [`SpawnError`] when the group is closed or cancelled.
    ///
    /// # Panics
    /// Outside a runtime thread, as [`nimsync_scheduler::spawn_local`].
    ///
    /// # Examples
    /// ```
    /// use std::rc::Rc;
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<usize>::new();
    /// let shared = Rc::new("local");
    /// group.spawner().spawn_local(async move { Ok(shared.len()) }).unwrap();
    /// assert_eq!(group.join_all().await.unwrap(), vec![5]);
    /// # });
    /// ```
    pub fn spawn_local<F>(&self, fut: F) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        Shared::spawn_local(&self.shared, SpawnOpts::plain(None), fut).map(|s| s.id)
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

/// The handle of a child spawned with an abort slot.
pub(super) fn handle_of(spawned: Spawned) -> AbortHandle {
    let slot = spawned
        .abort
        .expect("a child spawned for a handle has an abort slot");
    AbortHandle::new(slot, spawned.id)
}
