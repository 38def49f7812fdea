//! The `tracing` feature: the `task` span and the runtime's events, seen by
//! a capturing subscriber installed for the test's thread only
//! (`with_default`). The runtimes are current-thread ones, whose tasks run
//! on that thread, except where a test installs the subscriber on the
//! runtime's threads too.
#![cfg(feature = "tracing")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::capture::Capture;
use nimsync_scheduler::{Builder, Runtime, task, yield_now};
use tracing::Level;

/// A current-thread runtime.
fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

#[test]
fn a_panicking_task_produces_one_error_event_with_its_id() {
    let capture = Capture::new();
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        let handle = rt.spawn(async { panic!("boom") });
        let id = handle.id();
        assert!(rt.block_on(handle).unwrap_err().is_panic());
        id
    });
    let errors: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.level == Level::ERROR)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert_eq!(error.message, "task panicked");
    assert_eq!(error.target, "nimsync_scheduler");
    assert_eq!(error.field("id"), Some(&*id.as_u64().to_string()));
    assert_eq!(error.field("panic"), Some("boom"));
    let span = error.span("task").expect("emitted inside the task's span");
    assert_eq!(span.fields["id"], id.as_u64().to_string());
}

#[test]
fn a_slow_poll_produces_a_warn_event_beside_the_hook() {
    let capture = Capture::new();
    let reports = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&reports);
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = Builder::new_current_thread()
            .on_slow_poll(Duration::from_millis(1), move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let handle = task::Builder::new().name("spinner").spawn_on(
            async {
                // The subject of the test: a poll that blocks its worker
                // for 20 times the threshold.
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(20) {
                    std::hint::spin_loop();
                }
            },
            &rt.handle(),
        );
        let id = handle.id();
        rt.block_on(handle).unwrap();
        id
    });
    let slow = capture.events_with("slow poll");
    let slow: Vec<_> = slow
        .iter()
        .filter(|e| e.field("id") == Some(&*id.as_u64().to_string()))
        .collect();
    assert_eq!(slow.len(), 1, "{slow:#?}");
    let event = slow[0];
    assert_eq!(event.level, Level::WARN);
    assert_eq!(event.field("name"), Some("spinner"));
    assert_eq!(event.field("threshold"), Some("1ms"));
    assert!(event.field("duration").is_some());
    assert_eq!(reports.load(Ordering::SeqCst), 1, "the hook still runs");
}

#[test]
fn a_named_tasks_events_are_inside_a_span_with_its_name() {
    let capture = Capture::new();
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        let handle = task::Builder::new().name("loader").spawn_on(
            async {
                tracing::info!("loading");
                yield_now().await;
                tracing::info!("loaded");
            },
            &rt.handle(),
        );
        let id = handle.id();
        rt.block_on(handle).unwrap();
        id
    });
    for message in ["loading", "loaded"] {
        let events = capture.events_with(message);
        assert_eq!(events.len(), 1, "{message}: {events:#?}");
        let span = events[0].span("task").expect("inside the task span");
        assert_eq!(span.fields["name"], "loader");
        assert_eq!(span.fields["id"], id.as_u64().to_string());
    }
    // Outside its polls, the task's span is not entered.
    tracing::subscriber::with_default(capture.clone(), || tracing::info!("after"));
    assert!(capture.events_with("after")[0].spans.is_empty());
}

#[test]
fn an_unnamed_task_span_has_no_name_field() {
    let capture = Capture::new();
    tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        rt.block_on(rt.spawn(async { tracing::info!("plain") }))
            .unwrap();
    });
    let event = &capture.events_with("plain")[0];
    let span = event.span("task").expect("inside the task span");
    assert!(span.fields.contains_key("id"));
    assert!(!span.fields.contains_key("name"));
}

#[test]
fn a_task_spawned_by_a_task_has_its_span_inside_the_spawners() {
    let capture = Capture::new();
    tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        let parent = task::Builder::new().name("parent").spawn_on(
            async {
                task::Builder::new()
                    .name("child")
                    .spawn(async { tracing::info!("in the child") })
                    .await
                    .unwrap();
            },
            &rt.handle(),
        );
        rt.block_on(parent).unwrap();
    });
    let event = &capture.events_with("in the child")[0];
    let names: Vec<&str> = event
        .spans
        .iter()
        .map(|s| s.fields["name"].as_str())
        .collect();
    assert_eq!(names, ["child", "parent"]);
}

