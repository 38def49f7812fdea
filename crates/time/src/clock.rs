//! [`Clock`]: the time source that code with timing rules (backoff,
//! restart windows, rate limits) takes, so that its tests drive time by
//! hand ([`ManualClock`]) instead of waiting on the wall clock.
//!
//! The process-wide timer wheel always runs on the system clock; a manual
//! clock keeps its own list of sleepers and wakes them from
//! [`ManualClock::advance`], on the caller's thread. Nothing global is
//! paused: two tests with two manual clocks, and the rest of the process on
//! real time, do not see each other.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sleep::{Sleep, sleep_until};
use crate::sync::Mutex;

/// A source of the current time and of sleeps: the system clock or a
/// [`ManualClock`].
///
/// Cloning is cheap; clones of a manual clock share its time.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_time::Clock;
///
/// let clock = Clock::system();
/// let start = clock.now();
/// futures_lite::future::block_on(clock.sleep(Duration::from_millis(2)));
/// assert!(clock.now() - start >= Duration::from_millis(2));
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    /// `None` for the system clock.
    manual: Option<Arc<Manual>>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::System"),
            Some(m) => f
                .debug_tuple("Clock::Manual")
                .field(&m.state.lock().now)
                .finish(),
        }
    }
}

impl Clock {
    /// The system clock: [`Instant::now`] and the timer wheel's sleeps.
    ///
    /// # Examples
    /// ```
    /// assert!(!nimsync_time::Clock::system().is_manual());
    /// ```
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// Whether this clock is a [`ManualClock`]'s.
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_time::ManualClock::new().clock().is_manual());
    /// ```
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current time on this clock.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let manual = nimsync_time::ManualClock::new();
    /// let clock = manual.clock();
    /// let t0 = clock.now();
    /// manual.advance(Duration::from_secs(5));
    /// assert_eq!(clock.now() - t0, Duration::from_secs(5));
    /// ```
    pub fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(m) => m.state.lock().now,
        }
    }

    /// A future that completes once this clock reaches `now() + duration`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = nimsync_time::Clock::system();
    /// futures_lite::future::block_on(clock.sleep(Duration::from_millis(1)));
    /// ```
    pub fn sleep(&self, duration: Duration) -> ClockSleep {
        let now = self.now();
        let deadline = now.checked_add(duration).unwrap_or_else(|| far_future(now));
        self.sleep_until(deadline)
    }

    /// A future that completes once this clock reaches `deadline`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let manual = nimsync_time::ManualClock::new();
    /// let clock = manual.clock();
    /// let mut sleep = std::pin::pin!(clock.sleep_until(clock.now() + Duration::from_secs(1)));
    /// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut sleep)).is_none());
    /// manual.advance(Duration::from_secs(1));
    /// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut sleep)).is_some());
    /// ```
    pub fn sleep_until(&self, deadline: Instant) -> ClockSleep {
        match &self.manual {
            None => ClockSleep {
                inner: SleepKind::System(sleep_until(deadline)),
            },
            Some(m) => ClockSleep {
                inner: SleepKind::Manual {
                    clock: Arc::clone(m),
                    deadline,
                    key: None,
                },
            },
        }
    }
}

/// A point far enough past `now` to stand for "never".
fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}

