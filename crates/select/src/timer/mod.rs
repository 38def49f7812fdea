//! Timer operations: [`after`], [`at`], [`tick`] and [`never()`].
//!
//! They join a select as receives. A select parks until the earliest timer
//! deadline (or a channel) wakes it; an async select arms one
//! `nimsync-time` sleep at that deadline, so timer arms work under any
//! executor.
//!
//! A timer holds its own state, and a select borrows it: an [`After`]'s
//! one message is claimed by swapping its `taken` flag, a tick by a
//! compare-and-swap of its ticker's next deadline. Whoever makes the
//! claim, a select or the timer's own receive (`recv.rs`, and `future.rs`
//! for async code), the message is delivered once.

use core::marker::PhantomData;
use std::fmt;
use std::time::{Duration, Instant};

use crate::sync::{AtomicBool, AtomicU64, Ordering};

mod future;
mod recv;

pub use future::{RecvFuture, TickStream};

/// An instant so far ahead it never comes (about a century), for
/// durations too long to add to the clock.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 100)
}

/// A receive that becomes ready once, at a deadline; see [`after`].
///
/// Receiving from it yields the deadline, once: after its message is taken
/// (by a select or by the timer's own receive) it is never ready again, as
/// crossbeam's `after` channel. A select borrows it, so the select and any
/// other user of the same `After` share the one message.
///
/// It is a receiver on its own too (`try_recv`, `recv`, `recv_timeout`,
/// `recv_deadline`, `recv_async`).
///
/// It is neither `Copy` nor `Clone` (crossbeam's receiver is `Clone`, and
/// its clones share the message through an allocation): share an `After`
/// by reference (it is `Sync`) or in an `Arc`. A copy with a flag of its
/// own would deliver the message a second time.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use nimsync_select::{Select, after};
///
/// let timer = after(Duration::from_millis(1));
/// let mut sel = Select::new();
/// sel.recv(&timer);
/// let due = sel.select().recv(&timer).unwrap();
/// assert_eq!(due, timer.deadline());
/// assert!(Instant::now() >= due);
/// ```
pub struct After {
    /// When it becomes ready.
    deadline: Instant,
    /// Whether its message was taken.
    taken: AtomicBool,
}

impl fmt::Debug for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("After")
            .field("deadline", &self.deadline)
            .field("taken", &self.is_taken())
            .finish()
    }
}

impl After {
    /// A timer that becomes ready at `deadline`.
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            taken: AtomicBool::new(false),
        }
    }

    /// When the timer becomes ready.
    ///
    /// # Examples
    /// ```
    /// let deadline = std::time::Instant::now();
    /// assert_eq!(nimsync_select::at(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the message was taken.
    pub(crate) fn is_taken(&self) -> bool {
        self.taken.load(Ordering::Acquire)
    }

    /// True if the message is there to take at `now`.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        now >= self.deadline && !self.is_taken()
    }

    /// When the message becomes ready, unless it was taken.
    pub(crate) fn pending_deadline(&self) -> Option<Instant> {
        (!self.is_taken()).then_some(self.deadline)
    }

    /// Takes the message if it is there at `now`, and returns the
    /// deadline. The swap makes the claim exclusive: of every select,
    /// receive and future racing for it, one gets it.
    pub(crate) fn take(&self, now: Instant) -> Option<Instant> {
        (self.is_due(now) && !self.taken.swap(true, Ordering::AcqRel)).then_some(self.deadline)
    }
}

/// A receive that becomes ready `duration` from now, as in crossbeam's
/// `after`: the usual way to put a timeout on one arm of a select.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{after, select};
///
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let timed_out = select! {
///     recv(rx) -> _msg => false,
///     recv(after(Duration::from_millis(5))) -> _at => true,
/// };
/// assert!(timed_out);
/// ```
pub fn after(duration: Duration) -> After {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    After::new(deadline)
}

/// A receive that becomes ready at `deadline`.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use nimsync_select::Select;
///
/// let deadline = Instant::now() + Duration::from_millis(2);
/// let timer = nimsync_select::at(deadline);
/// let mut sel = Select::new();
/// sel.recv(&timer);
/// assert_eq!(sel.select().recv(&timer), Ok(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn at(deadline: Instant) -> After {
    After::new(deadline)
}

/// A receive that becomes ready every `period`, as in crossbeam's `tick`;
/// see [`tick`].
///
/// Create it once and select on it in a loop, or receive from it on its
/// own (`recv`, `recv_async`, `stream`; see docs/select.md, "Timers
/// outside a select"). Receiving yields the instant the tick was due. Ticks a slow receiver missed are not queued: the next
/// one is due a period after the late receive, so a select never sees a
/// burst of stale ticks. It may be shared between threads; each tick is
/// received once.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{Select, tick};
///
/// let ticker = tick(Duration::from_millis(1));
/// for _ in 0..2 {
///     let mut sel = Select::new();
///     sel.recv(&ticker);
///     let due = sel.select().recv(&ticker).unwrap();
///     assert!(ticker.next_deadline() > due);
/// }
/// ```
pub struct Tick {
    /// The clock origin of `next`.
    start: Instant,
    /// The period in nanoseconds (at least 1).
    period: u64,
    /// When the next tick is due, in nanoseconds after `start`.
    next: AtomicU64,
}

