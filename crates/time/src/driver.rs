//! Who turns the wheel: a lazily started timer thread, or a runtime that
//! attached a [`Hook`].
//!
//! By default the process-wide wheel is driven by one background thread,
//! named `nimsync-timer`, started when the first timer is armed. It sleeps
//! until the earliest deadline, fires what is due, and sleeps again; with no
//! timer armed it sleeps until a timer is armed (no periodic wake-ups).
//!
//! A runtime that parks its own threads can drive the wheel instead, saving
//! the hop through the timer thread: it [`attach`]es a hook, calls
//! [`Hook::turn`] before each park, parks no later than the deadline `turn`
//! returns, and wakes when the hook's `unpark` callback runs (it runs when a
//! timer earlier than that deadline is armed). While any hook is attached
//! the timer thread stands down; when the last one is dropped it takes over
//! again.
//!
//! ```
//! use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
//! use std::time::Duration;
//!
//! let unparks = Arc::new(AtomicUsize::new(0));
//! let counter = Arc::clone(&unparks);
//! let hook = nimsync_time::driver::attach(move || {
//!     counter.fetch_add(1, Ordering::Relaxed);
//! });
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
//! // Arming a timer earlier than the planned wake-up called `unpark`.
//! assert!(unparks.load(Ordering::Relaxed) >= 1);
//! # use std::future::Future;
//! ```

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::thread::Thread;
use std::time::Instant;

use crate::sync::{self, Arc, Mutex, Ordering};
use crate::wheel::{Clock, Entry, Inserted, Key, NEVER, Wheel};

/// A callback that wakes whoever drives the wheel.
type Unpark = std::sync::Arc<dyn Fn() + Send + Sync>;

/// The process-wide wheel and its drivers.
struct Driver {
    /// Converts instants to ticks.
    clock: Clock,
    /// The wheel and who drives it.
    state: Mutex<State>,
    /// A copy of the wheel's next deadline, for [`Hook::is_due`] without the
    /// lock. Written under the lock.
    next: AtomicU64,
}

/// Everything under the driver's lock.
struct State {
    /// The wheel.
    wheel: Wheel,
    /// The attached hooks.
    hooks: Vec<(u64, Unpark)>,
    /// The id of the next hook.
    next_hook: u64,
    /// The timer thread, once it started.
    thread: Option<Thread>,
    /// Whether the timer thread was asked to start.
    starting: bool,
}

/// What to do after releasing the lock so the new deadline is honoured.
enum Notify {
    /// Nothing: the driver wakes early enough.
    Nothing,
    /// Unpark the timer thread.
    Thread(Thread),
    /// Start the timer thread.
    Start,
    /// Call these hooks.
    Hooks(Vec<Unpark>),
}

impl State {
    /// Chooses who must wake up to see an earlier deadline.
    fn plan(&mut self) -> Notify {
        if !self.hooks.is_empty() {
            Notify::Hooks(
                self.hooks
                    .iter()
                    .map(|(_, f)| std::sync::Arc::clone(f))
                    .collect(),
            )
        } else if let Some(thread) = &self.thread {
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

impl Notify {
    /// Carries out the plan. Called without the lock.
    fn run(self) {
        match self {
            Notify::Nothing => {}
            Notify::Thread(thread) => thread.unpark(),
            Notify::Start => {
                if let Err(error) = std::thread::Builder::new()
                    .name("nimsync-timer".into())
                    .spawn(timer_thread)
                {
                    // Let a later timer try again.
                    sync::lock(&driver().state).starting = false;
                    panic!(
                        "nimsync-time could not start its timer thread ({error}); \
                         attach a driver hook (nimsync_time::driver::attach) or \
                         raise the process's thread limit"
                    );
                }
            }
            Notify::Hooks(hooks) => hooks.iter().for_each(|f| f()),
        }
    }
}

/// The process-wide driver.
fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let clock = Clock::new(Instant::now());
        Driver {
            clock,
            state: Mutex::new(State {
                wheel: Wheel::new(0),
                hooks: Vec::new(),
                next_hook: 0,
                thread: None,
                starting: false,
            }),
            next: AtomicU64::new(NEVER),
        }
    })
}

/// Arms `entry` to fire at `deadline`. Returns its key, or `None` when the
/// deadline already passed (the entry is then marked fired).
pub(crate) fn arm(entry: &Arc<Entry>, deadline: Instant) -> Option<Key> {
    let driver = driver();
    let tick = deadline_tick(driver, deadline);
    let (inserted, notify) = {
        let mut state = sync::lock(&driver.state);
        let inserted = state.wheel.insert(entry, tick);
        driver.next.store(state.wheel.next(), Ordering::Relaxed);
        let notify = match inserted {
            Inserted::Linked { earlier: true, .. } => state.plan(),
            _ => Notify::Nothing,
        };
        (inserted, notify)
    };
    notify.run();
    match inserted {
        Inserted::Linked { key, .. } => Some(key),
        Inserted::Due => None,
    }
}

/// Disarms the timer `key` names, if `entry` is still armed (checked under
/// the lock, where it is exact: a fired entry's key may be stale).
pub(crate) fn disarm(entry: &Arc<Entry>, key: Key) {
    let removed = {
        let mut state = sync::lock(&driver().state);
        if entry.is_armed() {
            state.wheel.remove(key)
        } else {
            None
        }
    };
    // Dropped here, after the lock is released.
    drop(removed);
}

