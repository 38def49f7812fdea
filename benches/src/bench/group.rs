//! Structured-concurrency workloads: a task group's spawn-and-join
//! against plain spawns and tokio's `JoinSet`, and the cost of a
//! cancellation check.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};

use nimsync_group::{CancelToken, TaskGroup};

use super::workloads::{Sample, timed};

/// Spawns `n` tiny tasks into a `TaskGroup` from a task on a 2-worker
/// nimsync runtime and joins them all with `join_all`.
pub fn nimsync_group(n: u64) -> Sample {
    let rt = nimsync_scheduler::Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let mut sum = 0;
    let s = timed(|| {
        sum = rt
            .block_on(rt.spawn(async move {
                let group = TaskGroup::<u64>::new();
                for i in 0..n {
                    group
                        .spawn_ok(async move { black_box(i) })
                        .expect("open group");
                }
                group
                    .join_all()
                    .await
                    .expect("no failures")
                    .iter()
                    .sum::<u64>()
            }))
            .expect("the spawning task");
    });
    assert_eq!(sum, n * n.saturating_sub(1) / 2, "TaskGroup: lost results");
    s
}

/// The same with tokio's `JoinSet` on a 2-worker tokio runtime.
pub fn tokio_join_set(n: u64) -> Sample {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let mut sum = 0;
    let s = timed(|| {
        sum = rt
            .block_on(rt.spawn(async move {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..n {
                    set.spawn(async move { black_box(i) });
                }
                let mut sum = 0;
                while let Some(r) = set.join_next().await {
                    sum += r.expect("task");
                }
                sum
            }))
            .expect("the spawning task");
    });
    assert_eq!(sum, n * n.saturating_sub(1) / 2, "JoinSet: lost results");
    s
}

/// `n` checks of a `CancelToken` that is never cancelled.
pub fn token_checks(n: u64) -> Sample {
    let token = CancelToken::new();
    let mut seen = 0u64;
    let s = timed(|| {
        for _ in 0..n {
            if black_box(&token).is_cancelled() {
                seen += 1;
            }
        }
    });
    assert_eq!(seen, 0);
    s
}

/// `n` acquire loads of a plain `AtomicBool`: the floor a check can reach.
pub fn atomic_bool_checks(n: u64) -> Sample {
    let flag = AtomicBool::new(false);
    let mut seen = 0u64;
    let s = timed(|| {
        for _ in 0..n {
            if black_box(&flag).load(Ordering::Acquire) {
                seen += 1;
            }
        }
    });
    assert_eq!(seen, 0);
    s
}
