//! Waiting without burning a core: contexts, wait queues, and the park/wake
//! protocol every flavor shares.
//!
//! # Protocol
//!
//! A party that cannot make progress (a blocked thread, a pending future, or
//! a select over several operations) owns a [`Context`]. It registers the
//! context in the [`WaitQueue`] of each operation it waits for, then re-checks
//! the operation, then parks (threads) or returns `Pending` (tasks).
//!
//! A party that makes progress possible (a send for receivers, a receive for
//! senders, a close for everyone) publishes its change and then calls
//! [`WaitQueue::notify_one`] or [`WaitQueue::notify_all`].
//!
//! The two sides form a store-buffering (Dekker) pattern:
//!
//! ```text
//! waiter:   waiting := n (under the lock) ; fence(SeqCst) ; load channel state
//! notifier: store channel state            ; fence(SeqCst) ; load waiting
//! ```
//!
//! The two `SeqCst` fences are totally ordered, so at least one side sees
//! the other's store: either the waiter's re-check sees the new state (and
//! it does not park), or the notifier sees `waiting != 0` and wakes it.
//!
//! On Linux the fences start asymmetric (`sync::heavy_fence`): the waiter's
//! fence is `membarrier`, which runs a full barrier on every thread of the
//! process, so the notifier's only needs to stop the compiler from
//! reordering. A notify then costs one load when nobody waits. A queue whose
//! waiters register often switches to `SeqCst` fences on both sides (see
//! [`WaitQueue`]).
//!
//! # First notifier wins
//!
//! A context's `state` is `WAITING` (0) until someone claims it: a notifier
//! by compare-and-swapping in `op + 1` (the index of the operation that
//! became ready), or the owner by swapping in `ABORTED` (timeout, drop,
//! completion through another path). Exactly one claim succeeds. Notifiers
//! claim contexts while holding the queue lock, and owners unregister under
//! the same lock, so once an owner has aborted and unregistered, no stale
//! notifier can claim a later registration of the same context.
//!
//! A notifier that claims a context has handed it one wake-up. If the owner
//! then gives up without acting on it (a future dropped after being woken, a
//! select that completed another operation), it must pass the wake-up on
//! with another `notify_one`, so no wake-up is lost.
//!
//! The re-check after registering is the subtle case. An owner whose
//! re-check succeeds took an item while it was still queued, and that item
//! may have been published before the registration, its notify finding no
//! one. A notify for a *later* item can then claim the owner, which returns
//! with the earlier item: the later item's wake-up would be spent on an item
//! that needed none, while another waiter sleeps beside a full channel. So
//! an owner that completes in the re-check and finds its context claimed
//! always passes the wake-up on ([`block_on`], [`poll_op`]). At worst that
//! wakes one waiter for nothing, which retries and waits again; the race
//! window is a few instructions wide, so this costs nothing measurable.
//!
//! The same holds for a future whose registration is still queued from an
//! earlier poll when it is polled again (a spurious poll, or one woken for
//! something else): its attempt may take an item and thereby make room for
//! a later one, whose notify then claims the still-queued registration. So
//! a claim that arrives while an attempt runs is passed on too.
//!
//! Only an owner that was woken (its context claimed before it looked
//! again) and then completes uses the wake-up it was handed.
//!
//! Wakers are user code and may panic. [`WaitQueue::notify_many`] and
//! [`WaitQueue::notify_all`] claim their waiters under the lock and wake
//! them after it; a panicking waker does not stop the others from being
//! woken (the first panic is raised again afterwards, see `unwind`).

use core::task::Waker;
use std::collections::VecDeque;
use std::time::Instant;

#[cfg(not(loom))]
use crate::sync::AtomicU64;
use crate::sync::{self, Arc, AtomicU8, AtomicUsize, AtomicWaker, Mutex, Ordering, Thread};
use crate::unwind::Panics;

/// The context waits; nobody has claimed it yet.
const WAITING: usize = 0;
/// The owner gave up waiting before any notifier claimed it.
pub(crate) const ABORTED: usize = usize::MAX;

/// How a context is woken.
#[derive(Debug)]
enum Unparker {
    /// A thread blocked in `park`.
    Thread(Thread),
    /// An async task; the waker is refreshed on every poll.
    Task(AtomicWaker),
}

/// A waiting party: one blocked thread, one pending future, or one select.
///
/// # Invariants
///
/// - `state` is `WAITING`, `ABORTED`, or `op + 1` for the operation whose
///   notifier claimed the context; it leaves `WAITING` exactly once per
///   registration, by a successful compare-and-swap.
/// - Only the owner resets `state` to `WAITING`, and only while the context
///   is registered in no queue.
#[derive(Debug)]
pub struct Context {
    state: AtomicUsize,
    unparker: Unparker,
}

