//! Typed actors with OTP-style supervision trees, on nimsync's channels,
//! runtime and task groups.
//!
//! - **Actors** own their state (`&mut self` in handlers) and take any
//!   number of message types, one [`Handler`] impl each, with async
//!   handlers and lifecycle hooks.
//! - **[`ActorRef`]**: `tell` (async, under the mailbox policy),
//!   `try_tell`, `tell_blocking` for plain threads, and `ask` with a
//!   deadline that also honours the caller's nimsync-group deadline. A ref
//!   stays valid across restarts.
//! - **Mailboxes** are bounded by default with the [`Overflow`] policy
//!   every nimsync stage shares; stop requests, link signals and monitor
//!   notices take a separate system lane that a full mailbox cannot hold
//!   up; every message not processed goes to the dead letters, counted.
//! - **[`Supervisor`]**: one-for-one, one-for-all, rest-for-one and a
//!   dynamic [pool](PoolRef); permanent, transient and temporary children;
//!   restart intensity with escalation up the tree; shutdown timeouts;
//!   [`Backoff`] with jitter and reset; a [`Clock`](nimsync_time::Clock)
//!   tests can drive by hand.
//! - **Links, monitors and a typed [`Registry`]**.
//!
//! Actors run on a nimsync-scheduler runtime. Each supervisor's children
//! are tasks of one nimsync-group `TaskGroup`.
//!
//! ```
//! use nimsync_actor::{Actor, ChildSpec, Context, Handler, Supervisor};
//!
//! #[derive(Default)]
//! struct Counter(u64);
//! impl Actor for Counter {}
//! impl Handler<u64> for Counter {
//!     type Reply = u64;
//!     async fn handle(&mut self, n: u64, _: &mut Context<Self>) -> u64 {
//!         self.0 += n;
//!         self.0
//!     }
//! }
//!
//! let rt = nimsync_scheduler::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (spec, counter) = ChildSpec::actor("counter", Counter::default);
//!     let root = Supervisor::new("root").child(spec);
//!     let control = root.control();
//!     let running = nimsync_scheduler::spawn(root.run());
//!     counter.tell(40).await.unwrap();
//!     assert_eq!(counter.ask(2).await.unwrap(), 42);
//!     control.stop();
//!     running.await.unwrap().unwrap();
//! });
//! ```
//!
//! The restart timelines, what happens to queued messages and pending
//! asks on a restart or a stop, and a comparison with ractor, kameo, actix
//! and OTP are in docs/actor.md.
//!
//! The crate has no `unsafe` code: the unsafe parts it stands on (the
//! channels, the runtime) are checked under Miri and loom in their crates.

#![forbid(unsafe_code)]

mod actor;
mod actor_ref;
mod core;
mod envelope;
mod error;
mod mailbox;
mod metrics;
mod registry;
mod run;
mod spawn;
mod supervisor;
mod sync;
mod watch;

#[cfg(all(test, loom))]
mod loom_tests;

pub use actor::{Actor, Context, Handler, LinkAction};
pub use actor_ref::{ActorRef, WeakActorRef};
pub use core::{ActorId, Drain};
pub use error::{
    AskError, ExitReason, Failure, FailureKind, RegistryError, SupervisorError, TellError,
};
pub use mailbox::{DeadLetter, DeadLetterReason, Mailbox, Overflow};
pub use metrics::ActorMetrics;
pub use registry::Registry;
pub use spawn::{Spawn, spawn};
pub use supervisor::{
    Backoff, ChildInfo, ChildSpec, ChildSpecBuilder, PoolRef, Restart, Shutdown, StartChildError,
    Strategy, Supervisor, SupervisorEvent, SupervisorRef,
};
pub use watch::{Down, LinkExit};

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The examples of the workspace's docs/actor.md, compiled and run as doc
/// tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/actor.md")]
pub struct ActorDocDoctests;