impl fmt::Debug for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick")
            .field("period", &Duration::from_nanos(self.period))
            .field("next", &self.next_deadline())
            .finish()
    }
}

/// A receive that becomes ready every `period`, first at one period from
/// now.
///
/// # Panics
/// If `period` is zero: the ticker would always be ready.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{select, tick};
///
/// let ticker = tick(Duration::from_millis(1));
/// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut ticks = 0;
/// while ticks < 3 {
///     select! {
///         recv(rx) -> _msg => unreachable!(),
///         recv(ticker) -> _at => ticks += 1,
///     }
/// }
/// ```
pub fn tick(period: Duration) -> Tick {
    assert!(
        !period.is_zero(),
        "nimsync_select::tick: the period must be longer than zero; use a short period such as \
         1 ms for a fast ticker"
    );
    let period = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
    Tick {
        start: Instant::now(),
        period,
        next: AtomicU64::new(period),
    }
}

/// A ticker whose first tick is due at once, for the loom models (which
/// cannot wait for the clock).
#[cfg(all(test, loom))]
pub(crate) fn tick_due_now(period: Duration) -> Tick {
    let ticker = tick(period);
    ticker.next.store(0, Ordering::Release);
    ticker
}

impl Tick {
    /// When the next tick is due.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let ticker = nimsync_select::tick(Duration::from_secs(1));
    /// assert!(ticker.next_deadline() > Instant::now());
    /// ```
    pub fn next_deadline(&self) -> Instant {
        self.instant(self.next.load(Ordering::Acquire))
    }

    /// The period between ticks.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let ticker = nimsync_select::tick(Duration::from_millis(3));
    /// assert_eq!(ticker.period(), Duration::from_millis(3));
    /// ```
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// `start + nanos`, saturating far in the future.
    fn instant(&self, nanos: u64) -> Instant {
        self.start
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or_else(far_future)
    }

    /// Nanoseconds from `start` to `now`.
    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    /// True if a tick is due at `now`.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.nanos(now) >= self.next.load(Ordering::Acquire)
    }

    /// Takes the due tick, if there is one, and returns when it was due.
    /// The next is due a period after the later of this one and `now`.
    pub(crate) fn take(&self, now: Instant) -> Option<Instant> {
        self.claim(now, &mut None).ok()
    }

    /// Takes the due tick, or returns when the next one is due.
    ///
    /// `awaited` is the receiver's memory of the tick it waited for: set
    /// here when the next tick is not due yet. A receiver that was waiting
    /// before that tick was due and takes it less than a period late was
    /// in time, and the tick after is due a period after this one (so a
    /// loop of receives does not drift by its wake-up latency, as with
    /// crossbeam's `recv`, which claims the tick before it sleeps). Any
    /// other receive (a select, `try_recv`, a late wake-up) is late: the
    /// next tick is due a period after the later of this one and `now`, and
    /// the missed ticks are dropped. The compare-and-swap makes each claim
    /// exclusive.
    pub(crate) fn claim(
        &self,
        now: Instant,
        awaited: &mut Option<u64>,
    ) -> Result<Instant, Instant> {
        let now_ns = self.nanos(now);
        let mut due = self.next.load(Ordering::Acquire);
        loop {
            if now_ns < due {
                *awaited = Some(due);
                return Err(self.instant(due));
            }
            let in_time = *awaited == Some(due) && now_ns - due < self.period;
            let next = if in_time { due } else { now_ns }.saturating_add(self.period);
            match self
                .next
                .compare_exchange_weak(due, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    *awaited = None;
                    return Ok(self.instant(due));
                }
                Err(current) => due = current,
            }
        }
    }
}

/// A receive that is never ready; see [`never()`].
///
/// Its type parameter is the message type the arm pretends to carry, so a
/// `never` can stand in for a channel of `T`. On its own, `try_recv` is
/// always `Empty`, `recv` blocks forever and `recv_timeout` times out.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{Never, Select, never};
///
/// let off: Never<u32> = never();
/// let mut sel = Select::new();
/// sel.recv(off);
/// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
/// ```
pub struct Never<T = Instant> {
    /// The pretend message type.
    marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Never<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Never")
    }
}

impl<T> Clone for Never<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Never<T> {}

/// A receive that is never ready, as in crossbeam's `never`: an arm that
/// never fires. To switch a channel arm off at run time, pass an `Option`
/// of the endpoint instead: `None` never fires.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_select::{never, select};
///
/// let chosen = select! {
///     recv(never::<u32>()) -> _ => "never",
///     default(Duration::from_millis(1)) => "timeout",
/// };
/// assert_eq!(chosen, "timeout");
/// ```
pub fn never<T>() -> Never<T> {
    Never {
        marker: PhantomData,
    }
}
