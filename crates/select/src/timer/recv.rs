//! Timers as receivers on their own, outside a select: `try_recv`, `recv`,
//! `recv_timeout`, `recv_deadline` and the channel queries (`len`,
//! `is_empty`, `is_full`, `capacity`) of crossbeam's timer channels.
//!
//! They make the same claims as a select (see the module above), so a
//! message taken here is not delivered to a select too. A blocking receive
//! sleeps the thread until the timer is due (or its own deadline passes)
//! and never returns before it; the errors are nimsync-channel's, whose
//! `Closed` variants a timer never returns, as it never closes.

use std::thread;
use std::time::{Duration, Instant};

use nimsync_channel::{RecvError, RecvTimeoutError, TryRecvError};

use super::{After, Never, Tick};

/// `timeout` from now; `None` (no deadline) when that is past the clock's
/// range.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Sleeps the thread until `deadline`, or forever without one.
fn sleep_until(deadline: Option<Instant>) {
    loop {
        match deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return;
                }
                thread::sleep(deadline - now);
            }
            // A park may return spuriously (or to a stale unpark): park
            // again.
            None => thread::park(),
        }
    }
}

/// The receive a blocking `recv` makes: `recv_until(None)` returns only
/// with the message.
fn expect_message(res: Result<Instant, RecvTimeoutError>) -> Result<Instant, RecvError> {
    match res {
        Ok(at) => Ok(at),
        Err(_) => unreachable!("a timer receive without a deadline returns only its message"),
    }
}

impl After {
    /// Takes the message if the timer is due and nobody took it yet.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] before the deadline and once the message
    /// was taken (here, by a select or by another receive), as crossbeam's
    /// `after` channel; never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use nimsync_channel::TryRecvError;
    ///
    /// let later = nimsync_select::after(Duration::from_secs(60));
    /// assert_eq!(later.try_recv(), Err(TryRecvError::Empty));
    ///
    /// let due = nimsync_select::at(Instant::now());
    /// assert_eq!(due.try_recv(), Ok(due.deadline()));
    /// assert_eq!(due.try_recv(), Err(TryRecvError::Empty)); // taken
    /// ```
    pub fn try_recv(&self) -> Result<Instant, TryRecvError> {
        self.take(Instant::now()).ok_or(TryRecvError::Empty)
    }

    /// Waits for the deadline and takes the message; returns the deadline.
    ///
    /// Once the message is taken (here, by a select or by another
    /// receive), this blocks the thread forever, as crossbeam's `recv` on
    /// an `after` channel does: use [`recv_timeout`](After::recv_timeout)
    /// where that may happen.
    ///
    /// # Errors
    /// Never: a timer never closes. The `Result` is the one every receiver
    /// returns, so code written for a channel receives from a timer too.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let timer = nimsync_select::after(Duration::from_millis(2));
    /// let due = timer.recv().unwrap();
    /// assert_eq!(due, timer.deadline());
    /// assert!(Instant::now() >= start + Duration::from_millis(2));
    /// ```
    pub fn recv(&self) -> Result<Instant, RecvError> {
        expect_message(self.recv_until(None))
    }

