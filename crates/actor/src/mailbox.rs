//! The mailbox: its configuration ([`Mailbox`]), the queue every message
//! goes through under the shared [`Overflow`] policy, and the dead letters.
//!
//! The queue is a nimsync MPMC channel of boxed envelopes. The actor's
//! shared core keeps one receiver of it, so the queue outlives each
//! incarnation: a restart hands the same queue to the next instance.
//! Policies map onto the channel as follows:
//!
//! | policy | full mailbox |
//! |---|---|
//! | `Block` | `tell` waits for room, `try_tell` returns `Full` |
//! | `DropOldest` | the oldest queued message goes to the dead letters (`force_send`) |
//! | `DropNewest` | the new message goes to the dead letters, `tell` returns `Ok` |
//! | `DropBuffer` | every queued message goes to the dead letters, the new one is kept |
//! | `Fail` | `tell` returns `Full` with the message |
//!
//! `Conflate` folds one item into another of the same type; a mailbox
//! holds messages of many types, so it is refused when the mailbox is
//! configured.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use nimsync_channel::mpmc::{self, Receiver, Sender};
use nimsync_channel::{TryRecvError, TrySendError};
pub use nimsync_stream::Overflow;

use crate::actor::Actor;
use crate::envelope::Envelope;

/// The boxed envelope type a mailbox of `A` carries.
pub(crate) type Env<A> = Box<dyn Envelope<A>>;

/// The default mailbox's bound: the ring is allocated whole when the actor
/// is made, so the default stays small.
const DEFAULT_CAPACITY: usize = 64;

/// A mailbox's size and overflow policy.
///
/// The default is bounded to 64 messages with [`Overflow::Block`]:
/// senders wait when the actor falls behind.
///
/// # Examples
/// ```
/// use nimsync_actor::{Mailbox, Overflow};
///
/// let latest_only = Mailbox::bounded(16, Overflow::DropOldest);
/// assert_eq!(latest_only.capacity(), Some(16));
/// assert_eq!(Mailbox::default().capacity(), Some(64));
/// assert_eq!(Mailbox::unbounded().capacity(), None);
/// ```
#[derive(Clone)]
pub struct Mailbox {
    pub(crate) capacity: Option<usize>,
    pub(crate) policy: Policy,
}

/// The mailbox form of [`Overflow`], without `Conflate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    Block,
    DropOldest,
    DropNewest,
    DropBuffer,
    Fail,
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::bounded(DEFAULT_CAPACITY, Overflow::Block)
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Mailbox {
    /// A mailbox holding at most `capacity` messages, with `overflow`
    /// deciding what a tell to a full one does.
    ///
    /// # Panics
    /// If `capacity` is 0 (a mailbox needs room for one message), or if
    /// `overflow` is [`Overflow::Conflate`]: a mailbox holds messages of
    /// many types, which one fold cannot merge.
    ///
    /// # Examples
    /// ```
    /// let mailbox = nimsync_actor::Mailbox::bounded(8, nimsync_actor::Overflow::Fail);
    /// assert_eq!(mailbox.capacity(), Some(8));
    /// ```
    pub fn bounded(capacity: usize, overflow: Overflow<()>) -> Self {
        assert!(
            capacity > 0,
            "a bounded mailbox needs room for at least one message (use Mailbox::unbounded for no bound)"
        );
        let policy = match overflow {
            Overflow::Block => Policy::Block,
            Overflow::DropOldest => Policy::DropOldest,
            Overflow::DropNewest => Policy::DropNewest,
            Overflow::DropBuffer => Policy::DropBuffer,
            Overflow::Fail => Policy::Fail,
            Overflow::Conflate(_) => panic!(
                "Overflow::Conflate cannot be a mailbox policy: a mailbox holds messages of many types, which one fold cannot merge; use DropOldest to keep the newest"
            ),
        };
        Self {
            capacity: Some(capacity),
            policy,
        }
    }

    /// A mailbox without a bound: a tell never waits nor drops. Memory
    /// grows while the actor falls behind; watch
    /// [`ActorMetrics::depth`](crate::ActorMetrics::depth).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_actor::Mailbox::unbounded().capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self {
            capacity: None,
            policy: Policy::Block,
        }
    }

    /// The bound, or `None` for an unbounded mailbox.
    ///
    /// # Examples
    /// See [`Mailbox`].
    pub fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// A new queue of this shape.
    pub(crate) fn queue<A: Actor>(&self) -> (Sender<Env<A>>, Receiver<Env<A>>) {
        match self.capacity {
            Some(n) => mpmc::channel(n),
            None => mpmc::unbounded(),
        }
    }
}

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The actor stopped for good with the message still queued.
    Stopped,
    /// The mailbox was full and its policy dropped this, the oldest queued
    /// message.
    DroppedOldest,
    /// The mailbox was full and its policy dropped this new message.
    DroppedNewest,
    /// The mailbox was full and its policy cleared it.
    DroppedBuffer,
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeadLetterReason::Stopped => "the actor stopped with it queued",
            DeadLetterReason::DroppedOldest => "dropped as the oldest in a full mailbox",
            DeadLetterReason::DroppedNewest => "dropped as new to a full mailbox",
            DeadLetterReason::DroppedBuffer => "dropped when a full mailbox was cleared",
        })
    }
}

