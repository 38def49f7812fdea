//! Helpers shared by the integration tests of nimsync-group.
//!
//! Ordering between tasks is done with [`CancelToken`]s used as one-shot
//! gates (`cancel` opens, `cancelled().await` waits), never with sleeps.
//! Timers appear only as generous deadlines that turn a hang into a test
//! failure with a message.

#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "tracing")]
pub(crate) mod capture;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nimsync_group::CancelToken;
use nimsync_scheduler::Runtime;

/// How long any single wait in these tests may take before it is called a
/// hang. Far above what a correct run needs, even on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A runtime with two workers, as the tests ask for.
pub fn runtime() -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("failed to build the runtime")
}

/// Awaits `fut`, panicking with `what` if it takes longer than
/// [`PATIENCE`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match nimsync_time::timeout(PATIENCE, fut).await {
        Ok(out) => out,
        Err(_) => panic!("gave up after {PATIENCE:?} waiting for: {what}"),
    }
}

/// Yields until `cond` holds, panicking with `what` after [`PATIENCE`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting until {what}"
        );
        nimsync_scheduler::yield_now().await;
    }
}

/// A fresh gate: a root token that nothing else cancels.
pub fn gate() -> CancelToken {
    CancelToken::new()
}

/// Counts its drops in slot `index` of a shared table.
pub struct DropSlot {
    index: usize,
    table: Arc<Vec<AtomicUsize>>,
}

impl DropSlot {
    pub fn new(index: usize, table: &Arc<Vec<AtomicUsize>>) -> Self {
        Self {
            index,
            table: Arc::clone(table),
        }
    }
}

impl Drop for DropSlot {
    fn drop(&mut self) {
        self.table[self.index].fetch_add(1, Ordering::SeqCst);
    }
}

/// A table of `n` zeroed counters.
pub fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// The values of a counter table.
pub fn snapshot(table: &[AtomicUsize]) -> Vec<usize> {
    table.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

/// Lets the runtime run other work for a while: yields, and round-trips a
/// batch of tasks through both workers.
pub async fn churn() {
    for _ in 0..20 {
        let tasks: Vec<_> = (0..8)
            .map(|i| nimsync_scheduler::spawn(async move { i }))
            .collect();
        for t in tasks {
            t.await.expect("a trivial task failed");
        }
        nimsync_scheduler::yield_now().await;
    }
}
