//! Links and monitors: who hears when an actor fails or stops.
//!
//! A link joins two actors both ways and fires once: when an incarnation
//! of either fails (or is killed), the link is undone on both sides and the
//! survivor gets a [`LinkExit`] on its system lane. A monitor is one-way
//! and fires once, when the watched actor stops for good; restarts do not
//! fire it, since the actor's refs survive them.

use std::sync::{Arc, Weak};

use crate::actor::Actor;
use crate::core::{ActorId, Control, Core};
use crate::error::{ExitReason, Failure};

/// A watched actor stopped for good: what a monitor receives.
///
/// # Examples
/// ```
/// use nimsync_actor::{Actor, Context, Down, ExitReason, Handler};
///
/// struct Worker;
/// impl Actor for Worker {}
///
/// struct Watcher(Vec<Down>);
/// impl Actor for Watcher {}
/// impl Handler<Down> for Watcher {
///     type Reply = ();
///     async fn handle(&mut self, down: Down, _: &mut Context<Self>) {
///         self.0.push(down);
///     }
/// }
/// struct Watch(nimsync_actor::ActorRef<Worker>);
/// impl Handler<Watch> for Watcher {
///     type Reply = ();
///     async fn handle(&mut self, Watch(w): Watch, ctx: &mut Context<Self>) {
///         ctx.monitor(&w);
///     }
/// }
/// struct Seen;
/// impl Handler<Seen> for Watcher {
///     type Reply = Vec<String>;
///     async fn handle(&mut self, _: Seen, _: &mut Context<Self>) -> Vec<String> {
///         self.0.iter().map(|d| format!("{}: {}", d.actor(), d.reason())).collect()
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let worker = nimsync_actor::Spawn::new().name("worker").spawn(Worker);
///     let watcher = nimsync_actor::spawn(Watcher(Vec::new()));
///     watcher.ask(Watch(worker.clone())).await.unwrap();
///     worker.stop();
///     worker.stopped().await;
///     // The Down is a priority message: it is ahead of `Seen`.
///     assert_eq!(watcher.ask(Seen).await.unwrap(), ["worker: stopped on request"]);
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    pub(crate) actor: Arc<str>,
    pub(crate) id: ActorId,
    pub(crate) reason: ExitReason,
}

impl Down {
    /// The name of the actor that stopped.
    ///
    /// # Examples
    /// See [`Down`].
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Its id.
    ///
    /// # Examples
    /// See [`Down`].
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// Why it stopped.
    ///
    /// # Examples
    /// See [`Down`].
    pub fn reason(&self) -> &ExitReason {
        &self.reason
    }
}

/// A linked actor failed: what [`Actor::link_failed`] receives.
///
/// # Examples
/// See [`ActorRef::link`](crate::ActorRef::link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkExit {
    pub(crate) actor: Arc<str>,
    pub(crate) id: ActorId,
    pub(crate) reason: ExitReason,
}

impl LinkExit {
    /// The name of the linked actor that failed.
    ///
    /// # Examples
    /// See [`ActorRef::link`](crate::ActorRef::link).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Its id.
    ///
    /// # Examples
    /// See [`ActorRef::link`](crate::ActorRef::link).
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// How it failed.
    ///
    /// # Examples
    /// See [`ActorRef::link`](crate::ActorRef::link).
    pub fn reason(&self) -> &ExitReason {
        &self.reason
    }
}

/// A monitor's notice, run once at the final stop.
pub(crate) type Monitor = Box<dyn FnOnce(&Down) + Send>;

/// The watchers of one actor, and how it ended.
pub(crate) struct Watchers {
    pub(crate) exit: Option<ExitReason>,
    pub(crate) last_failure: Option<Failure>,
    pub(crate) links: Vec<(ActorId, Weak<dyn Control>)>,
    pub(crate) monitors: Vec<Monitor>,
}

impl Watchers {
    pub(crate) fn new() -> Self {
        Self {
            exit: None,
            last_failure: None,
            links: Vec::new(),
            monitors: Vec::new(),
        }
    }

    /// Takes what must hear of the final stop.
    pub(crate) fn take_for_exit(&mut self) -> Fired {
        Fired {
            links: std::mem::take(&mut self.links),
            monitors: std::mem::take(&mut self.monitors),
        }
    }
}

/// Watchers taken out of the lock, to be told.
pub(crate) struct Fired {
    links: Vec<(ActorId, Weak<dyn Control>)>,
    monitors: Vec<Monitor>,
}

impl Fired {
    /// Tells the monitors, and the links if the end was a failure (links
    /// are undone either way).
    pub(crate) fn notify(self, down: &Down, me: ActorId) {
        let fails = matches!(down.reason, ExitReason::Failed(_) | ExitReason::Killed);
        for (_, peer) in self.links {
            if let Some(peer) = peer.upgrade() {
                peer.unlink(me);
                if fails {
                    peer.post_link(LinkExit {
                        actor: Arc::clone(&down.actor),
                        id: down.id,
                        reason: down.reason.clone(),
                    });
                }
            }
        }
        for monitor in self.monitors {
            monitor(down);
        }
    }
}

/// Links `a` and `b` both ways.
pub(crate) fn link<A: Actor, B: Actor>(a: &Arc<Core<A>>, b: &Arc<Core<B>>) {
    if a.id == b.id {
        return;
    }
    let a_dyn: Arc<dyn Control> = a.clone();
    let b_dyn: Arc<dyn Control> = b.clone();
    a_dyn.link_to(Arc::downgrade(&b_dyn));
    b_dyn.link_to(Arc::downgrade(&a_dyn));
    // A link to an actor that has already stopped is dropped at once.
    for (me, other) in [(&a_dyn, &b_dyn), (&b_dyn, &a_dyn)] {
        if other.is_stopped() {
            me.unlink(other.id());
        }
    }
}

/// An incarnation of `core` failed: fires and undoes its links.
pub(crate) fn fire_links<A: Actor>(core: &Core<A>, reason: &ExitReason) {
    let links = std::mem::take(&mut core.watchers.lock().links);
    for (_, peer) in links {
        if let Some(peer) = peer.upgrade() {
            peer.unlink(core.id);
            peer.post_link(LinkExit {
                actor: Arc::clone(&core.name),
                id: core.id,
                reason: reason.clone(),
            });
        }
    }
}
