//! `Runtime::block_on`: the calling thread polls the future, runs its
//! `spawn_local` tasks and parks; on a current-thread runtime it drives the
//! runtime's one core meanwhile, and a second `block_on` waits for the core
//! and takes it over when the first returns.

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Wake;

use crate::context::{CONTEXT, ContextGuard, ThreadContext, set_current_worker};
use crate::local_queue::LocalQueue;
use crate::runtime::Runtime;
use crate::shared::{Core, Shared, attach_timer, detach_timer};
use crate::sync::{AtomicBool, Mutex, Ordering, Parker, StaticAtomicUsize, Unparker};
use crate::task;
use crate::worker::{GLOBAL_INTERVAL, WorkerCtx};

impl Runtime {
    /// `block_on` without a core: poll the future, run local tasks, park.
    /// With the current-thread flavor, take the core when the `block_on`
    /// that holds it returns.
    pub(crate) fn block_on_thread<F: Future>(&self, future: F) -> F::Output {
        let parker = Parker::new();
        let local = LocalQueue::new(parker.unparker().clone());
        // Declared before the context guard: dropped after it, also when
        // the future panics.
        let _local_tasks = LocalShutdown(Arc::clone(&local));
        let guard = ContextGuard::enter(ThreadContext {
            handle: self.handle(),
            worker: None,
            local: Some(Arc::clone(&local)),
        });
        let woken = Arc::new(ThreadWaker::new(parker.unparker().clone()));
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let waiter = self
            .threads
            .is_empty()
            .then(|| add_waiter(&self.shared, parker.unparker()));
        let output = loop {
            if woken.take() {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    break output;
                }
            }
            let mut ran = 0;
            while ran < GLOBAL_INTERVAL && !woken.is_set() {
                let Some(task) = local.pop() else { break };
                task::run(task);
                ran += 1;
            }
            if waiter.is_some() {
                let core = self.shared.core.lock().take();
                if let Some(core) = core {
                    // The other block_on returned: drive the runtime here.
                    break self.drive_core(core, &local, &woken, &mut cx, future.as_mut());
                }
            }
            if ran == 0 && !woken.is_set() && local.is_empty() {
                parker.park();
            }
        };
        if let Some(id) = waiter {
            remove_waiter(&self.shared, id);
        }
        drop(guard);
        output
    }

    /// `block_on` holding the current-thread core: the calling thread is
    /// the runtime's only worker.
    pub(crate) fn block_on_core<F: Future>(&self, core: Core, future: F) -> F::Output {
        let local = LocalQueue::new(core.parker.unparker().clone());
        let _local_tasks = LocalShutdown(Arc::clone(&local));
        let woken = Arc::new(ThreadWaker::new(core.parker.unparker().clone()));
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let guard = ContextGuard::enter(ThreadContext {
            handle: self.handle(),
            worker: None,
            local: Some(Arc::clone(&local)),
        });
        let output = self.drive_core(core, &local, &woken, &mut cx, future.as_mut());
        drop(guard);
        output
    }

    /// The current-thread loop: poll the main future when woken, run tasks,
    /// park. Puts the core back when the future completes.
    fn drive_core<T>(
        &self,
        core: Core,
        local: &Arc<LocalQueue>,
        woken: &Arc<ThreadWaker>,
        cx: &mut Context<'_>,
        mut future: Pin<&mut dyn Future<Output = T>>,
    ) -> T {
        let ctx = Rc::new(WorkerCtx::new(
            Arc::clone(&self.shared),
            core,
            Arc::clone(local),
        ));
        // The core's parker wakes this thread from now on.
        woken.set_unparker(ctx.core.parker.unparker().clone());
        local.set_unparker(ctx.core.parker.unparker().clone());
        // Gives the core back when this returns or unwinds (a panic in the
        // future or a hook must not leave the runtime without its core),
        // and detaches the timer hook.
        let held = HeldCore {
            slot: Some(WorkerSlot::set(Rc::clone(&ctx))),
            ctx: Some(ctx),
            shared: &self.shared,
        };
        // While this thread runs the core, its parks help turn the timers.
        attach_timer(&self.shared);
        let ctx = held.ctx.as_deref().expect("set above");
        let output = loop {
            if woken.take() {
                if let Poll::Ready(output) = future.as_mut().poll(cx) {
                    break output;
                }
            }
            // At least one queued task runs between two polls of the
            // future, even when the future woke itself (a `yield_now`
            // loop), so the tasks it waits for make progress.
            let mut ran = 0;
            while ran < GLOBAL_INTERVAL && (ran == 0 || !woken.is_set()) && ctx.step() {
                ran += 1;
            }
            if ran == 0 && !woken.is_set() {
                ctx.park(&|| woken.is_set());
            }
        };
        drop(held);
        output
    }
}

