//! What every handle of a group shares, and the spawn of a child.
//!
//! A group's state is split in two, with one lock each, never held
//! together: `state` (the children in spawn order, whether the group is
//! closed, how many are unjoined) orders the spawns and the joins;
//! `finished` (see `finished.rs`) takes the children's ends. A spawn takes
//! `state`, its child's ticket in the concurrency limit (`limit.rs`), and
//! registers the child; the child's end is reported by a guard (`Report`)
//! on every way out of the child: returned, panicked, or dropped
//! unfinished, even before its first poll. Failures are counted once, when
//! they are joined; the first to fail in time is recorded as it happens,
//! and under fail-fast it cancels the token at once.

use core::future::Future;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use nimsync_scheduler::task::{self, Id};
use nimsync_scheduler::{Handle, JoinHandle};

use super::{GroupMetrics, Policy};
use crate::abort::{AbortSlot, abortable};
use crate::deadline::Deadline;
use crate::error::{SpawnError, SpawnRefused, TaskLabel};
use crate::finished::Finished;
use crate::limit::{Acquire, Limiter};
use crate::sync::{self, AtomicU64, Mutex, MutexGuard, Ordering};
use crate::token::CancelToken;
#[cfg(feature = "tracing")]
use crate::trace;

nimsync_scheduler::task_local! {
    /// The token of the group whose child is running: a group built in
    /// the child takes it as its parent.
    static ENCLOSING: CancelToken;
}

/// The token of the group the current task is a child of, if any.
pub(super) fn enclosing_token() -> Option<CancelToken> {
    ENCLOSING.try_with(CancelToken::clone).ok()
}

/// Whether a child's group may abort it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shielding {
    /// Aborted on a fail-fast failure, at the group's deadline and when the
    /// group is dropped; refused once the group's token is cancelled; runs
    /// under the group's token and deadline.
    Unshielded,
    /// Never aborted by its group and spawned even after its token was
    /// cancelled; runs under neither the group's token nor its deadline.
    Shielded,
}

/// How a child's task ended, as its join handle gives it.
pub(super) enum Ended<T, E> {
    /// Its future returned.
    Returned(Result<T, E>),
    /// Its [`AbortHandle`](crate::AbortHandle) stopped it.
    Aborted,
}

/// The options of one spawn.
pub(super) struct SpawnOpts<'a> {
    pub(super) name: Option<Arc<str>>,
    pub(super) shielding: Shielding,
    /// Give the child an abort slot (for an `AbortHandle`).
    pub(super) abortable: bool,
    /// The runtime to spawn on, instead of the group's.
    pub(super) on: Option<&'a Handle>,
}

impl SpawnOpts<'_> {
    /// An unshielded child, on the group's runtime, without a handle.
    pub(super) fn plain(name: Option<Arc<str>>) -> Self {
        Self {
            name,
            shielding: Shielding::Unshielded,
            abortable: false,
            on: None,
        }
    }
}

/// A child the group accepted.
pub(super) struct Spawned {
    pub(super) id: Id,
    /// Its abort slot, when it was spawned with one.
    pub(super) abort: Option<sync::Arc<AbortSlot>>,
}

/// One child, in spawn order.
pub(super) struct Child<T, E> {
    pub(super) name: Option<Arc<str>>,
    pub(super) id: Option<Id>,
    /// Until joined or detached.
    pub(super) handle: Option<JoinHandle<Ended<T, E>>>,
    pub(super) shielding: Shielding,
    /// Detached by [`TaskGroup::detach_all`](super::TaskGroup::detach_all):
    /// no longer joined; its end is skipped by the joins.
    pub(super) detached: bool,
}

/// The group's state under its lock.
pub(super) struct State<T, E> {
    /// No new children.
    pub(super) closed: bool,
    pub(super) children: Vec<Child<T, E>>,
    /// Children spawned and not yet joined or detached.
    pub(super) unjoined: usize,
}

/// Who failed first, and which children no longer count.
#[derive(Debug, Default)]
pub(super) struct Failures {
    /// The spawn index of the first child to fail (in time), once one has.
    pub(super) first: Option<usize>,
    /// Children with a lower spawn index were detached: their failures
    /// neither lead the group's error nor fail it fast.
    pub(super) detached_below: usize,
}

/// What every handle of a group shares.
pub(super) struct Shared<T, E> {
    pub(super) name: Option<Arc<str>>,
    pub(super) policy: Policy,
    pub(super) token: CancelToken,
    pub(super) handle: Handle,
    pub(super) limiter: Option<sync::Arc<Limiter>>,
    /// The deadline in force for the children.
    pub(super) deadline: Option<Deadline>,
    pub(super) state: Mutex<State<T, E>>,
    /// Finished children not yet joined, in finishing order, and the
    /// joiner waiting for them. A lock of its own, so that finishing
    /// children do not contend with spawns; never held while `state` is
    /// taken.
    pub(super) finished: Finished,
    /// The first failure, and the detached children. Never held while
    /// `state` is taken.
    pub(super) failures: Mutex<Failures>,
    pub(super) spawned: AtomicU64,
    pub(super) completed: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) cancelled: AtomicU64,
    pub(super) detached: AtomicU64,
}