#[cfg(not(loom))]
std::thread_local! {
    static THREAD_CONTEXT: Arc<Context> = Arc::new(Context::with_thread(sync::current()));
}

impl Context {
    fn with_thread(thread: Thread) -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            unparker: Unparker::Thread(thread),
        }
    }

    /// A context for the calling thread, reused across waits when no one
    /// else still holds it.
    pub fn for_current_thread() -> Arc<Context> {
        #[cfg(not(loom))]
        {
            let cached = THREAD_CONTEXT.try_with(|cx| {
                // Strong count 2 = the thread-local and the clone below: no
                // queue and no notifier refers to it, so resetting is safe.
                let cx = Arc::clone(cx);
                if Arc::strong_count(&cx) == 2 {
                    cx.state.store(WAITING, Ordering::Relaxed);
                    Some(cx)
                } else {
                    None
                }
            });
            if let Ok(Some(cx)) = cached {
                return cx;
            }
        }
        Arc::new(Self::with_thread(sync::current()))
    }

    /// A context for an async task, woken through `waker`.
    pub fn for_task(waker: &Waker) -> Arc<Context> {
        let atomic = AtomicWaker::new();
        sync::register_waker(&atomic, waker);
        Arc::new(Self {
            state: AtomicUsize::new(WAITING),
            unparker: Unparker::Task(atomic),
        })
    }

    /// Replaces the waker a task context wakes. No-op for thread contexts.
    pub fn set_waker(&self, waker: &Waker) {
        if let Unparker::Task(w) = &self.unparker {
            sync::register_waker(w, waker);
        }
    }

    /// `0` while waiting, `op + 1` once operation `op` notified it,
    /// [`ABORTED`] after the owner gave up.
    #[inline]
    pub fn selected(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Returns the context to the waiting state before it is registered
    /// again. The caller must have unregistered it from every queue.
    pub fn reset(&self) {
        self.state.store(WAITING, Ordering::Relaxed);
    }

    /// Claims the context for operation `op`. True if this call won.
    fn try_select(&self, op: usize) -> bool {
        self.state
            .compare_exchange(WAITING, op + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The owner gives up waiting. `Ok` if nobody had claimed the context;
    /// otherwise the state a notifier stored (`op + 1`).
    pub fn try_abort(&self) -> Result<(), usize> {
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(s) => Err(s),
        }
    }

    /// Wakes the owner.
    fn unpark(&self) {
        match &self.unparker {
            Unparker::Thread(t) => t.unpark(),
            Unparker::Task(w) => w.wake(),
        }
    }

    /// Parks the calling thread until the context is claimed or `deadline`
    /// passes; on timeout the context is aborted. Returns the final state.
    ///
    /// Only for thread contexts, called by the thread that owns it.
    pub fn wait_until(&self, deadline: Option<Instant>) -> usize {
        loop {
            let s = self.selected();
            if s != WAITING {
                return s;
            }
            match deadline {
                None => sync::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return match self.try_abort() {
                            Ok(()) => ABORTED,
                            Err(s) => s,
                        };
                    }
                    sync::park_timeout(d - now);
                }
            }
        }
    }
}

/// One registration: a context waiting for operation `op`.
#[derive(Debug)]
struct Entry {
    cx: Arc<Context>,
    op: usize,
}

/// The queue pairs a notifier's compiler fence with a waiter's
/// `membarrier`.
const FENCE_ASYM: u8 = 0;
/// The queue is switching to symmetric mode: notifiers already use
/// read-modify-writes, waiters still use `membarrier`.
const FENCE_SWITCHING: u8 = 1;
/// Both sides use read-modify-writes of `waiting`; no fences.
const FENCE_SYM: u8 = 2;

/// Set in `waiting` once the mode is no longer [`FENCE_ASYM`], so that a
/// notifier learns the mode and the number of waiters from one load.
const SYM_NOTIFY: usize = 1 << (usize::BITS - 1);

/// Process-wide `membarrier` registrations counted between two looks at the
/// clock.
#[cfg(not(loom))]
const HEAVY_BURST: u64 = 64;

/// Process-wide `membarrier`s per second above which a registering queue
/// switches to symmetric mode. Each one interrupts every other CPU running
/// a thread of the process; on this project's virtual machines that costs
/// the interrupted thread microseconds, which the caller does not see.
#[cfg(not(loom))]
const HEAVY_RATE_LIMIT: u64 = 50_000;

