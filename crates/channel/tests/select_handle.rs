//! The hidden select protocol (`nimsync_channel::__select`) on each flavor:
//! reserve/commit, registration of a shared waiter, claims and hand-offs.

mod common;

use std::panic;
use std::sync::{Arc, mpsc as std_mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::counting_waker;
use nimsync_channel::__select::{RecvHandle, SelectHandle, Selected, SendHandle, Token, Waiter};
use nimsync_channel::{RecvError, SendError, TryRecvError, mpmc, oneshot, spsc};

#[test]
fn new_token_is_empty() {
    assert!(!Token::new().is_reserved());
    assert!(!Token::default().is_reserved());
    assert!(format!("{:?}", Token::new()).contains("Token"));
}

// ---- receive side -------------------------------------------------------------

#[test]
fn mpmc_recv_reserve_and_commit() {
    let (tx, rx) = mpmc::channel(2);
    let mut token = Token::new();
    assert!(!SelectHandle::is_ready(&rx));
    assert!(
        !SelectHandle::try_reserve(&rx, &mut token),
        "empty: nothing to reserve"
    );
    assert!(!token.is_reserved());
    tx.send(5).unwrap();
    assert!(SelectHandle::is_ready(&rx));
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert!(token.is_reserved());
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(5));
    assert!(!token.is_reserved(), "the commit consumed the reservation");
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "the value was taken once"
    );
}

#[test]
fn mpmc_recv_reserve_on_closed_and_drained_channel_commits_an_error() {
    let (tx, rx) = mpmc::channel::<u8>(2);
    tx.send(1).unwrap();
    drop(tx);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(
        RecvHandle::commit_recv(&rx, &mut token),
        Ok(1),
        "drain first"
    );
    assert!(SelectHandle::is_ready(&rx), "closed counts as ready");
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Err(RecvError));
}

#[test]
fn spsc_recv_reserve_and_commit() {
    let (mut tx, rx) = spsc::channel(2);
    let mut token = Token::new();
    assert!(!SelectHandle::is_ready(&rx));
    assert!(!SelectHandle::try_reserve(&rx, &mut token));
    tx.send(7).unwrap();
    tx.send(8).unwrap();
    assert!(SelectHandle::is_ready(&rx));
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(7));
    drop(tx);
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(8));
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Err(RecvError));
}

#[test]
fn oneshot_recv_reserve_and_commit() {
    let (tx, rx) = oneshot::channel();
    let mut token = Token::new();
    assert!(!SelectHandle::is_ready(&rx));
    assert!(!SelectHandle::try_reserve(&rx, &mut token));
    tx.send(3).unwrap();
    assert!(SelectHandle::is_ready(&rx));
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(3));
    assert!(
        SelectHandle::try_reserve(&rx, &mut token),
        "taken: final Closed"
    );
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Err(RecvError));
}

#[test]
fn oneshot_recv_reserve_after_sender_dropped_commits_an_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let mut token = Token::new();
    assert!(SelectHandle::is_ready(&rx));
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Err(RecvError));
}

// ---- send side ------------------------------------------------------------------

#[test]
fn mpmc_send_reserve_and_commit() {
    let (tx, rx) = mpmc::channel(1);
    let mut token = Token::new();
    assert!(SelectHandle::is_ready(&tx));
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(SendHandle::commit_send(&tx, &mut token, 9), Ok(()));
    assert!(!token.is_reserved());
    assert!(!SelectHandle::is_ready(&tx), "full");
    assert!(
        !SelectHandle::try_reserve(&tx, &mut token),
        "full: nothing to reserve"
    );
    assert_eq!(rx.try_recv(), Ok(9));
    drop(rx);
    assert!(SelectHandle::is_ready(&tx), "closed counts as ready");
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(
        SendHandle::commit_send(&tx, &mut token, 10),
        Err(SendError(10))
    );
}

#[test]
fn mpmc_send_reservation_holds_its_slot() {
    let (tx, rx) = mpmc::channel(2);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(tx.len(), 1, "a claimed slot counts as taken");
    tx.try_send(2).unwrap();
    assert!(tx.is_full());
    // (A `try_send` now would spin until the claim is committed: a claimed
    // slot is complete only after its commit, so commit right away.)
    SendHandle::commit_send(&tx, &mut token, 1).unwrap();
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        [1, 2],
        "claim order is ring order"
    );
}

