//! A dynamic pool of identical actors under one supervisor.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::actor::{Actor, Handler};
use crate::actor_ref::ActorRef;
use crate::error::{AskError, TellError};
use crate::mailbox::Mailbox;
use crate::supervisor::{ChildSpec, StartChildError, Supervisor, SupervisorRef};
use crate::sync::Mutex;

/// A pool of identical actors under one one-for-one supervisor, with
/// round-robin tells and asks; it grows and shrinks while it runs.
///
/// Made by [`Supervisor::pool`]. Each member is a permanent child named
/// `<pool>-<n>`, restarted on its own when it fails.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Handler, Mailbox, Supervisor};
///
/// struct Hasher;
/// impl Actor for Hasher {}
/// impl Handler<u64> for Hasher {
///     type Reply = u64;
///     async fn handle(&mut self, n: u64, _: &mut Context<Self>) -> u64 {
///         n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (supervisor, pool) = Supervisor::pool("hashers", 3, Mailbox::default(), || Hasher);
///     let running = nimsync_scheduler::spawn(supervisor.run());
///     assert_eq!(pool.len(), 3);
///     assert_eq!(pool.ask(1).await.unwrap(), 0x9E37_79B9_7F4A_7C15);
///     pool.grow().await.unwrap();
///     assert_eq!(pool.len(), 4);
///     assert!(pool.shrink().await);
///     assert_eq!(pool.len(), 3);
///     pool.supervisor().stop();
///     running.await.unwrap().unwrap();
/// });
/// ```
pub struct PoolRef<A: Actor> {
    inner: Arc<PoolInner<A>>,
}

struct PoolInner<A: Actor> {
    name: Arc<str>,
    mailbox: Mailbox,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    members: Mutex<Vec<ActorRef<A>>>,
    next: AtomicUsize,
    serial: AtomicUsize,
    control: SupervisorRef,
}

impl<A: Actor> Clone for PoolRef<A> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A: Actor> fmt::Debug for PoolRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolRef")
            .field("name", &self.inner.name)
            .field("members", &self.len())
            .finish()
    }
}

impl Supervisor {
    /// A one-for-one supervisor named `name` over `size` actors built by
    /// `factory`, each with a `mailbox` like the given one, and the
    /// pool's ref.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub fn pool<A: Actor>(
        name: impl Into<Arc<str>>,
        size: usize,
        mailbox: Mailbox,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> (Supervisor, PoolRef<A>) {
        let name = name.into();
        let mut supervisor = Supervisor::new(Arc::clone(&name));
        let factory: Arc<dyn Fn() -> A + Send + Sync> = Arc::new(factory);
        let inner = PoolInner {
            name,
            mailbox,
            factory,
            members: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            serial: AtomicUsize::new(0),
            control: supervisor.control(),
        };
        for _ in 0..size {
            let (spec, member) = inner.member();
            supervisor = supervisor.child(spec);
            inner.members.lock().push(member);
        }
        (
            supervisor,
            PoolRef {
                inner: Arc::new(inner),
            },
        )
    }
}

impl<A: Actor> PoolInner<A> {
    fn member(&self) -> (ChildSpec, ActorRef<A>) {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let factory = Arc::clone(&self.factory);
        ChildSpec::builder(format!("{}-{n}", self.name))
            .mailbox(self.mailbox.clone())
            .actor(move || factory())
    }
}

impl<A: Actor> PoolRef<A> {
    /// The members now.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub fn len(&self) -> usize {
        self.inner.members.lock().len()
    }

    /// Whether the pool has no member.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The members now, in the order they joined.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub fn members(&self) -> Vec<ActorRef<A>> {
        self.inner.members.lock().clone()
    }

    /// The pool's supervisor.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.inner.control
    }

    /// The next member, round-robin.
    fn pick(&self) -> Option<ActorRef<A>> {
        let members = self.inner.members.lock();
        if members.is_empty() {
            return None;
        }
        let i = self.inner.next.fetch_add(1, Ordering::Relaxed) % members.len();
        Some(members[i].clone())
    }

    /// Tells the next member (round-robin), waiting for room as
    /// [`ActorRef::tell`].
    ///
    /// # Errors
    /// As [`ActorRef::tell`]; `Stopped` with an empty pool.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub async fn tell<M>(&self, message: M) -> Result<(), TellError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        match self.pick() {
            Some(member) => member.tell(message).await,
            None => Err(TellError::Stopped(message)),
        }
    }

    /// Asks the next member (round-robin).
    ///
    /// # Errors
    /// As [`ActorRef::ask`]; `Stopped` with an empty pool.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub async fn ask<M>(&self, message: M) -> Result<A::Reply, AskError<M>>
    where
        A: Handler<M>,
        M: Send + 'static,
    {
        match self.pick() {
            Some(member) => member.ask(message).await,
            None => Err(AskError::Stopped(message)),
        }
    }

    /// Adds a member.
    ///
    /// # Errors
    /// As [`SupervisorRef::start_child`].
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub async fn grow(&self) -> Result<(), StartChildError> {
        let (spec, member) = self.inner.member();
        self.inner.control.start_child(spec).await?;
        self.inner.members.lock().push(member);
        Ok(())
    }

    /// Stops the newest member for good (it handles what it has queued)
    /// and removes it. Returns false with an empty pool.
    ///
    /// # Examples
    /// See [`PoolRef`].
    pub async fn shrink(&self) -> bool {
        let Some(member) = self.inner.members.lock().pop() else {
            return false;
        };
        self.inner.control.terminate_child(member.name()).await
    }
}
