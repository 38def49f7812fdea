//! The wait queue: who waits for one kind of progress on one channel,
//! and the fence mode that orders its waiters' registrations against its
//! notifiers' publishes (see the module docs of `waiter` for the
//! protocol).

use std::collections::VecDeque;
#[cfg(not(loom))]
use std::time::Instant;

use super::Waiter;
#[cfg(not(loom))]
use crate::sync::AtomicU64;
use crate::sync::{self, Arc, AtomicU8, AtomicUsize, Mutex, Ordering};
use crate::unwind::Panics;

/// One registration: a waiter waiting for operation `op`.
#[derive(Debug)]
struct Entry {
    cx: Arc<Waiter>,
    op: usize,
}

/// The registrations of a queue in order, the first one held inline: most
/// queues (a oneshot's, a channel with one consumer) never have a second
/// waiter, and then registering allocates nothing.
///
/// Invariant: `rest` is empty whenever `first` is `None`.
#[derive(Debug, Default)]
struct Entries {
    first: Option<Entry>,
    rest: VecDeque<Entry>,
}

impl Entries {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn push_back(&mut self, entry: Entry) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push_back(entry);
        }
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let front = self.first.take();
        self.first = self.rest.pop_front();
        front
    }

    fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        if self.first.as_ref().is_some_and(|e| !keep(e)) {
            self.first = None;
        }
        self.rest.retain(keep);
        if self.first.is_none() {
            self.first = self.rest.pop_front();
        }
    }
}

/// How a queue's waiters and notifiers pair their store-load ordering
/// (see [`WaitQueue`]). Moves only forward: `Asymmetric`, `Switching`,
/// `Symmetric`.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FenceMode {
    /// The queue pairs a notifier's compiler fence with a waiter's
    /// `membarrier`.
    Asymmetric = 0,
    /// The queue is switching to symmetric mode: notifiers already use
    /// read-modify-writes, waiters still use `membarrier`.
    Switching = 1,
    /// Both sides use read-modify-writes of `waiting`; no fences.
    Symmetric = 2,
}

impl FenceMode {
    /// Decodes a mode stored by [`AtomicFenceMode`], which stores nothing
    /// else.
    #[inline(always)]
    fn from_u8(mode: u8) -> Self {
        match mode {
            0 => Self::Asymmetric,
            1 => Self::Switching,
            _ => Self::Symmetric,
        }
    }
}

/// A [`FenceMode`] in an atomic byte.
#[derive(Debug)]
struct AtomicFenceMode(AtomicU8);

impl AtomicFenceMode {
    fn new(mode: FenceMode) -> Self {
        Self(AtomicU8::new(mode as u8))
    }

    #[inline(always)]
    fn load(&self, order: Ordering) -> FenceMode {
        FenceMode::from_u8(self.0.load(order))
    }

    fn store(&self, mode: FenceMode, order: Ordering) {
        self.0.store(mode as u8, order);
    }

