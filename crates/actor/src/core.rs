//! The state an actor's refs, its incarnations and its supervisor share:
//! the mailbox's receiving end, the system lane, the counters and the
//! watchers.
//!
//! # The system lane
//! Stop requests, link signals and monitor notifications do not go
//! through the mailbox, so a full mailbox cannot delay or refuse them. The
//! lane is a locked queue with a `pending` flag that mirrors "the queue is
//! not empty" (both change under the lock) and a waker slot. A poster
//! pushes and sets the flag under the lock, then wakes the slot; the
//! actor's wait registers its waker, then checks the flag (Acquire) before
//! it sleeps. Either the wait sees the flag, or the poster's wake comes
//! after the registration and reaches the actor (model:
//! `loom_system_signal_wakes_the_waiting_actor` in loom_tests.rs).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use nimsync_channel::TryRecvError;
use nimsync_channel::mpmc::{Receiver, WeakSender};
use nimsync_group::CancelToken;

use crate::actor::Actor;
use crate::error::{ExitReason, Failure};
use crate::mailbox::{DeadLetter, DeadLetterHook, DeadLetterReason, Env, Policy};
use crate::metrics::Counters;
use crate::sync::{AtomicBool, AtomicWaker, Mutex, Ordering, register_waker};
use crate::watch::{Down, LinkExit, Monitor, Watchers};

/// An actor's identity, unique in the process; it stays the same across
/// restarts.
///
/// # Examples
/// ```
/// # struct A;
/// # impl nimsync_actor::Actor for A {}
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (a, b) = (nimsync_actor::spawn(A), nimsync_actor::spawn(A));
///     assert_ne!(a.id(), b.id());
///     assert_eq!(a.id(), a.clone().id());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(pub(crate) u64);

impl ActorId {
    pub(crate) fn next() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How an actor is asked to stop for good.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use nimsync_actor::Drain;
///
/// let by = Drain::Until(Instant::now() + Duration::from_millis(100));
/// assert_ne!(by, Drain::Process);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Handle every message already queued, then stop. New tells are
    /// refused from the request on.
    Process,
    /// Stop after the current message; the queued ones go to the dead
    /// letters.
    Drop,
    /// Handle queued messages until the instant, then stop; the rest go to
    /// the dead letters.
    Until(Instant),
}

/// A message on the system lane.
pub(crate) enum Signal<A: Actor> {
    /// Stop for good, draining as said.
    Stop(Drain),
    /// Stop this incarnation for a restart, leaving the queue.
    Release,
    /// A linked actor failed.
    Link(LinkExit),
    /// A priority message (a monitor's `Down`).
    Message(Env<A>),
}

/// The system lane: see the module docs.
pub(crate) struct SystemLane<A: Actor> {
    queue: Mutex<VecDeque<Signal<A>>>,
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl<A: Actor> SystemLane<A> {
    pub(crate) fn new() -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            pending: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// Queues `signal` and wakes the actor.
    pub(crate) fn post(&self, signal: Signal<A>) {
        {
            let mut queue = self.queue.lock();
            queue.push_back(signal);
            self.pending.store(true, Ordering::Release);
        }
        self.waker.wake();
    }

    /// Whether a signal is queued (Acquire: pairs with `post`).
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the oldest signal.
    pub(crate) fn take(&self) -> Option<Signal<A>> {
        if !self.is_pending() {
            return None;
        }
        let mut queue = self.queue.lock();
        let signal = queue.pop_front();
        if queue.is_empty() {
            self.pending.store(false, Ordering::Relaxed);
        }
        signal
    }

    /// Registers the actor's waker; the caller checks `is_pending` after.
    pub(crate) fn register(&self, waker: &core::task::Waker) {
        register_waker(&self.waker, waker);
    }

    /// Drops every queued signal (the actor stopped for good), handing
    /// priority messages to `dead`.
    pub(crate) fn clear(&self, dead: &mut dyn FnMut(Env<A>)) {
        let drained: Vec<_> = {
            let mut queue = self.queue.lock();
            self.pending.store(false, Ordering::Relaxed);
            queue.drain(..).collect()
        };
        for signal in drained {
            if let Signal::Message(env) = signal {
                dead(env);
            }
        }
    }
}

/// What every handle of one actor shares.
///
/// Invariant: `rx` is a receiver of the mailbox whose senders the actor's
/// refs hold; once `finish` ran, the mailbox is closed and empty and
/// `exit` is set.
pub(crate) struct Core<A: Actor> {
    pub(crate) id: ActorId,
    pub(crate) name: Arc<str>,
    pub(crate) rx: Receiver<Env<A>>,
    pub(crate) weak_tx: WeakSender<Env<A>>,
    pub(crate) policy: Policy,
    pub(crate) system: SystemLane<A>,
    pub(crate) counters: Counters,
    pub(crate) watchers: Mutex<Watchers>,
    /// Cancelled when the actor has stopped for good.
    pub(crate) stopped: CancelToken,
    pub(crate) on_dead_letter: Option<DeadLetterHook>,
}

impl<A: Actor> Core<A> {
    /// Hands an envelope to the dead letters: counted, then the hook.
    pub(crate) fn dead_letter(&self, env: Env<A>, reason: DeadLetterReason) {
        self.counters.dead_letter();
        if let Some(hook) = &self.on_dead_letter {
            let message_type = env.message_type();
            hook(DeadLetter {
                actor: Arc::clone(&self.name),
                message_type,
                reason,
                message: env.into_message(),
            });
        }
    }

