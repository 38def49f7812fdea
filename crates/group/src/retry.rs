//! [`Retry`]: attempts with exponential backoff and jitter, stopped early
//! by a [`CancelToken`].

use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use fastrand::Rng;

use crate::token::CancelToken;

/// Which errors a [`Retry`] retries.
type Predicate<E> = Box<dyn Fn(&E) -> bool + Send + Sync>;

/// A retry policy: how many attempts, how long to wait between them, which
/// errors are worth another attempt, and which token stops it.
///
/// The wait before attempt `n + 1` is `initial * factor^(n - 1)`, capped at
/// `max`; with jitter (the default) a random half of it is taken off, so
/// that many clients failing together do not retry together.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use nimsync_group::{CancelToken, Retry};
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let token = CancelToken::new();
/// let value = rt.block_on(
///     Retry::new()
///         .max_attempts(5)
///         .backoff(Duration::from_millis(1), Duration::from_millis(20))
///         .retry_if(|e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut)
///         .cancel_on(&token)
///         .run(|attempt| async move {
///             if attempt < 3 {
///                 Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
///             } else {
///                 Ok(attempt)
///             }
///         }),
/// );
/// assert_eq!(value.unwrap(), 3);
/// ```
pub struct Retry<E> {
    max_attempts: u32,
    initial: Duration,
    max: Duration,
    factor: u32,
    jitter: bool,
    retryable: Option<Predicate<E>>,
    token: Option<CancelToken>,
}

impl<E> fmt::Debug for Retry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("max_attempts", &self.max_attempts)
            .field("initial", &self.initial)
            .field("max", &self.max)
            .field("factor", &self.factor)
            .field("jitter", &self.jitter)
            .finish()
    }
}

impl<E> Default for Retry<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Retry<E> {
    /// Three attempts, waits from 10 ms doubling up to 1 s, with jitter,
    /// every error retryable, no token.
    ///
    /// # Examples
    /// ```
    /// let policy = nimsync_group::Retry::<std::io::Error>::new();
    /// # drop(policy);
    /// ```
    pub fn new() -> Self {
        Self {
            max_attempts: 3,
            initial: Duration::from_millis(10),
            max: Duration::from_secs(1),
            factor: 2,
            jitter: true,
            retryable: None,
            token: None,
        }
    }

    /// At most `n` attempts in all.
    ///
    /// # Panics
    /// If `n` is zero: the operation would never run.
    ///
    /// # Examples
    /// ```
    /// let policy = nimsync_group::Retry::<()>::new().max_attempts(10);
    /// # drop(policy);
    /// ```
    pub fn max_attempts(mut self, n: u32) -> Self {
        assert!(n > 0, "Retry::max_attempts must be at least 1");
        self.max_attempts = n;
        self
    }

    /// The first wait and the longest one.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let policy = nimsync_group::Retry::<()>::new()
    ///     .backoff(Duration::from_millis(50), Duration::from_secs(30));
    /// # drop(policy);
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial = initial;
        self.max = max.max(initial);
        self
    }

    /// How much each wait grows (2 by default; 1 keeps it constant).
    ///
    /// # Panics
    /// If `factor` is zero.
    ///
    /// # Examples
    /// ```
    /// let policy = nimsync_group::Retry::<()>::new().factor(3);
    /// # drop(policy);
    /// ```
    pub fn factor(mut self, factor: u32) -> Self {
        assert!(factor > 0, "Retry::factor must be at least 1");
        self.factor = factor;
        self
    }

    /// Whether to take a random part (up to half) off each wait.
    ///
    /// # Examples
    /// ```
    /// let policy = nimsync_group::Retry::<()>::new().jitter(false);
    /// # drop(policy);
    /// ```
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retries only errors for which `f` is true; others end the retry at
    /// once.
    ///
    /// # Examples
    /// ```
    /// let policy = nimsync_group::Retry::<u16>::new().retry_if(|status| *status >= 500);
    /// # drop(policy);
    /// ```
    pub fn retry_if(mut self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.retryable = Some(Box::new(f));
        self
    }

    /// Stops (before an attempt, or during a wait) once `token` is
    /// cancelled.
    ///
    /// # Examples
    /// ```
    /// let token = nimsync_group::CancelToken::new();
    /// let policy = nimsync_group::Retry::<()>::new().cancel_on(&token);
    /// # drop(policy);
    /// ```
    pub fn cancel_on(mut self, token: &CancelToken) -> Self {
        self.token = Some(token.clone());
        self
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    fn delay(&self, attempt: u32) -> Duration {
        let grow = self.factor.checked_pow(attempt - 1).unwrap_or(u32::MAX);
        self.initial.saturating_mul(grow).min(self.max)
    }

    /// Runs `op(attempt)` (attempts count from 1) until it succeeds, fails
    /// with an error that is not retryable, runs out of attempts, or the
    /// token is cancelled.
    ///
    /// # Errors
    /// A [`RetryError`] saying which of these ended it, with the last
    /// error.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt
    ///     .block_on(nimsync_group::Retry::new().max_attempts(2).run(|_| async { Err::<(), _>("down") }))
    ///     .unwrap_err();
    /// assert_eq!(err.attempts(), 2);
    /// assert_eq!(err.into_last_error(), Some("down"));
    /// ```
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, RetryError<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut last = None;
        for attempt in 1..=self.max_attempts {
            if self.token.as_ref().is_some_and(CancelToken::is_cancelled) {
                return Err(RetryError::Cancelled {
                    attempts: attempt - 1,
                    last,
                });
            }
            let error = match op(attempt).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if !self.retryable.as_ref().is_none_or(|f| f(&error)) {
                return Err(RetryError::NotRetryable { attempt, error });
            }
            if attempt == self.max_attempts {
                return Err(RetryError::Exhausted {
                    attempts: attempt,
                    last: error,
                });
            }
            let mut wait = self.delay(attempt);
            if self.jitter {
                wait -= wait.mul_f64(random_fraction() / 2.0);
            }
            #[cfg(feature = "tracing")]
            crate::trace::retrying(attempt, wait);
            if !self.sleep_unless_cancelled(wait).await {
                return Err(RetryError::Cancelled {
                    attempts: attempt,
                    last: Some(error),
                });
            }
            last = Some(error);
        }
        unreachable!("the last attempt returns")
    }

    /// Sleeps for `wait`; false if the token was cancelled first.
    async fn sleep_unless_cancelled(&self, wait: Duration) -> bool {
        let mut sleep = nimsync_time::sleep(wait);
        let mut cancelled = self.token.as_ref().map(CancelToken::cancelled);
        poll_fn(|cx| {
            if let Some(c) = cancelled.as_mut() {
                if Pin::new(c).poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
            }
            Pin::new(&mut sleep).poll(cx).map(|()| true)
        })
        .await
    }
}

