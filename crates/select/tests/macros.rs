//! The `select!` family: every arm kind, defaults, timers, biased and
//! async forms.

use std::cell::Cell;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use nimsync_channel::{RecvError, mpmc, oneshot, spsc};
use nimsync_select::{
    after, at, never, select, select_async, select_biased, select_biased_async, tick,
};

mod common;
use common::{chi_square, scale};

/// Which arm ran, for tests that only care about that.
#[derive(Debug, PartialEq, Eq)]
enum Arm {
    A,
    B,
    C,
    Default,
}

#[test]
fn recv_arms_over_every_flavor_take_only_the_winner() {
    let (mtx, mrx) = mpmc::channel::<u32>(4);
    let (mut stx, mut srx) = spsc::channel::<u32>(4);
    let (otx, mut orx) = oneshot::channel::<u32>();
    stx.send(2).unwrap();
    let got = select! {
        recv(mrx) -> m => m.unwrap(),
        recv(srx) -> m => m.unwrap(),
        recv(orx) -> m => m.unwrap(),
    };
    assert_eq!(got, 2);
    // The losers were left alone.
    mtx.send(1).unwrap();
    otx.send(3).unwrap();
    assert_eq!(mrx.try_recv(), Ok(1));
    assert_eq!(orx.try_recv(), Ok(3));
}

#[test]
fn send_value_is_evaluated_only_when_its_arm_wins() {
    let (full_tx, _full_rx) = mpmc::channel::<u32>(1);
    full_tx.send(0).unwrap();
    let (mut tx, mut rx) = spsc::channel::<u32>(1);
    let evaluated = Cell::new(0);
    let value = |v: u32| {
        evaluated.set(evaluated.get() + 1);
        v
    };
    let arm = select! {
        send(full_tx, value(10)) -> _ => Arm::A,
        send(tx, value(20)) -> res => {
            res.unwrap();
            Arm::B
        }
    };
    assert_eq!(arm, Arm::B);
    assert_eq!(
        evaluated.get(),
        1,
        "only the winning arm's value is evaluated"
    );
    assert_eq!(rx.try_recv(), Ok(20));
}

#[test]
fn closed_channels_are_ready_with_their_errors() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    drop(tx);
    let res = select! { recv(rx) -> m => m };
    assert_eq!(res, Err(RecvError));

    let (tx, rx) = spsc::channel::<u32>(1);
    drop(rx);
    let mut tx = tx;
    let res = select! { send(tx, 7) -> r => r };
    assert_eq!(res.unwrap_err().0, 7, "the value comes back in the error");

    let (otx, mut orx) = oneshot::channel::<u32>();
    drop(otx);
    let res = select! { recv(orx) -> m => m };
    assert_eq!(res, Err(RecvError));
}

#[test]
fn default_runs_only_when_nothing_is_ready() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let arm = select! {
        recv(rx) -> _ => Arm::A,
        default => Arm::Default,
    };
    assert_eq!(arm, Arm::Default);
    tx.send(1).unwrap();
    let arm = select! {
        recv(rx) -> m => { assert_eq!(m, Ok(1)); Arm::A }
        default => Arm::Default,
    };
    assert_eq!(arm, Arm::A);
}

#[test]
fn default_with_timeout_waits_then_gives_up() {
    let (_tx, rx) = mpmc::channel::<u32>(1);
    let start = Instant::now();
    let arm = select! {
        recv(rx) -> _ => Arm::A,
        default(Duration::from_millis(20)) => Arm::Default,
    };
    assert_eq!(arm, Arm::Default);
    assert!(start.elapsed() >= Duration::from_millis(20));

    // A message arriving within the timeout wins.
    let (tx, rx) = mpmc::channel::<u32>(1);
    let sender = std::thread::spawn(move || tx.send(9).unwrap());
    let arm = select! {
        recv(rx) -> m => { assert_eq!(m, Ok(9)); Arm::A }
        default(Duration::from_secs(30)) => Arm::Default,
    };
    assert_eq!(arm, Arm::A);
    sender.join().unwrap();
}