#[test]
fn an_aborted_task_produces_a_cancellation_event() {
    let capture = Capture::new();
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        let handle = rt.spawn(std::future::pending::<()>());
        let id = handle.id();
        rt.block_on(async move {
            // Polled once, pending, then aborted.
            yield_now().await;
            handle.abort();
            assert!(handle.await.unwrap_err().is_cancelled());
        });
        id
    });
    let cancelled = capture.events_with("task cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    let event = &cancelled[0];
    assert_eq!(event.level, Level::DEBUG);
    assert_eq!(event.field("id"), Some(&*id.as_u64().to_string()));
    assert_eq!(event.field("reason"), Some("abort"));
    assert!(event.span("task").is_some(), "inside the task's span");
}

#[test]
fn a_task_dropped_at_shutdown_produces_a_cancellation_event() {
    let capture = Capture::new();
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = current_thread();
        let handle = rt.spawn(std::future::pending::<()>());
        let id = handle.id();
        rt.block_on(yield_now());
        drop(rt);
        assert!(rt_handle_cancelled(handle));
        id
    });
    let cancelled = capture.events_with("task cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    assert_eq!(cancelled[0].field("id"), Some(&*id.as_u64().to_string()));
    assert_eq!(cancelled[0].field("reason"), Some("dropped"));
}

/// Whether the handle of a task of a runtime that is gone resolves to a
/// cancelled error.
fn rt_handle_cancelled(handle: nimsync_scheduler::JoinHandle<()>) -> bool {
    futures_lite::future::block_on(handle)
        .unwrap_err()
        .is_cancelled()
}

#[test]
fn runtime_start_and_shutdown_are_reported_with_the_worker_count() {
    let capture = Capture::new();
    tracing::subscriber::with_default(capture.clone(), || {
        drop(current_thread());
    });
    let messages: Vec<_> = capture.events().into_iter().map(|e| e.message).collect();
    assert_eq!(messages, ["runtime started", "runtime shutting down"]);
    let started = &capture.events_with("runtime started")[0];
    assert_eq!(started.level, Level::DEBUG);
    assert_eq!(started.field("workers"), Some("1"));
    assert_eq!(started.field("flavor"), Some("current_thread"));
    let stopping = &capture.events_with("runtime shutting down")[0];
    assert_eq!(stopping.field("workers"), Some("1"));
}

#[test]
fn blocking_tasks_are_reported_on_the_pools_threads() {
    let capture = Capture::new();
    let on_threads = capture.clone();
    let id = tracing::subscriber::with_default(capture.clone(), || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_thread_start(move || on_threads.install_on_thread())
            .build()
            .unwrap();
        let id = rt.block_on(async {
            let handle = task::Builder::new()
                .name("io")
                .spawn_blocking(|| tracing::info!("blocking work"));
            let id = handle.id();
            handle.await.unwrap();
            id
        });
        // Joins the pool's threads: their events are all in.
        drop(rt);
        id
    });
    let id = id.as_u64().to_string();
    let lifecycle: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.field("id") == Some(&*id))
        .map(|e| (e.level, e.message))
        .collect();
    assert_eq!(
        lifecycle,
        [
            (Level::TRACE, "blocking task started".to_owned()),
            (Level::TRACE, "blocking task finished".to_owned()),
        ]
    );
    let work = &capture.events_with("blocking work")[0];
    let span = work.span("task").expect("the closure runs in its span");
    assert_eq!(span.fields["name"], "io");
}

#[test]
fn worker_threads_report_to_their_own_subscriber() {
    let capture = Capture::new();
    let on_threads = capture.clone();
    let rt = Runtime::builder()
        .worker_threads(2)
        .on_thread_start(move || on_threads.install_on_thread())
        .build()
        .unwrap();
    let handle = rt.spawn(async { panic!("on a worker") });
    let id = handle.id();
    assert!(rt.block_on(handle).unwrap_err().is_panic());
    drop(rt);
    let panics = capture.events_with("task panicked");
    assert_eq!(panics.len(), 1, "{panics:#?}");
    assert_eq!(panics[0].field("id"), Some(&*id.as_u64().to_string()));
    assert_eq!(panics[0].field("panic"), Some("on a worker"));
}
