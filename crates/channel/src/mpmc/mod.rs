//! A bounded multi-producer multi-consumer channel.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]; both are `Clone`,
//! `Send` and `Sync` (for `T: Send`) and every operation takes `&self`.
//!
//! ```
//! use nimsync_channel::mpmc;
//!
//! let (tx, rx) = mpmc::channel(16);
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..250 {
//!                 tx.send(p * 1000 + i).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx);
//! let consumers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let rx = rx.clone();
//!         std::thread::spawn(move || rx.iter().count())
//!     })
//!     .collect();
//! for p in producers {
//!     p.join().unwrap();
//! }
//! let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
//! assert_eq!(total, 1000);
//! ```
//!
//! # Files
//!
//! | file | holds |
//! |---|---|
//! | `flavor.rs` | the flavor layer: the `Queue` contract every flavor implements, the `Flavor` an endpoint holds, the `FlavorRef` a future or permit holds, the `Claim` a select token holds |
//! | `ring/` | the array flavor, a ring and its protocol: slots, claims, skipped and orphaned positions (`mod.rs`), permits (`permits.rs`), force-sends (`force.rs`), its `Queue` and `Chan` impls (`adapter.rs`) |
//! | `list/` | the list flavor, unbounded: blocks of slots, their freeing, slots given back to a slow sender, pending sends (`mod.rs`), its `Queue` and `Chan` impls (`adapter.rs`) |
//! | `zero/` | the rendezvous flavor (`channel(0)`) and its hand-off protocol: offers, claimed receivers, held reservations (`mod.rs`), its `Queue` and `Chan` impls (`adapter.rs`) |
//! | `sender.rs` | [`Sender`] |
//! | `receiver.rs` | [`Receiver`] |
//! | `recv_many.rs` | [`RecvManyFuture`], the async batch receive |
//! | `permit.rs` | [`Permit`] and [`ReserveFuture`] |
//! | `permits.rs` | [`PermitIterator`] and [`ReserveManyFuture`] (a batch's permits and its wait: the batch turn), [`OwnedPermit`] and [`ReserveOwnedFuture`] |
//! | `weak.rs` | [`WeakSender`] and [`WeakReceiver`] |
//! | `sink.rs` | [`SendSink`], a sender as a `futures_sink::Sink` |
//!
//! The futures, the stream and the iterators are the crate's shared shapes
//! (see `chan`), named here for this flavor.

mod counts;
mod flavor;
mod list;
mod permit;
mod permits;
mod receiver;
mod recv_many;
mod ring;
mod sender;
mod sink;
mod weak;
mod zero;

pub(crate) use flavor::{Claim, Flavor, FlavorRef, Queue, keeper_give_up};
pub use permit::{Permit, ReserveFuture};
pub use permits::{OwnedPermit, PermitIterator, ReserveManyFuture, ReserveOwnedFuture};
pub use receiver::Receiver;
pub use recv_many::RecvManyFuture;
pub use sender::Sender;
pub use sink::SendSink;
pub use weak::{WeakReceiver, WeakSender};

use crate::sync::Arc;

/// Creates a bounded MPMC channel with room for exactly `capacity` values.
///
/// `capacity` 0 makes a rendezvous channel, as crossbeam-channel's
/// `bounded(0)`: nothing is buffered, and a send completes when a receiver
/// takes its value. `send` waits for a receiver; `try_send` succeeds only
/// if a receiver is waiting (otherwise `Full`); `try_recv` only if a sender
/// is; `len` is 0, `capacity` 0, and `is_empty` and `is_full` are always
/// true. A [`Permit`] of a rendezvous channel is a waiting receiver claimed
/// for the permit's value. docs/semantics.md describes the hand-off.
///
/// # Panics
///
/// Panics if `capacity` is larger than [`MAX_CAPACITY`](crate::MAX_CAPACITY),
/// or if the buffer's size in bytes would overflow `isize`.
///
/// # Examples
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u64>(1024);
/// tx.send(1).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// ```
///
/// A rendezvous channel:
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u64>(0);
/// assert!(tx.try_send(1).unwrap_err().is_full()); // no receiver waits
/// let t = std::thread::spawn(move || tx.send(2)); // waits for the receive
/// assert_eq!(rx.recv(), Ok(2));
/// t.join().unwrap().unwrap();
/// assert_eq!(rx.capacity(), 0);
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    if capacity == 0 {
        let shared = Arc::new(zero::Shared::new());
        return (
            Sender {
                flavor: Flavor::Zero(Arc::clone(&shared)),
            },
            Receiver::of(Flavor::Zero(shared)),
        );
    }
    crate::check_capacity::<T>(capacity, "mpmc");
    let shared = Arc::new(ring::Shared::new(capacity));
    (
        Sender {
            flavor: Flavor::Array(Arc::clone(&shared)),
        },
        Receiver::of(Flavor::Array(shared)),
    )
}