#[test]
fn default_alone_runs() {
    let ran = select! { default => true };
    assert!(ran);
    let start = Instant::now();
    let ran = select! { default(Duration::from_millis(5)) => true };
    assert!(ran && start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn after_and_at_fire_no_earlier_than_their_deadline() {
    let (_tx, rx) = mpmc::channel::<u32>(1);
    let start = Instant::now();
    let fired = select! {
        recv(rx) -> _ => None,
        recv(after(Duration::from_millis(15))) -> t => Some(t.unwrap()),
    };
    let fired = fired.expect("the timer arm wins");
    assert!(fired >= start + Duration::from_millis(15));
    assert!(Instant::now() >= fired);

    let deadline = Instant::now() + Duration::from_millis(5);
    let fired = select! { recv(at(deadline)) -> t => t.unwrap() };
    assert_eq!(fired, deadline);
    assert!(Instant::now() >= deadline);
}

/// An `after` timer delivers one message: once a select took it, it is
/// not ready again, in a select or an `Option` arm that owns it.
#[test]
fn after_fires_once_across_selects() {
    let timer = at(Instant::now());
    let first = select! { recv(timer) -> t => t.unwrap() };
    assert_eq!(first, timer.deadline());
    let again = select! {
        recv(timer) -> _ => true,
        default => false,
    };
    assert!(!again, "the message was taken by the first select");
    let again = select! {
        recv(&timer) -> _ => true,
        default(Duration::from_millis(2)) => false,
    };
    assert!(!again, "a taken timer does not wake a waiting select");

    let owned = select! { recv(Some(at(Instant::now()))) -> t => t.is_ok() };
    assert!(owned);
}

#[test]
fn a_ready_channel_beats_a_later_timer() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(4).unwrap();
    let arm = select! {
        recv(rx) -> _ => Arm::A,
        recv(after(Duration::from_secs(60))) -> _ => Arm::B,
    };
    assert_eq!(arm, Arm::A);
}

#[test]
fn tick_fires_repeatedly_and_skips_missed_ticks() {
    // Under Miri the clock is virtual and advances with every interpreted
    // block: the checks below take longer than 5 ms of it.
    let period = Duration::from_millis(scale(200, 5) as u64);
    let ticker = tick(period);
    let start = Instant::now();
    let mut dues = Vec::new();
    for _ in 0..3 {
        select! { recv(ticker) -> t => dues.push(t.unwrap()) }
    }
    assert!(dues.windows(2).all(|w| w[1] >= w[0] + period), "{dues:?}");
    assert!(dues[0] >= start);
    // A slow receiver sees one late tick, not a burst of missed ones.
    // The receiver is slow on purpose: four periods pass unreceived.
    std::thread::sleep(period * 4);
    let late = select! { recv(ticker) -> t => t.unwrap() };
    assert!(ticker.next_deadline() >= Instant::now() - Duration::from_millis(1));
    assert!(ticker.next_deadline() > late + period);
    let burst = select! {
        recv(ticker) -> _ => true,
        default => false,
    };
    assert!(!burst, "missed ticks are not queued");
}

#[test]
fn never_and_none_arms_never_fire() {
    let none: Option<&mpmc::Receiver<u32>> = None;
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let disabled = Some(&rx).filter(|_| false);
    let arm = select! {
        recv(never::<u32>()) -> _ => Arm::A,
        recv(none) -> _ => Arm::B,
        recv(disabled) -> _ => Arm::C,
        default(Duration::from_millis(2)) => Arm::Default,
    };
    assert_eq!(arm, Arm::Default);
    assert_eq!(rx.try_recv(), Ok(1), "the disabled arm took nothing");

    let enabled = Some(&rx);
    tx.send(2).unwrap();
    let got = select! { recv(enabled) -> m => m.unwrap() };
    assert_eq!(got, 2);
}

#[test]
fn biased_select_prefers_arm_order_and_fair_select_does_not() {
    nimsync_select::__private::__seed_thread_rng(0x5EED_0000_0000_0002);
    let (atx, arx) = mpmc::channel::<u32>(1);
    let (btx, brx) = mpmc::channel::<u32>(1);
    // 200 rounds, 60 under Miri.
    let rounds = scale(60, 200);
    let mut second = 0;
    for _ in 0..rounds {
        atx.send(0).unwrap();
        btx.send(0).unwrap();
        let arm = select_biased! {
            recv(arx) -> _ => Arm::A,
            recv(brx) -> _ => Arm::B,
        };
        assert_eq!(arm, Arm::A);
        atx.send(0).unwrap();
        let arm = select! {
            recv(arx) -> _ => Arm::A,
            recv(brx) -> _ => Arm::B,
        };
        if arm == Arm::B {
            second += 1;
            arx.try_recv().unwrap();
        } else {
            brx.try_recv().unwrap();
        }
    }
    // 200 fair coin flips: fewer than 40 of one side has p < 1e-18 (60
    // flips: fewer than 10, p < 1e-7).
    let least = scale(10, 40);
    assert!(
        (least..=rounds - least).contains(&second),
        "fair select chose B {second} times"
    );
}

/// Runs 30,000 selects (150 under Miri) over 4 channels of which only
/// those in `ready` hold a message (refilled after each select), with
/// `select!` or `select_async!`; returns how often each arm ran.
fn count_choices_among(ready: &[usize], asynchronous: bool) -> [u32; 4] {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| mpmc::channel::<u8>(1)).unzip();
    for &i in ready {
        txs[i].send(0).unwrap();
    }
    let [r0, r1, r2, r3] = &rxs[..] else {
        unreachable!()
    };
    let mut counts = [0u32; 4];
    for _ in 0..scale(150, 30_000) {
        let i = if asynchronous {
            block_on(async {
                select_async! {
                    recv(r0) -> _ => 0,
                    recv(r1) -> _ => 1,
                    recv(r2) -> _ => 2,
                    recv(r3) -> _ => 3,
                }
            })
        } else {
            select! {
                recv(r0) -> _ => 0,
                recv(r1) -> _ => 1,
                recv(r2) -> _ => 2,
                recv(r3) -> _ => 3,
            }
        };
        counts[i] += 1;
        txs[i].send(0).unwrap();
    }
    counts
}