/// Registers a `block_on` waiting for the current-thread core; returns its
/// id for [`remove_waiter`].
fn add_waiter(shared: &Shared, unparker: &Unparker) -> usize {
    static NEXT: StaticAtomicUsize = StaticAtomicUsize::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    shared.block_on_waiters.lock().push((id, unparker.clone()));
    id
}

/// Removes a waiter registered by [`add_waiter`].
fn remove_waiter(shared: &Shared, id: usize) {
    shared.block_on_waiters.lock().retain(|(w, _)| *w != id);
}

/// The current-thread core while a `block_on` drives it: puts it back in
/// the runtime, and wakes the `block_on` calls waiting for it, when
/// dropped, also on unwinding.
struct HeldCore<'a> {
    /// Makes the core this thread's worker; dropped first.
    slot: Option<WorkerSlot>,
    /// The worker context owning the core.
    ctx: Option<Rc<WorkerCtx>>,
    /// The runtime to give the core back to.
    shared: &'a Shared,
}

impl Drop for HeldCore<'_> {
    fn drop(&mut self) {
        detach_timer(self.shared);
        drop(self.slot.take());
        let Some(ctx) = self.ctx.take() else { return };
        // The slot held the only other reference. Should that ever not
        // hold, the core is lost rather than a panic raised in a drop.
        let Ok(ctx) = Rc::try_unwrap(ctx) else { return };
        *self.shared.core.lock() = Some(ctx.into_core());
        // Another block_on may be waiting for the core.
        for (_, waiter) in self.shared.block_on_waiters.lock().iter() {
            waiter.unpark();
        }
    }
}

/// Drops a `block_on`'s unfinished `spawn_local` tasks when the `block_on`
/// ends, also on unwinding (the tasks' headers hold the queue,
/// so skipped, they would leak with their futures).
struct LocalShutdown(Arc<LocalQueue>);

impl Drop for LocalShutdown {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// Sets the current thread's worker while the current-thread core runs.
struct WorkerSlot(());

impl WorkerSlot {
    /// Installs `ctx` as this thread's worker.
    fn set(ctx: Rc<WorkerCtx>) -> Self {
        CONTEXT.with(|c| {
            if let Some(context) = c.borrow_mut().as_mut() {
                set_current_worker(Some(&ctx));
                context.worker = Some(ctx);
            }
        });
        WorkerSlot(())
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        set_current_worker(None);
        let ctx = CONTEXT.with(|c| {
            c.borrow_mut()
                .as_mut()
                .and_then(|context| context.worker.take())
        });
        drop(ctx);
    }
}

/// The waker of a `block_on` future: a flag and an unpark.
struct ThreadWaker {
    /// Set by wake; taken by the loop before polling.
    woken: AtomicBool,
    /// Wakes the blocked thread.
    unparker: Mutex<Unparker>,
}

impl ThreadWaker {
    /// Woken once, so the future is polled first.
    fn new(unparker: Unparker) -> Self {
        Self {
            woken: AtomicBool::new(true),
            unparker: Mutex::new(unparker),
        }
    }

    /// Takes the flag.
    fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Reads the flag.
    fn is_set(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// Switches the thread's parker.
    fn set_unparker(&self, unparker: Unparker) {
        *self.unparker.lock() = unparker;
        self.woken.store(true, Ordering::Release);
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.unparker.lock().unpark();
        }
    }
}