/// Reports a child's end to its group when dropped: after it returned,
/// panicked, or was dropped unfinished (even before its first poll).
struct Report<T, E> {
    shared: sync::Arc<Shared<T, E>>,
    index: usize,
    shielding: Shielding,
    abort: Option<sync::Arc<AbortSlot>>,
}

impl<T, E> Shared<T, E> {
    /// Records that child `index` failed; the first to do so led the
    /// group's failure. Returns false for a detached child, whose failure
    /// is no longer the group's.
    fn record_failure(&self, index: usize) -> bool {
        let mut failures = self.failures.lock();
        if index < failures.detached_below {
            return false;
        }
        failures.first.get_or_insert(index);
        true
    }

    /// After a failure the group counts: under fail-fast, cancels the
    /// token (unless the child is shielded).
    fn fail_fast(&self, shielding: Shielding) {
        if self.policy == Policy::FailFast && shielding == Shielding::Unshielded {
            #[cfg(feature = "tracing")]
            if !self.token.is_cancelled() {
                trace::group_cancelled(self.name.as_deref(), trace::Cancel::FailFast);
            }
            self.token.cancel();
        }
    }
}

impl<T, E> Drop for Report<T, E> {
    fn drop(&mut self) {
        if let Some(slot) = &self.abort {
            slot.finish();
        }
        if std::thread::panicking() && self.shared.record_failure(self.index) {
            #[cfg(feature = "tracing")]
            trace::child_failed(self.shared.name.as_deref(), trace::Failure::Panic);
            self.shared.fail_fast(self.shielding);
        }
        self.shared.finished.push(self.index);
    }
}

/// What a child's task runs, taken at its first poll: its report, and its
/// place in the limit's queue. Dropped unpolled, both are dropped too.
type Parts<T, E> = (Report<T, E>, Option<Acquire>);

/// The body of a child: waits for its turn under the limit, runs `fut`
/// (until its abort slot, if any, is aborted), and records a failure.
/// `parts` gives the report and the limit's ticket at the first poll.
async fn child_body<T, E, F, P>(
    parts: P,
    abort: Option<sync::Arc<AbortSlot>>,
    fut: F,
) -> Ended<T, E>
where
    E: 'static,
    F: Future<Output = Result<T, E>>,
    P: FnOnce() -> Parts<T, E>,
{
    // Declared first, dropped last: after the child's future.
    let (report, acquire) = parts();
    let run = async move {
        let _permit = match acquire {
            Some(acquire) => Some(acquire.await),
            None => None,
        };
        fut.await
    };
    let out = match &abort {
        Some(slot) => match abortable(slot, run).await {
            Some(out) => out,
            None => return Ended::Aborted,
        },
        None => run.await,
    };
    if let Err(_error) = &out {
        let shared = &report.shared;
        if shared.record_failure(report.index) {
            #[cfg(feature = "tracing")]
            trace::child_failed(
                shared.name.as_deref(),
                trace::Failure::Error(_error, std::any::type_name::<E>()),
            );
            shared.fail_fast(report.shielding);
        }
    }
    Ended::Returned(out)
}

/// Spawns `$child` with `$spawn` (a `task::Builder` method taking the
/// future), wrapped as its shielding says: unshielded children run with
/// the group's token as the enclosing token (groups they build become its
/// children) and under its deadline.
macro_rules! launch {
    ($this:expr, $shielding:expr, $child:expr, |$c:ident| $spawn:expr) => {
        match $shielding {
            Shielding::Shielded => {
                let $c = $child;
                $spawn
            }
            Shielding::Unshielded => {
                let child = ENCLOSING.scope($this.token.clone(), $child);
                match $this.deadline.clone() {
                    Some(deadline) => {
                        let $c = deadline.scope(child);
                        $spawn
                    }
                    None => {
                        let $c = child;
                        $spawn
                    }
                }
            }
        }
    };
}

