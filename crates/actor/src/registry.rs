//! [`Registry`]: typed actor refs by name.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::actor::Actor;
use crate::actor_ref::{ActorRef, WeakActorRef};
use crate::error::RegistryError;
use crate::sync::Mutex;

/// Actor refs by name, typed: a lookup names the actor type it expects.
///
/// The registry holds weak refs: it does not keep actors alive, and a name
/// whose actor stopped for good is free again. Registering a name a live
/// actor holds is an error, never an overwrite. [`Registry::global`] is
/// one per process; `Registry::new` makes private ones (per test, per
/// subsystem).
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Registry, RegistryError};
///
/// struct Db;
/// impl Actor for Db {}
/// struct Cache;
/// impl Actor for Cache {}
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let registry = Registry::new();
///     let db = nimsync_actor::spawn(Db);
///     registry.register("db", &db).unwrap();
///     assert_eq!(registry.lookup::<Db>("db").unwrap(), db);
///     assert!(matches!(registry.register("db", &nimsync_actor::spawn(Db)), Err(RegistryError::Duplicate(_))));
///     assert!(matches!(registry.lookup::<Cache>("db"), Err(RegistryError::WrongType { .. })));
///     db.stop();
///     db.stopped().await;
///     assert!(matches!(registry.lookup::<Db>("db"), Err(RegistryError::NotFound(_))));
/// });
/// ```
pub struct Registry {
    entries: Mutex<HashMap<Arc<str>, Entry>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

struct Entry {
    type_name: &'static str,
    alive: Box<dyn Fn() -> bool + Send>,
    weak: Box<dyn Any + Send>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.lock();
        f.debug_map()
            .entries(entries.iter().map(|(k, e)| (k, e.type_name)))
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    ///
    /// # Examples
    /// See [`Registry`].
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The process-wide registry.
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_actor::Registry::global().names().iter().all(|n| !n.is_empty()));
    /// ```
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.entries.lock()
    }

    /// Registers `actor` as `name`.
    ///
    /// # Errors
    /// [`RegistryError::Duplicate`] if a live actor has the name.
    ///
    /// # Examples
    /// See [`Registry`].
    pub fn register<A: Actor>(
        &self,
        name: impl Into<Arc<str>>,
        actor: &ActorRef<A>,
    ) -> Result<(), RegistryError> {
        let name = name.into();
        let mut entries = self.lock();
        if let Some(existing) = entries.get(&name) {
            if (existing.alive)() {
                return Err(RegistryError::Duplicate(name));
            }
        }
        let watched = actor.downgrade();
        entries.insert(
            name,
            Entry {
                type_name: std::any::type_name::<A>(),
                alive: Box::new(move || watched.upgrade().is_some_and(|a| a.is_alive())),
                weak: Box::new(actor.downgrade()),
            },
        );
        Ok(())
    }

    /// The actor registered as `name`, as an `A`.
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] if no live actor has the name,
    /// [`RegistryError::WrongType`] if it is not an `A`.
    ///
    /// # Examples
    /// See [`Registry`].
    pub fn lookup<A: Actor>(&self, name: &str) -> Result<ActorRef<A>, RegistryError> {
        let mut entries = self.lock();
        let Some(entry) = entries.get(name) else {
            return Err(RegistryError::NotFound(name.into()));
        };
        let Some(weak) = entry.weak.downcast_ref::<WeakActorRef<A>>() else {
            return Err(RegistryError::WrongType {
                name: name.into(),
                expected: std::any::type_name::<A>(),
                found: entry.type_name,
            });
        };
        match weak.upgrade().filter(ActorRef::is_alive) {
            Some(actor) => Ok(actor),
            None => {
                entries.remove(name);
                Err(RegistryError::NotFound(name.into()))
            }
        }
    }

    /// Removes `name`; returns whether it was there.
    ///
    /// # Examples
    /// ```
    /// let registry = nimsync_actor::Registry::new();
    /// assert!(!registry.unregister("nobody"));
    /// ```
    pub fn unregister(&self, name: &str) -> bool {
        self.lock().remove(name).is_some()
    }

    /// The names of live actors.
    ///
    /// # Examples
    /// See [`Registry::global`].
    pub fn names(&self) -> Vec<Arc<str>> {
        let mut entries = self.lock();
        entries.retain(|_, e| (e.alive)());
        entries.keys().cloned().collect()
    }
}