/// Share of wall-clock time, in percent, that the process's `membarrier`s
/// may take (as their callers measure them, over every [`HEAVY_BURST`])
/// before a registering queue switches to symmetric mode. Where a barrier
/// must interrupt other CPUs it takes several microseconds here, and the
/// interrupted CPUs pay about as much again.
///
/// NB: with the rate rule alone, async MPMC 4P4C on tokio hovered just
/// under the rate limit in 3 of 6 runs (about 4,600 barriers in 3 rounds;
/// in a profile, the kernel's IPI-sending functions took 27 % of the
/// samples); with this rule added it switched in all 6 (141-144 barriers).
#[cfg(not(loom))]
const HEAVY_SHARE_LIMIT: u64 = 5;

/// A FIFO of contexts waiting for one kind of progress on one channel
/// (room to send, a message to receive, or the close).
///
/// # Fence mode
///
/// A queue starts with asymmetric fences when the process has them: each
/// notify costs a compiler fence, each registration a `membarrier`. That
/// wins while waiting is rare. When registrations come often (tasks that
/// take turns on a shared runtime, threads that ping-pong), the
/// `membarrier`s cost more than the fences they save: once the process
/// issues more than [`HEAVY_RATE_LIMIT`] of them per second, or they take
/// [`HEAVY_SHARE_LIMIT`] percent of the time (both measured over every
/// [`HEAVY_BURST`]), a queue that registers switches, once and for good, to
/// symmetric mode.
///
/// In symmetric mode the waiter publishes its registration with a
/// read-modify-write of `waiting` (every write of `waiting`, all under the
/// lock, is one) followed by a `SeqCst` fence, and the notifier does one of:
///
/// - a `SeqCst` fence and a load (queues many threads notify): the classic
///   Dekker pairing of two `SeqCst` fences;
/// - a read-modify-write (`fetch_add(0)`) of `waiting` and nothing else
///   (queues with one notifier, whose cache line then stays with it):
///   `waiting` has one modification order holding both sides'
///   read-modify-writes. If the notifier's comes first, the waiter's reads
///   from its release sequence and so sees the change the notifier
///   published before it; if the waiter's comes first, the notifier reads a
///   non-zero count and wakes it.
///
/// NB: in `cargo xtask bench`'s channel storm (20 tasks taking turns on 2
/// workers) a `membarrier` per registration held nimsync spsc to 30-37M
/// msg/s; symmetric mode gave 72-91M in the same runs. Switching as soon as
/// one queue's registrations came quickly (16 within 20 ms) cost async SPSC
/// and MPMC on tokio dearly (0.86x and 0.46x kanal instead of 1.28x and
/// 1.08x), hence the process-wide rate rule and the fence-and-load variant
/// for shared queues (see docs/perf-notes.md).
///
/// The switch goes through [`FENCE_SWITCHING`]: notifiers use their
/// symmetric variant as soon as the mode is not [`FENCE_ASYM`], but waiters
/// keep using `membarrier` until the switching waiter's own `membarrier`
/// has run after its store. After that barrier every notifier either sees
/// the new mode or was serialised by the barrier (its published change is
/// visible to any later re-check), so a waiter that reads [`FENCE_SYM`] may
/// skip the barrier.
///
/// # Invariants
///
/// `waiting` equals the length of `entries` whenever the lock is free,
/// plus [`SYM_NOTIFY`] once `fence_mode` is not [`FENCE_ASYM`]; it is
/// written only under the lock and read without it, as the fast check.
/// `fence_mode` only moves forward: ASYM, SWITCHING, SYM, and leaves ASYM
/// under the lock.
#[derive(Debug)]
pub(crate) struct WaitQueue {
    waiting: AtomicUsize,
    /// [`FENCE_ASYM`], [`FENCE_SWITCHING`] or [`FENCE_SYM`].
    fence_mode: AtomicU8,
    entries: Mutex<VecDeque<Entry>>,
    /// In symmetric mode, notifiers use a read-modify-write of `waiting`
    /// (queues with one notifier, whose line then stays with it) rather
    /// than a `SeqCst` fence and a load (queues many threads notify, where
    /// writes would make the line bounce between them).
    rmw_notify: bool,
}