/// Asserts that only the `ready` arms ran, evenly: chi-square threshold 42
/// (p < 1e-8 for a fair select at up to 3 degrees of freedom).
fn assert_fair_among(counts: [u32; 4], ready: &[usize]) {
    for (i, &n) in counts.iter().enumerate() {
        if !ready.contains(&i) {
            assert_eq!(n, 0, "arm {i} never had a message but ran: {counts:?}");
        }
    }
    let chosen: Vec<u32> = ready.iter().map(|&i| counts[i]).collect();
    let chi2 = chi_square(&chosen);
    assert!(chi2 < 42.0, "counts {counts:?}, chi-square {chi2}");
}

/// `select!` chooses uniformly among the ready arms, and never an arm
/// that is not ready: arms 0, 2 and 3 of 4 always have a message, arm 1
/// never does. Seeded, so it cannot flake.
#[test]
fn fair_choice_among_some_ready_arms() {
    nimsync_select::__private::__seed_thread_rng(0x5EED_0000_0000_0004);
    assert_fair_among(count_choices_among(&[0, 2, 3], false), &[0, 2, 3]);
}

/// `select_async!` first tries one uniformly drawn arm while most arms
/// were ready in its last full check; the choice stays uniform among the
/// ready arms, with most ready (the probe hits often), half ready, and one
/// ready (no probe).
#[test]
fn async_fair_choice_among_some_ready_arms() {
    nimsync_select::__private::__seed_thread_rng(0x5EED_0000_0000_0006);
    for ready in [&[0, 2, 3][..], &[1, 2], &[0, 1, 2, 3], &[3]] {
        assert_fair_among(count_choices_among(ready, true), ready);
    }
}