/// An abandoned send reservation is skipped: a value sent after it is
/// received, the slot is reused on the next lap, and no value is made up.
#[test]
fn mpmc_abandoned_send_reservation_is_skipped() {
    let (tx, rx) = mpmc::channel(2);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    tx.try_send(2).unwrap();
    SendHandle::abandon_send(&tx, &mut token);
    assert!(!token.is_reserved(), "abandoning consumed the reservation");
    assert_eq!(rx.try_recv(), Ok(2), "the skipped position holds no value");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Both slots are free again, for several laps.
    for lap in 0..3 {
        tx.try_send(lap).unwrap();
        tx.try_send(lap + 10).unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [lap, lap + 10]);
    }
}

/// A receiver blocked on a position whose sender then gives it up is
/// woken, skips it and receives the next value.
#[test]
fn mpmc_abandoned_send_reservation_wakes_a_blocked_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    let (started_tx, started_rx) = std_mpsc::channel();
    let receiver = thread::spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv()
    });
    started_rx.recv().unwrap();
    SendHandle::abandon_send(&tx, &mut token);
    tx.send(7).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(7));
}

/// An abandoned position counts in the length until it is passed; a
/// sender that laps onto it while it is the head passes it itself, so a
/// full channel whose only slot was abandoned takes a send at once.
#[test]
fn mpmc_abandoned_slot_counts_until_passed() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    SendHandle::abandon_send(&tx, &mut token);
    assert_eq!(tx.len(), 1, "given up, not passed yet");
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // A receiver passes an abandoned position too.
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    SendHandle::abandon_send(&tx, &mut token);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.len(), 0);
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn spsc_abandoned_send_reservation_leaves_the_channel_as_it_was() {
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    SendHandle::abandon_send(&tx, &mut token);
    assert!(!token.is_reserved());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn mpmc_send_is_ready_agrees_with_try_reserve_while_a_permit_is_held() {
    // `is_ready` is documented as "true if `try_reserve` would succeed now";
    // a select that trusts it must not spin while a permit holds the room.
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    let mut token = Token::new();
    let reserved = SelectHandle::try_reserve(&tx, &mut token);
    assert!(!reserved, "the only slot is promised to the permit");
    assert_eq!(
        SelectHandle::is_ready(&tx),
        reserved,
        "is_ready disagrees with try_reserve while a permit is held"
    );
    drop(permit);
    assert!(SelectHandle::is_ready(&tx));
}

#[test]
fn spsc_send_reserve_and_commit() {
    let (tx, mut rx) = spsc::channel(1);
    let mut token = Token::new();
    assert!(SelectHandle::is_ready(&tx));
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(SendHandle::commit_send(&tx, &mut token, 4), Ok(()));
    assert!(!SelectHandle::is_ready(&tx));
    assert!(!SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(rx.try_recv(), Ok(4));
    rx.close();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(
        SendHandle::commit_send(&tx, &mut token, 5),
        Err(SendError(5))
    );
}

// ---- misuse -----------------------------------------------------------------------

#[test]
#[should_panic(expected = "did not reserve")]
fn spsc_commit_with_a_token_from_another_channel_panics() {
    let (mut tx1, rx1) = spsc::channel(1);
    let (_tx2, rx2) = spsc::channel::<u8>(1);
    tx1.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx1, &mut token));
    let _ = RecvHandle::commit_recv(&rx2, &mut token);
}

#[test]
#[should_panic(expected = "did not reserve")]
fn mpmc_commit_with_a_token_from_another_channel_panics() {
    // Capacity 2, so the abandoned receive claim cannot stall the drops.
    let (tx1, rx1) = mpmc::channel(2);
    let (_tx2, rx2) = mpmc::channel::<u8>(2);
    tx1.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx1, &mut token));
    let _ = RecvHandle::commit_recv(&rx2, &mut token);
}

#[test]
#[should_panic(expected = "did not reserve")]
fn commit_with_an_empty_token_panics() {
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let _ = SendHandle::commit_send(&tx, &mut Token::new(), 1);
}

/// A token dropped with a receive reservation panics to report the message
/// it discards, and leaves the channel working: the message is dropped
/// once, the slot is freed, and later sends and receives go through.
#[test]
fn dropping_a_token_that_holds_an_mpmc_receive_reports_it_and_frees_the_slot() {
    let (tx, rx) = mpmc::channel(1);
    let counted = Arc::new(());
    tx.send(Arc::clone(&counted)).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    let res = panic::catch_unwind(panic::AssertUnwindSafe(move || drop(token)));
    let msg = res.expect_err("a discarded message is reported");
    let msg = msg
        .downcast_ref::<String>()
        .map(String::as_str)
        .or(msg.downcast_ref::<&str>().copied());
    assert!(
        msg.is_some_and(|m| m.contains("dropped without being completed")),
        "{msg:?}"
    );
    // The sender laps onto the slot, resolves the orphaned receive (its
    // value dropped once) and sends.
    tx.try_send(Arc::new(())).unwrap();
    assert_eq!(
        Arc::strong_count(&counted),
        1,
        "the discarded message was dropped"
    );
    assert!(rx.try_recv().is_ok());
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
}

