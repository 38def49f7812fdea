//! `spawn_local` (`!Send` tasks pinned to one thread) and task-local
//! values (`task_local!`).

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use nimsync_scheduler::task::AccessError;
use nimsync_scheduler::{Builder, Runtime, spawn, spawn_local, task_local, yield_now};

/// A multi-thread runtime with `n` workers.
fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// `spawn_local` in `block_on` runs `Rc`-sharing futures on the `block_on` thread, both flavors.
#[test]
fn spawn_local_with_rc_in_block_on() {
    for rt in [rt(2), Builder::new_current_thread().build().unwrap()] {
        let here = std::thread::current().id();
        let total = rt.block_on(async {
            let shared = Rc::new(RefCell::new(Vec::new()));
            let handles: Vec<_> = (0..20)
                .map(|i| {
                    let shared = Rc::clone(&shared);
                    spawn_local(async move {
                        yield_now().await;
                        shared.borrow_mut().push(i);
                        std::thread::current().id()
                    })
                })
                .collect();
            for h in handles {
                assert_eq!(h.await.unwrap(), here);
            }
            let v = shared.borrow();
            v.iter().sum::<i32>()
        });
        assert_eq!(total, (0..20).sum::<i32>());
    }
}

/// `spawn_local` from a worker task runs every poll on that worker's thread, never stolen.
#[test]
fn spawn_local_from_worker_stays_on_its_thread() {
    const YIELDS: usize = common::scale(5, 20);
    let rt = rt(4);
    let ok = rt
        .block_on(rt.spawn(async {
            let spawner = std::thread::current().id();
            let handles: Vec<_> = (0..common::scale(8, 50))
                .map(|_| {
                    let counter = Rc::new(Cell::new(0));
                    spawn_local(async move {
                        let mut seen = HashSet::new();
                        for _ in 0..YIELDS {
                            seen.insert(std::thread::current().id());
                            counter.set(counter.get() + 1);
                            yield_now().await;
                        }
                        (seen, counter.get())
                    })
                })
                .collect();
            // Also make the other workers busy stealing regular tasks.
            let others: Vec<_> = (0..common::scale(30, 200))
                .map(|_| spawn(yield_now()))
                .collect();
            for o in others {
                o.await.unwrap();
            }
            let mut all_here = true;
            for h in handles {
                let (seen, count) = h.await.unwrap();
                all_here &= seen.len() == 1 && seen.contains(&spawner) && count == YIELDS;
            }
            all_here
        }))
        .unwrap();
    assert!(ok, "a spawn_local task ran on another thread");
}

/// `spawn_local` on a plain thread panics with a message saying it is outside a runtime.
#[test]
#[should_panic(expected = "outside a runtime")]
fn spawn_local_outside_runtime_panics() {
    drop(spawn_local(async {}));
}

/// `spawn_local` in a `spawn_blocking` closure panics "outside a runtime"; the handle gets it.
#[test]
fn spawn_local_in_blocking_closure_panics() {
    let rt = rt(1);
    let err = rt
        .block_on(rt.spawn_blocking(|| {
            drop(spawn_local(async {}));
        }))
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("outside a runtime"), "{err}");
}

task_local! {
    /// A request id.
    static REQUEST: u64;
    /// A trace string.
    static TRACE: String;
}

/// `scope`/`get`/`with`/`try_with` see the value inside a scope; `try_with` errs outside one.
#[test]
fn task_local_scope_get_with_try_with() {
    let rt = rt(2);
    let out = rt.block_on(REQUEST.scope(7, async {
        let a = REQUEST.get();
        let b = REQUEST.with(|r| *r + 1);
        let c = REQUEST.try_with(|r| *r + 2).unwrap();
        let t = TRACE.try_with(|t| t.clone());
        (a, b, c, t)
    }));
    assert_eq!((out.0, out.1, out.2), (7, 8, 9));
    let err: AccessError = out.3.unwrap_err();
    assert_eq!(err.to_string(), "task-local value not set");
    assert!(REQUEST.try_with(|r| *r).is_err());
}