/// A due timer is as likely to win as a ready channel: timers take part in
/// the same uniform choice. 2,000 rounds of a fair coin: fewer than 800 of
/// one side has p < 1e-18 (200 rounds under Miri: fewer than 60, p < 1e-8).
/// Each round has a timer of its own, as a timer's message is taken once.
#[test]
fn a_due_timer_and_a_ready_channel_are_chosen_evenly() {
    nimsync_select::__private::__seed_thread_rng(0x5EED_0000_0000_0005);
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(0).unwrap();
    let start = Instant::now();
    let rounds = scale(200, 2_000);
    let least = scale(60, 800);
    let mut timer_wins = 0;
    for _ in 0..rounds {
        let arm = select! {
            recv(rx) -> _ => Arm::A,
            recv(at(start)) -> t => {
                assert_eq!(t, Ok(start), "a timer yields its deadline");
                Arm::B
            }
        };
        if arm == Arm::A {
            tx.send(0).unwrap();
        } else {
            timer_wins += 1;
        }
    }
    assert!(
        (least..=rounds - least).contains(&timer_wins),
        "the due timer won {timer_wins} of {rounds}"
    );
}

#[test]
fn many_arms_spill_past_the_inline_buffer() {
    let channels: Vec<_> = (0..12).map(|_| mpmc::channel::<usize>(1)).collect();
    channels[11].0.send(11).unwrap();
    let [a, b, c, d, e, f, g, h, i, j, k, l] = &channels[..] else {
        unreachable!()
    };
    let got = select! {
        recv(a.1) -> m => m, recv(b.1) -> m => m, recv(c.1) -> m => m,
        recv(d.1) -> m => m, recv(e.1) -> m => m, recv(f.1) -> m => m,
        recv(g.1) -> m => m, recv(h.1) -> m => m, recv(i.1) -> m => m,
        recv(j.1) -> m => m, recv(k.1) -> m => m, recv(l.1) -> m => m,
    };
    assert_eq!(got, Ok(11));
}

#[test]
fn arm_bodies_can_break_and_use_their_endpoint() {
    let (mut tx, mut rx) = spsc::channel::<u32>(4);
    let (done_tx, done_rx) = mpmc::channel::<()>(1);
    let mut sum = 0;
    for v in 1..=3 {
        tx.send(v).unwrap();
    }
    done_tx.send(()).unwrap();
    loop {
        select_biased! {
            recv(rx) -> m => {
                sum += m.unwrap();
                // The endpoint is free again inside the body.
                while let Ok(more) = rx.try_recv() {
                    sum += more;
                }
            }
            recv(done_rx) -> _ => break,
        }
    }
    assert_eq!(sum, 6);
}

#[test]
fn blocking_select_is_woken_by_a_sender_thread() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (_tx2, rx2) = mpmc::channel::<u32>(1);
    let n = scale(30, 100) as u32;
    let sender = std::thread::spawn(move || {
        for v in 0..n {
            tx.send(v).unwrap();
        }
    });
    for expected in 0..n {
        let got = select! {
            recv(rx) -> m => m.unwrap(),
            recv(rx2) -> m => m.unwrap() + 1000,
        };
        assert_eq!(got, expected);
    }
    sender.join().unwrap();
}

#[test]
fn async_select_with_every_arm_kind() {
    block_on(async {
        let (tx, rx) = mpmc::channel::<u32>(1);
        let (mut stx, mut srx) = spsc::channel::<u32>(1);
        stx.send(1).unwrap(); // full: the send arm cannot win yet
        let ticker = tick(Duration::from_secs(60));
        let keep_open = tx.clone();
        let sender = std::thread::spawn(move || tx.send(5).unwrap());
        let got = select_async! {
            recv(rx) -> m => m.unwrap(),
            send(stx, 2) -> _ => unreachable!("the spsc channel is full"),
            recv(ticker) -> _ => unreachable!("the ticker is not due"),
            recv(after(Duration::from_secs(60))) -> _ => unreachable!("the timer is not due"),
        };
        assert_eq!(got, 5);
        sender.join().unwrap();
        assert_eq!(srx.try_recv(), Ok(1));

        let arm = select_async! {
            recv(rx) -> _ => Arm::A,
            default => Arm::Default,
        };
        assert_eq!(arm, Arm::Default);

        let start = Instant::now();
        let arm = select_async! {
            recv(rx) -> _ => Arm::A,
            default(Duration::from_millis(10)) => Arm::Default,
        };
        assert_eq!(arm, Arm::Default);
        assert!(start.elapsed() >= Duration::from_millis(10));

        let start = Instant::now();
        let fired = select_async! {
            recv(rx) -> _ => None,
            recv(after(Duration::from_millis(10))) -> t => Some(t.unwrap()),
        };
        assert!(fired.unwrap() >= start + Duration::from_millis(10));

        let (atx, arx) = mpmc::channel::<u32>(1);
        let (btx, brx) = mpmc::channel::<u32>(1);
        atx.send(1).unwrap();
        btx.send(2).unwrap();
        let first = select_biased_async! {
            recv(arx) -> m => m.unwrap(),
            recv(brx) -> m => m.unwrap(),
        };
        assert_eq!(first, 1);
        drop(keep_open);
    });
}