    /// Moves the mode from `current` to `new`; true if this call did.
    fn advance(&self, current: FenceMode, new: FenceMode) -> bool {
        self.0
            .compare_exchange(
                current as u8,
                new as u8,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

/// Set in `waiting` once the mode is no longer [`FenceMode::Asymmetric`],
/// so that a notifier learns the mode and the number of waiters from one
/// load.
const SYM_NOTIFY: usize = 1 << (usize::BITS - 1);

/// Process-wide `membarrier` registrations counted between two looks at the
/// clock.
#[cfg(not(loom))]
const HEAVY_BURST: u64 = 64;

/// Process-wide `membarrier`s per second above which a registering queue
/// switches to symmetric mode. Each one interrupts every other CPU running
/// a thread of the process, at a cost to the interrupted thread that the
/// caller does not see
/// (docs/perf-notes.md#when-to-switch-a-process-wide-rate).
#[cfg(not(loom))]
const HEAVY_RATE_LIMIT: u64 = 50_000;

/// Share of wall-clock time, in percent, that the process's `membarrier`s
/// may take (as their callers measure them, over every [`HEAVY_BURST`])
/// before a registering queue switches to symmetric mode. The rate rule
/// alone lets a workload hover just under its limit while the barriers'
/// interrupts dominate its time, so their measured share counts too
/// (docs/perf-notes.md#when-to-switch-the-barriers-share-of-the-time).
/// At 5 % a blocking SPSC pair that waits about a thousand times a second
/// switched, and paid a store-load fence on every message, which cost it
/// 40 % of its throughput; the workload the rule is for measures 20 % and
/// more (docs/perf-notes.md#a-descheduled-barrier-counts-as-a-slow-one).
#[cfg(not(loom))]
const HEAVY_SHARE_LIMIT: u64 = 15;

/// The most one `membarrier` counts towards [`HEAVY_SHARE_LIMIT`], in
/// nanoseconds. One that interrupts a busy CPU takes 5-11 us here; one
/// that takes longer was descheduled mid-call, which on a loaded machine
/// can last milliseconds and alone pushed a burst over the limit
/// (docs/perf-notes.md#a-descheduled-barrier-counts-as-a-slow-one).
#[cfg(not(loom))]
const HEAVY_COUNTED_MAX: u64 = 100_000;

/// Set while the process's `membarrier`s come too often or take too much
/// of the time (see [`WaitQueue`]'s fence mode): registering queues then
/// switch to symmetric mode.
#[cfg(not(loom))]
static COSTLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// When (in [`monotonic_nanos`]) the barriers were last found costly, or 0.
/// A queue made within [`COSTLY_FRESH`] of it starts in symmetric mode, so
/// that a process making many short-lived channels (an actor's mailbox,
/// say) does not pay one `membarrier` per channel before it switches. The
/// verdict ages out because queues that start symmetric issue no barriers
/// to renew it: after that, new queues start asymmetric and measure again.
#[cfg(not(loom))]
static COSTLY_AT: AtomicU64 = AtomicU64::new(0);

/// How long a "costly" verdict makes new queues start symmetric.
#[cfg(not(loom))]
const COSTLY_FRESH: u64 = 1_000_000_000;

/// How many queues a thread makes on one reading of the clock while a
/// "costly" verdict is fresh (see [`start_symmetric`]).
#[cfg(not(loom))]
const FRESH_REUSE: u8 = 64;

#[cfg(not(loom))]
std::thread_local! {
    /// This thread's last answer to [`start_symmetric`]: the verdict it
    /// was about (its `COSTLY_AT`), whether it was fresh, and how many
    /// more queues may reuse a fresh answer before the clock is read again.
    static LAST_VERDICT: core::cell::Cell<(u64, bool, u8)> =
        const { core::cell::Cell::new((0, false, 0)) };
}

/// Whether a new queue starts in symmetric mode (see [`COSTLY_AT`]).
///
/// Reading the clock costs about as much as the rest of making a small
/// channel (a oneshot per actor ask: two queues), so each thread reads it
/// once per [`FRESH_REUSE`] queues while a verdict is fresh, and not again
/// for a verdict it has seen age out. A queue that starts in the other
/// mode is only slower, never wrong.
#[inline]
fn start_symmetric() -> bool {
    #[cfg(not(loom))]
    {
        let at = COSTLY_AT.load(Ordering::Relaxed);
        if at == 0 {
            return false;
        }
        let read = || monotonic_nanos().saturating_sub(at) < COSTLY_FRESH;
        // During the thread's teardown the cache may be gone: read then.
        LAST_VERDICT
            .try_with(|last| {
                let (seen, fresh, left) = last.get();
                if seen == at && (!fresh || left > 0) {
                    last.set((at, fresh, left.saturating_sub(1)));
                    return fresh;
                }
                let fresh = read();
                last.set((at, fresh, FRESH_REUSE - 1));
                fresh
            })
            .unwrap_or_else(|_| read())
    }
    #[cfg(loom)]
    false
}

/// A FIFO of waiters waiting for one kind of progress on one channel
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
/// Tasks that take turns on a shared runtime pay a `membarrier` per
/// registration, so the switch exists; a per-queue rule switched queues
/// that still gained from asymmetric fences, hence the process-wide rate
/// and the fence-and-load variant for shared queues
/// (docs/perf-notes.md#fence-mode-per-wait-queue-adaptive).
///
/// The switch goes through [`FenceMode::Switching`]: notifiers use their
/// symmetric variant as soon as the mode is not
/// [`FenceMode::Asymmetric`], but waiters keep using `membarrier` until
/// the switching waiter's own `membarrier` has run after its store. After
/// that barrier every notifier either sees the new mode or was serialised
/// by the barrier (its published change is visible to any later
/// re-check), so a waiter that reads [`FenceMode::Symmetric`] may skip the
/// barrier.
///
/// # Invariants
///
/// `waiting` equals the length of `entries` whenever the lock is free,
/// plus [`SYM_NOTIFY`] once `fence_mode` is not
/// [`FenceMode::Asymmetric`]; it is written only under the lock and read
/// without it, as the fast check. `fence_mode` only moves forward
/// (`Asymmetric`, `Switching`, `Symmetric`) and leaves `Asymmetric` under
/// the lock.
#[derive(Debug)]
pub struct WaitQueue {
    waiting: AtomicUsize,
    fence_mode: AtomicFenceMode,
    entries: Mutex<Entries>,
    /// In symmetric mode, notifiers use a read-modify-write of `waiting`
    /// (queues with one notifier, whose line then stays with it) rather
    /// than a `SeqCst` fence and a load (queues many threads notify, where
    /// writes would make the line bounce between them).
    rmw_notify: bool,
    /// Woken (one waiter) after every registration here: a rendezvous
    /// channel's senders wait for a receiver to wait (`mpmc/zero/`).
    on_register: Option<Arc<WaitQueue>>,
    /// The queue of a channel with one or two slots, where every message
    /// is a hand-off: a blocked thread that has just woken the other side
    /// waits longer for it before parking (`Backoff::for_blocked_thread`).
    handoff: bool,
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

    /// A queue notified by any number of threads, each of whose
    /// registrations then notifies `partner` (a rendezvous channel's
    /// receivers, whose waiting is what its senders wait for).
    pub(crate) fn notifying_on_register(partner: Arc<WaitQueue>) -> Self {
        Self {
            on_register: Some(partner),
            ..Self::new()
        }
    }

    fn with_notify(rmw_notify: bool) -> Self {
        sync::prepare_fences();
        // A queue no thread can see yet may start in either mode.
        let mode = if sync::asymmetric_fences() && !start_symmetric() {
            FenceMode::Asymmetric
        } else {
            FenceMode::Symmetric
        };
        Self {
            waiting: AtomicUsize::new(if mode == FenceMode::Asymmetric {
                0
            } else {
                SYM_NOTIFY
            }),
            fence_mode: AtomicFenceMode::new(mode),
            entries: Mutex::new(Entries::default()),
            rmw_notify,
            on_register: None,
            handoff: false,
        }
    }

    /// Marks this as the queue of a channel of `capacity` slots: with one
    /// or two, every message is a hand-off (see `handoff`).
    pub(crate) fn for_capacity(mut self, capacity: usize) -> Self {
        self.handoff = capacity <= 2;
        self
    }

    /// Whether every message through this queue's channel is a hand-off.
    #[inline]
    pub(crate) fn is_handoff(&self) -> bool {
        self.handoff
    }

    /// The notifier's side: after publishing its change, whether anyone
    /// waits. A compiler fence and a load of `waiting`: in asymmetric mode
    /// that is the whole check; once [`SYM_NOTIFY`] is set, the check
    /// [`has_waiters_sym`](Self::has_waiters_sym) follows.
    ///
    /// The mode and the count share one word so that every send and
    /// receive pays one load here, not two
    /// (docs/perf-notes.md#the-mode-and-the-count-in-one-word).
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
    /// once the mode left [`FenceMode::Asymmetric`]. Always a
    /// read-modify-write, so
    /// every write to `waiting` continues the release sequence a notifier's
    /// read-modify-write heads.
    #[inline]
    fn publish_waiting(&self, n: usize) {
        let sym = if self.fence_mode.load(Ordering::Relaxed) == FenceMode::Asymmetric {
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
        if self.fence_mode.load(Ordering::Acquire) == FenceMode::Symmetric {
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
        let took = took.min(HEAVY_COUNTED_MAX);
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
                let costly = rate > HEAVY_RATE_LIMIT || share >= HEAVY_SHARE_LIMIT;
                COSTLY.store(costly, Ordering::Relaxed);
                COSTLY_AT.store(if costly { now } else { 0 }, Ordering::Relaxed);
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
            let _entries = self.entries.lock();
            let switched = self
                .fence_mode
                .advance(FenceMode::Asymmetric, FenceMode::Switching);
            if switched {
                self.waiting.fetch_or(SYM_NOTIFY, Ordering::AcqRel);
            }
            switched
        };
        if switched {
            // Every notifier past this barrier sees SYM_NOTIFY and fences.
            sync::heavy_fence();
            self.fence_mode
                .store(FenceMode::Symmetric, Ordering::Release);
        }
    }

    /// Whether the queue uses symmetric fences now.
    #[cfg(test)]
    pub(crate) fn is_symmetric(&self) -> bool {
        self.fence_mode.load(Ordering::Acquire) == FenceMode::Symmetric
    }

    /// Adds `cx` as waiting for operation `op`, then issues the waiter's
    /// `SeqCst` fence: the caller must re-check its condition afterwards.
    pub(crate) fn register(&self, cx: &Arc<Waiter>, op: usize) {
        Waiter::check_operation(op);
        {
            let mut entries = self.entries.lock();
            entries.push_back(Entry {
                cx: Arc::clone(cx),
                op,
            });
            self.publish_waiting(entries.len());
        }
        self.waiter_fence();
        if let Some(partner) = &self.on_register {
            // The registration is published (and fenced): a party of the
            // partner queue that waits for it re-checks `has_waiting` after
            // its own registration, so one of the two sees the other.
            partner.notify_one();
        }
    }

    /// Removes every registration of `cx`.
    pub(crate) fn unregister(&self, cx: &Arc<Waiter>) {
        let mut entries = self.entries.lock();
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

    /// [`notify_one`](Self::notify_one), telling whether it claimed a
    /// waiter.
    #[inline]
    pub(crate) fn notify_one_claimed(&self) -> bool {
        self.has_waiters() && self.notify_one_slow()
    }

    /// Claims the first waiter that can still be claimed, under the lock,
    /// and returns it without waking it: the caller publishes what the
    /// waiter waits for, then wakes it with [`Waiter::unpark`]. Until then
    /// no other notifier can claim it. `None` if nobody waits.
    pub(crate) fn claim_one(&self) -> Option<Arc<Waiter>> {
        if !self.has_waiters() {
            return None;
        }
        let mut entries = self.entries.lock();
        let mut claimed = None;
        while let Some(e) = entries.pop_front() {
            if e.cx.try_select(e.op) {
                claimed = Some(e.cx);
                break;
            }
        }
        self.publish_waiting(entries.len());
        claimed
    }

    /// True if a waiter is registered (possibly one that is giving up):
    /// one load, after the caller's own fence.
    #[inline]
    pub(crate) fn has_waiting(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) & !SYM_NOTIFY != 0
    }

    #[cold]
    fn notify_one_slow(&self) -> bool {
        let woken = {
            let mut entries = self.entries.lock();
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
        let Some(cx) = woken else {
            return false;
        };
        // A waker that panics may not have woken its task: the wake-up
        // goes on to the next waiter too (at worst one spurious wake-up),
        // and the panic is raised again afterwards.
        let mut panics = Panics::new();
        panics.run(|| cx.unpark());
        if panics.caught() {
            self.notify_one();
        }
        panics.finish();
        true
    }

    /// Wakes up to `n` waiters: one per value a batch made available.
    pub(crate) fn notify_many(&self, n: usize) {
        if n == 0 {
            return;
        }
        if !self.has_waiters() {
            return;
        }
        // The first waiter outside the `Vec`: waking one (a oneshot's
        // receiver, say) allocates nothing.
        let (first, rest) = {
            let mut entries = self.entries.lock();
            let mut first = None;
            let mut rest = Vec::new();
            while usize::from(first.is_some()) + rest.len() < n {
                let Some(e) = entries.pop_front() else { break };
                if e.cx.try_select(e.op) {
                    if first.is_none() {
                        first = Some(e.cx);
                    } else {
                        rest.push(e.cx);
                    }
                }
            }
            self.publish_waiting(entries.len());
            (first, rest)
        };
        unpark_all(first.into_iter().chain(rest));
    }

    /// Wakes every waiter (used when the channel closes).
    pub(crate) fn notify_all(&self) {
        self.notify_many(usize::MAX);
    }

    /// Number of registered waiters (for tests and `Debug`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
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

/// Wakes every waiter in `woken`, all of them even if a waker panics: each
/// was claimed, so each holds a wake-up that must reach its owner. The
/// first panic is raised again once all are woken.
fn unpark_all(woken: impl IntoIterator<Item = Arc<Waiter>>) {
    let mut panics = Panics::new();
    for cx in woken {
        panics.run(|| cx.unpark());
    }
    panics.finish();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_wakers::counting;
    use super::*;
    use crate::waiter::{Selected, Waiter};
    use core::task::Waker;

    #[test]
    fn notify_one_claims_in_fifo_order_and_skips_aborted() {
        let q = WaitQueue::new();
        let (wa, a) = counting();
        let (wb, b) = counting();
        let (cx_a, cx_b) = (Waiter::for_task(&a), Waiter::for_task(&b));
        q.register(&cx_a, 0);
        q.register(&cx_b, 0);
        assert_eq!(q.len(), 2);
        assert_eq!(cx_a.try_abort(), Selected::Aborted);
        q.notify_one();
        assert_eq!(
            wa.0.load(Ordering::SeqCst),
            0,
            "an aborted waiter is skipped"
        );
        assert_eq!(wb.0.load(Ordering::SeqCst), 1);
        assert_eq!(cx_b.selected(), Selected::Operation(0));
        assert_eq!(q.len(), 0);
        assert_eq!(
            cx_b.try_abort(),
            Selected::Operation(0),
            "claimed waiters cannot abort"
        );
    }

    #[test]
    fn notify_many_and_all_wake_the_right_number() {
        let q = WaitQueue::new();
        let wakers: Vec<_> = (0..4).map(|_| counting()).collect();
        let cxs: Vec<_> = wakers.iter().map(|(_, w)| Waiter::for_task(w)).collect();
        for (i, cx) in cxs.iter().enumerate() {
            q.register(cx, i);
        }
        q.notify_many(2);
        let woken = |n: usize| wakers[n].0.0.load(Ordering::SeqCst);
        assert_eq!((woken(0), woken(1), woken(2), woken(3)), (1, 1, 0, 0));
        assert_eq!(
            cxs[1].selected(),
            Selected::Operation(1),
            "claimed with its operation index"
        );
        q.notify_all();
        assert_eq!((woken(2), woken(3)), (1, 1));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn entries_keep_their_order_with_the_first_inline() {
        let (_, k) = counting();
        let cxs: Vec<_> = (0..4).map(|_| Waiter::for_task(&k)).collect();
        let mut entries = Entries::default();
        for (op, cx) in cxs.iter().enumerate() {
            entries.push_back(Entry {
                cx: Arc::clone(cx),
                op,
            });
        }
        assert_eq!(entries.len(), 4);
        entries.retain(|e| e.op != 0 && e.op != 2);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries.pop_front().map(|e| e.op), Some(1));
        entries.push_back(Entry {
            cx: Arc::clone(&cxs[0]),
            op: 5,
        });
        let order: Vec<usize> = std::iter::from_fn(|| entries.pop_front().map(|e| e.op)).collect();
        assert_eq!(order, [3, 5]);
        assert_eq!(entries.len(), 0);
        assert!(entries.first.is_none() && entries.rest.is_empty());
    }

    #[test]
    fn unregister_removes_only_that_waiter() {
        let q = WaitQueue::new();
        let (_, w) = counting();
        let (a, b) = (Waiter::for_task(&w), Waiter::for_task(&w));
        q.register(&a, 0);
        q.register(&b, 0);
        q.register(&a, 1);
        q.unregister(&a);
        assert_eq!(q.len(), 1);
        q.notify_one();
        assert_eq!(b.selected(), Selected::Operation(0));
    }

    /// A queue whose waiters register in a quick burst ends with symmetric
    /// fences, and still delivers wake-ups after the switch.
    #[test]
    fn frequent_registrations_switch_to_symmetric_fences() {
        let queue = WaitQueue::new();
        let waker = Waker::noop();
        for _ in 0..4 * HEAVY_BURST as usize {
            let cx = Waiter::for_task(waker);
            queue.register(&cx, 0);
            queue.unregister(&cx);
        }
        assert!(queue.is_symmetric());
        let cx = Waiter::for_task(waker);
        queue.register(&cx, 0);
        queue.notify_one();
        assert_eq!(queue.len(), 0, "the waiter was claimed");
        assert_eq!(
            cx.try_abort(),
            Selected::Operation(0),
            "a notifier claimed the waiter"
        );
    }
}