    /// Waits at most `timeout` for the message.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when the timer is not due within
    /// `timeout`, or its message was taken (it then returns after
    /// `timeout`, as crossbeam's does); never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::RecvTimeoutError;
    ///
    /// let timer = nimsync_select::after(Duration::from_millis(1));
    /// let short = Duration::from_micros(1);
    /// assert!(timer.recv_timeout(Duration::from_secs(10)).is_ok());
    /// assert_eq!(timer.recv_timeout(short), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Instant, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Waits until `deadline` at most for the message. A timer due exactly
    /// at `deadline` delivers.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when the timer is due after
    /// `deadline`, or its message was taken (it then returns at
    /// `deadline`); never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use nimsync_channel::RecvTimeoutError;
    ///
    /// let timer = nimsync_select::after(Duration::from_secs(60));
    /// let soon = Instant::now() + Duration::from_millis(1);
    /// assert_eq!(timer.recv_deadline(soon), Err(RecvTimeoutError::Timeout));
    /// assert!(Instant::now() >= soon);
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Instant, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// The blocking receive, until `deadline` if there is one.
    fn recv_until(&self, deadline: Option<Instant>) -> Result<Instant, RecvTimeoutError> {
        loop {
            if self.is_taken() {
                sleep_until(deadline);
                return Err(RecvTimeoutError::Timeout);
            }
            let now = Instant::now();
            if now >= self.deadline() {
                match self.take(now) {
                    Some(at) => return Ok(at),
                    // Taken meanwhile: wait out the deadline above.
                    None => continue,
                }
            }
            let wake = match deadline {
                Some(deadline) if deadline < self.deadline() => {
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    deadline
                }
                _ => self.deadline(),
            };
            thread::sleep(wake - now);
        }
    }

    /// The number of messages ready: 1 from the deadline until the message
    /// is taken, 0 otherwise (as crossbeam's).
    ///
    /// # Examples
    /// ```
    /// let timer = nimsync_select::at(std::time::Instant::now());
    /// assert_eq!(timer.len(), 1);
    /// timer.recv().unwrap();
    /// assert_eq!(timer.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        usize::from(!self.is_empty())
    }

    /// True unless the message is ready: before the deadline, and for
    /// good once the message is taken.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// assert!(nimsync_select::after(Duration::from_secs(60)).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.is_due(Instant::now())
    }

    /// True while the message is ready: the timer holds at most one (as
    /// crossbeam's, `!is_empty()`).
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_select::at(std::time::Instant::now()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        !self.is_empty()
    }

    /// 1: the one message. (crossbeam's returns `Some(1)`; nimsync's
    /// channels and timers return a plain `usize`.)
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(nimsync_select::after(Duration::ZERO).capacity(), 1);
    /// ```
    pub fn capacity(&self) -> usize {
        1
    }
}

impl Tick {
    /// Takes the due tick, if there is one, and returns the instant it was
    /// due. Taking a tick more than a period late drops the ticks missed
    /// meanwhile: the next is due a period after this call.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when no tick is due; never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::TryRecvError;
    ///
    /// let ticker = nimsync_select::tick(Duration::from_secs(60));
    /// assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<Instant, TryRecvError> {
        self.take(Instant::now()).ok_or(TryRecvError::Empty)
    }

    /// Waits for the next tick and takes it; returns the instant it was
    /// due. A loop of `recv`s that keeps up receives ticks a period apart,
    /// without drift; one that falls a period behind gets the latest missed
    /// tick at once and the next a period later (as crossbeam's).
    ///
    /// Several threads may receive from one ticker (it is `Sync`): each
    /// tick goes to one of them.
    ///
    /// # Errors
    /// Never: a ticker never closes.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let period = Duration::from_millis(1);
    /// let ticker = nimsync_select::tick(period);
    /// let first = ticker.recv().unwrap();
    /// let second = ticker.recv().unwrap();
    /// assert!(first >= start + period);
    /// assert!(second >= first + period);
    /// assert!(Instant::now() >= second);
    /// ```
    pub fn recv(&self) -> Result<Instant, RecvError> {
        expect_message(self.recv_until(None))
    }

    /// Waits at most `timeout` for the next tick.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when no tick is due within `timeout`;
    /// never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use nimsync_channel::RecvTimeoutError;
    ///
    /// let ticker = nimsync_select::tick(Duration::from_secs(60));
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(ticker.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Instant, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Waits until `deadline` at most for the next tick. A tick due
    /// exactly at `deadline` is delivered.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when no tick is due by `deadline`;
    /// never `Closed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let ticker = nimsync_select::tick(Duration::from_millis(1));
    /// let due = ticker.recv_deadline(ticker.next_deadline()).unwrap();
    /// assert!(Instant::now() >= due);
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Instant, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// The blocking receive, until `deadline` if there is one.
    fn recv_until(&self, deadline: Option<Instant>) -> Result<Instant, RecvTimeoutError> {
        let mut awaited = None;
        loop {
            let now = Instant::now();
            let due = match self.claim(now, &mut awaited) {
                Ok(at) => return Ok(at),
                Err(due) => due,
            };
            let wake = match deadline {
                Some(deadline) if deadline < due => {
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    deadline
                }
                _ => due,
            };
            thread::sleep(wake - now);
        }
    }

    /// The number of ticks ready: 1 while a tick is due, else 0 (missed
    /// ticks are not queued; as crossbeam's).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(nimsync_select::tick(Duration::from_secs(60)).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        usize::from(!self.is_empty())
    }

    /// True unless a tick is due.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let ticker = nimsync_select::tick(Duration::from_secs(60));
    /// assert!(ticker.is_empty()); // the first tick is a period away
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.is_due(Instant::now())
    }

    /// True while a tick is due: a ticker holds at most one (as
    /// crossbeam's, `!is_empty()`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// assert!(!nimsync_select::tick(Duration::from_secs(60)).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        !self.is_empty()
    }

    /// 1: a ticker holds at most one due tick. (crossbeam's returns
    /// `Some(1)`; nimsync's channels and timers return a plain `usize`.)
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(nimsync_select::tick(Duration::from_secs(1)).capacity(), 1);
    /// ```
    pub fn capacity(&self) -> usize {
        1
    }
}