/// A token dropped with a send reservation gives it up quietly: nothing
/// was sent, so nothing is lost, and the channel goes on.
#[test]
fn dropping_a_token_that_holds_an_mpmc_send_gives_it_up() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    drop(token);
    assert_eq!(rx.try_recv(), Ok(1));
    // The receiver reaches the orphaned position, gives it up for the
    // token and passes it.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.len(), 0);
    tx.try_send(3).unwrap();
    tx.try_send(4).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn dropping_a_token_without_a_claim_is_fine() {
    let (mut tx, rx) = spsc::channel(1);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    drop(token); // spsc reservations hold nothing in the ring
    let (tx, rx) = mpmc::channel::<u8>(1);
    drop(tx);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    drop(token); // a final Closed holds no claim either
}

#[test]
#[should_panic(expected = "reserved twice")]
fn reserving_a_reserved_token_again_panics() {
    let (mut tx, rx) = spsc::channel(2);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    SelectHandle::try_reserve(&rx, &mut token);
}

// ---- waiters and wait queues ---------------------------------------------------------

#[test]
fn thread_waiter_is_claimed_by_the_operation_that_became_ready() {
    let (_tx0, rx0) = mpmc::channel::<u32>(1);
    let (tx1, rx1) = mpmc::channel::<u32>(1);
    let cx = Waiter::for_current_thread();
    assert_eq!(cx.selected(), Selected::Waiting);
    SelectHandle::register(&rx0, &cx, 0);
    SelectHandle::register(&rx1, &cx, 1);
    // Re-check after registering, as the protocol requires.
    assert!(!SelectHandle::is_ready(&rx0) && !SelectHandle::is_ready(&rx1));
    let sender = thread::spawn(move || tx1.send(11).unwrap());
    assert_eq!(
        cx.wait_until(None),
        Selected::Operation(1),
        "operation 1 claimed the waiter"
    );
    assert_eq!(cx.selected(), Selected::Operation(1));
    SelectHandle::unregister(&rx0, &cx);
    SelectHandle::unregister(&rx1, &cx);
    sender.join().unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx1, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx1, &mut token), Ok(11));
}

#[test]
fn thread_waiter_across_flavors() {
    let (_stx, srx) = spsc::channel::<u32>(1);
    let (otx, orx) = oneshot::channel::<u32>();
    let (_mtx, mrx) = mpmc::channel::<u32>(1);
    let cx = Waiter::for_current_thread();
    SelectHandle::register(&srx, &cx, 0);
    SelectHandle::register(&orx, &cx, 1);
    SelectHandle::register(&mrx, &cx, 2);
    let sender = thread::spawn(move || otx.send(5).unwrap());
    assert_eq!(
        cx.wait_until(None),
        Selected::Operation(1),
        "the oneshot (operation 1) won"
    );
    SelectHandle::unregister(&srx, &cx);
    SelectHandle::unregister(&orx, &cx);
    SelectHandle::unregister(&mrx, &cx);
    sender.join().unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&orx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&orx, &mut token), Ok(5));
}

#[test]
fn thread_waiter_on_send_queues() {
    let (mut stx, mut srx) = spsc::channel::<u32>(1);
    let (mtx, mrx) = mpmc::channel::<u32>(1);
    stx.send(0).unwrap();
    mtx.send(0).unwrap();
    let cx = Waiter::for_current_thread();
    SelectHandle::register(&stx, &cx, 0);
    SelectHandle::register(&mtx, &cx, 1);
    assert!(!SelectHandle::is_ready(&stx) && !SelectHandle::is_ready(&mtx));
    let receiver = thread::spawn(move || srx.recv().map(|v| (v, srx)));
    assert_eq!(
        cx.wait_until(None),
        Selected::Operation(0),
        "the spsc send (operation 0) has room"
    );
    SelectHandle::unregister(&stx, &cx);
    SelectHandle::unregister(&mtx, &cx);
    let (v, _srx) = receiver.join().unwrap().unwrap();
    assert_eq!(v, 0);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&stx, &mut token));
    SendHandle::commit_send(&stx, &mut token, 1).unwrap();
    assert_eq!(mrx.len(), 1, "the mpmc channel was not touched");
}