/// A message that was not processed, as the dead-letter hook receives it.
///
/// An ask among the dead letters has already been answered with
/// [`AskError::Unanswered`](crate::AskError::Unanswered).
///
/// # Examples
/// ```
/// use std::sync::{Arc, Mutex};
/// use nimsync_actor::{Actor, ChildSpec, Context, DeadLetterReason, Handler, Mailbox, Overflow};
///
/// struct Counter;
/// impl Actor for Counter {}
/// impl Handler<u64> for Counter {
///     type Reply = ();
///     async fn handle(&mut self, _: u64, _: &mut Context<Self>) {}
/// }
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let (_spec, counter) = ChildSpec::builder("counter")
///     .mailbox(Mailbox::bounded(2, Overflow::DropOldest))
///     .on_dead_letter(move |letter| {
///         let reason = letter.reason();
///         sink.lock().unwrap().push((*letter.downcast::<u64>().unwrap(), reason));
///     })
///     .actor(|| Counter);
/// // Not started yet: the mailbox fills, and the oldest goes.
/// for n in 0..4u64 {
///     counter.try_tell(n).unwrap();
/// }
/// assert_eq!(
///     *seen.lock().unwrap(),
///     [(0, DeadLetterReason::DroppedOldest), (1, DeadLetterReason::DroppedOldest)]
/// );
/// assert_eq!(counter.metrics().dead_letters, 2);
/// ```
pub struct DeadLetter {
    pub(crate) actor: Arc<str>,
    pub(crate) message_type: &'static str,
    pub(crate) reason: DeadLetterReason,
    pub(crate) message: Box<dyn Any + Send>,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("actor", &self.actor)
            .field("message_type", &self.message_type)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl DeadLetter {
    /// The name of the actor it was sent to.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The message's type name.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn message_type(&self) -> &'static str {
        self.message_type
    }

    /// Why it was not processed.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn reason(&self) -> DeadLetterReason {
        self.reason
    }

    /// The message, if it is an `M`; otherwise the letter back.
    ///
    /// # Errors
    /// The letter itself when the message is not an `M`.
    ///
    /// # Examples
    /// See [`DeadLetter`].
    pub fn downcast<M: Any>(self) -> Result<Box<M>, Self> {
        match self.message.downcast::<M>() {
            Ok(m) => Ok(m),
            Err(message) => Err(Self { message, ..self }),
        }
    }
}

/// The dead-letter hook.
pub(crate) type DeadLetterHook = Arc<dyn Fn(DeadLetter) + Send + Sync>;

/// What a non-waiting offer to the queue did with an envelope it could not
/// queue.
pub(crate) enum Refused<A: Actor> {
    /// Full under `Block` or `Fail`.
    Full(Env<A>),
    /// Closed: the actor stopped for good.
    Closed(Env<A>),
}

/// Offers `env` to the queue under `policy` without waiting. Envelopes the
/// policy drops are handed to `dead`.
pub(crate) fn offer<A: Actor>(
    tx: &Sender<Env<A>>,
    rx: &Receiver<Env<A>>,
    policy: Policy,
    env: Env<A>,
    dead: &mut dyn FnMut(Env<A>, DeadLetterReason),
) -> Result<(), Refused<A>> {
    match policy {
        Policy::DropOldest => match tx.force_send(env) {
            Ok(None) => Ok(()),
            Ok(Some(old)) => {
                dead(old, DeadLetterReason::DroppedOldest);
                Ok(())
            }
            Err(e) => Err(Refused::Closed(e.into_inner())),
        },
        _ => match tx.try_send(env) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(env)) => Err(Refused::Closed(env)),
            Err(TrySendError::Full(env)) => match policy {
                Policy::DropNewest => {
                    dead(env, DeadLetterReason::DroppedNewest);
                    Ok(())
                }
                Policy::DropBuffer => {
                    // Clear at most one mailbox's worth, so concurrent
                    // senders refilling it cannot keep this loop going.
                    for _ in 0..tx.capacity() {
                        match rx.try_recv() {
                            Ok(old) => dead(old, DeadLetterReason::DroppedBuffer),
                            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                        }
                    }
                    match tx.force_send(env) {
                        Ok(None) => Ok(()),
                        Ok(Some(old)) => {
                            dead(old, DeadLetterReason::DroppedBuffer);
                            Ok(())
                        }
                        Err(e) => Err(Refused::Closed(e.into_inner())),
                    }
                }
                _ => Err(Refused::Full(env)),
            },
        },
    }
}