/// A clock that moves only when [`advance`](ManualClock::advance)d, for
/// tests of timing rules that must not depend on the wall clock.
///
/// It starts at the [`Instant`] it was created at. Sleeps on its
/// [`clock`](ManualClock::clock) complete when an `advance` reaches their
/// deadline; the wakers run on the thread that calls `advance`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_time::ManualClock;
///
/// let manual = ManualClock::new();
/// let clock = manual.clock();
/// let waiter = std::thread::spawn(move || {
///     futures_lite::future::block_on(clock.sleep(Duration::from_secs(3600)));
/// });
/// // Wait until the sleep is registered, then let an hour pass at once.
/// while manual.sleepers() == 0 {
///     std::thread::yield_now();
/// }
/// manual.advance(Duration::from_secs(3600));
/// waiter.join().unwrap();
/// ```
#[derive(Clone)]
pub struct ManualClock {
    shared: Arc<Manual>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("ManualClock")
            .field("now", &state.now)
            .field("sleepers", &state.sleepers.len())
            .finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared state of a manual clock.
struct Manual {
    state: Mutex<ManualState>,
}

struct ManualState {
    now: Instant,
    /// Registered sleeps by (deadline, key).
    sleepers: BTreeMap<(Instant, u64), Waker>,
    /// The key the next registered sleep gets.
    next_key: u64,
}

impl ManualClock {
    /// A manual clock standing at the current instant.
    ///
    /// # Examples
    /// ```
    /// let manual = nimsync_time::ManualClock::new();
    /// assert_eq!(manual.sleepers(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Manual {
                state: Mutex::new(ManualState {
                    now: Instant::now(),
                    sleepers: BTreeMap::new(),
                    next_key: 0,
                }),
            }),
        }
    }

    /// The [`Clock`] to hand to the code under test.
    ///
    /// # Examples
    /// ```
    /// let manual = nimsync_time::ManualClock::new();
    /// assert_eq!(manual.clock().now(), manual.now());
    /// ```
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(Arc::clone(&self.shared)),
        }
    }

    /// This clock's current time.
    ///
    /// # Examples
    /// ```
    /// let manual = nimsync_time::ManualClock::new();
    /// let t0 = manual.now();
    /// manual.advance(std::time::Duration::from_millis(7));
    /// assert_eq!(manual.now() - t0, std::time::Duration::from_millis(7));
    /// ```
    pub fn now(&self) -> Instant {
        self.shared.state.lock().now
    }

    /// Moves the clock forward by `by` and wakes every sleep whose deadline
    /// it reached, in deadline order.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let manual = nimsync_time::ManualClock::new();
    /// let clock = manual.clock();
    /// let sleep = clock.sleep(Duration::from_millis(10));
    /// manual.advance(Duration::from_millis(10));
    /// futures_lite::future::block_on(sleep); // completes without waiting
    /// ```
    pub fn advance(&self, by: Duration) {
        let wakers = {
            let mut state = self.shared.state.lock();
            state.now += by;
            let now = state.now;
            let later = state.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut state.sleepers, later)
        };
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    /// Advances the clock to the earliest registered sleep's deadline (if
    /// it is ahead) and wakes the sleeps due then. Returns that deadline,
    /// or `None` with no sleep registered.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let manual = nimsync_time::ManualClock::new();
    /// let clock = manual.clock();
    /// let t0 = manual.now();
    /// let mut sleep = std::pin::pin!(clock.sleep(Duration::from_secs(9)));
    /// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut sleep)).is_none());
    /// assert_eq!(manual.advance_to_next(), Some(t0 + Duration::from_secs(9)));
    /// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut sleep)).is_some());
    /// ```
    pub fn advance_to_next(&self) -> Option<Instant> {
        let (now, next) = {
            let state = self.shared.state.lock();
            (state.now, state.sleepers.keys().next().map(|&(at, _)| at)?)
        };
        self.advance(next.saturating_duration_since(now));
        Some(next)
    }

    /// The number of sleeps waiting on this clock (polled, not yet due,
    /// not dropped). Tests wait for it to reach the count they expect
    /// before they advance.
    ///
    /// # Examples
    /// ```
    /// let manual = nimsync_time::ManualClock::new();
    /// assert_eq!(manual.sleepers(), 0);
    /// ```
    pub fn sleepers(&self) -> usize {
        self.shared.state.lock().sleepers.len()
    }

    /// The earliest deadline among the waiting sleeps.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_time::ManualClock::new().next_deadline(), None);
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.shared
            .state
            .lock()
            .sleepers
            .keys()
            .next()
            .map(|&(at, _)| at)
    }
}