/// `LocalKey::with` outside a scope panics with the access error's message.
#[test]
#[should_panic(expected = "task-local value not set")]
fn task_local_with_outside_scope_panics() {
    REQUEST.with(|_| ());
}

/// `sync_scope` nests and restores the outer value afterwards, also when the closure panics.
#[test]
fn task_local_sync_scope_nesting_and_panic() {
    let v = REQUEST.sync_scope(1, || {
        let inner = REQUEST.sync_scope(2, || REQUEST.get());
        (inner, REQUEST.get())
    });
    assert_eq!(v, (2, 1));
    assert!(REQUEST.try_with(|_| ()).is_err());
    let caught = std::panic::catch_unwind(|| REQUEST.sync_scope(3, || panic!("inside")));
    assert!(caught.is_err());
    assert!(REQUEST.try_with(|_| ()).is_err(), "the value leaked out");
}

/// Nested scopes (same key and other keys) shadow the outer value only inside, across yields.
#[test]
fn task_local_nesting_across_yields() {
    let rt = rt(2);
    let seen = rt
        .block_on(rt.spawn(REQUEST.scope(1, async {
            let mut seen = vec![REQUEST.get()];
            let inner = REQUEST.scope(2, async {
                yield_now().await;
                let t = TRACE.scope("t".into(), async {
                    yield_now().await;
                    (REQUEST.get(), TRACE.get())
                });
                let (r, t) = t.await;
                assert_eq!(t, "t");
                assert!(TRACE.try_with(|_| ()).is_err());
                r
            });
            seen.push(inner.await);
            yield_now().await;
            seen.push(REQUEST.get());
            seen
        })))
        .unwrap();
    assert_eq!(seen, [1, 2, 1]);
}

/// Task-local values survive 2000 yields per task (20 under Miri) on a 2-worker runtime; no task sees another's.
#[test]
fn task_local_moves_across_workers() {
    let rt = rt(2);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            let threads = Arc::clone(&threads);
            rt.spawn(REQUEST.scope(i, async move {
                for _ in 0..common::scale(20, 2_000) {
                    assert_eq!(REQUEST.get(), i, "another task's value leaked in");
                    threads.lock().unwrap().insert(std::thread::current().id());
                    yield_now().await;
                }
                REQUEST.get()
            }))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(rt.block_on(h).unwrap(), i as u64);
    }
    assert!(
        threads.lock().unwrap().len() >= 2,
        "the tasks never moved between workers"
    );
}

/// The inner future's drop reads the task-local value, on abort and on runtime shutdown.
#[test]
fn task_local_readable_in_inner_drop() {
    /// Records the task-local value seen by its drop.
    struct ReadOnDrop(Arc<Mutex<Option<u64>>>);
    impl Drop for ReadOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = REQUEST.try_with(|r| *r).ok();
        }
    }
    let rt = rt(2);
    let seen = Arc::new(Mutex::new(None));
    let r = ReadOnDrop(Arc::clone(&seen));
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    let handle = rt.spawn(REQUEST.scope(99, async move {
        let _r = r;
        s.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }));
    let handle = common::within("task start", move || {
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        handle
    });
    handle.abort();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    assert_eq!(*seen.lock().unwrap(), Some(99));

    // At runtime shutdown too.
    let seen2 = Arc::new(Mutex::new(None));
    let r = ReadOnDrop(Arc::clone(&seen2));
    let h = rt.spawn(REQUEST.scope(5, async move {
        let _r = r;
        std::future::pending::<()>().await;
    }));
    drop(rt);
    assert!(
        futures_lite::future::block_on(h)
            .unwrap_err()
            .is_cancelled()
    );
    assert_eq!(*seen2.lock().unwrap(), Some(5));
}

nimsync_scheduler::task_local! {
    static NESTED: u32;
}

/// Entering a scope of a key inside that key's own `with` closure panics
/// with a message that says what to do instead.
#[test]
#[should_panic(expected = "read the value into a local first")]
fn scope_inside_with_of_the_same_key_panics_clearly() {
    NESTED.sync_scope(1, || NESTED.with(|_| NESTED.sync_scope(2, || ())));
}