/// Nanoseconds on a monotonic clock, from a per-process origin.
#[cfg(not(loom))]
fn monotonic_nanos() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    // Never 0, which `count_heavy` reads as "no window yet".
    u64::try_from(origin.elapsed().as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

impl WaitQueue {
    /// A queue notified by any number of threads.
    pub(crate) fn new() -> Self {
        Self::with_notify(false)
    }

    /// A queue notified by one thread at a time (an spsc endpoint's queue).
    pub(crate) fn single_notifier() -> Self {
        Self::with_notify(true)
    }

    fn with_notify(rmw_notify: bool) -> Self {
        sync::prepare_fences();
        let mode = if sync::asymmetric_fences() {
            FENCE_ASYM
        } else {
            FENCE_SYM
        };
        Self {
            waiting: AtomicUsize::new(if mode == FENCE_ASYM { 0 } else { SYM_NOTIFY }),
            fence_mode: AtomicU8::new(mode),
            entries: Mutex::new(VecDeque::new()),
            rmw_notify,
        }
    }

    /// The notifier's side: after publishing its change, whether anyone
    /// waits. A compiler fence and a load of `waiting`: in asymmetric mode
    /// that is the whole check; once [`SYM_NOTIFY`] is set, the check
    /// [`has_waiters_sym`](Self::has_waiters_sym) follows.
    ///
    /// NB: one load for both the mode and the count, instead of a load of
    /// `fence_mode` before the load of `waiting`, took the single-thread
    /// spsc push-then-pop loop from 200-220 to 229-234 M pairs/s (0.79-0.89x
    /// to 0.91-0.93x rtrb, three interleaved pairs of runs).
    #[inline(always)]
    fn has_waiters(&self) -> bool {
        sync::light_fence();
        let waiting = self.waiting.load(Ordering::Relaxed);
        waiting != 0 && (waiting & SYM_NOTIFY == 0 || self.has_waiters_sym())
    }

    /// The symmetric check: a read-modify-write of `waiting`, which pairs
    /// with the waiter's own read-modify-write, or a `SeqCst` fence and a
    /// load (see the type's docs). The load in `has_waiters` before it only
    /// told the mode.
    #[inline]
    fn has_waiters_sym(&self) -> bool {
        let waiting = if self.rmw_notify {
            self.waiting.fetch_add(0, Ordering::AcqRel)
        } else {
            sync::fence(Ordering::SeqCst);
            self.waiting.load(Ordering::Relaxed)
        };
        waiting & !SYM_NOTIFY != 0
    }

    /// Stores the number of waiters (under the lock), with [`SYM_NOTIFY`]
    /// once the mode left [`FENCE_ASYM`]. Always a read-modify-write, so
    /// every write to `waiting` continues the release sequence a notifier's
    /// read-modify-write heads.
    #[inline]
    fn publish_waiting(&self, n: usize) {
        let sym = if self.fence_mode.load(Ordering::Relaxed) == FENCE_ASYM {
            0
        } else {
            SYM_NOTIFY
        };
        self.waiting.swap(n | sym, Ordering::AcqRel);
    }

    /// The waiter's side after it published its registration: in the
    /// asymmetric modes the `membarrier` that pairs with notifiers'
    /// compiler fences; in symmetric mode nothing more (its
    /// read-modify-write of `waiting` did the job).
    #[inline]
    fn waiter_fence(&self) {
        if self.fence_mode.load(Ordering::Acquire) == FENCE_SYM {
            // Pairs with a notifier's fence; a notifier's read-modify-write
            // pairs with the `swap` that published the registration.
            sync::fence(Ordering::SeqCst);
            return;
        }
        #[cfg(not(loom))]
        let start = monotonic_nanos();
        sync::heavy_fence();
        #[cfg(not(loom))]
        self.count_heavy(monotonic_nanos().saturating_sub(start));
        // Under loom a model decides when a queue switches.
        #[cfg(loom)]
        if sync::switch_on_register() {
            self.switch_to_symmetric();
        }
    }

    /// Counts a `membarrier` registration that took `took` nanoseconds;
    /// switches to symmetric fences when they come too often or take too
    /// much of the time.
    #[cfg(not(loom))]
    #[cold]
    fn count_heavy(&self, took: u64) {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        static SPENT: AtomicU64 = AtomicU64::new(0);
        static WINDOW: AtomicU64 = AtomicU64::new(0);
        static COSTLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let spent = SPENT.fetch_add(took, Ordering::Relaxed) + took;
        let n = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
        if n % HEAVY_BURST == 0 {
            let now = monotonic_nanos();
            let start = WINDOW.swap(now, Ordering::Relaxed);
            SPENT.fetch_sub(spent, Ordering::Relaxed);
            // The first burst has no start to measure from.
            if start != 0 {
                let elapsed = now.saturating_sub(start).max(1);
                let rate = HEAVY_BURST * 1_000_000_000 / elapsed;
                let share = spent.saturating_mul(100) / elapsed;
                COSTLY.store(
                    rate > HEAVY_RATE_LIMIT || share >= HEAVY_SHARE_LIMIT,
                    Ordering::Relaxed,
                );
            }
        }
        if COSTLY.load(Ordering::Relaxed) {
            self.switch_to_symmetric();
        }
    }

    /// Moves the queue to symmetric fences (see the type's docs).
    fn switch_to_symmetric(&self) {
        let switched = {
            // Under the lock, so no `publish_waiting` drops the flag.
            let _entries = sync::lock(&self.entries);
            let switched = self
                .fence_mode
                .compare_exchange(
                    FENCE_ASYM,
                    FENCE_SWITCHING,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok();
            if switched {
                self.waiting.fetch_or(SYM_NOTIFY, Ordering::AcqRel);
            }
            switched
        };
        if switched {
            // Every notifier past this barrier sees SYM_NOTIFY and fences.
            sync::heavy_fence();
            self.fence_mode.store(FENCE_SYM, Ordering::Release);
        }
    }

    /// Whether the queue uses symmetric fences now.
    #[cfg(test)]
    pub(crate) fn is_symmetric(&self) -> bool {
        self.fence_mode.load(Ordering::Acquire) == FENCE_SYM
    }

    /// Adds `cx` as waiting for operation `op`, then issues the waiter's
    /// `SeqCst` fence: the caller must re-check its condition afterwards.
    pub(crate) fn register(&self, cx: &Arc<Context>, op: usize) {
        assert!(
            op < ABORTED - 1,
            "select operation index {op} is out of range"
        );
        {
            let mut entries = sync::lock(&self.entries);
            entries.push_back(Entry {
                cx: Arc::clone(cx),
                op,
            });
            self.publish_waiting(entries.len());
        }
        self.waiter_fence();
    }

    /// Removes every registration of `cx`.
    pub(crate) fn unregister(&self, cx: &Arc<Context>) {
        let mut entries = sync::lock(&self.entries);
        entries.retain(|e| !Arc::ptr_eq(&e.cx, cx));
        self.publish_waiting(entries.len());
    }

    /// The notifier's side of the protocol: fence, then one load; wakes the
    /// first waiter that can still be claimed, if any.
    #[inline]
    pub(crate) fn notify_one(&self) {
        if self.has_waiters() {
            self.notify_one_slow();
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        let woken = {
            let mut entries = sync::lock(&self.entries);
            let mut woken = None;
            while let Some(e) = entries.pop_front() {
                if e.cx.try_select(e.op) {
                    woken = Some(e.cx);
                    break;
                }
            }
            self.publish_waiting(entries.len());
            woken
        };
        if let Some(cx) = woken {
            // A waker that panics may not have woken its task: the wake-up
            // goes on to the next waiter too (at worst one spurious
            // wake-up), and the panic is raised again afterwards.
            let mut panics = Panics::new();
            panics.run(|| cx.unpark());
            if panics.caught() {
                self.notify_one();
            }
            panics.finish();
        }
    }

    /// Wakes up to `n` waiters: one per value a batch made available.
    pub(crate) fn notify_many(&self, n: usize) {
        if n == 0 {
            return;
        }
        if !self.has_waiters() {
            return;
        }
        let woken: Vec<Arc<Context>> = {
            let mut entries = sync::lock(&self.entries);
            let mut woken = Vec::new();
            while woken.len() < n {
                let Some(e) = entries.pop_front() else { break };
                if e.cx.try_select(e.op) {
                    woken.push(e.cx);
                }
            }
            self.publish_waiting(entries.len());
            woken
        };
        unpark_all(woken);
    }

    /// Wakes every waiter (used when the channel closes).
    pub(crate) fn notify_all(&self) {
        if !self.has_waiters() {
            return;
        }
        let woken: Vec<Arc<Context>> = {
            let mut entries = sync::lock(&self.entries);
            let woken = entries
                .drain(..)
                .filter(|e| e.cx.try_select(e.op))
                .map(|e| e.cx)
                .collect();
            self.publish_waiting(0);
            woken
        };
        unpark_all(woken);
    }

    /// Number of registered waiters (for tests and `Debug`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        sync::lock(&self.entries).len()
    }
}

/// Wakes every waiter of every queue in `queues` (a close), all of them even
/// if a waker panics; the first panic is raised again afterwards.
pub(crate) fn notify_all_of(queues: &[&WaitQueue]) {
    let mut panics = Panics::new();
    for queue in queues {
        panics.run(|| queue.notify_all());
    }
    panics.finish();
}

/// Wakes every context in `woken`, all of them even if a waker panics: each
/// was claimed, so each holds a wake-up that must reach its owner. The
/// first panic is raised again once all are woken.
fn unpark_all(woken: Vec<Arc<Context>>) {
    let mut panics = Panics::new();
    for cx in woken {
        panics.run(|| cx.unpark());
    }
    panics.finish();
}

/// How often a thread went to park in [`block_on`], across all loom
/// iterations: models assert that the parking path was explored.
#[cfg(loom)]
pub(crate) static PARKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Blocks the calling thread until `attempt` returns `Some`, or `deadline`
/// passes (then `None`).
///
/// `attempt` is tried, then retried while spinning briefly, then the thread
/// registers in `queue` and parks. A woken thread always retries before it
/// looks at the clock, so a wake-up it was handed is never dropped.
pub(crate) fn block_on<R>(
    queue: &WaitQueue,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let mut backoff = sync::Backoff::before_parking();
    loop {
        if let Some(r) = attempt() {
            return Some(r);
        }
        if backoff.is_completed() {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        backoff.snooze();
    }
    loop {
        let cx = Context::for_current_thread();
        queue.register(&cx, 0);
        // The re-check runs user code (a value's drop, a waker called by a
        // notify): if it panics, the guard ends the registration, passing
        // on a claim it got, so no later notify is spent on it.
        let registration = Registration { queue, cx: &cx };
        let rechecked = attempt();
        core::mem::forget(registration);
        if let Some(r) = rechecked {
            end_registration(queue, &cx);
            return Some(r);
        }
        #[cfg(loom)]
        PARKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if cx.wait_until(deadline) == ABORTED {
            queue.unregister(&cx);
            return attempt();
        }
    }
}

/// Ends a blocked thread's registration that was not waited on: removes it,
/// or, if a notifier claimed it meanwhile, passes the claim on (it may be
/// for another item than the one taken; see the module docs).
fn end_registration(queue: &WaitQueue, cx: &Arc<Context>) {
    if cx.try_abort().is_ok() {
        queue.unregister(cx);
    } else {
        queue.notify_one();
    }
}

/// Ends the registration of a thread whose re-check unwinds.
struct Registration<'a> {
    queue: &'a WaitQueue,
    cx: &'a Arc<Context>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        end_registration(self.queue, self.cx);
    }
}

/// The registration a future or stream keeps between polls.
///
/// Created empty; allocates its context on the first `Pending` poll and
/// reuses it afterwards.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    cx: Option<Arc<Context>>,
    registered: bool,
}

