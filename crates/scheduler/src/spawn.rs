//! The spawn functions behind every public spawn: a task is made, entered
//! in its registry, and queued (on the spawning worker, the global queue,
//! the blocking pool or the thread's local queue).

use core::future::Future;
use std::sync::Arc;

use crate::context::{CONTEXT, with_worker_of};
use crate::shared::Shared;
use crate::task::Id;
use crate::task::harness::{
    Output, Owner, Runnable, TaskFuture, TaskMeta, schedule_blocking, schedule_local,
    schedule_runtime,
};
use crate::task::join_handle::JoinHandle;
use crate::task::registry::Registry;
#[cfg(feature = "tracing")]
use crate::trace::TaskSpan;

/// `$task`, a new [`TaskFuture`], given the span `$span` with the
/// `tracing` feature (without it, `$span` is not there).
macro_rules! with_span {
    ($task:expr, $span:ident) => {{
        let task = $task;
        #[cfg(feature = "tracing")]
        let task = task.with_span($span);
        task
    }};
}

/// A task, id `id`, made by `build` (from its header) and entered in
/// `registry`, its owner's: its runnable, to queue, and its join handle.
fn new_task<T>(
    registry: &Registry,
    id: Id,
    owner: Owner,
    name: Option<Arc<str>>,
    build: impl FnOnce(TaskMeta) -> (Runnable, async_task::Task<Output<T>, TaskMeta>),
) -> (Runnable, JoinHandle<T>) {
    debug_assert!(core::ptr::eq(registry, owner.registry()));
    let (runnable, task) = registry.insert(id, |index| {
        let (runnable, task) = build(TaskMeta::new(id, owner, name, index));
        let waker = runnable.waker();
        ((runnable, task), waker)
    });
    (runnable, JoinHandle::new(task))
}

/// Spawns `future` on `shared`.
pub(crate) fn spawn_on<F>(
    shared: &Arc<Shared>,
    future: F,
    name: Option<Arc<str>>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let owner = Owner::Runtime(Arc::clone(shared));
    let id = Id::next();
    #[cfg(feature = "tracing")]
    let span = TaskSpan::new(id, name.as_deref());
    let (runnable, handle) = new_task(&shared.registry, id, owner, name, |meta| {
        async_task::Builder::new().metadata(meta).spawn(
            move |meta| with_span!(TaskFuture::new(future, meta), span),
            async_task::WithInfo(schedule_runtime),
        )
    });
    if shared.gate.is_shutting_down() {
        // The runtime is shutting down (this spawn comes from a future
        // being dropped, or races with the drop): the task is cancelled at
        // once, so shutdown is not fed new work forever.
        drop(runnable);
        return handle;
    }
    let mut runnable = Some(runnable);
    with_worker_of(Arc::as_ptr(shared), |worker| {
        if let Some(r) = runnable.take() {
            worker.push_spawned(r);
        }
    });
    if let Some(runnable) = runnable {
        shared.push_global(runnable);
    }
    handle
}

/// Spawns `f` on `shared`'s blocking pool.
pub(crate) fn spawn_blocking_on<F, R>(
    shared: &Arc<Shared>,
    f: F,
    name: Option<Arc<str>>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let owner = Owner::Runtime(Arc::clone(shared));
    let id = Id::next();
    #[cfg(feature = "tracing")]
    let span = TaskSpan::new(id, name.as_deref());
    let (runnable, handle) = new_task(&shared.registry, id, owner, name, |meta| {
        async_task::Builder::new().metadata(meta).spawn(
            move |meta| with_span!(TaskFuture::new(async move { f() }, meta), span),
            schedule_blocking,
        )
    });
    runnable.schedule();
    handle
}

/// Spawns a `!Send` future on the current thread's local queue.
pub(crate) fn spawn_local_inner<F>(future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = CONTEXT.with(|ctx| ctx.borrow().as_ref().and_then(|c| c.local.clone()));
    let Some(local) = local else {
        panic!(
            "spawn_local called outside a runtime thread: call it from a task on a nimsync \
             runtime or inside Runtime::block_on (not from a plain thread or a spawn_blocking closure)"
        );
    };
    let id = Id::next();
    #[cfg(feature = "tracing")]
    let span = TaskSpan::new(id, name.as_deref());
    let (runnable, handle) = new_task(
        &local.registry,
        id,
        Owner::Local(Arc::clone(&local)),
        name,
        |meta| {
            async_task::Builder::new().metadata(meta).spawn_local(
                move |meta| with_span!(TaskFuture::new(future, meta), span),
                schedule_local,
            )
        },
    );
    runnable.schedule();
    handle
}
