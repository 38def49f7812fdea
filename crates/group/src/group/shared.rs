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
use std::sync::Arc;

use nimsync_scheduler::task::{self, Id};
use nimsync_scheduler::{Handle, JoinHandle};

use super::{GroupMetrics, Policy};
use crate::deadline::Deadline;
use crate::error::{SpawnError, SpawnRefused, TaskLabel};
use crate::finished::Finished;
use crate::limit::Limiter;
use crate::sync::{self, AtomicU64, Mutex, Ordering};
use crate::token::CancelToken;

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

/// One child, in spawn order.
pub(super) struct Child<T, E> {
    pub(super) name: Option<Arc<str>>,
    pub(super) id: Option<Id>,
    /// Until joined.
    pub(super) handle: Option<JoinHandle<Result<T, E>>>,
    pub(super) shielding: Shielding,
}

/// The group's state under its lock.
pub(super) struct State<T, E> {
    /// No new children.
    pub(super) closed: bool,
    pub(super) children: Vec<Child<T, E>>,
    /// Children spawned and not yet joined.
    pub(super) unjoined: usize,
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
    /// The spawn index of the first child to fail (in time), once one has.
    pub(super) first_failure: Mutex<Option<usize>>,
    pub(super) spawned: AtomicU64,
    pub(super) completed: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) cancelled: AtomicU64,
}

/// Reports a child's end to its group when dropped: after it returned,
/// panicked, or was dropped unfinished (even before its first poll).
struct Report<T, E> {
    shared: sync::Arc<Shared<T, E>>,
    index: usize,
    shielding: Shielding,
}

impl<T, E> Shared<T, E> {
    /// Records that child `index` failed; the first to do so led the
    /// group's failure. Under fail-fast, cancels the token.
    fn child_failed(&self, index: usize, shielding: Shielding) {
        self.first_failure.lock().get_or_insert(index);
        if self.policy == Policy::FailFast && shielding == Shielding::Unshielded {
            self.token.cancel();
        }
    }
}

impl<T, E> Drop for Report<T, E> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shared.child_failed(self.index, self.shielding);
        }
        self.shared.finished.push(self.index);
    }
}

impl<T: Send + 'static, E: Send + 'static> Shared<T, E> {
    /// Spawns `fut` as the group's next child, named `name`; fails when
    /// the group is closed, or when its token is cancelled and the child
    /// is not shielded.
    /// (An associated function: loom's `Arc` cannot be a receiver.)
    pub(super) fn spawn<F>(
        this: &sync::Arc<Self>,
        name: Option<Arc<str>>,
        shielding: Shielding,
        fut: F,
    ) -> Result<Id, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if this.token.is_cancelled() && shielding == Shielding::Unshielded {
            return Err(SpawnError {
                reason: SpawnRefused::Cancelled,
            });
        }
        let mut st = this.state.lock();
        if st.closed {
            return Err(SpawnError {
                reason: SpawnRefused::Closed,
            });
        }
        let index = st.children.len();
        let report = Report {
            shared: sync::Arc::clone(this),
            index,
            shielding,
        };
        // The child's place in the limit's queue is taken here, under the
        // lock that orders the spawns, not at its first poll: the workers
        // may poll children in any order.
        let acquire = this.limiter.as_ref().map(Limiter::enqueue);
        let child = async move {
            let report = report;
            let _permit = match acquire {
                Some(acquire) => Some(acquire.await),
                None => None,
            };
            let out = fut.await;
            if out.is_err() {
                report.shared.child_failed(report.index, report.shielding);
            }
            out
        };
        let mut builder = task::Builder::new();
        if let Some(n) = &name {
            builder = builder.name(Arc::clone(n));
        }
        // Unshielded children run with the group's token as the enclosing
        // token (groups they build become its children) and under its
        // deadline.
        let handle = match shielding {
            Shielding::Shielded => builder.spawn_on(child, &this.handle),
            Shielding::Unshielded => {
                let child = ENCLOSING.scope(this.token.clone(), child);
                match this.deadline.clone() {
                    Some(deadline) => builder.spawn_on(deadline.scope(child), &this.handle),
                    None => builder.spawn_on(child, &this.handle),
                }
            }
        };
        let id = handle.id();
        st.children.push(Child {
            name,
            id: Some(id),
            handle: Some(handle),
            shielding,
        });
        st.unjoined += 1;
        this.spawned.fetch_add(1, Ordering::Relaxed);
        Ok(id)
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
    /// cancels the token. The handles are taken out for the aborts, so that
    /// no lock of the group is held if an abort drops a child's future on
    /// this thread. The token is cancelled last: a waker that panics there
    /// is raised again only after everything else was done.
    pub(super) fn abort_all(&self) {
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
        self.token.cancel();
    }

    /// The counters as a snapshot.
    pub(super) fn metrics(&self) -> GroupMetrics {
        GroupMetrics {
            spawned: self.spawned.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }

    /// The handles of the children not yet joined, with their indices.
    fn take_handles(&self) -> Vec<(usize, JoinHandle<Result<T, E>>)> {
        let mut st = self.state.lock();
        st.children
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| c.shielding == Shielding::Unshielded)
            .filter_map(|(i, c)| c.handle.take().map(|h| (i, h)))
            .collect()
    }
}