#[test]
fn dropped_async_select_keeps_its_send_value_and_takes_nothing() {
    let (tx, rx) = mpmc::channel::<String>(1);
    tx.send(String::from("occupant")).unwrap();
    let (_in_tx, in_rx) = mpmc::channel::<u32>(1);
    let evaluated = Cell::new(false);
    {
        let mut fut = Box::pin(async {
            select_async! {
                send(tx, { evaluated.set(true); String::from("new") }) -> _ => (),
                recv(in_rx) -> _ => (),
            }
        });
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert!(
        !evaluated.get(),
        "a losing or dropped send arm never evaluates its value"
    );
    assert_eq!(rx.try_recv().as_deref(), Ok("occupant"));
    assert!(rx.try_recv().is_err());
}

/// A send arm whose value expression panics gives its reservation up: the
/// channel is not left with a claimed slot that is never written.
#[test]
fn a_panicking_send_value_leaves_the_channel_usable() {
    fn no_value() -> u32 {
        panic!("the value could not be made")
    }
    let (tx, rx) = mpmc::channel::<u32>(1);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        select! {
            send(tx, no_value()) -> _ => (),
        }
    }));
    assert!(unwound.is_err());
    assert_eq!(rx.try_recv(), Err(nimsync_channel::TryRecvError::Empty));
    tx.send(7).unwrap();
    assert_eq!(rx.recv(), Ok(7));
}

/// `?` (or `return`, `break`, `continue`) in a send arm's value leaves the
/// select early; the reservation is given up, not left hanging.
#[test]
fn an_early_exit_from_a_send_value_gives_the_reservation_up() {
    fn send_if_some(tx: &mpmc::Sender<u32>, v: Option<u32>) -> Option<()> {
        select! {
            send(tx, v?) -> res => res.ok(),
        }
    }
    // An abandoned position holds its slot until a receiver passes it, so
    // the channel has room for the value, the abandoned position and the
    // select that breaks out.
    let (tx, rx) = mpmc::channel::<u32>(3);
    assert_eq!(send_if_some(&tx, None), None);
    assert_eq!(send_if_some(&tx, Some(4)), Some(()));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(nimsync_channel::TryRecvError::Empty));
    for v in 0..4 {
        let mut values = [Some(v), None].into_iter();
        loop {
            select! {
                send(tx, match values.next() {
                    Some(Some(v)) => v,
                    Some(None) => continue,
                    None => break,
                }) -> res => res.unwrap(),
            }
        }
        assert_eq!(rx.try_recv(), Ok(v));
        assert_eq!(rx.try_recv(), Err(nimsync_channel::TryRecvError::Empty));
    }
}

/// An async select dropped while its winning send arm's value awaits gives
/// the reservation up: nothing is sent, and the channel goes on.
#[test]
fn dropping_an_async_select_inside_its_send_value_gives_the_reservation_up() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.send(1).unwrap();
    let mut fut = Box::pin(async {
        select_async! {
            send(tx, {
                futures_lite::future::yield_now().await;
                2
            }) -> res => res.unwrap(),
        }
    });
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending(), "full: it waits");
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(
        fut.as_mut().poll(&mut cx).is_pending(),
        "won, and awaiting inside the value"
    );
    drop(fut);
    assert_eq!(rx.try_recv(), Err(nimsync_channel::TryRecvError::Empty));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}

fn assert_send<F: Send>(f: F) -> F {
    f
}

#[test]
fn async_select_futures_are_send() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (mut stx, mut srx) = spsc::channel::<u32>(1);
    let fut = assert_send(async move {
        select_async! {
            recv(rx) -> m => m.ok(),
            recv(srx) -> m => m.ok(),
            default(Duration::from_secs(5)) => None,
        }
    });
    stx.send(3).unwrap();
    drop(tx);
    // Either arm may win: the spsc message or the closed mpmc channel.
    let got = block_on(fut);
    assert!(got == Some(3) || got.is_none());
}