impl Waiter {
    pub(crate) const fn new() -> Self {
        Self {
            cx: None,
            registered: false,
        }
    }

    /// Makes sure the task behind `waker` is registered in `queue`. The
    /// caller must re-check its condition afterwards before returning
    /// `Pending`.
    pub(crate) fn register(&mut self, queue: &WaitQueue, waker: &Waker) {
        if let Some(cx) = &self.cx {
            cx.set_waker(waker);
            if self.registered && cx.selected() == WAITING {
                // Still queued: the fresh waker is enough. The fence of the
                // original registration still orders the caller's re-check
                // against every later publish.
                return;
            }
            // Claimed by a notifier (so no longer queued) or never queued.
            cx.reset();
            queue.register(cx, 0);
        } else {
            let cx = Context::for_task(waker);
            queue.register(&cx, 0);
            self.cx = Some(cx);
        }
        self.registered = true;
    }

    /// True if the waiter is registered and a notifier has claimed it:
    /// it holds a wake-up it has not acted on yet.
    #[inline]
    pub(crate) fn is_claimed(&self) -> bool {
        self.registered && self.cx.as_ref().is_some_and(|cx| cx.selected() != WAITING)
    }

    /// Ends the registration. Returns true if a notifier had claimed it,
    /// that is, if this waiter holds a wake-up it has not acted on.
    pub(crate) fn cancel(&mut self, queue: &WaitQueue) -> bool {
        if !self.registered {
            return false;
        }
        self.registered = false;
        let cx = self.cx.as_ref().expect("a registered waiter has a context");
        match cx.try_abort() {
            Ok(()) => {
                queue.unregister(cx);
                false
            }
            Err(_) => true,
        }
    }

