//! A selected operation's reservation is always resolved: completed
//! through any endpoint of its channel, or given up when the operation is
//! dropped, returned past with `?`, or unwound through by a panic. The
//! channel is never left waiting on a claimed slot.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

use nimsync_channel::{TryRecvError, mpmc};
use nimsync_select::Select;

/// Runs `f` on another thread and fails the test if it has not returned
/// within `bound`: a hang is reported as such instead of stalling the run.
fn within<R: Send + 'static>(
    bound: Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done_tx, done_rx) = std_mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(f());
    });
    done_rx
        .recv_timeout(bound)
        .unwrap_or_else(|_| panic!("{what} did not return within {bound:?}"))
}

const BOUND: Duration = Duration::from_secs(20);

fn value_that_is_missing() -> Result<u32, String> {
    Err("the value could not be computed".to_owned())
}

#[test]
fn an_early_return_between_select_and_send_gives_the_reservation_up() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    tx.send(1).unwrap();
    let attempt = || -> Result<(), String> {
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select();
        let value = value_that_is_missing()?;
        op.send(&tx, value).map_err(|e| e.to_string())
    };
    assert!(
        attempt().is_err(),
        "the early return comes back as an error, not a panic"
    );
    within(BOUND, "the receives after the abandoned send", move || {
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(2).unwrap();
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(tx.len(), 0);
    });
}

#[test]
fn a_panic_between_select_and_send_gives_the_reservation_up() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.send(&tx);
        let _op = sel.select();
        panic!("computing the value failed");
    }));
    assert!(unwound.is_err());
    within(
        BOUND,
        "a blocking send and receive after the panic",
        move || {
            tx.send(7).unwrap();
            assert_eq!(rx.recv(), Ok(7));
        },
    );
}

#[test]
fn a_dropped_receive_reports_its_discarded_message_and_frees_the_slot() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let dropped = catch_unwind(AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.recv(&rx);
        drop(sel.select());
    }));
    let payload = dropped.expect_err("the discarded message is reported");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("selected operation 0 (a receive)"),
        "{message}"
    );
    within(
        BOUND,
        "sends and receives after the discarded receive",
        move || {
            tx.send(2).unwrap();
            assert_eq!(rx.recv(), Ok(2));
        },
    );
}

#[test]
fn a_try_send_beside_a_held_receive_reservation_returns_full() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let (full, got) = within(
        BOUND,
        "try_send while holding the slot's receive",
        move || {
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.select();
            let full = tx.try_send(2).unwrap_err().is_full();
            (full, op.recv(&rx))
        },
    );
    assert!(full);
    assert_eq!(got, Ok(1));
}

#[test]
fn an_operation_completes_through_a_clone_of_its_endpoint() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx);
    assert_eq!(sel.select().recv(&rx.clone()), Ok(1));

    let mut sel = Select::new();
    sel.send(&tx);
    sel.select().send(&tx.clone(), 2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));

    // And the other way: added through a clone, completed with the original.
    let rx_clone = rx.clone();
    tx.send(3).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx_clone);
    let op = sel.select();
    drop(rx_clone);
    assert_eq!(op.recv(&rx), Ok(3));
}

#[test]
fn completing_on_another_channel_panics_and_leaves_both_usable() {
    let (tx1, rx1) = mpmc::channel::<u32>(1);
    let (tx2, rx2) = mpmc::channel::<u32>(1);
    let wrong = catch_unwind(AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.send(&tx1);
        sel.select().send(&tx2, 1)
    }));
    assert!(wrong.is_err(), "another channel's endpoint is refused");
    within(
        BOUND,
        "both channels after the refused completion",
        move || {
            assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
            assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
            tx1.try_send(3).unwrap();
            tx2.try_send(4).unwrap();
            assert_eq!(rx1.recv_timeout(BOUND), Ok(3));
            assert_eq!(rx2.recv_timeout(BOUND), Ok(4));
            // The channel keeps no trace: it is empty and has room again.
            assert!(tx1.is_empty() && !tx1.is_full());
        },
    );
}

/// A sender already parked for room when a selected operation that holds
/// the only slot is dropped uncompleted is woken and sends: the give-up
/// wakes the waiters the claimed position held back.
#[test]
fn a_dropped_operation_wakes_a_sender_waiting_for_its_slot() {
    for receive in [false, true] {
        let (tx, rx) = mpmc::channel::<u32>(1);
        if receive {
            tx.send(1).unwrap();
        }
        let mut sel = Select::new();
        if receive {
            sel.recv(&rx);
        } else {
            sel.send(&tx);
        }
        let op = sel.select();
        drop(sel);
        let (parked_tx, parked_rx) = std_mpsc::channel();
        let sender = {
            let tx = tx.clone();
            thread::spawn(move || {
                parked_tx.send(()).unwrap();
                tx.send(2)
            })
        };
        parked_rx.recv().unwrap();
        // Whether or not the sender has parked yet, dropping the operation
        // must let it through.
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(op)));
        assert_eq!(dropped.is_err(), receive, "only a receive reports a loss");
        let sent = within(BOUND, "the sender waiting for the slot", move || {
            sender.join()
        });
        assert!(sent.unwrap().is_ok());
        assert_eq!(rx.recv_timeout(BOUND), Ok(2));
    }
}

/// An operation dropped after every endpoint of its channel is gone: the
/// give-up touches only what it keeps alive, and the process goes on.
#[test]
fn an_operation_can_outlive_its_channel() {
    let op = {
        let (tx, rx) = mpmc::channel::<String>(2);
        tx.send("kept".to_owned()).unwrap();
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select();
        drop(sel);
        drop((tx, rx));
        op
    };
    drop(op);
}
