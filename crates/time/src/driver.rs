//! Who turns the wheel: the timer thread, always, and any runtime that
//! helps through a [`Hook`].
//!
//! The process-wide wheel is driven by one background thread, named
//! `nimsync-timer`, started when the first timer is armed. It sleeps until
//! the earliest deadline, fires what is due, and sleeps again; with no timer
//! armed it sleeps until a timer is armed (no periodic wake-ups). It never
//! stands down: whatever the executors of the process are doing, it fires
//! every timer on time.
//!
//! A runtime that parks its own threads can help: it [`attach`]es a hook,
//! calls [`Hook::turn`] before it parks, and parks no later than the
//! deadline `turn` returns. Timers due by then fire on the runtime's own
//! thread (a task woken there runs without a hop through another thread).
//! Helping is opportunistic: the timer thread does not count on it, so a
//! runtime whose threads are all busy, or that stops turning, delays no
//! timer. The timer thread still wakes at each deadline it planned for,
//! finds those timers fired, and plans for the next one.
//!
//! ```
//! use std::time::Duration;
//!
//! let hook = nimsync_time::driver::attach();
//! // A park loop: fire what is due, then sleep until the next deadline.
//! let mut sleep = std::pin::pin!(nimsync_time::sleep(Duration::from_millis(5)));
//! let waker = std::task::Waker::noop();
//! let mut cx = std::task::Context::from_waker(waker);
//! while sleep.as_mut().poll(&mut cx).is_pending() {
//!     match hook.turn() {
//!         Some(deadline) => std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now())),
//!         None => std::thread::yield_now(),
//!     }
//! }
//! # use std::future::Future;
//! ```
//!
//! # The protocol
//! Under the driver's lock, the wheel records the tick the timer thread
//! will wake at (`wake_at`; `NEVER` when it sleeps until it is unparked,
//! or has not started). Invariant: every armed timer is due at or after
//! `wake_at`, or the timer thread was unparked (or asked to start) after the
//! timer was linked. Only the timer thread's own turn raises `wake_at`, to
//! the earliest deadline left; arming a timer earlier than `wake_at` lowers
//! it and unparks the thread. A hook's turn fires timers and never touches
//! `wake_at`, so the thread never sleeps past a deadline on a helper's
//! behalf. The loom models in `loom_tests.rs` check that no timer is left
//! undriven whichever of the two turns first.

use std::fmt;
use std::sync::OnceLock;
use std::time::Instant;

use crate::entry::Entry;
use crate::sync::{Arc, AtomicU64, Mutex, Ordering, Thread};
use crate::wheel::{Clock, Inserted, Key, NEVER, Wheel};

/// The wheel and its timer thread.
pub(crate) struct Driver {
    /// Converts instants to ticks.
    clock: Clock,
    /// The wheel and the timer thread's handle.
    state: Mutex<State>,
    /// A copy of the wheel's next deadline, for [`Hook::is_due`] without the
    /// lock. Written under the lock.
    next: AtomicU64,
    /// Starts the timer thread, which registers itself with
    /// [`Driver::register_thread`].
    start: fn(&Driver),
}

/// Everything under the driver's lock.
struct State {
    /// The wheel; its `wake_at` is the timer thread's planned wake-up.
    wheel: Wheel,
    /// The timer thread, once it started.
    thread: Option<Thread>,
    /// Whether the timer thread was asked to start.
    starting: bool,
}

/// What to do after releasing the lock so a new, earlier deadline is
/// honoured.
enum Notify {
    /// Nothing: the timer thread wakes early enough.
    Nothing,
    /// Unpark the timer thread: it plans again.
    Thread(Thread),
    /// Start the timer thread.
    Start,
}

/// Who turns the wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turner {
    /// The timer thread: it plans its next wake-up from the turn.
    Thread,
    /// A helper (a [`Hook`]): fires what is due, plans nothing.
    Helper,
}

impl State {
    /// A timer earlier than the timer thread's planned wake-up was linked:
    /// chooses how the thread learns of it.
    fn plan(&mut self) -> Notify {
        if let Some(thread) = &self.thread {
            Notify::Thread(thread.clone())
        } else if self.starting {
            // The thread turns the wheel as soon as it runs.
            Notify::Nothing
        } else {
            self.starting = true;
            Notify::Start
        }
    }
}

impl Driver {
    /// A driver with an empty wheel whose tick 0 is `clock`'s base; `start`
    /// starts its timer thread when the first timer is armed.
    pub(crate) fn new(clock: Clock, start: fn(&Driver)) -> Self {
        Self {
            clock,
            state: Mutex::new(State {
                wheel: Wheel::new(0),
                thread: None,
                starting: false,
            }),
            next: AtomicU64::new(NEVER),
            start,
        }
    }