impl<T: Send + 'static, E: Send + 'static> Shared<T, E> {
    /// Takes the lock and checks that the group accepts a child.
    fn admit(&self, shielding: Shielding) -> Result<MutexGuard<'_, State<T, E>>, SpawnError> {
        if self.token.is_cancelled() && shielding == Shielding::Unshielded {
            return Err(SpawnError {
                reason: SpawnRefused::Cancelled,
            });
        }
        let st = self.state.lock();
        if st.closed {
            return Err(SpawnError {
                reason: SpawnRefused::Closed,
            });
        }
        Ok(st)
    }

    /// The report and the limit's ticket of the child about to be child
    /// `index`. The ticket is taken here, under the lock that orders the
    /// spawns, not at the child's first poll: the workers may poll children
    /// in any order.
    fn parts(
        this: &sync::Arc<Self>,
        index: usize,
        shielding: Shielding,
        abort: Option<&sync::Arc<AbortSlot>>,
    ) -> Parts<T, E> {
        let report = Report {
            shared: sync::Arc::clone(this),
            index,
            shielding,
            abort: abort.map(sync::Arc::clone),
        };
        (report, this.limiter.as_ref().map(Limiter::enqueue))
    }

    /// Records a spawned child.
    fn register(
        &self,
        mut st: MutexGuard<'_, State<T, E>>,
        name: Option<Arc<str>>,
        shielding: Shielding,
        handle: JoinHandle<Ended<T, E>>,
    ) -> Id {
        let id = handle.id();
        st.children.push(Child {
            name,
            id: Some(id),
            handle: Some(handle),
            shielding,
            detached: false,
        });
        st.unjoined += 1;
        drop(st);
        self.spawned.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Spawns `fut` as the group's next child; fails when the group is
    /// closed, or when its token is cancelled and the child is not
    /// shielded.
    /// (An associated function: loom's `Arc` cannot be a receiver.)
    pub(super) fn spawn<F>(
        this: &sync::Arc<Self>,
        opts: SpawnOpts<'_>,
        fut: F,
    ) -> Result<Spawned, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let st = this.admit(opts.shielding)?;
        let abort = opts.abortable.then(AbortSlot::new);
        let parts = Self::parts(this, st.children.len(), opts.shielding, abort.as_ref());
        let child = child_body(move || parts, abort.clone(), fut);
        let mut builder = task::Builder::new();
        if let Some(n) = &opts.name {
            builder = builder.name(Arc::clone(n));
        }
        let on = opts.on.unwrap_or(&this.handle);
        let handle = launch!(this, opts.shielding, child, |c| builder.spawn_on(c, on));
        let id = this.register(st, opts.name, opts.shielding, handle);
        Ok(Spawned { id, abort })
    }

    /// Spawns the `!Send` future `fut` as the group's next unshielded child,
    /// on the current thread's local queue; fails as [`spawn`](Self::spawn).
    ///
    /// The task is spawned before its report and its ticket in the limit
    /// exist, and they are handed to it only once the scheduler accepted
    /// it: `spawn_local` panics on a thread with no local queue, and that
    /// panic must leave no trace in the group (no report of a child that
    /// never was, no ticket that would hold up the queue).
    pub(super) fn spawn_local<F>(
        this: &sync::Arc<Self>,
        opts: SpawnOpts<'_>,
        fut: F,
    ) -> Result<Spawned, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let st = this.admit(opts.shielding)?;
        let abort = opts.abortable.then(AbortSlot::new);
        let slot: Rc<Cell<Option<Parts<T, E>>>> = Rc::new(Cell::new(None));
        let from = Rc::clone(&slot);
        let parts = move || {
            from.take()
                .expect("a local child's parts are set before it runs")
        };
        let child = child_body(parts, abort.clone(), fut);
        let mut builder = task::Builder::new();
        if let Some(n) = &opts.name {
            builder = builder.name(Arc::clone(n));
        }
        let handle = launch!(this, opts.shielding, child, |c| builder.spawn_local(c));
        slot.set(Some(Self::parts(
            this,
            st.children.len(),
            opts.shielding,
            abort.as_ref(),
        )));
        // The task holds the only other reference: dropped unpolled, it
        // drops the parts and reports.
        drop(slot);
        let id = this.register(st, opts.name, opts.shielding, handle);
        Ok(Spawned { id, abort })
    }

    /// The label of child `index`, for its failure.
    pub(super) fn label(&self, st: &State<T, E>, index: usize) -> TaskLabel {
        let child = &st.children[index];
        TaskLabel {
            name: child.name.clone(),
            id: child.id.expect("a spawned child has an id"),
            index,
        }
    }

    /// Aborts every child not yet joined, except shielded ones, and
    /// cancels the token. The token is cancelled last: a waker that panics
    /// there is raised again only after everything else was done.
    pub(super) fn abort_all(&self) {
        self.abort_children();
        self.token.cancel();
    }

    /// Aborts every child not yet joined, except shielded ones. The
    /// handles are taken out for the aborts, so that no lock of the group
    /// is held if an abort drops a child's future on this thread (the
    /// runtime drops it there once it has shut down).
    pub(super) fn abort_children(&self) {
        let taken = self.take_handles();
        for (_, handle) in &taken {
            handle.abort();
        }
        {
            let mut st = self.state.lock();
            for (index, handle) in taken {
                st.children[index].handle = Some(handle);
            }
        }
    }

    /// The counters as a snapshot.
    pub(super) fn metrics(&self) -> GroupMetrics {
        GroupMetrics {
            spawned: self.spawned.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            detached: self.detached.load(Ordering::Relaxed),
        }
    }

    /// The handles of the children not yet joined, with their indices.
    fn take_handles(&self) -> Vec<(usize, JoinHandle<Ended<T, E>>)> {
        let mut st = self.state.lock();
        st.children
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| c.shielding == Shielding::Unshielded)
            .filter_map(|(i, c)| c.handle.take().map(|h| (i, h)))
            .collect()
    }
}
