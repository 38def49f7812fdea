//! The `Select` builder: every operation kind, closed channels, timeouts,
//! fairness, atomicity under contention, and cancel-safety of the async
//! form.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context as TaskContext, Waker};
use std::time::{Duration, Instant};

use nimsync_channel::{mpmc, oneshot, spsc};
use nimsync_select::{Select, SelectTimeoutError, TrySelectError};

mod common;
use common::{chi_square, scale};

/// A receive on whichever flavor is ready wins, and only it is consumed.
#[test]
fn mixed_flavors_only_the_winner_is_consumed() {
    let (mtx, mrx) = mpmc::channel::<u32>(2);
    let (mut stx, mut srx) = spsc::channel::<u32>(2);
    let (otx, mut orx) = oneshot::channel::<u32>();
    stx.send(2).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.recv(&mrx);
        sel.recv(&mut srx);
        sel.recv(&mut orx);
        sel.select()
    };
    assert_eq!(op.index(), 1);
    assert_eq!(op.recv(&srx), Ok(2));
    // Nothing else was touched.
    mtx.send(1).unwrap();
    otx.send(3).unwrap();
    assert_eq!(mrx.try_recv(), Ok(1));
    assert_eq!(orx.try_recv(), Ok(3));
}

/// A send arm reserves room; its value is given only at completion.
#[test]
fn send_arm_takes_its_value_at_completion() {
    let (tx, rx) = mpmc::channel::<String>(1);
    let (mut stx, mut srx) = spsc::channel::<String>(1);
    stx.send("full".into()).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.send(&tx);
        sel.send(&mut stx);
        sel.select()
    };
    assert_eq!(op.index(), 0, "the spsc channel is full");
    op.send(&tx, "sent".to_owned()).unwrap();
    assert_eq!(rx.recv().unwrap(), "sent");
    assert_eq!(srx.recv().unwrap(), "full");
}

/// Closed channels count as ready and complete with their error.
#[test]
fn closed_channels_are_ready_with_their_error() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    drop(tx);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(sel.select().recv(&rx).is_err());

    let (tx, rx) = mpmc::channel::<u8>(1);
    drop(rx);
    let mut sel = Select::new();
    sel.send(&tx);
    assert_eq!(sel.select().send(&tx, 7).unwrap_err().0, 7);
}

/// `try_select` fails at once when nothing is ready; `select_timeout`
/// gives up no earlier than its timeout.
#[test]
fn try_and_timeout() {
    let (_tx, rx) = mpmc::channel::<u8>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert_eq!(sel.try_select().map(|_| ()).unwrap_err(), TrySelectError);
    let start = Instant::now();
    let timeout = Duration::from_millis(20);
    assert_eq!(
        sel.select_timeout(timeout).map(|_| ()).unwrap_err(),
        SelectTimeoutError
    );
    assert!(start.elapsed() >= timeout);
    assert_eq!(TrySelectError.to_string(), "no operation was ready");
    assert_eq!(
        SelectTimeoutError.to_string(),
        "no operation became ready before the deadline"
    );
}

/// A blocked select is woken by a send on any of its channels, from
/// another thread.
#[test]
fn blocking_select_is_woken_by_any_channel() {
    for which in 0..2 {
        let (tx1, rx1) = mpmc::channel::<u8>(1);
        let (mut tx2, mut rx2) = spsc::channel::<u8>(1);
        let sender = std::thread::spawn(move || {
            // Only makes it likely that the select is parked when the send
            // comes (the path under test); the assertions hold either way.
            std::thread::sleep(Duration::from_millis(5));
            if which == 0 {
                tx1.send(10).unwrap();
            } else {
                tx2.send(20).unwrap();
            }
            (tx1, tx2)
        });
        let op = {
            let mut sel = Select::new();
            sel.recv(&rx1);
            sel.recv(&mut rx2);
            sel.select()
        };
        assert_eq!(op.index(), which);
        let got = if which == 0 {
            op.recv(&rx1)
        } else {
            op.recv(&rx2)
        };
        assert_eq!(got, Ok(if which == 0 { 10 } else { 20 }));
        drop(sender.join().unwrap());
    }
}

