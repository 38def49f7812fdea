//! A bounded single-producer single-consumer channel.
//!
//! [`channel`] returns one [`Sender`] and one [`Receiver`]. Neither can be
//! cloned, and every operation takes `&mut self`, so each endpoint has at
//! most one operation in flight. That is what makes the ring fast: the
//! producer is the only writer of `tail`, the consumer the only writer of
//! `head`, and each side keeps a cached copy of the other's index, so the
//! common case reads no cache line the other side writes.
//!
//! ```
//! use nimsync_channel::spsc;
//!
//! let (mut tx, mut rx) = spsc::channel(4);
//! std::thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! let received: Vec<u32> = rx.iter().collect();
//! assert_eq!(received, (0..100).collect::<Vec<_>>());
//! ```
//!
//! # Files
//!
//! | file | holds |
//! |---|---|
//! | `ring.rs` | the ring and its protocol: positions, slots, the close |
//! | `sender.rs` | [`Sender`] |
//! | `receiver.rs` | [`Receiver`] |
//! | `batch.rs` | the batch API: `try_send_iter`, `send_iter`, `try_recv_many`, `recv_many`, [`Drain`] |
//! | `permit.rs` | [`Permit`] and [`ReserveFuture`] |
//!
//! The futures, the stream and the iterators are the crate's shared shapes
//! (see `chan`), named here for this flavor.

use core::cell::Cell;
use core::marker::PhantomData;

use crate::sync::Arc;

mod batch;
mod permit;
mod receiver;
mod ring;
mod sender;

pub use batch::Drain;
pub use permit::{Permit, ReserveFuture};
pub use receiver::Receiver;
use ring::Shared;
pub use sender::Sender;

/// Creates a bounded SPSC channel with room for exactly `capacity` values.
///
/// # Panics
///
/// Panics if `capacity` is 0 (an SPSC channel has a buffer; for a
/// rendezvous channel, where each send waits for a receiver to take the
/// value, use [`mpmc::channel(0)`](crate::mpmc::channel)), or larger than
/// [`MAX_CAPACITY`](crate::MAX_CAPACITY), or if the buffer's size in bytes
/// would overflow `isize`.
///
/// # Examples
///
/// ```
/// let (mut tx, mut rx) = nimsync_channel::spsc::channel::<String>(8);
/// tx.try_send("hi".to_string()).unwrap();
/// assert_eq!(rx.try_recv().unwrap(), "hi");
/// assert_eq!(tx.capacity(), 8);
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    crate::check_capacity::<T>(capacity, "spsc");
    let shared = Arc::new(Shared::new(capacity));
    let tx = Sender {
        shared: Arc::clone(&shared),
        tail: Cell::new(0),
        cached_head: Cell::new(0),
        streak: crate::chan::run::Streak::new(),
        _not_sync: PhantomData,
    };
    let rx = Receiver {
        shared,
        head: Cell::new(0),
        cached_tail: Cell::new(0),
        finished: Cell::new(false),
        lent: Cell::new(false),
        streak: crate::chan::run::Streak::new(),
        _not_sync: PhantomData,
    };
    (tx, rx)
}

/// Future returned by [`Sender::send_async`].
///
/// Holds the value until it is written into the channel;
/// `cancel` hands it back.
pub type SendFuture<'a, T> = crate::chan::SendFuture<&'a mut Sender<T>>;

/// Future returned by [`Receiver::recv_async`].
pub type RecvFuture<'a, T> = crate::chan::RecvFuture<&'a mut Receiver<T>>;

/// Future returned by [`Sender::closed`]; resolves once the channel is
/// closed.
pub type ClosedFuture<'a, T> = crate::chan::ClosedFuture<&'a Shared<T>>;

/// Blocking iterator returned by [`Receiver::iter`].
pub type Iter<'a, T> = crate::chan::Iter<&'a mut Receiver<T>>;

/// Non-blocking iterator returned by [`Receiver::try_iter`].
pub type TryIter<'a, T> = crate::chan::TryIter<&'a mut Receiver<T>>;

/// Owning blocking iterator, from `Receiver::into_iter`.
pub type IntoIter<T> = crate::chan::Iter<Receiver<T>>;

/// The receiver as a [`futures_core::Stream`], from
/// [`Receiver::into_stream`].
pub type RecvStream<T> = crate::chan::RecvStream<Receiver<T>>;