/// A waker that counts its wake-ups.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Polls `fut` to completion by hand, calling `on_pending` after each
/// `Pending`; returns its output, how often it returned `Pending`, and how
/// often it woke its task.
fn poll_by_hand<F: std::future::Future>(
    fut: F,
    mut on_pending: impl FnMut(),
) -> (F::Output, usize, usize) {
    let counter = std::sync::Arc::new(CountingWaker(0.into()));
    let waker = std::task::Waker::from(counter.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let mut pendings = 0;
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            let wakes = counter.0.load(std::sync::atomic::Ordering::SeqCst);
            return (out, pendings, wakes);
        }
        pendings += 1;
        on_pending();
    }
}

/// Receives `n` messages from `rx`, one `select_async!` each; their sum.
async fn recv_n(rx: &mpmc::Receiver<u64>, n: usize) -> u64 {
    let mut sum = 0;
    for _ in 0..n {
        sum += select_async! { recv(rx) -> m => m.unwrap() };
    }
    sum
}

/// A task whose selects always find a ready arm still yields to its
/// executor: once every 128 selects, after waking itself.
#[test]
fn always_ready_async_selects_yield_once_per_budget() {
    // 300 selects (130 under Miri).
    let n = scale(130, 300);
    let (tx, rx) = mpmc::channel::<u64>(512);
    for i in 0..n as u64 {
        tx.send(i).unwrap();
    }
    // A fresh thread: the budget is counted per thread.
    let (sum, pendings, wakes) = std::thread::spawn(move || poll_by_hand(recv_n(&rx, n), || {}))
        .join()
        .unwrap();
    assert_eq!(
        sum,
        (0..n as u64).sum::<u64>(),
        "every message received once"
    );
    assert_eq!(
        pendings,
        n / 128,
        "300 ready selects yield at the 128th and 256th"
    );
    assert_eq!(wakes, n / 128, "each yield wakes its task first");
}

/// A select with a plain `default` arm never waits, so it never yields
/// either; one with `default(timeout)` can wait, and spends the budget.
#[test]
fn default_arms_and_the_budget() {
    // 300 selects of each kind (130 under Miri): a yield every 128.
    let n = scale(130, 300) as u64;
    let (tx, rx) = mpmc::channel::<u64>(1024);
    for i in 0..2 * n {
        tx.send(i).unwrap();
    }
    let (plain, timed) = std::thread::spawn(move || {
        let plain = poll_by_hand(
            async {
                let mut got = 0;
                for _ in 0..n {
                    got += select_async! {
                        recv(rx) -> m => m.unwrap(),
                        default => unreachable!("a message is always ready"),
                    };
                }
                got
            },
            || {},
        );
        let timed = poll_by_hand(
            async {
                let mut got = 0;
                for _ in 0..n {
                    got += select_async! {
                        recv(rx) -> m => m.unwrap(),
                        default(Duration::from_secs(60)) => unreachable!("a message is always ready"),
                    };
                }
                got
            },
            || {},
        );
        (plain, timed)
    })
    .join()
    .unwrap();
    assert_eq!(plain.0, (0..n).sum::<u64>());
    assert_eq!((plain.1, plain.2), (0, 0), "plain default: no yield");
    assert_eq!(timed.0, (n..2 * n).sum::<u64>());
    let yields = (n / 128) as usize;
    assert_eq!(
        (timed.1, timed.2),
        (yields, yields),
        "default(timeout): yields at 128, 256"
    );
}