#[test]
fn thread_waiter_times_out_and_is_not_claimed_afterwards() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let cx = Waiter::for_current_thread();
    SelectHandle::register(&rx, &cx, 0);
    let timeout = Duration::from_millis(2);
    let start = Instant::now();
    assert_eq!(cx.wait_until(Some(start + timeout)), Selected::Aborted);
    assert!(start.elapsed() >= timeout);
    // Still queued, but aborted: a notifier skips it.
    tx.send(1).unwrap();
    assert_eq!(cx.selected(), Selected::Aborted);
    SelectHandle::unregister(&rx, &cx);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn try_abort_after_notification_reports_the_operation() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (wakes, waker) = counting_waker();
    let cx = Waiter::for_task(&waker);
    SelectHandle::register(&rx, &cx, 5);
    tx.send(1).unwrap();
    assert_eq!(wakes.count(), 1);
    assert_eq!(cx.selected(), Selected::Operation(5));
    assert_eq!(cx.try_abort(), Selected::Operation(5));
    assert_eq!(
        cx.selected(),
        Selected::Operation(5),
        "a failed abort changes nothing"
    );
    SelectHandle::unregister(&rx, &cx);
}

#[test]
fn try_abort_before_notification_wins() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (wakes, waker) = counting_waker();
    let cx = Waiter::for_task(&waker);
    SelectHandle::register(&rx, &cx, 0);
    assert_eq!(cx.try_abort(), Selected::Aborted);
    assert_eq!(cx.selected(), Selected::Aborted);
    tx.send(1).unwrap();
    assert_eq!(wakes.count(), 0, "an aborted waiter is not woken");
    SelectHandle::unregister(&rx, &cx);
    // After a reset it can wait again.
    cx.reset();
    assert_eq!(cx.selected(), Selected::Waiting);
    assert_eq!(rx.try_recv(), Ok(1));
    SelectHandle::register(&rx, &cx, 2);
    tx.send(2).unwrap();
    assert_eq!((wakes.count(), cx.selected()), (1, Selected::Operation(2)));
    SelectHandle::unregister(&rx, &cx);
}

#[test]
fn pass_on_wakes_the_next_registered_waiter() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    let (w1, waker1) = counting_waker();
    let (w2, waker2) = counting_waker();
    let cx1 = Waiter::for_task(&waker1);
    let cx2 = Waiter::for_task(&waker2);
    SelectHandle::register(&rx, &cx1, 0);
    SelectHandle::register(&rx, &cx2, 3);
    tx.send(1).unwrap();
    assert_eq!(
        (cx1.selected(), cx2.selected()),
        (Selected::Operation(0), Selected::Waiting),
        "first come, first woken"
    );
    assert_eq!((w1.count(), w2.count()), (1, 0));
    // The first select completes something else and hands its wake-up on.
    SelectHandle::pass_on(&rx);
    assert_eq!(cx2.selected(), Selected::Operation(3));
    assert_eq!(w2.count(), 1);
    SelectHandle::unregister(&rx, &cx1);
    SelectHandle::unregister(&rx, &cx2);
    assert_eq!(
        rx.try_recv(),
        Ok(1),
        "no value was consumed by the wake-ups"
    );
}

#[test]
fn pass_on_works_for_every_flavor() {
    fn check<H: SelectHandle>(h: &H) {
        let (w, waker) = counting_waker();
        let cx = Waiter::for_task(&waker);
        h.register(&cx, 7);
        h.pass_on();
        assert_eq!((cx.selected(), w.count()), (Selected::Operation(7), 1));
        h.unregister(&cx);
        // Nobody is registered: passing on is a no-op.
        h.pass_on();
        assert_eq!(w.count(), 1);
    }
    let (stx, srx) = spsc::channel::<u8>(1);
    let (mtx, mrx) = mpmc::channel::<u8>(1);
    let (_otx, orx) = oneshot::channel::<u8>();
    check(&stx);
    check(&srx);
    check(&mtx);
    check(&mrx);
    check(&orx);
}

#[test]
fn set_waker_replaces_the_woken_waker() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (old, old_waker) = counting_waker();
    let (new, new_waker) = counting_waker();
    let cx = Waiter::for_task(&old_waker);
    cx.set_waker(&new_waker);
    SelectHandle::register(&rx, &cx, 0);
    tx.send(1).unwrap();
    assert_eq!((old.count(), new.count()), (0, 1));
    SelectHandle::unregister(&rx, &cx);
}

