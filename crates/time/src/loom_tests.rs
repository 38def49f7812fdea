//! loom models of the wheel's register / fire / cancel race.
//!
//! One thread plays the timer's owner (poll, drop, reset), another the
//! driver (a turn under the lock, then wakes after releasing it), exactly as
//! `driver.rs` and `sleep.rs` do.

use core::task::{Context, Poll};
use std::sync::atomic::AtomicUsize as StdAtomicUsize;

use loom::sync::Mutex;
use loom::thread;

use crate::sync::{Arc, Ordering, lock};
use crate::wheel::{Entry, Inserted, Key, Wheel};

/// A driver turn to `now`, waking after the lock is released.
fn turn(wheel: &Mutex<Wheel>, now: u64) -> usize {
    let mut fired = Vec::new();
    lock(wheel).turn(now, &mut fired);
    for entry in &fired {
        entry.wake();
    }
    fired.len()
}

fn armed(wheel: &Mutex<Wheel>, entry: &Arc<Entry>, deadline: u64) -> Key {
    match lock(wheel).insert(entry, deadline) {
        Inserted::Linked { key, .. } => key,
        Inserted::Due => panic!("deadline in the future"),
    }
}

/// A poll that races with the fire never misses its wake-up: the owner's
/// future completes (loom reports a deadlock otherwise).
#[test]
fn loom_poll_races_fire() {
    static BOTH_ORDERS: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        let mut first = true;
        loom::future::block_on(core::future::poll_fn(|cx: &mut Context<'_>| {
            let fired = entry.poll_fired(cx.waker());
            if first {
                BOTH_ORDERS[usize::from(fired)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                first = false;
            }
            if fired {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        assert_eq!(driver.join().unwrap(), 1);
        assert_eq!(lock(&wheel).len(), 0);
    });
    for (i, n) in BOTH_ORDERS.iter().enumerate() {
        assert!(
            n.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "interleaving {i} (first poll saw fired = {i}) never explored"
        );
    }
}

/// Dropping a timer while the driver fires it: exactly one of the two wins,
/// the wheel ends empty and holds no reference to the entry.
#[test]
fn loom_cancel_races_fire() {
    static OUTCOMES: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        let key = armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        // What `Sleep::drop` does.
        let removed = if entry.is_armed() {
            lock(&wheel).remove(key)
        } else {
            None
        };
        let cancelled = removed.is_some();
        drop(removed);
        let fired = driver.join().unwrap();
        assert_eq!(
            cancelled as usize + fired,
            1,
            "exactly one of cancel and fire wins"
        );
        assert_eq!(entry.is_fired(), fired == 1);
        assert_eq!(lock(&wheel).len(), 0);
        assert_eq!(Arc::strong_count(&entry), 1, "the wheel kept a reference");
        OUTCOMES[usize::from(cancelled)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    for (i, n) in OUTCOMES.iter().enumerate() {
        assert!(
            n.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "outcome {i} never explored"
        );
    }
}

/// Resetting a timer while the driver fires it: either the old deadline
/// fired and the reset re-armed it, or the reset won and it is armed at the
/// new deadline; in both cases exactly one node is linked afterwards.
#[test]
fn loom_reset_races_fire() {
    loom::model(|| {
        let wheel = Arc::new(Mutex::new(Wheel::new(0)));
        let entry = Entry::new();
        let key = armed(&wheel, &entry, 1);
        let driver = {
            let wheel = Arc::clone(&wheel);
            thread::spawn(move || turn(&wheel, 1))
        };
        // What `Sleep::reset` does.
        let (old, inserted) = {
            let mut wheel = lock(&wheel);
            let old = wheel.remove(key);
            (old, wheel.insert(&entry, 5))
        };
        drop(old);
        assert!(matches!(inserted, Inserted::Linked { .. }));
        driver.join().unwrap();
        assert_eq!(lock(&wheel).len(), 1);
        assert!(entry.is_armed());
        assert_eq!(turn(&wheel, 5), 1);
        assert!(entry.is_fired());
        assert_eq!(
            entry.state_for_tests().load(Ordering::Acquire),
            crate::wheel::FIRED
        );
    });
}
