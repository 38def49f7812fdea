//! The supervisor's run loop: its children's tasks, the events it waits
//! for, and what it does on each (see the module docs of `supervisor`).

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nimsync_channel::oneshot;
use nimsync_group::{AbortHandle, Policy, TaskFailure, TaskGroup};
use nimsync_scheduler::task::Id;

use super::backoff::Intensity;
use super::control::{ChildInfo, Command, StartChildError};
use super::{ChildSpec, Restart, Shared, Shutdown, Strategy, SupervisorEvent};
use crate::core::Drain;
use crate::error::{ExitReason, Failure, FailureKind, SupervisorError};
use crate::run::{Exit, Ready};

/// How a run of the loop ended without error.
pub(super) enum Ended {
    /// Stopped for good by a command.
    Stopped,
    /// Stopped by its parent for a restart.
    Released,
    /// Nothing left to supervise, and no ref to add more.
    Idle,
}

/// One child of the running loop.
struct Slot {
    spec: Arc<ChildSpec>,
    running: Option<AbortHandle>,
    /// A restart due at this instant, with how the last incarnation ended.
    pending: Option<(Instant, ExitReason)>,
    done: bool,
    restarts: u64,
    /// Restarts in a row, for the backoff.
    in_a_row: u32,
    started_at: Instant,
}

/// A child task's end as the group reports it.
type Joined = (Id, Result<Exit, TaskFailure<std::convert::Infallible>>);

struct Loop<'a> {
    shared: &'a Shared,
    group: TaskGroup<Exit>,
    slots: Vec<Slot>,
    intensity: Intensity,
    deferred: VecDeque<Joined>,
    /// Picks each backoff's jitter.
    rng: fastrand::Rng,
}

enum Event {
    Joined(Joined),
    Command(Command),
    CommandsClosed,
    Timer,
    /// The stop token was cancelled.
    Shutdown,
}

fn exit_of(result: Result<Exit, TaskFailure<std::convert::Infallible>>, name: &Arc<str>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) if failure.is_panic() => Exit::Ended(ExitReason::Failed(Failure::new(
            name,
            FailureKind::Panicked,
            failure.to_string(),
        ))),
        Err(_) => Exit::Ended(ExitReason::Killed),
    }
}

/// A seed that differs between supervisors and runs.
fn jitter_seed(shared: &Shared) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (shared as *const Shared as u64)
}

pub(super) async fn run_loop(
    shared: &Shared,
    ready: Option<Ready>,
) -> Result<Ended, SupervisorError> {
    let group = TaskGroup::<Exit>::builder()
        .name(Arc::clone(&shared.name))
        .policy(Policy::IgnoreErrors)
        .build();
    let now = shared.clock.now();
    let slots = shared
        .children
        .lock()
        .iter()
        .map(|spec| Slot {
            spec: Arc::clone(spec),
            running: None,
            pending: None,
            done: false,
            restarts: 0,
            in_a_row: 0,
            started_at: now,
        })
        .collect();
    let mut lp = Loop {
        shared,
        group,
        slots,
        intensity: Intensity::new(shared.max_restarts, shared.within),
        deferred: VecDeque::new(),
        rng: fastrand::Rng::with_seed(jitter_seed(shared)),
    };
    if shared.shutdown.is_cancelled() {
        return Ok(Ended::Stopped);
    }
    for i in 0..lp.slots.len() {
        lp.start(i, None).await?;
    }
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    let mut commands_open = true;
    loop {
        let event = match lp.deferred.pop_front() {
            Some(joined) => Event::Joined(joined),
            None => {
                let idle = lp
                    .slots
                    .iter()
                    .all(|s| s.running.is_none() && s.pending.is_none());
                if idle && (!commands_open || shared.commands.sender_count() == 0) {
                    return Ok(Ended::Idle);
                }
                lp.next_event(commands_open).await
            }
        };
        match event {
            Event::Joined((id, result)) => {
                let Some(i) = lp
                    .slots
                    .iter()
                    .position(|s| s.running.as_ref().is_some_and(|a| a.id() == id))
                else {
                    continue;
                };
                lp.slots[i].running = None;
                let exit = exit_of(result, &lp.slots[i].spec.id);
                lp.ended(i, exit).await?;
            }
            Event::Timer => lp.start_due().await?,
            Event::CommandsClosed => commands_open = false,
            Event::Shutdown => {
                lp.shutdown().await;
                return Ok(Ended::Stopped);
            }
            Event::Command(Command::Release) => {
                lp.release_all().await;
                return Ok(Ended::Released);
            }
            Event::Command(Command::Start(spec, reply)) => {
                let result = lp.add(spec).await;
                let _ = reply.send(result);
            }
            Event::Command(Command::Terminate(id, reply)) => {
                let found = match lp.slots.iter().position(|s| !s.done && s.spec.id == id) {
                    Some(i) => {
                        let reason = lp.stop_one(i, Some(lp.slots[i].spec.drain)).await;
                        lp.done(i, reason);
                        true
                    }
                    None => false,
                };
                let _ = reply.send(found);
            }
            Event::Command(Command::Children(reply)) => {
                let list = lp
                    .slots
                    .iter()
                    .filter(|s| !s.done)
                    .map(|s| ChildInfo {
                        id: Arc::clone(&s.spec.id),
                        running: s.running.is_some(),
                        restarts: s.restarts,
                    })
                    .collect();
                let _ = reply.send(list);
            }
        }
    }
}

