//! Lock-free bounded channels: sync, blocking and async on the same channel.
//!
//! nimsync-channel offers three flavors. Each works from plain threads
//! (non-blocking `try_*` calls and blocking calls that spin briefly and then
//! park) and from async code under any executor (`*_async` futures that only
//! use [`Waker`](core::task::Waker)s), on the very same channel.
//!
//! | flavor | endpoints | pick it when |
//! |---|---|---|
//! | [`spsc`] | one [`spsc::Sender`], one [`spsc::Receiver`]; `&mut self` | one producer feeds one consumer: the fastest ring, batch ops publish a whole run at once |
//! | [`mpmc`] | `Clone + Send + Sync` handles; `&self` | several threads or tasks send and/or receive; [`mpmc::unbounded`] when sends must never wait |
//! | [`oneshot`] | a sender consumed by `send`, a receiver that is a future | one reply to one request |
//!
//! ```
//! use nimsync_channel::{mpmc, spsc, oneshot};
//!
//! // SPSC: a fast pipe between two threads.
//! let (mut tx, mut rx) = spsc::channel(64);
//! let producer = std::thread::spawn(move || tx.send_iter(0..1000u64).is_ok());
//! assert_eq!(rx.iter().sum::<u64>(), 499_500);
//! assert!(producer.join().unwrap());
//!
//! // MPMC: many senders, many receivers; each message goes to one receiver.
//! let (tx, rx) = mpmc::channel(8);
//! let tx2 = tx.clone();
//! tx.send(1).unwrap();
//! tx2.send(2).unwrap();
//! assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
//!
//! // Oneshot: a single reply.
//! let (reply, answer) = oneshot::channel();
//! reply.send("pong").unwrap();
//! assert_eq!(answer.recv(), Ok("pong"));
//! ```
//!
//! # Guarantees
//!
//! - **Nothing is lost.** Every value sent is received exactly once, handed
//!   back inside an error, or dropped exactly once when the last endpoint
//!   goes away.
//! - **Exact capacity.** A channel made with `channel(n)` holds exactly `n`
//!   values; `capacity()` reports `n`.
//! - **Ordering.** A send happens-before the receive that takes its value,
//!   and each producer's messages are received in the order it sent them.
//! - **Close.** Dropping every sender closes the channel: receivers drain
//!   what is buffered, then get `Closed`. Dropping every receiver closes it
//!   too: sends hand their value back in `Closed`, and what was buffered is
//!   dropped. `close()` from either side stops new sends at once; receivers
//!   still drain.
//! - **Blocking never burns a core**: a blocked thread spins briefly, then
//!   parks until it is woken.
//! - **Async is cancel-safe**: dropping a pending future loses no message
//!   and no wake-up. A pending `send_async` can be cancelled with
//!   [`SendFuture::cancel`](mpmc::SendFuture) to get its value
//!   back.
//!
//! # Errors
//!
//! All flavors share the error types at the crate root. Errors of sends
//! carry the unsent value; none of them needs `T: Debug` to print. Their
//! `Display` is a short lowercase phrase; each type's docs say what to do.

#![warn(missing_docs)]

mod chan;
mod error;
pub mod mpmc;
pub mod oneshot;
mod orphan;
mod select;
pub mod spsc;
mod sync;
mod unwind;
mod waiter;

#[cfg(all(test, loom))]
mod loom_tests;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// Support for `nimsync-select`. Not part of the semver contract: it may
/// change in any release.
#[doc(hidden)]
pub mod __select {
    pub use crate::select::{Keeper, RecvHandle, SelectHandle, SendHandle, Token};
    pub use crate::waiter::{Selected, Waiter};

    /// A shared waiter, as the handles take it (loom's `Arc` under
    /// `cfg(loom)`).
    pub type WaiterRef = crate::sync::Arc<Waiter>;
}

/// The largest capacity a channel accepts: 2^30 slots.
///
/// Positions are lap-encoded in 48 bits; this bound keeps at least 16 bits
/// of lap count, so a stalled thread cannot mistake an old lap for the
/// current one.
pub const MAX_CAPACITY: usize = 1 << 30;

/// Validates a requested capacity, panicking with advice when it is unusable.
#[track_caller]
fn check_capacity<T>(capacity: usize, flavor: &str) {
    assert!(
        capacity != 0,
        "nimsync_channel::{flavor}::channel: capacity must be at least 1; for a rendezvous \
         (zero-capacity) channel use nimsync_channel::mpmc::channel(0)"
    );
    assert!(
        capacity <= MAX_CAPACITY,
        "nimsync_channel::{flavor}::channel: capacity {capacity} exceeds MAX_CAPACITY ({MAX_CAPACITY}); \
         use a smaller capacity"
    );
    let bytes = core::mem::size_of::<T>().checked_mul(capacity);
    assert!(
        bytes.is_some_and(|b| b <= isize::MAX as usize / 2),
        "nimsync_channel::{flavor}::channel: {capacity} slots of {} bytes overflow the address \
         space; use a smaller capacity or box the values",
        core::mem::size_of::<T>()
    );
}

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