/// A select that had to wait starts the budget afresh: its task gave the
/// executor a turn anyway.
#[test]
fn a_waiting_async_select_resets_the_budget() {
    let (tx, rx) = mpmc::channel::<u64>(512);
    let (late_tx, late_rx) = mpmc::channel::<u64>(1);
    for i in 0..200 {
        tx.send(i).unwrap();
    }
    let (sum, pendings, wakes) = std::thread::spawn(move || {
        poll_by_hand(
            async {
                let mut sum = recv_n(&rx, 100).await;
                // Empty until the task has waited for it.
                sum += recv_n(&late_rx, 1).await;
                sum + recv_n(&rx, 100).await
            },
            || late_tx.send(1_000).unwrap(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(sum, (0..200).sum::<u64>() + 1_000);
    // Without the reset the 128th select would have yielded too.
    assert_eq!(pendings, 1, "only the wait for the late message");
    assert_eq!(wakes, 1, "the late message woke the task");
}

/// crossbeam-channel's `select!` syntax ports unchanged: a trailing comma
/// inside an arm's parentheses, and `default()` for a plain default.
#[test]
fn crossbeam_style_trailing_commas_and_empty_default_parse() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let got = select! {
        send(tx, 1,) -> res => res.map(|()| Arm::A).unwrap(),
        recv(rx,) -> _ => Arm::B,
    };
    assert_eq!(got, Arm::A);
    let got = select! {
        recv(rx,) -> msg => { assert_eq!(msg, Ok(1)); Arm::B }
        default() => Arm::Default,
    };
    assert_eq!(got, Arm::B);
    let got = select! {
        recv(rx) -> _ => Arm::B,
        default() => Arm::Default,
    };
    assert_eq!(got, Arm::Default);
    let got = select! {
        recv(rx) -> _ => Arm::B,
        default(Duration::from_millis(1),) => Arm::Default,
    };
    assert_eq!(got, Arm::Default);
    let got = block_on(async {
        select_async! {
            recv(rx,) -> _ => Arm::B,
            default() => Arm::Default
        }
    });
    assert_eq!(got, Arm::Default);
}

/// `biased;` before the arms takes the first ready arm in arm order, in
/// `select!` and `select_async!`, with every arm kind and a default; the
/// arms after it parse as in a fair select.
#[test]
fn biased_token_takes_ready_arms_in_arm_order() {
    let (atx, arx) = mpmc::channel::<u32>(4);
    let (mut btx, mut brx) = spsc::channel::<u32>(4);
    let (ctx, crx) = mpmc::channel::<u32>(1);
    // 200 rounds, 60 under Miri: a fair select would pick B about half of
    // the time.
    for _ in 0..scale(60, 200) {
        atx.send(1).unwrap();
        btx.send(2).unwrap();
        let arm = select! {
            biased;
            recv(arx) -> msg => { assert_eq!(msg, Ok(1)); Arm::A }
            recv(brx) -> _ => Arm::B,
            default => Arm::Default,
        };
        assert_eq!(arm, Arm::A);
        let arm = block_on(async {
            select_async! {
                biased;
                recv(brx) -> msg => { assert_eq!(msg, Ok(2)); Arm::B }
                send(ctx, 3) -> _ => Arm::C,
            }
        });
        assert_eq!(arm, Arm::B);
    }
    // A send arm first in a biased select wins while it can send.
    let arm = select! {
        biased;
        send(ctx, 4) -> res => { res.unwrap(); Arm::C }
        recv(arx) -> _ => Arm::A,
    };
    assert_eq!(arm, Arm::C);
    assert_eq!(crx.try_recv(), Ok(4));
    // Nothing ready: the default runs, biased or not.
    let arm = select! {
        biased;
        recv(crx) -> _ => Arm::C,
        default(Duration::from_millis(1)) => Arm::Default,
    };
    assert_eq!(arm, Arm::Default);
}

/// `select_biased!` and `select_biased_async!` behave as `biased;` does.
#[test]
fn biased_macros_match_the_biased_token() {
    let (atx, arx) = mpmc::channel::<u32>(1);
    let (btx, brx) = mpmc::channel::<u32>(1);
    btx.send(2).unwrap();
    atx.send(1).unwrap();
    let first = select_biased! {
        recv(arx) -> msg => msg.unwrap(),
        recv(brx) -> msg => msg.unwrap(),
    };
    assert_eq!(first, 1);
    atx.send(1).unwrap();
    let first = block_on(async {
        select_biased_async! {
            recv(arx) -> msg => msg.unwrap(),
            recv(brx) -> msg => msg.unwrap(),
        }
    });
    assert_eq!(first, 1);
}
