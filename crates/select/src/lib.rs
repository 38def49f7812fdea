//! Fair, atomic select over nimsync channel operations.
//!
//! A [`Select`] waits on several channel operations at once (receives on
//! spsc, mpmc and oneshot receivers, sends on spsc and mpmc senders) and
//! completes exactly one of them: the winner's message is taken (or its
//! slot reserved), the others are left untouched.
//!
//! ```
//! use nimsync_channel::{mpmc, spsc};
//! use nimsync_select::Select;
//!
//! let (tx1, rx1) = mpmc::channel::<u32>(4);
//! let (mut tx2, mut rx2) = spsc::channel::<&str>(4);
//! tx2.send("two").unwrap();
//!
//! let mut sel = Select::new();
//! let first = sel.recv(&rx1);
//! let second = sel.recv(&mut rx2);
//! let op = sel.select();
//! assert_eq!(op.index(), second);
//! assert_eq!(op.recv(&mut rx2), Ok("two"));
//! # let _ = (first, tx1);
//! ```
//!
//! The timers [`after`], [`at`], [`tick`] and [`never()`] join a select as
//! receives, and are receivers on their own as crossbeam-channel's are
//! (`try_recv`, `recv`, `recv_timeout`, `recv_deadline`, `recv_async`,
//! [`Tick::stream`]); a timer's message goes to one receiver either way.
//!
//! # Guarantees
//! - **Atomic:** exactly one operation completes per select; nothing is
//!   taken from the operations that lost.
//! - **Fair:** when several operations are ready, each is chosen with
//!   equal probability ([`Select::new_biased`] takes them in order).
//! - **Closed counts as ready:** a receive on a closed, drained channel
//!   (or a send on a closed one) is selected and completes with its
//!   `Closed` error, as in crossbeam-channel.
//! - **No busy waiting:** a blocking select spins briefly, then parks until
//!   one of its channels wakes it.
//! - **No reservation left hanging:** complete the [`SelectedOperation`]
//!   with [`recv`](SelectedOperation::recv) or
//!   [`send`](SelectedOperation::send), through any endpoint of its
//!   channel. Dropped uncompleted (an early return, a panic), it gives its
//!   reservation up and wakes the waiters it held back; a dropped receive
//!   had reserved a message, which is lost, so that drop panics, naming
//!   the operation's index.

mod error;
mod fairness;
mod macros;
mod operand;
mod select;
mod selected;
mod sync;
mod timer;
mod waiting;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, loom))]
mod probes;
#[cfg(all(test, not(loom)))]
mod tests;

pub use error::{SelectTimeoutError, TrySelectError};
pub use operand::{RecvOperand, SendOperand};
pub use select::Select;
pub use selected::{RecvEndpoint, SelectedOperation, SendEndpoint};
pub use timer::{After, Never, RecvFuture, Tick, TickStream, after, at, never, tick};

/// What the `select!` macros expand to. Not part of the semver contract.
#[doc(hidden)]
pub mod __private {
    pub use crate::fairness::__seed_thread_rng;
    pub use crate::macros::arms::{
        ArmByMut, ArmByRef, ArmByVal, Attempt, RecvArm, SendArm, SendGuard, Won,
    };
    pub use crate::macros::support::{__identity as identity, Ready, Waits, cooperate};
}

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