/// Runs `rounds` fair selects over four mpmc channels, of which those in
/// `ready` always hold a message (each taken is sent again) and the rest
/// stay empty; returns how often each was chosen. The thread's generator
/// is seeded with `seed`, so every run makes the same choices.
fn count_choices(seed: u64, ready: &[usize], rounds: usize) -> [u32; 4] {
    nimsync_select::__private::__seed_thread_rng(seed);
    let channels: Vec<_> = (0..4).map(|_| mpmc::channel::<u8>(1)).collect();
    for &i in ready {
        channels[i].0.send(0).unwrap();
    }
    let mut counts = [0u32; 4];
    for _ in 0..rounds {
        let mut sel = Select::new();
        for (_, rx) in &channels {
            sel.recv(rx);
        }
        let op = sel.select();
        let i = op.index();
        op.recv(&channels[i].1).unwrap();
        counts[i] += 1;
        channels[i].0.send(0).unwrap();
    }
    counts
}

/// With four always-ready channels, each is chosen equally often: a
/// chi-square test with 3 degrees of freedom, threshold 45 (p < 1e-9 for a
/// fair select). Seeded, so the test cannot flake.
#[test]
fn fair_choice_among_ready_operations() {
    let counts = count_choices(0x5EED_1234_ABCD_0001, &[0, 1, 2, 3], scale(200, 40_000));
    let chi2 = chi_square(&counts);
    assert!(chi2 < 45.0, "counts {counts:?}, chi-square {chi2}");
}

/// With only some operations ready, each ready one is chosen equally often
/// and the others never: channels 0, 2 and 3 of 4 always hold a message,
/// channel 1 never does. Chi-square with 2 degrees of freedom, threshold 42
/// (p < 1e-9 for a fair select); seeded, so it cannot flake.
#[test]
fn fair_choice_among_some_ready_operations() {
    let counts = count_choices(0x5EED_1234_ABCD_0003, &[0, 2, 3], scale(150, 30_000));
    assert_eq!(counts[1], 0, "the empty channel was never chosen");
    let ready = [counts[0], counts[2], counts[3]];
    let chi2 = chi_square(&ready);
    assert!(chi2 < 42.0, "counts {counts:?}, chi-square {chi2}");
}

/// With half of the operations ready, the choice is even between the two
/// ready ones (chi-square with 1 degree of freedom, threshold 36, p < 1e-8
/// for a fair select); with one ready, it is always that one. Seeded, so
/// it cannot flake.
#[test]
fn fair_choice_with_half_or_one_ready() {
    let counts = count_choices(0x5EED_1234_ABCD_0005, &[1, 2], scale(100, 20_000));
    assert_eq!((counts[0], counts[3]), (0, 0), "only ready channels won");
    let chi2 = chi_square(&[counts[1], counts[2]]);
    assert!(chi2 < 36.0, "counts {counts:?}, chi-square {chi2}");
    let rounds = scale(50, 1_000);
    let counts = count_choices(0x5EED_1234_ABCD_0007, &[3], rounds);
    assert_eq!(counts, [0, 0, 0, rounds as u32]);
}

/// A biased select takes ready operations in the order they were added.
#[test]
fn biased_takes_the_first_ready() {
    let (tx1, rx1) = mpmc::channel::<u8>(1);
    let (tx2, rx2) = mpmc::channel::<u8>(1);
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    for _ in 0..100 {
        let mut sel = Select::new_biased();
        sel.recv(&rx1);
        sel.recv(&rx2);
        let op = sel.select();
        assert_eq!(op.index(), 0);
        assert_eq!(op.recv(&rx1), Ok(1));
        tx1.send(1).unwrap();
    }
}

/// An uncompleted selected MPMC receive panics, naming its index: the
/// message it had reserved is dropped with it.
#[test]
#[should_panic(expected = "selected operation 1 (a receive) was dropped without being completed")]
fn uncompleted_mpmc_receive_panics_with_its_index() {
    let (_tx1, rx1) = mpmc::channel::<u8>(1);
    let (tx2, rx2) = mpmc::channel::<u8>(1);
    tx2.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx1);
    sel.recv(&rx2);
    drop(sel.select());
}

