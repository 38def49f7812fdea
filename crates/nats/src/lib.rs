//! nimsync streams and channels bridged to a NATS server.
//!
//! When a pipeline outgrows one process, this crate carries its items
//! through [NATS](https://nats.io) instead of a home-made protocol:
//!
//! - [`JetStream::sink`]: records published to a persisted stream, each
//!   counted as sent only when the server acknowledged it, with a bounded
//!   number in flight, resent in order after a lost connection (message ids
//!   make resends harmless).
//! - [`JetStream::source`]: a durable pull consumer as a stream of
//!   [`Delivery`]s, fetched in batches sized by the room downstream, each
//!   acknowledged by the consumer after processing (at-least-once; a
//!   dropped delivery is handed back for redelivery).
//! - [`Client::subscribe`]: core-NATS subjects as streams, under a
//!   nimsync-stream [`Overflow`](nimsync_stream::Overflow) policy with
//!   counted drops.
//! - [`Client::request`] with a deadline that inherits the caller's
//!   nimsync-group deadline, and [`Client::serve`]: a responder on a pool
//!   of workers in a queue group.
//!
//! # Any executor
//!
//! async-nats runs on tokio. A [`Client`] connected inside a tokio runtime
//! uses that runtime; one connected anywhere else (nimsync's runtime, smol,
//! a plain thread under `block_on`) uses a runtime this crate starts once
//! per process, one thread named `nimsync-nats` with I/O and timers. Every
//! future this crate returns can be awaited on any executor: it enters the
//! connection's runtime when polled where async-nats needs it (a core
//! publish only queues the message, from the caller's thread). What runs on
//! that runtime: the socket, the timers, the sink, source and subscription
//! tasks, responder handlers and subscription `on_drop` hooks; a handler or
//! hook that blocks holds up the connection's I/O.
//!
//! # Delivery guarantees
//!
//! | path | guarantee |
//! |---|---|
//! | [`Client::publish`] / [`Client::subscribe`] | at most once: nothing is kept for a subscriber that is away or too slow |
//! | [`JetStream::sink`] | acknowledged: `flush` returns once the server has stored every record, or hands back the ones it did not |
//! | [`JetStream::source`] | at least once: a delivery not acknowledged is delivered again; dedupe on [`Delivery::message_id`] or [`Delivery::stream_sequence`] for exactly once |
//!
//! See `docs/nats.md` in the repository for running the server and a
//! pipeline split across two processes.

#![forbid(unsafe_code)]

mod client;
mod error;
mod host;
mod jetstream;
mod options;
mod respond;
mod subject;
mod subscribe;

pub use async_nats::{self, HeaderMap, Message};
pub use bytes::Bytes;
pub use client::Client;
pub use error::{Error, ErrorKind};
pub use jetstream::{
    Delivery, JetStream, PubAck, Record, Sink, SinkError, SinkOptions, SinkReport, Source,
    SourceOptions, SourceStats, Storage, StreamSpec,
};
pub use options::ConnectOptions;
pub use respond::{Responder, ResponderStats, ServeOptions};
pub use subject::IntoSubject;
pub use subscribe::{SubscribeOptions, Subscription};

/// The crate README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