/// The future of [`Clock::sleep`] and [`Clock::sleep_until`].
#[must_use = "a sleep does nothing unless awaited"]
pub struct ClockSleep {
    inner: SleepKind,
}

enum SleepKind {
    System(Sleep),
    Manual {
        clock: Arc<Manual>,
        deadline: Instant,
        /// The key under which the waker is registered, once polled.
        key: Option<u64>,
    },
}

impl fmt::Debug for ClockSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            SleepKind::System(s) => f.debug_tuple("ClockSleep::System").field(s).finish(),
            SleepKind::Manual { deadline, .. } => f
                .debug_struct("ClockSleep::Manual")
                .field("deadline", deadline)
                .finish(),
        }
    }
}

impl ClockSleep {
    /// When the sleep completes.
    ///
    /// # Examples
    /// ```
    /// let clock = nimsync_time::Clock::system();
    /// let at = clock.now() + std::time::Duration::from_secs(1);
    /// assert_eq!(clock.sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        match &self.inner {
            SleepKind::System(s) => s.deadline(),
            SleepKind::Manual { deadline, .. } => *deadline,
        }
    }
}

impl Future for ClockSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().inner {
            SleepKind::System(s) => Pin::new(s).poll(cx),
            SleepKind::Manual {
                clock,
                deadline,
                key,
            } => {
                let mut state = clock.state.lock();
                if state.now >= *deadline {
                    if let Some(k) = key.take() {
                        state.sleepers.remove(&(*deadline, k));
                    }
                    return Poll::Ready(());
                }
                let k = *key.get_or_insert_with(|| {
                    state.next_key += 1;
                    state.next_key
                });
                match state.sleepers.get_mut(&(*deadline, k)) {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    Some(w) => w.clone_from(cx.waker()),
                    None => {
                        state.sleepers.insert((*deadline, k), cx.waker().clone());
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for ClockSleep {
    fn drop(&mut self) {
        if let SleepKind::Manual {
            clock,
            deadline,
            key: Some(k),
        } = &self.inner
        {
            clock.state.lock().sleepers.remove(&(*deadline, *k));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    #[test]
    fn a_dropped_sleep_leaves_the_list() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let mut a = Box::pin(clock.sleep(Duration::from_secs(1)));
        let mut b = Box::pin(clock.sleep(Duration::from_secs(2)));
        assert!(block_on(poll_once(&mut a)).is_none());
        assert!(block_on(poll_once(&mut b)).is_none());
        assert_eq!(manual.sleepers(), 2);
        drop(a);
        assert_eq!(manual.sleepers(), 1);
        assert_eq!(manual.next_deadline(), Some(b.deadline()));
        manual.advance(Duration::from_millis(1999));
        assert!(block_on(poll_once(&mut b)).is_none());
        manual.advance(Duration::from_millis(1));
        assert!(block_on(poll_once(&mut b)).is_some());
        assert_eq!(manual.sleepers(), 0);
    }

    #[test]
    fn advance_wakes_in_deadline_order_and_only_the_due() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for (i, secs) in [(0, 3u64), (1, 1), (2, 2), (3, 10)] {
            let clock = clock.clone();
            let order = Arc::clone(&order);
            handles.push(std::thread::spawn(move || {
                block_on(clock.sleep(Duration::from_secs(secs)));
                order.lock().unwrap().push(i);
            }));
        }
        while manual.sleepers() < 4 {
            std::thread::yield_now();
        }
        manual.advance(Duration::from_secs(3));
        for h in handles.drain(..3) {
            h.join().unwrap();
        }
        let mut seen = order.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2]);
        assert_eq!(manual.sleepers(), 1);
        manual.advance_to_next();
        handles.pop().unwrap().join().unwrap();
        assert_eq!(order.lock().unwrap().len(), 4);
    }

    #[test]
    fn a_huge_sleep_saturates() {
        let manual = ManualClock::new();
        let sleep = manual.clock().sleep(Duration::MAX);
        assert!(sleep.deadline() > manual.now());
    }
}