/// Moves an armed or fired timer to `deadline`, keeping its registered
/// waker. Returns the new key, or `None` when the new deadline already
/// passed (the entry is then fired and its task woken).
pub(crate) fn rearm(entry: &Arc<Entry>, key: Option<Key>, deadline: Instant) -> Option<Key> {
    let driver = driver();
    let tick = deadline_tick(driver, deadline);
    let (old, inserted, notify) = {
        let mut state = sync::lock(&driver.state);
        // Under the lock `is_armed` is exact. A fired entry's key is stale:
        // skip it rather than trust the node's generation, which wraps.
        let old = key
            .filter(|_| entry.is_armed())
            .and_then(|key| state.wheel.remove(key));
        let inserted = state.wheel.insert(entry, tick);
        driver.next.store(state.wheel.next(), Ordering::Relaxed);
        let notify = match inserted {
            Inserted::Linked { earlier: true, .. } => state.plan(),
            _ => Notify::Nothing,
        };
        (old, inserted, notify)
    };
    drop(old);
    notify.run();
    match inserted {
        Inserted::Linked { key, .. } => Some(key),
        Inserted::Due => {
            entry.wake();
            None
        }
    }
}

/// The tick to insert a timer due at `deadline` at: its first tick, or tick
/// 0 (due at once) when `deadline` has passed by the clock. The wheel's own
/// "now" is only as recent as the last turn, so without this a timer moved
/// into the past stayed pending until the driver's next turn.
fn deadline_tick(driver: &Driver, deadline: Instant) -> u64 {
    if deadline <= Instant::now() {
        0
    } else {
        driver.clock.tick_ceil(deadline)
    }
}

/// Fires every due timer; returns the next deadline (tick) and records that
/// the caller wakes by then.
fn turn(driver: &Driver, now: Instant) -> u64 {
    let mut fired = Vec::new();
    let next = {
        let mut state = sync::lock(&driver.state);
        let next = state.wheel.turn(driver.clock.tick_floor(now), &mut fired);
        state.wheel.set_wake_at(next);
        driver.next.store(next, Ordering::Relaxed);
        next
    };
    for entry in &fired {
        // A waker that panics is a bug of its executor; it must not stop
        // the other timers of the batch, nor kill the thread that turns the
        // wheel for the whole process.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry.wake())).is_err() {
            eprintln!("nimsync-time: a timer's waker panicked; the other timers carry on");
        }
    }
    next
}

/// The timer thread's loop.
fn timer_thread() {
    let driver = driver();
    sync::lock(&driver.state).thread = Some(std::thread::current());
    loop {
        let now = Instant::now();
        let stand_down = !sync::lock(&driver.state).hooks.is_empty();
        if stand_down {
            std::thread::park();
            continue;
        }
        match turn(driver, now) {
            NEVER => std::thread::park(),
            next => {
                let wake = driver.clock.instant(next);
                std::thread::park_timeout(wake.saturating_duration_since(Instant::now()));
            }
        }
    }
}

/// A runtime's handle on the wheel: while it lives, the runtime drives the
/// timers instead of the timer thread. See the [module docs](self).
pub struct Hook {
    /// Identifies the hook's unpark callback.
    id: u64,
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook").field("id", &self.id).finish()
    }
}

/// Attaches a driver hook. `unpark` is called (from whichever thread arms a
/// timer) when a timer is armed earlier than the deadline the last
/// [`Hook::turn`] returned; it must wake the thread that parks on the hook,
/// and must not arm timers itself.
///
/// # Examples
/// ```
/// let hook = nimsync_time::driver::attach(|| {});
/// assert_eq!(hook.turn(), None); // no timer armed here
/// ```
pub fn attach(unpark: impl Fn() + Send + Sync + 'static) -> Hook {
    let driver = driver();
    let mut state = sync::lock(&driver.state);
    let id = state.next_hook;
    state.next_hook += 1;
    state.hooks.push((id, std::sync::Arc::new(unpark)));
    // The new driver learns the deadlines at its first turn; until then any
    // new timer must reach it.
    state.wheel.set_wake_at(NEVER);
    Hook { id }
}

impl Hook {
    /// Fires every timer that is due, then returns the earliest deadline
    /// still armed (`None` when no timer is armed). The caller must wake by
    /// then, or when `unpark` is called, and turn again.
    ///
    /// # Examples
    /// ```
    /// let hook = nimsync_time::driver::attach(|| {});
    /// let _sleep = nimsync_time::sleep(std::time::Duration::from_secs(60));
    /// // Not armed until first polled: nothing is due, nothing pending.
    /// assert_eq!(hook.turn(), None);
    /// ```
    pub fn turn(&self) -> Option<Instant> {
        let driver = driver();
        match turn(driver, Instant::now()) {
            NEVER => None,
            next => Some(driver.clock.instant(next)),
        }
    }

    /// Whether a timer may be due now: a cheap check (one atomic load and a
    /// clock read) for busy loops that turn the wheel only when needed.
    ///
    /// # Examples
    /// ```
    /// let hook = nimsync_time::driver::attach(|| {});
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

impl Drop for Hook {
    fn drop(&mut self) {
        let driver = driver();
        let (notify, removed) = {
            let mut state = sync::lock(&driver.state);
            let at = state.hooks.iter().position(|(id, _)| *id == self.id);
            // The callback is the caller's code: drop it after the lock.
            let removed = at.map(|at| state.hooks.swap_remove(at));
            // Whoever drives next must learn the current deadlines: the
            // wake-up this hook's runtime planned no longer stands, so the
            // next timer armed must count as earlier than any plan. (Left
            // in place with no timer thread yet, it hid every later timer:
            // the thread was never started and those timers never fired.)
            state.wheel.set_wake_at(NEVER);
            let notify =
                if state.wheel.len() == 0 && state.hooks.is_empty() && state.thread.is_none() {
                    Notify::Nothing
                } else {
                    state.plan()
                };
            (notify, removed)
        };
        drop(removed);
        notify.run();
    }
}
