//! Timers as receivers outside a select (`try_recv`, `recv`,
//! `recv_timeout`, `recv_deadline`, the channel queries, `recv_async` and
//! the ticker's stream), and mixed with selects over the same timer: every message is delivered once, never
//! early. Timing is asserted as lower bounds only (or bounds of seconds).

use std::future::Future;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use futures_lite::future::block_on;
use nimsync_channel::{RecvTimeoutError, TryRecvError, mpmc};
use nimsync_select::{Select, after, at, never, select, tick};

/// Far longer than any step of these tests takes, on any machine.
const GENEROUS: Duration = Duration::from_secs(10);

#[test]
fn after_recv_returns_its_deadline_no_earlier_than_it() {
    let start = Instant::now();
    let d = Duration::from_millis(15);
    let timer = after(d);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty), "not due yet");
    assert_eq!(timer.len(), 0);
    assert!(timer.is_empty() && !timer.is_full());
    assert_eq!(timer.capacity(), 1);

    let due = timer.recv().unwrap();
    assert_eq!(due, timer.deadline());
    assert!(due >= start + d);
    assert!(Instant::now() >= due, "never early");

    // One message: empty for good afterwards.
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(timer.len(), 0);
    assert!(timer.is_empty());
    let wait = Duration::from_millis(2);
    let before = Instant::now();
    assert_eq!(timer.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    assert!(
        before.elapsed() >= wait,
        "a taken timer waits out the timeout"
    );
}

#[test]
fn a_due_after_reports_one_message_until_taken() {
    let timer = at(Instant::now());
    assert_eq!(timer.len(), 1);
    assert!(timer.is_full() && !timer.is_empty());
    assert_eq!(timer.try_recv(), Ok(timer.deadline()));
    assert_eq!(timer.len(), 0);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn recv_timeout_and_deadline_time_out_no_earlier_than_asked() {
    let wait = Duration::from_millis(5);

    let late = after(Duration::from_secs(3600));
    let start = Instant::now();
    assert_eq!(late.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= wait);
    let deadline = Instant::now() + wait;
    assert_eq!(late.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);

    let ticker = tick(Duration::from_secs(3600));
    let start = Instant::now();
    assert_eq!(ticker.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= wait);
    let deadline = Instant::now() + wait;
    assert_eq!(
        ticker.recv_deadline(deadline),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(Instant::now() >= deadline);

    let off = never::<String>();
    let start = Instant::now();
    assert_eq!(off.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= wait);
    let deadline = Instant::now() + wait;
    assert_eq!(off.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
}

#[test]
fn a_timer_due_by_the_receive_deadline_delivers() {
    let timer = after(Duration::from_millis(3));
    assert_eq!(timer.recv_deadline(timer.deadline()), Ok(timer.deadline()));
    let timer = after(Duration::from_millis(3));
    assert_eq!(timer.recv_timeout(GENEROUS), Ok(timer.deadline()));

    let ticker = tick(Duration::from_millis(3));
    let next = ticker.next_deadline();
    assert_eq!(ticker.recv_deadline(next), Ok(next));
    assert!(Instant::now() >= next);
}

#[test]
fn never_is_empty_and_times_out() {
    let off = never::<Vec<u8>>();
    assert_eq!(off.try_recv(), Err(TryRecvError::Empty));
    assert_eq!((off.len(), off.capacity()), (0, 0));
    assert!(off.is_empty() && off.is_full());
}

/// `never().recv()` and `recv()` on a taken `after` block for good. Checked
/// as far as a test can: the receiving threads have not returned after
/// 50 ms (a lower bound on how long they block); they are left parked,
/// which Miri reports as a leak.
#[test]
#[cfg_attr(miri, ignore = "leaves two threads parked for good")]
fn recv_on_never_or_a_taken_after_blocks() {
    let taken: &'static _ = Box::leak(Box::new(at(Instant::now())));
    taken.recv().unwrap();
    let on_taken = thread::spawn(move || taken.recv());
    let on_never = thread::spawn(|| never::<u8>().recv());
    thread::sleep(Duration::from_millis(50));
    assert!(!on_taken.is_finished(), "recv on a taken timer returned");
    assert!(!on_never.is_finished(), "recv on never returned");
}

/// A ticker's own `recv` returns each tick at or after its due instant,
/// a period or more after the one before.
#[test]
fn tick_recv_is_never_early_and_a_period_apart() {
    let period = Duration::from_millis(2);
    let start = Instant::now();
    let ticker = tick(period);
    assert_eq!(ticker.capacity(), 1);
    let mut last = start;
    for _ in 0..5 {
        let due = ticker.recv().unwrap();
        assert!(Instant::now() >= due, "never early");
        assert!(due >= last + period, "{due:?} after {last:?}");
        last = due;
    }
}

/// A receiver that falls behind gets the latest due tick once, not a
/// burst of the missed ones; the next is a period after the late receive.
#[test]
fn tick_recv_drops_missed_ticks() {
    let period = Duration::from_millis(100);
    let ticker = tick(period);
    let first = ticker.recv().unwrap();
    let second = ticker.next_deadline();
    assert!(second >= first + period);
    // Slow on purpose: several periods pass unreceived.
    thread::sleep(period * 4);
    assert_eq!(ticker.len(), 1, "at most one tick is pending");
    let late = ticker.try_recv().unwrap();
    assert_eq!(late, second, "the first missed tick is delivered");
    // Taken at least four periods after `first`: the next is a period on.
    let dropped = first + period * 5;
    assert!(
        ticker.next_deadline() >= dropped,
        "the missed ticks are dropped"
    );
    assert!(ticker.recv().unwrap() >= dropped);
}

/// Several threads take ticks from one ticker, half with its own
/// `recv_timeout`, half with `select!`: every tick is received once.
#[test]
fn each_tick_is_received_once_by_receives_and_selects() {
    let period = Duration::from_millis(1);
    let ticker = tick(period);
    let (_tx, idle) = mpmc::channel::<u8>(1);
    let total = 40;
    let seen = Mutex::new(Vec::new());
    thread::scope(|s| {
        for t in 0..4 {
            let (ticker, idle, seen) = (&ticker, &idle, &seen);
            s.spawn(move || {
                while seen.lock().unwrap().len() < total {
                    let due = if t % 2 == 0 {
                        ticker.recv_timeout(GENEROUS).unwrap()
                    } else {
                        select! {
                            recv(idle) -> _ => unreachable!("nothing is sent"),
                            recv(ticker) -> due => due.unwrap(),
                        }
                    };
                    assert!(Instant::now() >= due, "never early");
                    seen.lock().unwrap().push(due);
                }
            });
        }
    });
    let mut seen = seen.into_inner().unwrap();
    let received = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), received, "a tick was received twice");
    assert!(seen.windows(2).all(|w| w[1] >= w[0] + period));
}

/// One `after` raced by its own blocking receive and a `select!` on it: one
/// of them gets the message, the other times out.
#[test]
fn an_after_raced_by_recv_and_select_is_delivered_once() {
    for _ in 0..10 {
        let timer = after(Duration::from_millis(2));
        let wait = Duration::from_millis(50);
        let (by_recv, by_select) = thread::scope(|s| {
            let by_recv = s.spawn(|| timer.recv_deadline(timer.deadline() + wait).is_ok());
            let by_select = s.spawn(|| {
                select! {
                    recv(timer) -> due => {
                        assert_eq!(due, Ok(timer.deadline()));
                        true
                    }
                    default((timer.deadline() + wait).saturating_duration_since(Instant::now())) => false,
                }
            });
            (by_recv.join().unwrap(), by_select.join().unwrap())
        });
        assert!(by_recv ^ by_select, "recv {by_recv}, select {by_select}");
    }
}

/// A `Select` that reserved a timer has taken its message: the timer's own
/// receive finds it empty, before and after the completion.
#[test]
fn a_selected_timer_is_not_received_again() {
    let timer = at(Instant::now());
    let mut sel = Select::new();
    let i = sel.recv(&timer);
    let op = sel.select();
    assert_eq!(op.index(), i);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(op.recv(&timer), Ok(timer.deadline()));
    assert_eq!(timer.len(), 0);

    // And the other way round: a timer received on its own is not
    // selected.
    let timer = at(Instant::now());
    assert!(timer.recv().is_ok());
    let mut sel = Select::new();
    sel.recv(&timer);
    assert!(sel.try_select().is_err());
}

/// The async receive of an `after` completes at or after the deadline with
/// it, once; on a taken timer it never completes.
#[test]
#[cfg_attr(
    miri,
    ignore = "arms a nimsync-time timer, whose thread runs for the life of the process: Miri reports it left running at exit"
)]
fn after_recv_async_is_never_early_and_delivers_once() {
    let start = Instant::now();
    let d = Duration::from_millis(5);
    let timer = after(d);
    let due = block_on(timer.recv_async()).unwrap();
    assert_eq!(due, timer.deadline());
    assert!(Instant::now() >= start + d);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    let again = block_on(nimsync_time::timeout(
        Duration::from_millis(5),
        timer.recv_async(),
    ));
    assert!(again.is_err(), "a taken timer's future stays pending");
    let never_fut = nimsync_time::timeout(Duration::from_millis(5), never::<u8>().recv_async());
    assert!(block_on(never_fut).is_err());
}