impl Loop<'_> {
    /// Starts child `i` and waits until its `started` hook has returned
    /// (or it failed), as OTP starts children one after another.
    async fn start(&mut self, i: usize, last: Option<ExitReason>) -> Result<(), SupervisorError> {
        let slot = &mut self.slots[i];
        slot.pending = None;
        if last.is_some() {
            slot.restarts += 1;
            slot.spec.kind.note_restart();
        }
        let (ready, started) = oneshot::channel();
        let handle = slot
            .spec
            .kind
            .spawn(&self.group, slot.restarts, last, ready)
            .map_err(|_| SupervisorError::Spawn {
                supervisor: Arc::clone(&self.shared.name),
                child: Arc::clone(&slot.spec.id),
            })?;
        slot.running = Some(handle);
        slot.started_at = self.shared.clock.now();
        let event = SupervisorEvent::Started {
            child: Arc::clone(&slot.spec.id),
            restarts: slot.restarts,
        };
        // Dropped unsent if the start failed: its end comes through the
        // group like any other.
        let _ = started.await;
        self.shared.emit(event);
        Ok(())
    }

    async fn start_due(&mut self) -> Result<(), SupervisorError> {
        let now = self.shared.clock.now();
        for i in 0..self.slots.len() {
            if let Some((at, _)) = &self.slots[i].pending {
                if *at <= now {
                    let (_, last) = self.slots[i].pending.take().expect("checked above");
                    self.start(i, Some(last)).await?;
                }
            }
        }
        Ok(())
    }

    async fn add(&mut self, spec: ChildSpec) -> Result<(), StartChildError> {
        if self.slots.iter().any(|s| !s.done && s.spec.id == spec.id) {
            return Err(StartChildError::DuplicateId(spec.id));
        }
        let spec = Arc::new(spec);
        self.shared.children.lock().push(Arc::clone(&spec));
        self.slots.push(Slot {
            spec,
            running: None,
            pending: None,
            done: false,
            restarts: 0,
            in_a_row: 0,
            started_at: self.shared.clock.now(),
        });
        let i = self.slots.len() - 1;
        if self.start(i, None).await.is_err() {
            self.done(i, ExitReason::Killed);
            return Err(StartChildError::Spawn);
        }
        Ok(())
    }

    /// The child stopped for good.
    fn done(&mut self, i: usize, reason: ExitReason) {
        let slot = &mut self.slots[i];
        slot.done = true;
        slot.pending = None;
        slot.spec.kind.finish(reason);
        let spec = Arc::clone(&slot.spec);
        self.shared
            .children
            .lock()
            .retain(|c| !Arc::ptr_eq(c, &spec));
        self.shared.emit(SupervisorEvent::Finished {
            child: Arc::clone(&spec.id),
        });
    }

    /// Child `i`'s incarnation ended on its own.
    async fn ended(&mut self, i: usize, exit: Exit) -> Result<(), SupervisorError> {
        let id = Arc::clone(&self.slots[i].spec.id);
        self.shared.emit(SupervisorEvent::Exited {
            child: Arc::clone(&id),
            reason: exit.reason(),
        });
        let reason = match exit {
            Exit::StoppedForGood => {
                self.done(i, ExitReason::Stopped);
                return Ok(());
            }
            Exit::Ended(reason) => reason,
        };
        let abnormal = matches!(reason, ExitReason::Failed(_) | ExitReason::Killed);
        let restart = match self.slots[i].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        if !restart {
            self.done(i, reason);
            return Ok(());
        }
        let now = self.shared.clock.now();
        if !self.intensity.admit(now) {
            self.shared.emit(SupervisorEvent::Escalating {
                child: Arc::clone(&id),
            });
            self.release_all().await;
            return Err(SupervisorError::Escalated {
                supervisor: Arc::clone(&self.shared.name),
                child: id,
                reason,
            });
        }
        let slot = &mut self.slots[i];
        if let Some(b) = &self.shared.backoff {
            if now.saturating_duration_since(slot.started_at) >= b.reset_period() {
                slot.in_a_row = 0;
            }
        }
        slot.in_a_row += 1;
        let delay = self
            .shared
            .backoff
            .map_or(Duration::ZERO, |b| b.delay(slot.in_a_row, self.rng.f64()));
        let at = now + delay;
        slot.pending = Some((at, reason));
        self.restart_siblings(i).await;
        for j in 0..self.slots.len() {
            if self.slots[j].pending.as_ref().is_some_and(|p| p.0 == at) {
                self.shared.emit(SupervisorEvent::RestartScheduled {
                    child: Arc::clone(&self.slots[j].spec.id),
                    at,
                });
            }
        }
        if delay.is_zero() {
            self.start_due().await?;
        }
        Ok(())
    }

    /// The children a restart of `i` takes with it, by the strategy.
    fn siblings(&self, i: usize) -> Vec<usize> {
        let live = |j: &usize| *j != i && !self.slots[*j].done;
        match self.shared.strategy {
            Strategy::OneForOne => Vec::new(),
            Strategy::OneForAll => (0..self.slots.len()).filter(live).collect(),
            Strategy::RestForOne => (i + 1..self.slots.len()).filter(live).collect(),
        }
    }

    /// Stops the siblings of `i` (reverse start order) and schedules them
    /// with `i`.
    async fn restart_siblings(&mut self, i: usize) {
        let Some((at, _)) = self.slots[i].pending.clone() else {
            return;
        };
        let siblings = self.siblings(i);
        for &j in siblings.iter().rev() {
            let reason = if self.slots[j].running.is_some() {
                self.stop_one(j, None).await
            } else {
                ExitReason::Restarting
            };
            if self.slots[j].spec.restart == Restart::Temporary {
                self.done(j, reason);
            } else {
                self.slots[j].pending = Some((at, reason));
            }
        }
    }

    /// Stops child `i`'s running incarnation: for good with `drain`, or
    /// for a restart (`None`); aborts it after its shutdown timeout.
    async fn stop_one(&mut self, i: usize, drain: Option<Drain>) -> ExitReason {
        let Some(handle) = self.slots[i].running.take() else {
            return ExitReason::Stopped;
        };
        let id = handle.id();
        let name = Arc::clone(&self.slots[i].spec.id);
        if let Some(pos) = self.deferred.iter().position(|(j, _)| *j == id) {
            let (_, result) = self.deferred.remove(pos).expect("position is in range");
            return exit_of(result, &name).reason();
        }
        let kind = Arc::clone(&self.slots[i].spec.kind);
        let mut deadline = match self.slots[i].spec.shutdown {
            Shutdown::Brutal => {
                handle.abort();
                None
            }
            Shutdown::Timeout(d) => {
                match drain {
                    Some(drain) => kind.stop(drain),
                    None => kind.release(),
                }
                Some(self.shared.clock.now() + d)
            }
        };
        loop {
            let joined = {
                let mut join = pin!(self.group.join_next_with_id());
                let mut sleep = deadline.map(|at| Box::pin(self.shared.clock.sleep_until(at)));
                poll_fn(|cx| {
                    if let Poll::Ready(j) = join.as_mut().poll(cx) {
                        return Poll::Ready(Some(j));
                    }
                    match &mut sleep {
                        Some(s) => s.as_mut().poll(cx).map(|()| None),
                        None => Poll::Pending,
                    }
                })
                .await
            };
            match joined {
                Some(Some((j, result))) if j == id => {
                    return exit_of(result, &name).reason();
                }
                Some(Some(other)) => self.deferred.push_back(other),
                // The group is empty: the task is gone.
                Some(None) => return ExitReason::Killed,
                None => {
                    handle.abort();
                    deadline = None;
                }
            }
        }
    }

    /// Stops every child for good, in reverse start order.
    async fn shutdown(&mut self) {
        for i in (0..self.slots.len()).rev() {
            if self.slots[i].done {
                continue;
            }
            let reason = if self.slots[i].running.is_some() {
                let drain = self.slots[i].spec.drain;
                match self.stop_one(i, Some(drain)).await {
                    ExitReason::Normal | ExitReason::Restarting => ExitReason::Stopped,
                    other => other,
                }
            } else {
                ExitReason::Stopped
            };
            self.done(i, reason);
        }
    }

    /// Stops every running child for a restart, in reverse start order.
    async fn release_all(&mut self) {
        for i in (0..self.slots.len()).rev() {
            self.slots[i].pending = None;
            if self.slots[i].running.is_some() {
                self.stop_one(i, None).await;
            }
        }
    }

    async fn next_event(&mut self, commands_open: bool) -> Event {
        let next_restart = self
            .slots
            .iter()
            .filter_map(|s| s.pending.as_ref().map(|p| p.0))
            .min();
        let mut timer = next_restart.map(|at| Box::pin(self.shared.clock.sleep_until(at)));
        let has_children = !self.group.is_empty();
        let commands = &self.shared.commands;
        let mut recv = pin!(commands.recv_async());
        let mut join = pin!(self.group.join_next_with_id());
        let mut shutdown = pin!(self.shared.shutdown.cancelled());
        poll_fn(|cx| {
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if has_children {
                if let Poll::Ready(Some(joined)) = join.as_mut().poll(cx) {
                    return Poll::Ready(Event::Joined(joined));
                }
            }
            if commands_open {
                match recv.as_mut().poll(cx) {
                    Poll::Ready(Ok(c)) => return Poll::Ready(Event::Command(c)),
                    Poll::Ready(Err(_)) => return Poll::Ready(Event::CommandsClosed),
                    Poll::Pending => {}
                }
            }
            if let Some(t) = &mut timer {
                if t.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Timer);
                }
            }
            Poll::Pending
        })
        .await
    }
}
