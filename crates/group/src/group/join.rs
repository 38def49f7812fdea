//! The joins of a [`TaskGroup`]: `join_next` takes the children from the
//! queue of finished ones (`finished.rs`) in the order they finished,
//! while the group's own deadline may pass (its unshielded children are
//! then aborted and the join goes on reaping them); under fail-fast, the
//! first failure joined aborts the rest. `join_all` and
//! `join_all_results` reap every child and give the results in spawn
//! order.

use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use nimsync_scheduler::task::Id;
use nimsync_scheduler::{JoinError, JoinHandle};

use super::shared::{Ended, Shared};
use super::{Policy, TaskGroup};
use crate::deadline::{Deadline, TimedOut};
use crate::error::{FailureKind, GroupError, TaskFailure, TaskLabel};
use crate::sync::{self, Ordering};

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Waits for the next child to finish and returns its result, or
    /// `None` when every spawned child has been joined.
    ///
    /// Under [`Policy::FailFast`], the first failure returned here aborts
    /// every child not yet joined (they are then returned as cancelled).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future before it completes loses no
    /// result. A child it already took off the queue of finished children
    /// is kept by the group and returned by the next join.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u32>::new();
    /// group.spawn_ok(async { 1 }).unwrap();
    /// let mut seen = Vec::new();
    /// while let Some(res) = group.join_next().await {
    ///     seen.push(res.unwrap());
    /// }
    /// assert_eq!(seen, vec![1]);
    /// # });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, TaskFailure<E>>> {
        self.join_next_indexed(WhenEmpty::StayOpen)
            .await
            .map(|(_, _, r)| r)
    }

    /// Waits for the next child to finish and returns its task id with
    /// its result, or `None` when every spawned child has been joined. As
    /// [`join_next`](TaskGroup::join_next), which it is, with the id of a
    /// child that succeeded too (a failure names its child anyway).
    ///
    /// # Cancel safety
    /// Cancel safe, as `join_next`: a child taken off the queue of finished
    /// children by a dropped call is returned by the next join.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<&str>::new();
    /// let id = group.spawn_ok(async { "done" }).unwrap();
    /// let (joined, result) = group.join_next_with_id().await.unwrap();
    /// assert_eq!((joined, result.unwrap()), (id, "done"));
    /// assert!(group.join_next_with_id().await.is_none());
    /// # });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<(Id, Result<T, TaskFailure<E>>)> {
        self.join_next_indexed(WhenEmpty::StayOpen)
            .await
            .map(|(_, id, r)| (id, r))
    }

    /// The result of a child that has finished, if one has; never waits.
    /// `None` when no child has finished yet (or none is left); the
    /// children that are still running stay in the group.
    ///
    /// Like the waiting joins it applies the group's policy (under
    /// [`Policy::FailFast`] a failure it returns aborts the rest) and its
    /// deadline (once passed, the children are aborted and later calls
    /// return them as cancelled). It can return `None` for a child that
    /// has just finished while its task is still storing its output, and
    /// inside a task that spent its cooperative budget for this poll (the
    /// runtime's join handles count against it): call it again later, or
    /// await [`join_next`](TaskGroup::join_next); no result is lost.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// assert!(group.try_join_next().is_none(), "nothing spawned yet");
    /// let gate = nimsync_group::CancelToken::new();
    /// let open = gate.clone();
    /// group.spawn_ok(async move { open.cancelled().await; 1 }).unwrap();
    /// assert!(group.try_join_next().is_none(), "still waiting at the gate");
    /// gate.cancel();
    /// let first = loop {
    ///     if let Some(result) = group.try_join_next() {
    ///         break result;
    ///     }
    ///     nimsync_scheduler::yield_now().await;
    /// };
    /// assert_eq!(first.unwrap(), 1);
    /// # });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, TaskFailure<E>>> {
        self.try_join_next_indexed().map(|(_, _, r)| r)
    }

    /// [`try_join_next`](TaskGroup::try_join_next) with the child's task
    /// id; never waits.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut group = nimsync_group::TaskGroup::<u8>::new();
    /// let id = group.spawn_ok(async { 7 }).unwrap();
    /// let (joined, result) = loop {
    ///     if let Some(next) = group.try_join_next_with_id() {
    ///         break next;
    ///     }
    ///     nimsync_scheduler::yield_now().await;
    /// };
    /// assert_eq!((joined, result.unwrap()), (id, 7));
    /// # });
    /// ```
    pub fn try_join_next_with_id(&mut self) -> Option<(Id, Result<T, TaskFailure<E>>)> {
        self.try_join_next_indexed().map(|(_, id, r)| (id, r))
    }

    /// `join_next` with the child's spawn index and id. While waiting, the
    /// group's own deadline may pass: its unshielded children are then
    /// aborted, and the join goes on reaping them.
    async fn join_next_indexed(&mut self, when_empty: WhenEmpty) -> Option<Joined<T, E>> {
        let next = if let Some(f) = self.in_flight.take() {
            Some(f)
        } else {
            loop {
                let shared = &self.spawner.shared;
                let timer = &mut self.timer;
                let step = poll_fn(|cx| {
                    if let Poll::Ready(next) = take_finished(shared, Some(cx.waker()), when_empty) {
                        return Poll::Ready(Step::Finished(next));
                    }
                    if let Some(t) = timer.as_mut() {
                        if Pin::new(t).poll(cx).is_ready() {
                            return Poll::Ready(Step::Expired);
                        }
                    }
                    Poll::Pending
                })
                .await;
                match step {
                    Step::Finished(next) => break next,
                    Step::Expired => self.expire(),
                }
            }
        };
        self.in_flight = Some(next?);
        let joined = {
            let (_, _, handle) = self.in_flight.as_mut().expect("just set");
            handle.await
        };
        let (index, label, _) = self.in_flight.take().expect("just set");
        Some(self.settle(index, label, joined))
    }

    /// `try_join_next` with the child's spawn index and id.
    fn try_join_next_indexed(&mut self) -> Option<Joined<T, E>> {
        let mut cx = Context::from_waker(Waker::noop());
        if let Some(t) = self.timer.as_mut() {
            if Pin::new(t).poll(&mut cx).is_ready() {
                self.expire();
            }
        }
        let mut next = match self.in_flight.take() {
            Some(f) => f,
            None => match take_finished(&self.spawner.shared, None, WhenEmpty::StayOpen) {
                Poll::Ready(Some(f)) => f,
                Poll::Ready(None) | Poll::Pending => return None,
            },
        };
        match Pin::new(&mut next.2).poll(&mut cx) {
            Poll::Ready(joined) => Some(self.settle(next.0, next.1, joined)),
            Poll::Pending => {
                // Its output is on its way: the next join takes it.
                self.in_flight = Some(next);
                None
            }
        }
    }

    /// The group's deadline passed: it is closed, and its unshielded
    /// children are aborted.
    fn expire(&mut self) {
        self.timer = None;
        self.timed_out = self
            .spawner
            .shared
            .deadline
            .as_ref()
            .map(Deadline::timed_out);
        #[cfg(feature = "tracing")]
        {
            let group = self.spawner.shared.name.as_deref();
            let scope = self.timed_out.as_ref().and_then(TimedOut::scope);
            crate::trace::deadline_expired(scope, group);
            crate::trace::group_cancelled(group, crate::trace::Cancel::Deadline);
        }
        self.spawner.shared.state.lock().closed = true;
        self.spawner.shared.abort_all();
    }

    /// Turns how a joined child's task ended into its result, counts it,
    /// and under fail-fast lets a failure abort the rest.
    fn settle(
        &self,
        index: usize,
        label: TaskLabel,
        joined: Result<Ended<T, E>, JoinError>,
    ) -> Joined<T, E> {
        let id = label.id;
        let result = match joined {
            Ok(Ended::Returned(Ok(value))) => Ok(value),
            Ok(Ended::Returned(Err(e))) => Err(FailureKind::Failed(e)),
            Ok(Ended::Aborted) => Err(FailureKind::Cancelled),
            Err(err) => Err(failure_of(err)),
        };
        let result = result.map_err(|kind| TaskFailure { task: label, kind });
        let counter = match &result {
            Ok(_) => &self.spawner.shared.completed,
            Err(f) if f.is_cancelled() => &self.spawner.shared.cancelled,
            Err(_) => &self.spawner.shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.spawner.shared.policy == Policy::FailFast
            && result.as_ref().is_err_and(|f| !f.is_cancelled())
        {
            self.spawner.shared.state.lock().closed = true;
            self.spawner.shared.abort_all();
        }
        (index, id, result)
    }

    /// Waits for every child and returns all results in spawn order,
    /// successes and failures together, whatever the policy. Closes the
    /// group to new children once all are joined.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// use nimsync_group::{Policy, TaskGroup};
    /// let group = TaskGroup::<u8, u8>::builder().policy(Policy::CollectErrors).build();
    /// group.spawn(async { Ok(1) }).unwrap();
    /// group.spawn(async { Err(2) }).unwrap();
    /// let results = group.join_all_results().await;
    /// assert!(results[0].is_ok() && results[1].is_err());
    /// # });
    /// ```
    pub async fn join_all_results(self) -> Vec<Result<T, TaskFailure<E>>> {
        self.reap().await.0
    }

    /// Joins every child; returns the results in spawn order and whether
    /// the group's deadline passed.
    async fn reap(mut self) -> (Vec<Result<T, TaskFailure<E>>>, Option<TimedOut>) {
        let mut slots: Vec<Option<Result<T, TaskFailure<E>>>> = Vec::new();
        while let Some((index, _, result)) = self.join_next_indexed(WhenEmpty::Close).await {
            if slots.len() <= index {
                slots.resize_with(index + 1, || None);
            }
            slots[index] = Some(result);
        }
        self.spawner.shared.state.lock().closed = true;
        // Children returned earlier by `join_next` have no slot here.
        let results = slots.into_iter().flatten().collect();
        (results, self.timed_out.take())
    }

    /// Waits for every child and returns the successes in spawn order, as
    /// the policy says:
    /// - [`Policy::FailFast`]: the first failure, with the siblings it
    ///   cancelled;
    /// - [`Policy::CollectErrors`]: every failure, after all finished
    ///   ([`join_all_results`](TaskGroup::join_all_results) returns them
    ///   together with the successes);
    /// - [`Policy::IgnoreErrors`]: never an error; failures are counted in
    ///   [`metrics`](TaskGroup::metrics).
    ///
    /// It returns only after every child has finished or its future has
    /// been dropped.
    ///
    /// # Errors
    /// A [`GroupError`] naming the group and each failed child.
    ///
    /// # Examples
    /// ```
    /// # let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let group = nimsync_group::TaskGroup::<u8, &str>::new();
    /// group.spawn(async { Ok(1) }).unwrap();
    /// group.spawn(async { Err("bad input") }).unwrap();
    /// let err = group.join_all().await.unwrap_err();
    /// assert!(err.to_string().contains("bad input"));
    /// # });
    /// ```
    pub async fn join_all(self) -> Result<Vec<T>, GroupError<E>> {
        let policy = self.spawner.shared.policy;
        let name = self.spawner.shared.name.clone();
        let shared = sync::Arc::clone(&self.spawner.shared);
        let (results, timed_out) = self.reap().await;
        let first_failed = shared.failures.lock().first;
        let mut successes = Vec::new();
        let mut lead = None;
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok(v) => successes.push(v),
                Err(f) if Some(f.task.index) == first_failed => lead = Some(f),
                Err(f) => failures.push(f),
            }
        }
        // The failure that came first in time leads; the rest follow in
        // spawn order.
        if let Some(f) = lead {
            failures.insert(0, f);
        }
        if timed_out.is_none() && (failures.is_empty() || policy == Policy::IgnoreErrors) {
            Ok(successes)
        } else {
            Err(GroupError {
                group: name,
                failures,
                timed_out,
            })
        }
    }
}