/// An uncompleted selected spsc receive reserved nothing: dropping it takes
/// nothing from the channel and does not panic.
#[test]
fn uncompleted_spsc_receive_takes_nothing() {
    let (mut tx, mut rx) = spsc::channel::<u8>(1);
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&mut rx);
    drop(sel.select());
    drop(sel);
    assert_eq!(rx.try_recv(), Ok(1));
}

/// Completing with another endpoint than the selected one panics.
#[test]
#[should_panic(expected = "on an endpoint of another")]
fn completing_on_the_wrong_endpoint_panics() {
    let (mut tx1, mut rx1) = spsc::channel::<u8>(1);
    let (_tx2, rx2) = spsc::channel::<u8>(1);
    tx1.send(1).unwrap();
    let op = {
        let mut sel = Select::new();
        sel.recv(&mut rx1);
        sel.select()
    };
    let _ = op.recv(&rx2);
}

/// Two consumers selecting over four channels fed by four producers: every
/// message is received exactly once.
#[test]
fn contended_selects_receive_each_message_once() {
    let per = scale(25, 5_000) as u32;
    let channels: Vec<_> = (0..4).map(|_| mpmc::channel::<u32>(8)).collect();
    let receivers: Arc<Vec<_>> = Arc::new(channels.iter().map(|(_, rx)| rx.clone()).collect());
    let producers: Vec<_> = channels
        .into_iter()
        .enumerate()
        .map(|(p, (tx, _))| {
            std::thread::spawn(move || {
                for i in 0..per {
                    tx.send(p as u32 * per + i).unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let receivers = Arc::clone(&receivers);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let mut sel = Select::new();
                    for rx in receivers.iter() {
                        sel.recv(rx);
                    }
                    let op = sel.select();
                    let i = op.index();
                    match op.recv(&receivers[i]) {
                        Ok(v) => got.push(v),
                        Err(_) => {
                            // That channel is closed and drained: stop once
                            // all of them are.
                            if receivers.iter().all(|rx| rx.is_closed() && rx.is_empty()) {
                                return got;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    drop(receivers);
    for c in consumers {
        for v in c.join().unwrap() {
            assert!(seen.insert(v), "message {v} received twice");
            total += 1;
        }
    }
    assert_eq!(total, 4 * per);
}

/// The async form works under a foreign executor.
#[test]
fn select_async_under_block_on() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (_tx2, rx2) = mpmc::channel::<u8>(1);
    let sender = std::thread::spawn(move || {
        // Makes it likely the future is pending when the send comes; the
        // assertions hold either way.
        std::thread::sleep(Duration::from_millis(5));
        tx.send(8).unwrap();
    });
    let op = futures_lite::future::block_on(async {
        let mut sel = Select::new();
        sel.recv(&rx2);
        sel.recv(&rx);
        sel.select_async().await
    });
    assert_eq!(op.index(), 1);
    assert_eq!(op.recv(&rx), Ok(8));
    sender.join().unwrap();
}

/// A waker that counts its wake-ups.
struct Counter(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Dropping a pending async select takes nothing, and a wake-up it had been
/// handed passes on to the next waiter (here an async `recv` queued behind
/// it, both polled by hand so the order is fixed).
#[test]
fn dropped_async_select_passes_its_wake_up_on() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    let counter = Arc::new(Counter(std::sync::atomic::AtomicUsize::new(0)));
    let recv_waker = Waker::from(Arc::clone(&counter));
    let mut recv_cx = TaskContext::from_waker(&recv_waker);
    let mut recv = Box::pin(rx.recv_async());
    {
        let mut future = Box::pin(sel.select_async());
        let mut cx = TaskContext::from_waker(Waker::noop());
        // The select registers first, the receive queues behind it.
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(recv.as_mut().poll(&mut recv_cx).is_pending());
        // The send notifies the select, which is dropped without looking.
        tx.send(5).unwrap();
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        drop(future);
    }
    assert_eq!(
        counter.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the wake-up was passed on"
    );
    assert_eq!(
        recv.as_mut().poll(&mut recv_cx),
        std::task::Poll::Ready(Ok(5))
    );
}

/// `ready` reports a ready operation without consuming it, from a plain
/// check or after blocking, and times out when nothing comes.
#[test]
fn ready_reports_without_consuming() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let (_tx2, rx2) = mpmc::channel::<u8>(1);
    let mut sel = Select::new();
    sel.recv(&rx2);
    let i = sel.recv(&rx);
    assert_eq!(sel.try_ready(), Err(TrySelectError));
    assert!(sel.ready_timeout(Duration::from_millis(5)).is_err());
    let sender = std::thread::spawn(move || {
        // Makes it likely `ready` blocks before the send; the assertions
        // hold either way.
        std::thread::sleep(Duration::from_millis(5));
        tx.send(4).unwrap();
        tx
    });
    assert_eq!(sel.ready(), i);
    assert_eq!(rx.try_recv(), Ok(4), "ready took nothing");
    drop(sender.join().unwrap());
}

/// crossbeam's `Select::remove`: a removed operation is never selected
/// again, the other indices stay, and later ones are not reused.
#[test]
fn removed_operations_are_never_selected_and_indices_stay() {
    let (tx0, rx0) = mpmc::channel::<u32>(1);
    let (tx1, rx1) = mpmc::channel::<u32>(1);
    let (tx2, rx2) = mpmc::channel::<u32>(1);
    drop(tx0); // always ready: closed
    let mut sel = Select::new();
    assert_eq!((sel.recv(&rx0), sel.recv(&rx1)), (0, 1));
    sel.remove(0);
    assert_eq!(
        sel.try_select().err(),
        Some(TrySelectError),
        "the closed one is gone"
    );
    assert_eq!(sel.try_ready(), Err(TrySelectError));
    assert_eq!(sel.recv(&rx2), 2, "an index is never reused");
    tx2.send(7).unwrap();
    let op = sel.select();
    assert_eq!(op.index(), 2);
    assert_eq!(op.recv(&rx2), Ok(7));
    tx1.send(8).unwrap();
    assert_eq!(sel.ready(), 1);
    sel.remove(1);
    sel.remove(2);
    assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
    assert_eq!(rx1.try_recv(), Ok(8), "removed operations take nothing");
}

#[test]
fn select_with_every_operation_removed_panics_with_advice() {
    let (_tx, rx) = mpmc::channel::<u32>(1);
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    sel.remove(i);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sel.ready()))
        .expect_err("waiting on nothing would never end");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default()
        + panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("all removed"), "{msg}");
}

#[test]
#[should_panic(expected = "operation 0 was already removed")]
fn removing_twice_panics() {
    let (_tx, rx) = mpmc::channel::<u32>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    sel.remove(0);
    sel.remove(0);
}

#[test]
#[should_panic(expected = "no operation at index 3")]
fn removing_an_index_never_added_panics() {
    Select::new().remove(3);
}

#[test]
fn ready_deadline_times_out_then_reports_the_ready_index() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    let deadline = Instant::now() + Duration::from_millis(5);
    assert_eq!(sel.ready_deadline(deadline), Err(SelectTimeoutError));
    assert!(Instant::now() >= deadline, "it waited for the deadline");
    tx.send(1).unwrap();
    assert_eq!(sel.ready_deadline(Instant::now()), Ok(i));
    assert_eq!(rx.try_recv(), Ok(1), "ready takes nothing");
}

#[test]
fn removal_works_past_the_inline_operations() {
    let chans: Vec<_> = (0..12).map(|_| mpmc::channel::<usize>(1)).collect();
    let mut sel = Select::new();
    for (_, rx) in &chans {
        sel.recv(rx);
    }
    for (i, (tx, _)) in chans.iter().enumerate() {
        tx.send(i).unwrap();
    }
    for i in (0..12).filter(|i| i % 5 != 3) {
        sel.remove(i);
    }
    let mut got = Vec::new();
    while let Ok(op) = sel.try_select() {
        let i = op.index();
        got.push(op.recv(&chans[i].1).unwrap());
        sel.remove(i);
    }
    got.sort_unstable();
    assert_eq!(got, [3, 8], "only the operations left were selected");
}