    /// Carries out `notify`. Called without the lock.
    fn run(&self, notify: Notify) {
        match notify {
            Notify::Nothing => {}
            Notify::Thread(thread) => thread.unpark(),
            Notify::Start => (self.start)(self),
        }
    }

    /// Records the calling thread as the timer thread. It must turn the
    /// wheel as [`Turner::Thread`] right after, and again whenever it is
    /// unparked or its planned tick comes.
    #[cfg(any(not(loom), test))]
    pub(crate) fn register_thread(&self, thread: Thread) {
        let mut state = self.state.lock();
        state.thread = Some(thread);
        state.starting = false;
    }

    /// The timer thread could not be started: a later timer tries again.
    #[cfg_attr(loom, allow(dead_code))]
    fn start_failed(&self) {
        let mut state = self.state.lock();
        state.starting = false;
        // The timers armed meanwhile lowered the planned wake-up as if the
        // thread would come; the next timer armed must count as earlier.
        state.wheel.set_wake_at(NEVER);
    }

    /// Arms `entry` to fire at tick `tick`. Returns its key, or `None` when
    /// the tick has passed (the entry is then marked fired).
    pub(crate) fn arm(&self, entry: &Arc<Entry>, tick: u64) -> Option<Key> {
        let (inserted, notify) = {
            let mut state = self.state.lock();
            let inserted = state.wheel.insert(entry, tick);
            self.next.store(state.wheel.next(), Ordering::Relaxed);
            let notify = match inserted {
                Inserted::Linked { earlier: true, .. } => state.plan(),
                _ => Notify::Nothing,
            };
            (inserted, notify)
        };
        self.run(notify);
        match inserted {
            Inserted::Linked { key, .. } => Some(key),
            Inserted::Due => None,
        }
    }

    /// Disarms the timer `key` names, if `entry` is still armed (checked
    /// under the lock, where it is exact: a fired entry's key may be stale).
    pub(crate) fn disarm(&self, entry: &Arc<Entry>, key: Key) {
        let removed = {
            let mut state = self.state.lock();
            if entry.is_armed() {
                state.wheel.remove(key)
            } else {
                None
            }
        };
        // Dropped here, after the lock is released.
        drop(removed);
    }

    /// Moves an armed or fired timer to tick `tick`, keeping its registered
    /// waker. Returns the new key, or `None` when the tick has passed (the
    /// entry is then fired and its task woken).
    pub(crate) fn rearm(&self, entry: &Arc<Entry>, key: Option<Key>, tick: u64) -> Option<Key> {
        let (old, inserted, notify) = {
            let mut state = self.state.lock();
            // Under the lock `is_armed` is exact. A fired entry's key is
            // stale: skip it rather than trust the node's generation, which
            // wraps.
            let old = key
                .filter(|_| entry.is_armed())
                .and_then(|key| state.wheel.remove(key));
            let inserted = state.wheel.insert(entry, tick);
            self.next.store(state.wheel.next(), Ordering::Relaxed);
            let notify = match inserted {
                Inserted::Linked { earlier: true, .. } => state.plan(),
                _ => Notify::Nothing,
            };
            (old, inserted, notify)
        };
        drop(old);
        self.run(notify);
        match inserted {
            Inserted::Linked { key, .. } => Some(key),
            Inserted::Due => {
                entry.wake();
                None
            }
        }
    }

    /// Fires every timer due at tick `now`; returns the next deadline
    /// (tick), or [`NEVER`]. The timer thread's turn also records that it
    /// wakes by then; a helper's turn plans nothing.
    pub(crate) fn turn(&self, now: u64, turner: Turner) -> u64 {
        self.turn_counted(now, turner).0
    }

    /// [`Driver::turn`], also returning how many timers it fired.
    pub(crate) fn turn_counted(&self, now: u64, turner: Turner) -> (u64, usize) {
        let mut fired = Vec::new();
        let next = {
            let mut state = self.state.lock();
            let next = state.wheel.turn(now, &mut fired);
            if turner == Turner::Thread {
                state.wheel.set_wake_at(next);
            }
            self.next.store(next, Ordering::Relaxed);
            next
        };
        for entry in &fired {
            // A waker that panics is a bug of its executor; it must not
            // stop the other timers of the batch, nor kill the thread that
            // turns the wheel for the whole process.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry.wake())).is_err() {
                eprintln!("nimsync-time: a timer's waker panicked; the other timers carry on");
            }
        }
        (next, fired.len())
    }

    /// The number of armed timers, for models.
    #[cfg(all(loom, test))]
    pub(crate) fn armed_for_tests(&self) -> usize {
        self.state.lock().wheel.len()
    }

    /// The tick to insert a timer due at `deadline` at: its first tick, or
    /// tick 0 (due at once) when `deadline` has passed by the clock. The
    /// wheel's own "now" is only as recent as the last turn, so without
    /// this a timer moved into the past stayed pending until the next turn.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        if deadline <= Instant::now() {
            0
        } else {
            self.clock.tick_ceil(deadline)
        }
    }
}

