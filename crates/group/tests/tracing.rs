//! The `tracing` feature: a group's events, seen by a capturing subscriber
//! installed for the test's thread only (`with_default`), on current-thread
//! runtimes whose tasks run on that thread.
#![cfg(feature = "tracing")]

mod common;

use std::time::{Duration, Instant};

use common::capture::Capture;
use nimsync_group::{Policy, Retry, TaskGroup};
use nimsync_scheduler::{Builder, Runtime};
use tracing::Level;

/// A current-thread runtime.
fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// Runs `fut` on a current-thread runtime with `capture` as the thread's
/// subscriber.
fn traced<F: Future>(capture: &Capture, fut: F) -> F::Output {
    tracing::subscriber::with_default(capture.clone(), || current_thread().block_on(fut))
}

#[test]
fn a_failing_child_produces_a_warn_event_with_the_error_text() {
    let capture = Capture::new();
    let id = traced(&capture, async {
        let group = TaskGroup::<(), String>::builder()
            .name("fetch")
            .policy(Policy::CollectErrors)
            .build();
        let id = group
            .spawn_named("loader", async { Err(String::from("disk full")) })
            .unwrap();
        group.spawn(async { Ok(()) }).unwrap();
        let err = group.join_all().await.unwrap_err();
        assert_eq!(err.failures().len(), 1);
        id
    });
    let failed = capture.events_with("child failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let event = &failed[0];
    assert_eq!(event.level, Level::WARN);
    assert_eq!(event.target, "nimsync_group");
    assert_eq!(event.field("group"), Some("fetch"));
    assert_eq!(event.field("error"), Some("disk full"));
    assert_eq!(event.field("child.id"), Some(&*id.as_u64().to_string()));
    assert_eq!(event.field("child.name"), Some("loader"));
    // Emitted from the child's task, inside the span the scheduler gave it.
    let span = event.span("task").expect("inside the child's task span");
    assert_eq!(span.fields["name"], "loader");
    assert_eq!(span.fields["id"], id.as_u64().to_string());
    // Not fail-fast: the group was not cancelled.
    assert!(capture.events_with("group cancelled").is_empty());
}

#[test]
fn an_error_type_without_a_known_display_is_named_by_its_type() {
    #[derive(Debug)]
    struct Opaque;
    let capture = Capture::new();
    traced(&capture, async {
        let group = TaskGroup::<(), Opaque>::new();
        group.spawn(async { Err(Opaque) }).unwrap();
        assert!(group.join_all().await.is_err());
    });
    let event = &capture.events_with("child failed")[0];
    let error = event.field("error").unwrap();
    assert!(error.contains("Opaque"), "{error}");
    assert_eq!(event.field("group"), None, "an unnamed group");
}

#[test]
fn a_panicking_child_is_a_failure_of_its_group() {
    let capture = Capture::new();
    traced(&capture, async {
        let group = TaskGroup::<(), String>::builder()
            .name("p")
            .policy(Policy::CollectErrors)
            .build();
        group.spawn(async { panic!("child boom") }).unwrap();
        assert!(group.join_all().await.is_err());
    });
    let failed = capture.events_with("child failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].field("error"), Some("panicked"));
    // The scheduler's own event has the message.
    let panicked = capture.events_with("task panicked");
    assert_eq!(panicked[0].field("panic"), Some("child boom"));
}

#[test]
fn fail_fast_cancels_the_group_once_and_says_why() {
    let capture = Capture::new();
    traced(&capture, async {
        let group = TaskGroup::<(), &str>::builder().name("ff").build();
        group.spawn(std::future::pending()).unwrap();
        group.spawn(async { Err("first") }).unwrap();
        group.spawn(async { Err("second") }).unwrap();
        let err = group.join_all().await.unwrap_err();
        assert!(err.to_string().contains("first"));
    });
    let cancelled = capture.events_with("group cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    assert_eq!(cancelled[0].level, Level::DEBUG);
    assert_eq!(cancelled[0].field("group"), Some("ff"));
    assert_eq!(cancelled[0].field("reason"), Some("fail-fast"));
    // The first failure is reported before the cancel it caused.
    let messages: Vec<_> = capture.events().into_iter().map(|e| e.message).collect();
    let failed = messages.iter().position(|m| m == "child failed").unwrap();
    let cancel = messages
        .iter()
        .position(|m| m == "group cancelled")
        .unwrap();
    assert!(failed < cancel, "{messages:?}");
}

#[test]
fn abort_all_and_a_dropped_group_are_reported() {
    let capture = Capture::new();
    traced(&capture, async {
        let mut group = TaskGroup::<()>::builder().name("a").build();
        group.spawn_ok(std::future::pending()).unwrap();
        group.abort_all();
        while group.join_next().await.is_some() {}
        let dropped = TaskGroup::<()>::builder().name("d").build();
        dropped.spawn_ok(std::future::pending()).unwrap();
        drop(dropped);
        // A group dropped with nothing left to join cancels nothing.
        drop(group);
    });
    let reasons: Vec<_> = capture
        .events_with("group cancelled")
        .iter()
        .map(|e| {
            (
                e.field("group").unwrap().to_owned(),
                e.field("reason").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("a".to_owned(), "abort_all".to_owned()),
            ("d".to_owned(), "dropped".to_owned()),
        ]
    );
}

#[test]
fn an_expired_scope_deadline_is_reported_with_the_scope_name() {
    let capture = Capture::new();
    let result = traced(
        &capture,
        nimsync_group::with_timeout_named("db", Duration::ZERO, std::future::pending::<()>()),
    );
    assert!(result.is_err());
    let expired = capture.events_with("deadline expired");
    assert_eq!(expired.len(), 1, "{expired:#?}");
    assert_eq!(expired[0].level, Level::DEBUG);
    assert_eq!(expired[0].field("scope"), Some("db"));
}

#[test]
fn a_groups_expired_deadline_cancels_it() {
    let capture = Capture::new();
    traced(&capture, async {
        let group = TaskGroup::<()>::builder()
            .name("slow")
            .deadline(Instant::now())
            .build();
        group.spawn_ok(std::future::pending()).unwrap();
        let err = group.join_all().await.unwrap_err();
        assert!(err.timed_out().is_some());
    });
    let expired = capture.events_with("deadline expired");
    assert!(
        expired.iter().any(|e| e.field("group") == Some("slow")),
        "{expired:#?}"
    );
    let cancelled = capture.events_with("group cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    assert_eq!(cancelled[0].field("reason"), Some("deadline"));
}

#[test]
fn retries_are_reported_with_the_attempt_and_the_backoff() {
    let capture = Capture::new();
    let result = traced(
        &capture,
        Retry::new()
            .max_attempts(3)
            .backoff(Duration::from_millis(1), Duration::from_millis(1))
            .jitter(false)
            .run(|_| async { Err::<(), _>("down") }),
    );
    assert_eq!(result.unwrap_err().attempts(), 3);
    let retries: Vec<_> = capture
        .events_with("retrying")
        .iter()
        .map(|e| {
            (
                e.level,
                e.field("attempt").unwrap().to_owned(),
                e.field("backoff").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        retries,
        [
            (Level::DEBUG, "1".to_owned(), "1ms".to_owned()),
            (Level::DEBUG, "2".to_owned(), "1ms".to_owned()),
        ]
    );
}
