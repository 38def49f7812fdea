//! Waiting a blocked thread on a wait queue: try, spin, register,
//! re-check, park.

use std::time::Instant;

use super::{Selected, WaitQueue, Waiter};
use crate::sync::{self, Arc};

/// How often a thread went to park in [`block_thread`], across all loom
/// iterations: models assert that the parking path was explored.
#[cfg(loom)]
pub(crate) static PARKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Blocks the calling thread until `attempt` returns `Some`, or `deadline`
/// passes (then `None`).
///
/// `attempt` is tried, then retried while spinning briefly, then the thread
/// registers in `queue` and parks. A woken thread always retries before it
/// looks at the clock, so a wake-up it was handed is never dropped.
pub(crate) fn block_thread<R>(
    queue: &WaitQueue,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let mut backoff = sync::Backoff::for_blocked_thread(queue.is_handoff());
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
        let cx = Waiter::for_current_thread();
        queue.register(&cx, 0);
        // The re-check runs user code (a value's drop, a waker called by a
        // notify): if it panics, the guard ends the registration, passing
        // on a claim it got, so no later notify is spent on it.
        let guard = RecheckGuard { queue, cx: &cx };
        let rechecked = attempt();
        core::mem::forget(guard);
        if let Some(r) = rechecked {
            end_registration(queue, &cx);
            return Some(r);
        }
        #[cfg(loom)]
        PARKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if cx.wait_until(deadline) == Selected::Aborted {
            queue.unregister(&cx);
            return attempt();
        }
    }
}

/// Ends a blocked thread's registration that was not waited on: removes it,
/// or, if a notifier claimed it meanwhile, passes the claim on (it may be
/// for another item than the one taken; see the module docs).
fn end_registration(queue: &WaitQueue, cx: &Arc<Waiter>) {
    if cx.try_abort() == Selected::Aborted {
        queue.unregister(cx);
    } else {
        queue.notify_one();
    }
}

/// Ends the registration of a thread whose re-check unwinds.
struct RecheckGuard<'a> {
    queue: &'a WaitQueue,
    cx: &'a Arc<Waiter>,
}

impl Drop for RecheckGuard<'_> {
    fn drop(&mut self) {
        end_registration(self.queue, self.cx);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_wakers::counting;
    use super::*;
    use crate::sync::Ordering;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn block_thread_times_out_and_wakes() {
        let q = std::sync::Arc::new(WaitQueue::new());
        let start = Instant::now();
        let d = std::time::Duration::from_millis(5);
        let r: Option<()> = block_thread(&q, Some(start + d), || None);
        assert!(r.is_none());
        assert!(start.elapsed() >= d, "never early");
        assert_eq!(q.len(), 0, "a timed-out waiter unregisters");

        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let (q2, f2) = (q.clone(), flag.clone());
        let t = std::thread::spawn(move || {
            block_thread(&q2, None, || f2.load(Ordering::Acquire).then_some(7))
        });
        flag.store(true, Ordering::Release);
        q.notify_one();
        assert_eq!(t.join().unwrap(), Some(7));
    }

    /// A re-check that unwinds (a waker called by its notify panicked)
    /// leaves no registration behind to swallow a later wake-up, and a
    /// claim it got meanwhile goes on to the next waiter.
    #[test]
    fn block_thread_ends_its_registration_when_the_recheck_panics() {
        let q = WaitQueue::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_thread(&q, None, || -> Option<()> {
                if q.len() == 1 {
                    panic!("a waker panicked in the re-check");
                }
                None
            })
        }));
        assert!(caught.is_err());
        assert_eq!(q.len(), 0, "the registration was ended");

        let (w, k) = counting();
        let other = Waiter::for_task(&k);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_thread(&q, None, || -> Option<()> {
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
}