/// The process-wide driver.
fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| Driver::new(Clock::new(Instant::now()), start_timer_thread))
}

/// Starts the process's timer thread.
#[cfg(not(loom))]
fn start_timer_thread(driver: &Driver) {
    if let Err(error) = std::thread::Builder::new()
        .name("nimsync-timer".into())
        .spawn(timer_thread)
    {
        driver.start_failed();
        panic!(
            "nimsync-time could not start its timer thread ({error}); \
             raise the process's thread limit"
        );
    }
}

/// Models start their own timer thread; the process driver is not used
/// under loom.
#[cfg(loom)]
fn start_timer_thread(_: &Driver) {
    unreachable!("the process-wide driver does not run under loom")
}

/// The timer thread's loop.
#[cfg(not(loom))]
fn timer_thread() {
    let driver = driver();
    driver.register_thread(std::thread::current());
    loop {
        let now = driver.clock.tick_floor(Instant::now());
        match driver.turn(now, Turner::Thread) {
            NEVER => std::thread::park(),
            next => {
                let wake = driver.clock.instant(next);
                std::thread::park_timeout(wake.saturating_duration_since(Instant::now()));
            }
        }
    }
}

/// Arms `entry` to fire at `deadline`. Returns its key, or `None` when the
/// deadline already passed (the entry is then marked fired).
pub(crate) fn arm(entry: &Arc<Entry>, deadline: Instant) -> Option<Key> {
    let driver = driver();
    driver.arm(entry, driver.deadline_tick(deadline))
}

/// Disarms the timer `key` names, if `entry` is still armed.
pub(crate) fn disarm(entry: &Arc<Entry>, key: Key) {
    driver().disarm(entry, key);
}

/// Moves an armed or fired timer to `deadline`; see [`Driver::rearm`].
pub(crate) fn rearm(entry: &Arc<Entry>, key: Option<Key>, deadline: Instant) -> Option<Key> {
    let driver = driver();
    driver.rearm(entry, key, driver.deadline_tick(deadline))
}

/// A runtime's handle for helping turn the wheel from its own park loop.
/// See the [module docs](self): the timer thread fires every timer on time
/// whether or not a hook turns.
pub struct Hook {
    /// Keeps the type opaque.
    _private: (),
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook").finish_non_exhaustive()
    }
}

/// Attaches a driver hook, for a runtime that turns the wheel before its
/// threads park. Attaching changes nothing for the timer thread, which
/// keeps firing every timer on time; dropping the hook is free.
///
/// # Examples
/// ```
/// let hook = nimsync_time::driver::attach();
/// assert_eq!(hook.turn(), None); // no timer armed here
/// ```
pub fn attach() -> Hook {
    // Creates the process's clock now rather than at the first timer.
    let _ = driver();
    Hook { _private: () }
}

impl Hook {
    /// Fires every timer that is due, then returns the earliest deadline
    /// still armed (`None` when no timer is armed). A park loop that wants
    /// to fire the next timer itself parks no later than that; it need not:
    /// the timer thread fires it on time either way.
    ///
    /// # Examples
    /// ```
    /// let hook = nimsync_time::driver::attach();
    /// let _sleep = nimsync_time::sleep(std::time::Duration::from_secs(60));
    /// // Not armed until first polled: nothing is due, nothing pending.
    /// assert_eq!(hook.turn(), None);
    /// ```
    pub fn turn(&self) -> Option<Instant> {
        let driver = driver();
        let now = driver.clock.tick_floor(Instant::now());
        match driver.turn(now, Turner::Helper) {
            NEVER => None,
            next => Some(driver.clock.instant(next)),
        }
    }

    /// Whether a timer may be due now: a cheap check (one atomic load and a
    /// clock read) for loops that turn the wheel only when needed. It may
    /// say yes for a timer the timer thread is firing at that moment.
    ///
    /// # Examples
    /// ```
    /// let hook = nimsync_time::driver::attach();
    /// if hook.is_due() {
    ///     hook.turn();
    /// }
    /// ```
    pub fn is_due(&self) -> bool {
        let driver = driver();
        let next = driver.next.load(Ordering::Relaxed);
        next != NEVER && next <= driver.clock.tick_floor(Instant::now())
    }
}