#[test]
fn unregister_removes_every_registration() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let (w, waker) = counting_waker();
    let cx = Waiter::for_task(&waker);
    SelectHandle::register(&rx, &cx, 0);
    SelectHandle::register(&rx, &cx, 1);
    SelectHandle::unregister(&rx, &cx);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!((w.count(), cx.selected()), (0, Selected::Waiting));
    assert_eq!(
        Arc::strong_count(&cx),
        1,
        "no queue holds the waiter any more"
    );
}

#[test]
fn blocked_thread_and_select_waiter_share_a_queue() {
    // A thread blocked in `recv` and a select waiter wait on one channel;
    // two sends wake both, each exactly once.
    let (tx, rx) = mpmc::channel::<u32>(2);
    let (w, waker) = counting_waker();
    let cx = Waiter::for_task(&waker);
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let rx2 = rx.clone();
    let blocked = thread::spawn(move || {
        ready_tx.send(()).unwrap();
        rx2.recv()
    });
    ready_rx.recv().unwrap();
    SelectHandle::register(&rx, &cx, 0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let got = blocked.join().unwrap().unwrap();
    // The select waiter was woken by one of the sends, or the thread took
    // a value without parking; either way one value is left for the select.
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    let other = RecvHandle::commit_recv(&rx, &mut token).unwrap();
    let mut both = [got, other];
    both.sort_unstable();
    assert_eq!(both, [1, 2]);
    assert!(w.count() <= 1);
    SelectHandle::unregister(&rx, &cx);
}

#[test]
#[should_panic(expected = "a receive reservation committed as a send")]
fn mpmc_receive_reservation_cannot_be_committed_as_a_send() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    let _ = tx.commit_send(&mut token, 2);
}

#[test]
fn dropping_a_channel_with_an_abandoned_send_claim_does_not_hang() {
    let (tx, rx) = mpmc::channel::<u32>(2);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    // Abandon the claim the way an unwinding select would: forget the token.
    std::mem::forget(token);
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    drop(rx); // must return: the claimed, unwritten slot is skipped
}

#[test]
#[should_panic(expected = "did not reserve")]
fn token_of_a_dropped_channel_is_rejected_by_a_new_one() {
    let mut token = Token::new();
    {
        let (tx, rx) = mpmc::channel::<u32>(2);
        tx.send(1).unwrap();
        // A receive reservation that outlives its channel.
        assert!(SelectHandle::try_reserve(&rx, &mut token));
    }
    // Same type, possibly the same address once freed: the ids differ.
    let (_tx, rx) = mpmc::channel::<u32>(2);
    let _ = rx.commit_recv(&mut token);
}

#[test]
#[should_panic(expected = "reserved twice")]
fn reserving_twice_with_one_token_panics_before_claiming() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    SelectHandle::try_reserve(&rx, &mut token);
}

/// A thread that holds a receive reservation and then sends on the same
/// channel (whose only slot the reservation still occupies) gets `Full`
/// from the non-blocking send and `Timeout` from the timed one, instead of
/// waiting forever for its own commit.
#[test]
fn mpmc_sends_return_while_this_thread_holds_a_receive_reservation() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert!(tx.try_send(2).unwrap_err().is_full());
    let timed = tx.send_timeout(2, Duration::from_millis(5));
    assert!(timed.unwrap_err().is_timeout());
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(1));
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

/// The mirror case: a thread that holds a send reservation gets `Empty`
/// and `Timeout` from receives on the same channel.
#[test]
fn mpmc_receives_return_while_this_thread_holds_a_send_reservation() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let timed = rx.recv_timeout(Duration::from_millis(5));
    assert!(timed.unwrap_err().is_timeout());
    SendHandle::commit_send(&tx, &mut token, 5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
}

/// A receive reservation committed through another channel's receiver
/// panics, and the panic leaves no claim behind on either channel.
#[test]
fn mpmc_commit_through_another_channel_leaves_both_usable() {
    let (tx1, rx1) = mpmc::channel::<u32>(1);
    let (tx2, rx2) = mpmc::channel::<u32>(1);
    tx1.send(1).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx1, &mut token));
    let wrong = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        RecvHandle::commit_recv(&rx2, &mut token)
    }));
    assert!(wrong.is_err());
    assert!(!token.is_reserved(), "the reservation was given up");
    drop(token);
    // Channel 1's reserved message was discarded; its slot is freed when a
    // sender laps onto it.
    tx1.try_send(3).unwrap();
    assert_eq!(rx1.try_recv(), Ok(3));
    tx2.try_send(4).unwrap();
    assert_eq!(rx2.try_recv(), Ok(4));
}
