//! The joins of a [`TaskGroup`]: `join_next` takes the children from the
//! queue of finished ones (`finished.rs`) in the order they finished,
//! while the group's own deadline may pass (its unshielded children are
//! then aborted and the join goes on reaping them); under fail-fast, the
//! first failure joined aborts the rest. `join_all` and
//! `join_all_results` reap every child and give the results in spawn
//! order.

use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;

use nimsync_scheduler::{JoinError, JoinHandle};

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
            .map(|(_, r)| r)
    }

    /// `join_next` with the child's spawn index. While waiting, the
    /// group's own deadline may pass: its unshielded children are then
    /// aborted, and the join goes on reaping them.
    async fn join_next_indexed(
        &mut self,
        when_empty: WhenEmpty,
    ) -> Option<(usize, Result<T, TaskFailure<E>>)> {
        let next = if let Some(f) = self.in_flight.take() {
            Some(f)
        } else {
            loop {
                let shared = &self.spawner.shared;
                let timer = &mut self.timer;
                let step = poll_fn(|cx| {
                    // The `finished` lock is released before the `state`
                    // lock is taken: a spawn holds `state` while the runtime
                    // may drop a refused child, whose report then takes
                    // `finished`. A child reported after this pop found
                    // nothing wakes the waker registered with it.
                    let popped = shared.finished.pop_or_register(cx.waker());
                    {
                        let mut st = shared.state.lock();
                        if let Some(index) = popped {
                            st.unjoined -= 1;
                            let handle = st.children[index]
                                .handle
                                .take()
                                .expect("a child finishes once");
                            let label = shared.label(&st, index);
                            return Poll::Ready(Step::Finished(Some((index, label, handle))));
                        }
                        if st.unjoined == 0 {
                            if when_empty == WhenEmpty::Close {
                                st.closed = true;
                            }
                            return Poll::Ready(Step::Finished(None));
                        }
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
                    Step::Expired => {
                        self.timer = None;
                        self.timed_out = self
                            .spawner
                            .shared
                            .deadline
                            .as_ref()
                            .map(Deadline::timed_out);
                        self.spawner.shared.state.lock().closed = true;
                        self.spawner.shared.abort_all();
                    }
                }
            }
        };
        self.in_flight = Some(next?);
        let joined = {
            let (_, _, handle) = self.in_flight.as_mut().expect("just set");
            handle.await
        };
        let (index, label, _) = self.in_flight.take().expect("just set");
        let result = match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(FailureKind::Failed(e)),
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
        Some((index, result))
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
        while let Some((index, result)) = self.join_next_indexed(WhenEmpty::Close).await {
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
        let first_failed = *shared.first_failure.lock();
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
pub(super) type FinishedChild<T, E> = (usize, TaskLabel, JoinHandle<Result<T, E>>);

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