    /// Moves everything queued to the dead letters. The mailbox is
    /// closed: `Empty` then means a tell that claimed its slot before the
    /// close is still writing it, so wait for it until `Closed` (model:
    /// `loom_final_stop_races_a_tell`).
    pub(crate) fn drain_to_dead_letters(&self) {
        debug_assert!(self.rx.is_closed());
        loop {
            match self.rx.try_recv() {
                Ok(env) => self.dead_letter(env, DeadLetterReason::Stopped),
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => crate::sync::yield_now(),
            }
        }
    }

    /// The actor stopped for good: closes the mailbox, moves what it holds
    /// to the dead letters, tells the watchers. Runs once; later calls do
    /// nothing.
    pub(crate) fn finish(&self, reason: ExitReason) {
        let watchers = {
            let mut w = self.watchers.lock();
            if w.exit.is_some() {
                return;
            }
            w.exit = Some(reason.clone());
            w.take_for_exit()
        };
        self.rx.close();
        self.drain_to_dead_letters();
        self.system
            .clear(&mut |env| self.dead_letter(env, DeadLetterReason::Stopped));
        let down = Down {
            actor: Arc::clone(&self.name),
            id: self.id,
            reason: reason.clone(),
        };
        watchers.notify(&down, self.id);
        self.stopped.cancel();
    }

    /// How the actor stopped for good, once it has.
    pub(crate) fn exit(&self) -> Option<ExitReason> {
        self.watchers.lock().exit.clone()
    }

    /// Records a failure as the last one.
    pub(crate) fn record_failure(&self, failure: &Failure) {
        self.counters.failed();
        self.watchers.lock().last_failure = Some(failure.clone());
    }

    /// Adds a closure run once when the actor stops for good (at once if
    /// it already has).
    pub(crate) fn watch_down(&self, f: Monitor) {
        let mut w = self.watchers.lock();
        match &w.exit {
            Some(reason) => {
                let down = Down {
                    actor: Arc::clone(&self.name),
                    id: self.id,
                    reason: reason.clone(),
                };
                drop(w);
                f(&down);
            }
            None => w.monitors.push(f),
        }
    }
}

/// The type-erased face of a core, for links, supervisors and the
/// registry.
pub(crate) trait Control: Send + Sync {
    fn id(&self) -> ActorId;
    fn post_link(&self, exit: LinkExit);
    fn post_stop(&self, drain: Drain);
    fn post_release(&self);
    fn is_stopped(&self) -> bool;
    fn unlink(&self, id: ActorId);
    fn link_to(&self, peer: std::sync::Weak<dyn Control>);
    fn note_restart(&self);
}

impl<A: Actor> Control for Core<A> {
    fn id(&self) -> ActorId {
        self.id
    }
    fn post_link(&self, exit: LinkExit) {
        self.system.post(Signal::Link(exit));
    }
    fn post_stop(&self, drain: Drain) {
        self.system.post(Signal::Stop(drain));
    }
    fn post_release(&self) {
        self.system.post(Signal::Release);
    }
    fn is_stopped(&self) -> bool {
        self.stopped.is_cancelled()
    }
    fn unlink(&self, id: ActorId) {
        self.watchers.lock().links.retain(|(peer, _)| *peer != id);
    }
    fn link_to(&self, peer: std::sync::Weak<dyn Control>) {
        let Some(strong) = peer.upgrade() else { return };
        let id = strong.id();
        let mut w = self.watchers.lock();
        if w.exit.is_none() && !w.links.iter().any(|(p, _)| *p == id) {
            w.links.push((id, peer));
        }
    }
    fn note_restart(&self) {
        self.counters.restarted();
    }
}
