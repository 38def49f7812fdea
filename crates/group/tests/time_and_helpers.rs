//! Deadlines, shielded children, start, race and retry.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{PATIENCE, gate, runtime, within};
use nimsync_group::{
    CancelToken, Policy, Retry, RetryError, StartError, TaskGroup, current_deadline, move_on_after,
    race, scope_with, with_deadline_named, with_timeout, with_timeout_named,
};

#[test]
fn a_scope_deadline_expires_in_the_middle_and_names_the_scope() {
    let rt = runtime();
    rt.block_on(async {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = Arc::clone(&finished);
        let start = Instant::now();
        let err = scope_with(
            TaskGroup::<u32>::builder()
                .name("crawl")
                .timeout(Duration::from_millis(30)),
            |s| async move {
                // One quick child finishes before the deadline, one never
                // would.
                let f2 = Arc::clone(&f);
                s.spawn_ok(async move {
                    f2.fetch_add(1, Ordering::SeqCst);
                    1
                })
                .unwrap();
                s.spawn_ok(std::future::pending()).unwrap();
            },
        )
        .await
        .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        let timed_out = err.timed_out().expect("the deadline ended the scope");
        assert_eq!(timed_out.scope(), Some("crawl"));
        assert_eq!(err.failures().len(), 1, "only the stuck child failed");
        assert!(err.failures()[0].is_cancelled());
        // The group prints its `TimedOut`; the source chain goes on with
        // the deadline's own source, nimsync-time's Elapsed.
        let elapsed = std::error::Error::source(&err).expect("Elapsed");
        assert!(elapsed.downcast_ref::<nimsync_time::Elapsed>().is_some());
        assert!(elapsed.source().is_none());
        assert!(
            err.to_string()
                .contains("scope `crawl` reached its deadline")
        );
    });
}

#[test]
fn the_nearest_deadline_wins_and_children_see_it() {
    let rt = runtime();
    rt.block_on(async {
        let outer = Instant::now() + Duration::from_millis(20);
        let res = with_deadline_named("outer", outer, async move {
            // The inner scope asks for an hour and gets the outer's 20 ms.
            let inner = with_timeout_named("inner", Duration::from_secs(3600), async move {
                let group = TaskGroup::<Option<Instant>>::new();
                group.spawn_ok(async { current_deadline() }).unwrap();
                let seen = group.join_all().await.unwrap();
                assert_eq!(seen, vec![Some(outer)], "children inherit the deadline");
                std::future::pending::<()>().await
            })
            .await;
            inner.unwrap_err()
        })
        .await;
        // The inner scope timed out, at the outer scope's deadline, and
        // says whose deadline it was.
        let inner_err = res.expect("the inner scope reported first");
        assert_eq!(inner_err.scope(), Some("outer"));
        assert_eq!(inner_err.deadline(), outer);
        assert!(Instant::now() >= outer);
    });
}

#[test]
fn move_on_after_yields_none_and_a_fast_future_its_value() {
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(
            move_on_after(Duration::from_millis(5), std::future::pending::<u8>()).await,
            None
        );
        assert_eq!(move_on_after(PATIENCE, async { 7 }).await, Some(7));
        assert_eq!(with_timeout(PATIENCE, async { 8 }).await, Ok(8));
    });
}

#[test]
fn a_shield_survives_cancellation_failure_and_deadline() {
    let rt = runtime();
    rt.block_on(async {
        // Fail-fast: a sibling fails while the shield waits on a gate; the
        // shield is not aborted and its result is kept.
        let release = gate();
        let group = TaskGroup::<&str, &str>::new();
        let r = release.clone();
        group
            .spawn_shielded(async move {
                r.cancelled().await;
                Ok("committed")
            })
            .unwrap();
        group.spawn(async { Err("broken") }).unwrap();
        within(
            "the token cancelled by the failure",
            group.token().cancelled(),
        )
        .await;
        // Spawning a shield still works on a cancelled group.
        group.spawn_shielded(async { Ok("flushed") }).unwrap();
        release.cancel();
        let results = group.join_all_results().await;
        assert_eq!(results[0].as_ref().ok(), Some(&"committed"));
        assert!(results[1].is_err());
        assert_eq!(results[2].as_ref().ok(), Some(&"flushed"));

        // An expired deadline aborts the others but waits for the shield.
        let release = gate();
        let group = TaskGroup::<&str>::builder()
            .name("tx")
            .timeout(Duration::from_millis(10))
            .build();
        let r = release.clone();
        group.spawn_ok(std::future::pending()).unwrap();
        group
            .spawn_shielded(async move {
                r.cancelled().await;
                Ok("done")
            })
            .unwrap();
        let opener = nimsync_scheduler::spawn(async move {
            nimsync_time::sleep(Duration::from_millis(40)).await;
            release.cancel();
        });
        let start = Instant::now();
        let err = group.join_all().await.unwrap_err();
        assert!(err.timed_out().is_some());
        assert!(
            start.elapsed() >= Duration::from_millis(40),
            "the join waited for the shield"
        );
        assert_eq!(err.failures().len(), 1);
        opener.await.unwrap();
    });
}