/// A finished child: its index, label and handle.
pub(super) type FinishedChild<T, E> = (usize, TaskLabel, JoinHandle<Ended<T, E>>);

/// A joined child: its index, task id and result.
type Joined<T, E> = (usize, Id, Result<T, TaskFailure<E>>);

/// The next finished child that is still the group's, or `None` when every
/// child was joined (the group is then closed if `when_empty` says so).
/// With a waker, it is woken by the next child to finish when none has;
/// without one, `Pending` just means that none has.
///
/// The `finished` lock is released before the `state` lock is taken: a
/// spawn holds `state` while the runtime may drop a refused child, whose
/// report then takes `finished`. A child reported after a pop that found
/// nothing wakes the waker registered with it. Detached children still
/// report their end; it is skipped here.
fn take_finished<T: Send + 'static, E: Send + 'static>(
    shared: &Shared<T, E>,
    waker: Option<&Waker>,
    when_empty: WhenEmpty,
) -> Poll<Option<FinishedChild<T, E>>> {
    loop {
        let popped = match waker {
            Some(w) => shared.finished.pop_or_register(w),
            None => shared.finished.pop(),
        };
        let mut st = shared.state.lock();
        let Some(index) = popped else {
            if st.unjoined == 0 {
                if when_empty == WhenEmpty::Close {
                    st.closed = true;
                }
                return Poll::Ready(None);
            }
            return Poll::Pending;
        };
        if st.children[index].detached {
            continue;
        }
        st.unjoined -= 1;
        let handle = st.children[index]
            .handle
            .take()
            .expect("a child finishes once");
        let label = shared.label(&st, index);
        return Poll::Ready(Some((index, label, handle)));
    }
}

/// What a join does to the group when every child has been joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenEmpty {
    /// Leaves it open (`join_next`: more children may be spawned).
    StayOpen,
    /// Closes it to new children (the joins that reap the group).
    Close,
}

/// What one wait of a join saw.
enum Step<T, E> {
    /// A child finished, or none is left.
    Finished(Option<FinishedChild<T, E>>),
    /// The group's deadline passed.
    Expired,
}

/// Turns a join error into a failure kind.
fn failure_of<E>(err: JoinError) -> FailureKind<E> {
    if err.is_cancelled() {
        return FailureKind::Cancelled;
    }
    match err.try_into_panic() {
        Ok(payload) => FailureKind::Panicked(panic_message(payload.as_ref())),
        Err(other) => FailureKind::Panicked(other.to_string()),
    }
}

/// The message of a panic payload, when it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(a panic payload that is not a string)")
    }
}