thread_local! {
    /// The jitter's generator, seeded per thread from the standard
    /// library's random hasher keys when first used.
    static JITTER: RefCell<Rng> = RefCell::new(Rng::with_seed(
        RandomState::new().hash_one(0u8),
    ));
}

/// A uniform number in `[0, 1)`.
fn random_fraction() -> f64 {
    JITTER.with(|rng| rng.borrow_mut().f64())
}

/// How a [`Retry`] ended without a value.
///
/// It prints how it ended and the last attempt's error; its
/// [`source`](Error::source) is that error's own source. When the
/// attempts ran out, allow more or wait longer between them
/// ([`Retry::max_attempts`], [`Retry::backoff`]); an error that is not
/// retried is the one to handle ([`Retry::retry_if`]).
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// let err = rt
///     .block_on(nimsync_group::Retry::new().max_attempts(2).run(|_| async { Err::<(), _>("down") }))
///     .unwrap_err();
/// assert_eq!(err.to_string(), "gave up after 2 attempts: down");
/// ```
#[derive(Debug)]
pub enum RetryError<E> {
    /// Every attempt failed; the last error.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// An attempt failed with an error the policy does not retry.
    NotRetryable {
        /// Which attempt (1-based).
        attempt: u32,
        /// Its error.
        error: E,
    },
    /// The token was cancelled before the next attempt.
    Cancelled {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error, if there was an attempt.
        last: Option<E>,
    },
}

impl<E> RetryError<E> {
    /// How many attempts were made.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt
    ///     .block_on(nimsync_group::Retry::new().max_attempts(1).run(|_| async { Err::<(), _>(1) }))
    ///     .unwrap_err();
    /// assert_eq!(err.attempts(), 1);
    /// ```
    pub fn attempts(&self) -> u32 {
        match self {
            RetryError::Exhausted { attempts, .. } | RetryError::Cancelled { attempts, .. } => {
                *attempts
            }
            RetryError::NotRetryable { attempt, .. } => *attempt,
        }
    }

    /// True if the token stopped it.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let token = nimsync_group::CancelToken::new();
    /// token.cancel();
    /// let err = rt
    ///     .block_on(nimsync_group::Retry::new().cancel_on(&token).run(|_| async { Ok::<_, ()>(()) }))
    ///     .unwrap_err();
    /// assert!(err.is_cancelled());
    /// assert_eq!(err.attempts(), 0);
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, RetryError::Cancelled { .. })
    }

    /// The last error, if an attempt was made.
    ///
    /// # Examples
    /// ```
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let err = rt
    ///     .block_on(
    ///         nimsync_group::Retry::new()
    ///             .retry_if(|e: &&str| *e != "fatal")
    ///             .run(|_| async { Err::<(), _>("fatal") }),
    ///     )
    ///     .unwrap_err();
    /// assert_eq!(err.into_last_error(), Some("fatal"));
    /// ```
    pub fn into_last_error(self) -> Option<E> {
        match self {
            RetryError::Exhausted { last, .. } => Some(last),
            RetryError::NotRetryable { error, .. } => Some(error),
            RetryError::Cancelled { last, .. } => last,
        }
    }

    /// The last error, by reference.
    fn last(&self) -> Option<&E> {
        match self {
            RetryError::Exhausted { last, .. } => Some(last),
            RetryError::NotRetryable { error, .. } => Some(error),
            RetryError::Cancelled { last, .. } => last.as_ref(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Exhausted { attempts, last } => {
                write!(f, "gave up after {}: {last}", Attempts(*attempts))
            }
            RetryError::NotRetryable { attempt, error } => {
                write!(
                    f,
                    "attempt {attempt} failed with an error not retried: {error}"
                )
            }
            RetryError::Cancelled { attempts, last } => {
                write!(f, "cancelled after {}", Attempts(*attempts))?;
                match last {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A count of attempts, printed with its noun ("1 attempt", "2 attempts").
struct Attempts(u32);

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 attempt"),
            n => write!(f, "{n} attempts"),
        }
    }
}

impl<E: Error + 'static> Error for RetryError<E> {
    /// The source of the last error: the error itself is printed.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.last().and_then(Error::source)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn jitter_fractions_are_uniform_in_the_unit_interval() {
        let draws: Vec<f64> = (0..10_000).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let below_half = draws.iter().filter(|x| **x < 0.5).count();
        assert!(
            (4_000..6_000).contains(&below_half),
            "{below_half} of 10000 below one half"
        );
    }
}