impl<T> Never<T> {
    /// Never receives anything.
    ///
    /// # Errors
    /// Always [`TryRecvError::Empty`].
    ///
    /// # Examples
    /// ```
    /// use nimsync_channel::TryRecvError;
    /// assert_eq!(nimsync_select::never::<u8>().try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        Err(TryRecvError::Empty)
    }

    /// Blocks the thread forever, as crossbeam's `never().recv()` does: no
    /// message ever comes and the timer never closes. Use
    /// [`recv_timeout`](Never::recv_timeout) to wait a bounded time.
    ///
    /// # Errors
    /// Never returns.
    ///
    /// # Examples
    /// ```no_run
    /// let off = nimsync_select::never::<u8>();
    /// let _ = off.recv(); // never returns
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        sleep_until(None);
        unreachable!("sleeping without a deadline never returns")
    }

    /// Waits `timeout`, then times out.
    ///
    /// # Errors
    /// Always [`RecvTimeoutError::Timeout`], after `timeout`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use nimsync_channel::RecvTimeoutError;
    ///
    /// let start = Instant::now();
    /// let off = nimsync_select::never::<u8>();
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(off.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// assert!(start.elapsed() >= timeout);
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        sleep_until(deadline_after(timeout));
        Err(RecvTimeoutError::Timeout)
    }

    /// Waits until `deadline`, then times out.
    ///
    /// # Errors
    /// Always [`RecvTimeoutError::Timeout`], at `deadline`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(nimsync_select::never::<u8>().recv_deadline(deadline).is_err());
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        sleep_until(Some(deadline));
        Err(RecvTimeoutError::Timeout)
    }

    /// 0, always.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_select::never::<u8>().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        0
    }

    /// True, always.
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_select::never::<u8>().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        true
    }

    /// True, always: with no room for a message, it is as full as it is
    /// empty (as crossbeam's).
    ///
    /// # Examples
    /// ```
    /// assert!(nimsync_select::never::<u8>().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        true
    }

    /// 0: no message ever fits. (crossbeam's returns `Some(0)`.)
    ///
    /// # Examples
    /// ```
    /// assert_eq!(nimsync_select::never::<u8>().capacity(), 0);
    /// ```
    pub fn capacity(&self) -> usize {
        0
    }
}
