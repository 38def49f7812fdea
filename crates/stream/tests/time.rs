//! The time stages: what each emits and when, driven by a stream channel
//! the test feeds. Timing is checked only from below (a stage never emits
//! before its timer says so); how late a busy machine delivers is not a
//! test's business.

use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use futures_lite::future::{block_on, poll_once};
use nimsync_stream::{Overflow, Rate, StageExt, ThrottleMode, channel};

const D: Duration = Duration::from_millis(20);
/// A timer no test run outlasts: what must not have happened yet is
/// checked against it, so a stalled machine cannot fire it early.
const LONG: Duration = Duration::from_secs(3600);

#[test]
fn chunks_timeout_waits_from_the_first_item_and_never_emits_an_empty_chunk() {
    let (tx, rx) = channel(16, Overflow::Block);
    let mut s = rx.chunks_timeout(3, D);
    block_on(async {
        // Idle: nothing, however often it is polled.
        assert!(poll_once(s.next()).await.is_none());
        let first = Instant::now();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert!(
            poll_once(s.next()).await.is_none(),
            "partial chunk before its timeout"
        );
        assert_eq!(s.next().await, Some(vec![1, 2]));
        assert!(first.elapsed() >= D);
        // A full chunk goes at once.
        for i in 3..=5 {
            tx.send(i).unwrap();
        }
        assert_eq!(poll_once(s.next()).await, Some(Some(vec![3, 4, 5])));
        tx.send(6).unwrap();
        drop(tx);
        // The end flushes the partial chunk without waiting for its timer.
        assert_eq!(poll_once(s.next()).await, Some(Some(vec![6])));
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn debounce_emits_after_a_quiet_period_and_flushes_at_the_end() {
    let (tx, rx) = channel(16, Overflow::Block);
    let mut waiting = rx.debounce(LONG);
    block_on(async {
        tx.send(1).unwrap();
        assert!(poll_once(waiting.next()).await.is_none());
        drop(tx);
        assert_eq!(poll_once(waiting.next()).await, Some(Some(1)));
    });
    let (tx, rx) = channel(16, Overflow::Block);
    let mut s = rx.debounce(D);
    block_on(async {
        let start = Instant::now();
        tx.send(1).unwrap();
        assert_eq!(s.next().await, Some(1));
        assert!(start.elapsed() >= D);
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!(s.next().await, Some(3));
        assert_eq!(s.superseded(), 1);
        tx.send(4).unwrap();
        drop(tx);
        assert_eq!(poll_once(s.next()).await, Some(Some(4)));
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn sample_emits_the_newest_item_of_each_period() {
    let (tx, rx) = channel(16, Overflow::Block);
    let start = Instant::now();
    let mut s = rx.sample(D);
    block_on(async {
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(s.next().await, Some(2));
        assert!(start.elapsed() >= D);
        // A period with nothing emits nothing: the next item is the next
        // one sent.
        tx.send(3).unwrap();
        assert_eq!(s.next().await, Some(3));
        tx.send(4).unwrap();
        drop(tx);
        assert_eq!(poll_once(s.next()).await, Some(Some(4)));
        assert_eq!(s.next().await, None);
        assert_eq!(s.superseded(), 1);
    });
}

#[test]
fn a_shaping_throttle_delays_every_item_past_the_burst_and_loses_none() {
    let rate = Rate::new(1, D / 2);
    let start = Instant::now();
    let mut s = futures_lite::stream::iter(0..6).throttle(rate, 2, ThrottleMode::Shape);
    let got: Vec<i32> = block_on((&mut s).collect());
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
    // Two at once, then four more one interval apart.
    assert!(start.elapsed() >= rate.interval() * 4);
    let m = s.metrics();
    assert_eq!((m.offered, m.delivered, m.dropped()), (6, 6, 0));
}

#[test]
fn a_dropping_throttle_refills_at_its_rate() {
    let (tx, rx) = channel(16, Overflow::Block);
    let mut s = rx.throttle(Rate::new(1, LONG), 1, ThrottleMode::Drop);
    block_on(async {
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(s.next().await, Some(1));
        assert!(poll_once(s.next()).await.is_none());
        assert_eq!(s.metrics().dropped_throttled, 1);
    });
    let (tx, rx) = channel(16, Overflow::Block);
    let mut s = rx.throttle(Rate::new(1, D), 1, ThrottleMode::Drop);
    block_on(async {
        tx.send(1).unwrap();
        assert_eq!(s.next().await, Some(1));
        nimsync_time::sleep(D).await;
        tx.send(3).unwrap();
        assert_eq!(s.next().await, Some(3));
    });
}

#[test]
fn timeout_reports_each_late_item_and_goes_on() {
    let (tx, rx) = channel(16, Overflow::Block);
    let mut s = rx.timeout(D);
    block_on(async {
        let start = Instant::now();
        let err = s.next().await.unwrap().unwrap_err();
        assert!(start.elapsed() >= D);
        assert!(err.deadline() <= Instant::now());
        tx.send(7).unwrap();
        assert_eq!(s.next().await, Some(Ok(7)));
        drop(tx);
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn bad_arguments_panic_with_advice() {
    let msg = |f: fn()| {
        let e = std::panic::catch_unwind(f).unwrap_err();
        e.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| e.downcast_ref::<String>().cloned())
            .unwrap()
    };
    assert!(
        msg(|| drop(futures_lite::stream::iter([1]).chunks_timeout(0, D))).contains("at least 1")
    );
    assert!(
        msg(|| drop(futures_lite::stream::iter([1]).sample(Duration::ZERO)))
            .contains("positive period")
    );
    assert!(
        msg(|| {
            let _ = Rate::per_second(0);
        })
        .contains("positive count")
    );
    assert!(
        msg(|| drop(futures_lite::stream::iter([1]).throttle(
            Rate::per_second(1),
            0,
            ThrottleMode::Drop
        )))
        .contains("burst of at least 1")
    );
}