/// A receive future dropped before the deadline takes nothing: the
/// message is still there for the next receiver.
#[test]
#[cfg_attr(
    miri,
    ignore = "arms a nimsync-time timer, whose thread runs for the life of the process: Miri reports it left running at exit"
)]
fn a_dropped_recv_future_takes_nothing() {
    // Far enough out that the first poll comes before it even under Miri,
    // whose clock advances with every step it interprets.
    let timer = after(Duration::from_secs(1));
    let mut fut = timer.recv_async();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
    drop(fut);
    assert_eq!(timer.recv_timeout(GENEROUS), Ok(timer.deadline()));
}

/// A ticker shared by a stream, async receives and blocking receives on
/// three threads: every tick is received once, never early.
#[test]
#[cfg_attr(
    miri,
    ignore = "arms a nimsync-time timer, whose thread runs for the life of the process: Miri reports it left running at exit"
)]
fn each_tick_is_received_once_by_streams_futures_and_receives() {
    let period = Duration::from_millis(1);
    let ticker = tick(period);
    let total = 40;
    let seen = Mutex::new(Vec::new());
    let enough = || seen.lock().unwrap().len() >= total;
    let record = |due: Instant| {
        assert!(Instant::now() >= due, "never early");
        seen.lock().unwrap().push(due);
    };
    thread::scope(|s| {
        s.spawn(|| {
            block_on(async {
                let mut ticks = ticker.stream();
                while !enough() {
                    record(ticks.next().await.expect("a ticker's stream never ends"));
                }
            });
        });
        s.spawn(|| {
            block_on(async {
                while !enough() {
                    record(ticker.recv_async().await.unwrap());
                }
            });
        });
        s.spawn(|| {
            while !enough() {
                record(ticker.recv_timeout(GENEROUS).unwrap());
            }
        });
    });
    let mut seen = seen.into_inner().unwrap();
    let received = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), received, "a tick was received twice");
    assert!(seen.windows(2).all(|w| w[1] >= w[0] + period));
}