/// Creates an unbounded MPMC channel: sends never wait and never find it
/// full, and memory grows with what is buffered.
///
/// The endpoints are the same [`Sender`] and [`Receiver`] types as
/// [`channel`]'s, with the same close and drop rules. The queue is a
/// linked list of blocks of 255 slots, allocated as senders need them and
/// freed as receivers drain them, but for one kept to be reused; the
/// channel always holds one block (4 KiB for an 8-byte `T`) and at most
/// one more kept for reuse. With a consumer that stalls, it grows without bound
/// (each block: 255 × `size_of::<T>()` plus a word per slot);
/// [`Sender::len`] tells how much is buffered.
///
/// On an unbounded channel, [`Sender::is_full`] is always false,
/// [`Sender::capacity`] is `usize::MAX` (no bound), and `send`,
/// `send_timeout`, `send_async` and `try_send` fail only once the channel
/// is closed. A [`Permit`] holds no room (there is no room to hold): it is
/// a promise that its send cannot fail for lack of room, and it fails only
/// if the channel closed since it was taken.
///
/// # Examples
///
/// ```
/// let (tx, rx) = nimsync_channel::mpmc::unbounded::<u64>();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap(); // never full
/// }
/// assert_eq!(rx.len(), 1000);
/// assert!(!tx.is_full());
/// assert_eq!(tx.capacity(), usize::MAX);
/// assert_eq!(rx.iter().take(3).collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(list::Shared::new());
    (
        Sender {
            flavor: Flavor::List(Arc::clone(&shared)),
        },
        Receiver::of(Flavor::List(shared)),
    )
}

/// Future returned by [`Sender::send_async`].
///
/// Holds the value until it is written into the channel;
/// `cancel` hands it back.
pub type SendFuture<'a, T> = crate::chan::SendFuture<FlavorRef<'a, T>>;

/// Future returned by [`Receiver::recv_async`].
pub type RecvFuture<'a, T> = crate::chan::RecvFuture<FlavorRef<'a, T>>;

/// Future returned by [`Sender::closed`]; resolves once the channel is
/// closed.
pub type ClosedFuture<'a, T> = crate::chan::ClosedFuture<FlavorRef<'a, T>>;

/// Blocking iterator returned by [`Receiver::iter`].
pub type Iter<'a, T> = crate::chan::Iter<FlavorRef<'a, T>>;

/// Non-blocking iterator returned by [`Receiver::try_iter`].
pub type TryIter<'a, T> = crate::chan::TryIter<FlavorRef<'a, T>>;

/// Owning blocking iterator, from `Receiver::into_iter`.
pub type IntoIter<T> = crate::chan::Iter<Receiver<T>>;

/// The receiver as a [`futures_core::Stream`], from
/// [`Receiver::into_stream`].
pub type RecvStream<T> = crate::chan::RecvStream<Receiver<T>>;
