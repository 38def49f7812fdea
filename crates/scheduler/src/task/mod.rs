//! Task identity, naming and task-local values.
//!
//! - [`Builder`] spawns a task with a name.
//! - [`id`](fn@id), [`try_id`] and [`name`] tell a task who it is.
//! - [`consume_budget`] spends the cooperative budget in loops that may stay
//!   ready.
//! - [`task_local!`](crate::task_local) declares values that are set for the
//!   extent of a future ([`LocalKey::scope`]) and read inside it, whichever
//!   worker polls it.

mod builder;
mod current;
pub(crate) mod harness;
mod id;
pub(crate) mod join_error;
pub(crate) mod join_handle;
mod local_key;
pub(crate) mod registry;

pub use builder::Builder;
pub use current::{id, name, try_id};
pub use id::Id;
pub use local_key::{AccessError, LocalKey, TaskLocalFuture};

pub use crate::coop::consume_budget;

pub(crate) use builder::current;
pub(crate) use current::{finishing, run};