    /// Ends the registration of a future that is going away without having
    /// completed: a wake-up it was handed passes to the next waiter.
    pub(crate) fn cancel_and_pass_on(&mut self, queue: &WaitQueue) {
        if self.cancel(queue) {
            queue.notify_one();
        }
    }
}

/// One poll of an async operation: try, register, re-check.
///
/// `attempt` returns `Some` when the operation completed (successfully or
/// with a final error). On completion the registration is ended. A wake-up
/// the waiter held when this poll began was used by the completion. One it
/// received while this poll's attempt ran is passed on: a registration
/// still queued from an earlier poll can be claimed for an item published
/// after the one the attempt took (the attempt itself made room for it),
/// exactly as in the re-check after registering (see the module docs).
pub(crate) fn poll_op<R>(
    waiter: &mut Waiter,
    queue: &WaitQueue,
    cx: &mut core::task::Context<'_>,
    mut attempt: impl FnMut() -> Option<R>,
) -> core::task::Poll<R> {
    let woken = waiter.is_claimed();
    if let Some(r) = attempt() {
        if waiter.cancel(queue) && !woken {
            queue.notify_one();
        }
        return core::task::Poll::Ready(r);
    }
    waiter.register(queue, cx.waker());
    if let Some(r) = attempt() {
        waiter.cancel_and_pass_on(queue);
        return core::task::Poll::Ready(r);
    }
    core::task::Poll::Pending
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    /// A waker that counts how often it was woken.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (std::sync::Arc<CountingWaker>, Waker) {
        let w = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        (w.clone(), Waker::from(w))
    }

    #[test]
    fn notify_one_claims_in_fifo_order_and_skips_aborted() {
        let q = WaitQueue::new();
        let (wa, a) = counting();
        let (wb, b) = counting();
        let (cx_a, cx_b) = (Context::for_task(&a), Context::for_task(&b));
        q.register(&cx_a, 0);
        q.register(&cx_b, 0);
        assert_eq!(q.len(), 2);
        assert_eq!(cx_a.try_abort(), Ok(()));
        q.notify_one();
        assert_eq!(
            wa.0.load(Ordering::SeqCst),
            0,
            "an aborted context is skipped"
        );
        assert_eq!(wb.0.load(Ordering::SeqCst), 1);
        assert_eq!(cx_b.selected(), 1);
        assert_eq!(q.len(), 0);
        assert_eq!(cx_b.try_abort(), Err(1), "claimed contexts cannot abort");
    }

    #[test]
    fn notify_many_and_all_wake_the_right_number() {
        let q = WaitQueue::new();
        let wakers: Vec<_> = (0..4).map(|_| counting()).collect();
        let cxs: Vec<_> = wakers.iter().map(|(_, w)| Context::for_task(w)).collect();
        for (i, cx) in cxs.iter().enumerate() {
            q.register(cx, i);
        }
        q.notify_many(2);
        let woken = |n: usize| wakers[n].0.0.load(Ordering::SeqCst);
        assert_eq!((woken(0), woken(1), woken(2), woken(3)), (1, 1, 0, 0));
        assert_eq!(cxs[1].selected(), 2, "claimed with its operation index");
        q.notify_all();
        assert_eq!((woken(2), woken(3)), (1, 1));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn unregister_removes_only_that_context() {
        let q = WaitQueue::new();
        let (_, w) = counting();
        let (a, b) = (Context::for_task(&w), Context::for_task(&w));
        q.register(&a, 0);
        q.register(&b, 0);
        q.register(&a, 1);
        q.unregister(&a);
        assert_eq!(q.len(), 1);
        q.notify_one();
        assert_eq!(b.selected(), 1);
    }

    #[test]
    fn waiter_passes_on_a_wakeup_it_did_not_use() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut first = Waiter::new();
        let mut second = Waiter::new();
        first.register(&q, &k1);
        second.register(&q, &k2);
        q.notify_one();
        assert_eq!(w1.0.load(Ordering::SeqCst), 1);
        // The first future is dropped after being woken: the wake-up moves on.
        first.cancel_and_pass_on(&q);
        assert_eq!(w2.0.load(Ordering::SeqCst), 1);
        assert!(
            second.cancel(&q),
            "the second waiter holds the passed-on wake-up"
        );
    }

    /// A future still queued from an earlier poll whose attempt takes an
    /// item, while the notify for a later item claims it, passes that claim
    /// to the next waiter. A claim it held before the poll is its own.
    #[test]
    fn poll_op_passes_on_a_claim_received_during_its_attempt() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut first = Waiter::new();
        let mut second = Waiter::new();
        first.register(&q, &k1);
        second.register(&q, &k2);
        let mut task = core::task::Context::from_waker(&k1);
        let polled = poll_op(&mut first, &q, &mut task, || {
            // Taking the item made room; the later item's notify claims
            // the front of the queue, which is this still-queued waiter.
            q.notify_one();
            Some(())
        });
        assert!(polled.is_ready());
        assert_eq!(w1.0.load(Ordering::SeqCst), 1);
        assert_eq!(w2.0.load(Ordering::SeqCst), 1, "the claim went on");
        assert!(second.cancel(&q), "the second waiter holds it");

        // Claimed before the poll: the completion uses the wake-up.
        first.register(&q, &k1);
        second.register(&q, &k2);
        q.notify_one();
        assert!(poll_op(&mut first, &q, &mut task, || Some(())).is_ready());
        assert_eq!(w2.0.load(Ordering::SeqCst), 1, "nothing passed on");
        assert!(!second.cancel(&q));
    }

    #[test]
    fn waiter_reregisters_after_being_claimed_and_updates_waker() {
        let q = WaitQueue::new();
        let (w1, k1) = counting();
        let (w2, k2) = counting();
        let mut waiter = Waiter::new();
        waiter.register(&q, &k1);
        waiter.register(&q, &k2); // same registration, new waker
        assert_eq!(q.len(), 1);
        q.notify_one();
        assert_eq!(
            (w1.0.load(Ordering::SeqCst), w2.0.load(Ordering::SeqCst)),
            (0, 1)
        );
        waiter.register(&q, &k2);
        assert_eq!(q.len(), 1, "claimed, so registered again");
        assert!(!waiter.cancel(&q));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn block_on_times_out_and_wakes() {
        let q = std::sync::Arc::new(WaitQueue::new());
        let start = Instant::now();
        let d = std::time::Duration::from_millis(5);
        let r: Option<()> = block_on(&q, Some(start + d), || None);
        assert!(r.is_none());
        assert!(start.elapsed() >= d, "never early");
        assert_eq!(q.len(), 0, "a timed-out waiter unregisters");

        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let (q2, f2) = (q.clone(), flag.clone());
        let t = std::thread::spawn(move || {
            block_on(&q2, None, || f2.load(Ordering::Acquire).then_some(7))
        });
        flag.store(true, Ordering::Release);
        q.notify_one();
        assert_eq!(t.join().unwrap(), Some(7));
    }

    /// A re-check that unwinds (a waker called by its notify panicked)
    /// leaves no registration behind to swallow a later wake-up, and a
    /// claim it got meanwhile goes on to the next waiter.
    #[test]
    fn block_on_ends_its_registration_when_the_recheck_panics() {
        let q = WaitQueue::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on(&q, None, || -> Option<()> {
                if q.len() == 1 {
                    panic!("a waker panicked in the re-check");
                }
                None
            })
        }));
        assert!(caught.is_err());
        assert_eq!(q.len(), 0, "the registration was ended");

        let (w, k) = counting();
        let other = Context::for_task(&k);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on(&q, None, || -> Option<()> {
                if q.len() == 1 {
                    // Claimed for an item, then the re-check unwinds.
                    q.notify_one();
                    q.register(&other, 0);
                    panic!("a waker panicked in the re-check");
                }
                None
            })
        }));
        assert!(caught.is_err());
        assert_eq!(w.0.load(Ordering::SeqCst), 1, "the claim went on");
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn thread_context_is_reused_when_free() {
        let a = Context::for_current_thread();
        let p = Arc::as_ptr(&a);
        drop(a);
        let b = Context::for_current_thread();
        assert_eq!(Arc::as_ptr(&b), p);
        // While held, a second request gets a fresh context.
        let c = Context::for_current_thread();
        assert_ne!(Arc::as_ptr(&c), p);
    }
}

#[cfg(all(test, not(loom)))]
mod fence_mode_tests {
    use super::*;

    /// A queue whose waiters register in a quick burst ends with symmetric
    /// fences, and still delivers wake-ups after the switch.
    #[test]
    fn frequent_registrations_switch_to_symmetric_fences() {
        let queue = WaitQueue::new();
        let waker = Waker::noop();
        for _ in 0..4 * HEAVY_BURST as usize {
            let cx = Context::for_task(waker);
            queue.register(&cx, 0);
            queue.unregister(&cx);
        }
        assert!(queue.is_symmetric());
        let cx = Context::for_task(waker);
        queue.register(&cx, 0);
        queue.notify_one();
        assert_eq!(queue.len(), 0, "the waiter was claimed");
        assert_ne!(cx.try_abort(), Ok(()), "a notifier claimed the context");
    }
}
