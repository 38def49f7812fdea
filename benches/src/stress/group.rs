//! Stress test of nimsync-group: a storm of nested groups with random
//! cancels, deadlines and failures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nimsync_group::{CancelToken, GroupMetrics, Policy, TaskGroup};
use nimsync_scheduler::Runtime;

use super::rng::Rng;
use super::{Size, Test, rate};

pub(super) fn tests() -> Vec<Test> {
    vec![Test::new("group-cancel-storm", 240, cancel_storm)]
}

/// Totals over every group of the storm.
#[derive(Default)]
struct Totals {
    groups: AtomicU64,
    spawned: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    token_cancels: AtomicU64,
}

/// Counts a child's future as running until it is dropped.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counter))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Builds and joins one group at `depth`, with children that finish,
/// fail, wait for cancellation, sleep, or open a nested group; a random
/// sibling may cancel the group's token, and a random deadline may end
/// it. Checks the group's accounting and that none of its children's
/// futures is alive once it has been joined.
fn storm_group(depth: u32, seed: u64, parent: CancelToken, totals: Arc<Totals>) -> BoxFut {
    Box::pin(async move {
        let mut rng = Rng::new(seed);
        let policy = [
            Policy::FailFast,
            Policy::CollectErrors,
            Policy::IgnoreErrors,
        ][rng.below(3) as usize];
        let mut builder = TaskGroup::<u64, u64>::builder()
            .name(format!("storm-{depth}-{seed}"))
            .policy(policy)
            .parent(&parent);
        if rng.below(4) == 0 {
            builder = builder.timeout(Duration::from_micros(rng.below(3_000)));
        }
        let group = builder.build();
        let running = Arc::new(AtomicUsize::new(0));
        let children = 2 + rng.below(4);
        let mut spawned = 0;
        for k in 0..children {
            let kind = rng.below(if depth < 3 { 6 } else { 5 });
            let child_seed = seed.wrapping_mul(31).wrapping_add(k + 1);
            let token = group.token().clone();
            let alive = Running::new(&running);
            let totals2 = Arc::clone(&totals);
            let wait = rng.below(500);
            let res = group.spawn(async move {
                let _alive = alive;
                match kind {
                    0 => Ok(child_seed),
                    1 => Err(child_seed),
                    2 => {
                        token.cancelled().await;
                        Ok(0)
                    }
                    3 => {
                        nimsync_time::sleep(Duration::from_micros(wait)).await;
                        Ok(1)
                    }
                    4 => {
                        // Cancels its own group's token after a moment.
                        nimsync_scheduler::yield_now().await;
                        token.cancel();
                        totals2.token_cancels.fetch_add(1, Ordering::Relaxed);
                        Ok(2)
                    }
                    _ => {
                        storm_group(depth + 1, child_seed, token, totals2).await;
                        Ok(3)
                    }
                }
            });
            if res.is_ok() {
                spawned += 1;
            }
        }
        // Children waiting on the token need it cancelled eventually: the
        // storm cancels a group if nothing else did within a short while.
        let token = group.token().clone();
        let closer = nimsync_scheduler::spawn(async move {
            nimsync_time::sleep(Duration::from_millis(2)).await;
            token.cancel();
        });
        let results = group_join(group, rng.below(2) == 0).await;
        closer.abort();
        assert_eq!(
            running.load(Ordering::SeqCst),
            0,
            "a child's future outlived the join of its group"
        );
        let (m, timed_out) = results;
        assert_eq!(m.spawned, spawned, "spawned count");
        assert_eq!(
            m.completed + m.failed + m.cancelled,
            m.spawned,
            "every child accounted for: {m:?}"
        );
        totals.groups.fetch_add(1, Ordering::Relaxed);
        totals.spawned.fetch_add(m.spawned, Ordering::Relaxed);
        totals.completed.fetch_add(m.completed, Ordering::Relaxed);
        totals.failed.fetch_add(m.failed, Ordering::Relaxed);
        totals.cancelled.fetch_add(m.cancelled, Ordering::Relaxed);
        totals
            .timed_out
            .fetch_add(u64::from(timed_out), Ordering::Relaxed);
    })
}

/// Joins every child of `group`, one by one or all at once; returns its
/// metrics and whether its deadline passed.
async fn group_join(mut group: TaskGroup<u64, u64>, one_by_one: bool) -> (GroupMetrics, bool) {
    if one_by_one {
        while group.join_next().await.is_some() {}
        return (group.metrics(), false);
    }
    let spawner = group.spawner();
    let res = group.join_all().await;
    let timed_out = res.as_ref().err().is_some_and(|e| e.timed_out().is_some());
    (spawner.metrics(), timed_out)
}

/// Groups nested up to four deep: 2,000 (quick), or as many as 30 s of
/// storm makes (full size).
fn cancel_storm(size: Size) -> String {
    let (target, run_for) = match size {
        Size::Quick => (2_000, Duration::MAX),
        Size::Full => (u64::MAX, Duration::from_secs(30)),
    };
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let totals = Arc::new(Totals::default());
    let start = Instant::now();
    rt.block_on(async {
        let mut seed = 1;
        while totals.groups.load(Ordering::Relaxed) < target && start.elapsed() < run_for {
            let roots: Vec<_> = (0..50)
                .map(|_| {
                    seed += 1;
                    nimsync_scheduler::spawn(storm_group(
                        0,
                        seed,
                        CancelToken::new(),
                        Arc::clone(&totals),
                    ))
                })
                .collect();
            for r in roots {
                r.await.expect("a storm root panicked");
            }
        }
    });
    let elapsed = start.elapsed();
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (spawned, completed, failed, cancelled) = (
        t(&totals.spawned),
        t(&totals.completed),
        t(&totals.failed),
        t(&totals.cancelled),
    );
    assert_eq!(completed + failed + cancelled, spawned);
    format!(
        "{} groups, {spawned} children spawned = {completed} completed + {failed} failed + \
         {cancelled} cancelled; {} deadlines expired, {} token cancels from children; no child \
         future alive after its group's join; {}",
        t(&totals.groups),
        t(&totals.timed_out),
        t(&totals.token_cancels),
        rate(spawned as usize, elapsed)
    )
}