#[test]
fn a_dropped_group_detaches_its_shield_which_runs_to_its_end() {
    let rt = runtime();
    rt.block_on(async {
        let release = gate();
        let done = gate();
        {
            let group = TaskGroup::<()>::new();
            let (r, d) = (release.clone(), done.clone());
            group
                .spawn_shielded(async move {
                    r.cancelled().await;
                    d.cancel();
                    Ok(())
                })
                .unwrap();
        }
        release.cancel();
        within("the detached shield to finish", done.cancelled()).await;
    });
}

#[test]
fn start_returns_what_the_child_reported_and_the_child_goes_on() {
    let rt = runtime();
    rt.block_on(async {
        let mut group = TaskGroup::<u32, String>::new();
        let go_on = gate();
        let g = go_on.clone();
        let port = group
            .start(|started| async move {
                started.started(8080u16);
                g.cancelled().await;
                Ok(1)
            })
            .await
            .unwrap();
        assert_eq!(port, 8080);
        go_on.cancel();
        // The child went on after reporting, and finishes with its own
        // result (joined before the next start fails the group, which
        // fail-fast would abort it for).
        assert_eq!(
            within("the first child", group.join_next())
                .await
                .map(|r| r.ok()),
            Some(Some(1))
        );
        let err = group
            .start(|_started: nimsync_group::Started<u16>| async {
                Err(String::from("bind failed"))
            })
            .await
            .unwrap_err();
        assert_eq!(err, StartError::NotStarted);
        let results = group.join_all_results().await;
        assert_eq!(results.len(), 1);
        assert_eq!(
            results[0].as_ref().unwrap_err().to_string(),
            format!(
                "task id {} (#1 in its group) failed: bind failed",
                results[0].as_ref().unwrap_err().task.id
            )
        );
    });
}

#[test]
fn race_returns_the_first_success_and_reaps_the_rest() {
    let rt = runtime();
    rt.block_on(async {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Guard(Arc<AtomicUsize>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let slow: Vec<_> = (0..3)
            .map(|_| {
                let g = Guard(Arc::clone(&dropped));
                Box::pin(async move {
                    let _g = g;
                    std::future::pending::<Result<&str, &str>>().await
                }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
            })
            .collect();
        let mut all = slow;
        all.push(Box::pin(async { Err("mirror down") }));
        all.push(Box::pin(async { Ok("fast") }));
        assert_eq!(race(all).await.unwrap(), "fast");
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "the losers were dropped before race returned"
        );

        let err = race((1..=2).map(|e| async move { Err::<(), _>(e) }))
            .await
            .unwrap_err();
        assert_eq!(err.failures().len(), 2);
    });
}

#[test]
fn retry_retries_what_it_should_and_stops_when_cancelled() {
    let rt = runtime();
    rt.block_on(async {
        // Succeeds on the third attempt.
        let calls = AtomicU32::new(0);
        let v = Retry::new()
            .max_attempts(5)
            .backoff(Duration::from_millis(1), Duration::from_millis(4))
            .run(|attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 3 {
                        Err("busy")
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!((v, calls.load(Ordering::SeqCst)), (3, 3));

        // Runs out of attempts, with the waits between them.
        let start = Instant::now();
        let err = Retry::new()
            .max_attempts(3)
            .jitter(false)
            .backoff(Duration::from_millis(5), Duration::from_millis(100))
            .run(|_| async { Err::<(), _>("down") })
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            RetryError::Exhausted {
                attempts: 3,
                last: "down"
            }
        ));
        assert!(
            start.elapsed() >= Duration::from_millis(15),
            "5 ms then 10 ms of backoff"
        );

        // An error the policy does not retry ends it at once.
        let err = Retry::new()
            .retry_if(|e: &&str| *e == "busy")
            .run(|_| async { Err::<(), _>("forbidden") })
            .await
            .unwrap_err();
        assert!(matches!(err, RetryError::NotRetryable { attempt: 1, .. }));
        assert_eq!(
            err.to_string(),
            "attempt 1 failed with an error not retried: forbidden"
        );

        // A cancel during a long backoff stops it early.
        let token = CancelToken::new();
        let t = token.clone();
        let canceller = nimsync_scheduler::spawn(async move {
            nimsync_time::sleep(Duration::from_millis(10)).await;
            t.cancel();
        });
        let start = Instant::now();
        let err = Retry::new()
            .max_attempts(10)
            .backoff(Duration::from_secs(3600), Duration::from_secs(3600))
            .cancel_on(&token)
            .run(|_| async { Err::<(), _>("flaky") })
            .await
            .unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.attempts(), 1);
        assert!(start.elapsed() < PATIENCE);
        assert_eq!(err.to_string(), "cancelled after 1 attempt: flaky");
        canceller.await.unwrap();
    });
}

#[test]
fn collect_errors_under_a_deadline_still_reports_the_timeout() {
    let rt = runtime();
    rt.block_on(async {
        let group = TaskGroup::<(), ()>::builder()
            .policy(Policy::IgnoreErrors)
            .timeout(Duration::from_millis(5))
            .build();
        group.spawn(std::future::pending()).unwrap();
        let err = group.join_all().await.unwrap_err();
        assert!(
            err.timed_out().is_some(),
            "a timeout is reported whatever the policy"
        );
    });
}
