//! `mpmc::SendSink`, an MPMC sender as a `futures_sink::Sink` (flume's
//! `sink` / `into_sink`): driven by futures-util's `SinkExt` and
//! `StreamExt::forward` on every MPMC flavor, with closing, errors that
//! hand the item back, and nothing lost or dropped twice.

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{counting_waker, poll_with, scale};
use futures_lite::future::{block_on, poll_once};
use futures_sink::Sink;
use futures_util::{SinkExt, StreamExt};
use nimsync_channel::mpmc;
use nimsync_channel::{RecvTimeoutError, SendError};

/// The flavors: bounded with room, bounded with one slot, unbounded,
/// rendezvous.
fn flavors<T>() -> Vec<(mpmc::Sender<T>, mpmc::Receiver<T>)> {
    vec![
        mpmc::channel(8),
        mpmc::channel(1),
        mpmc::unbounded(),
        mpmc::channel(0),
    ]
}

/// Receives until the channel ends; a channel still open after a long
/// deadline fails the test instead of hanging it.
fn drain_until_closed<T>(rx: &mpmc::Receiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(v) => got.push(v),
            Err(RecvTimeoutError::Closed) => return got,
            Err(RecvTimeoutError::Timeout) => panic!("the channel did not end: a sender lives on"),
        }
    }
}

#[test]
fn forward_moves_every_item_in_order_on_every_flavor() {
    let n = scale(50, 5_000) as u64;
    for (tx, rx) in flavors::<u64>() {
        let consumer = std::thread::spawn(move || drain_until_closed(&rx));
        block_on(async {
            let items = futures_util::stream::iter((0..n).map(Ok));
            items.forward(tx.into_sink()).await.unwrap();
        });
        // `forward` closed the sink, which held the last sender.
        assert_eq!(consumer.join().unwrap(), (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn sink_ext_send_completes_once_the_item_is_in_the_channel() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut sink = tx.sink();
    block_on(async {
        sink.send(1).await.unwrap();
        assert_eq!(rx.len(), 1);
        // Full: `send` feeds the item, then waits in its flush.
        let mut second = sink.send(2);
        assert!(poll_once(&mut second).await.is_none());
        assert_eq!(rx.recv(), Ok(1));
        second.await.unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
    });
    assert!(!sink.is_holding());
    drop(sink);
    assert!(!tx.is_closed(), "the sink held a clone; `tx` still lives");
}

#[test]
fn a_rendezvous_flush_waits_for_a_receiver() {
    let (tx, rx) = mpmc::channel::<&str>(0);
    let mut sink = tx.into_sink();
    block_on(async {
        sink.feed("ping").await.unwrap();
        assert!(sink.is_holding(), "no receiver waited: the item is held");
        let mut flush = sink.flush();
        assert!(poll_once(&mut flush).await.is_none());
        let receiver = std::thread::spawn(move || rx.recv());
        flush.await.unwrap();
        assert_eq!(receiver.join().unwrap(), Ok("ping"));
    });
}

#[test]
fn a_flush_wakes_when_room_is_made() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let mut sink = tx.into_sink();
    let (count, waker) = counting_waker();
    let mut ready = std::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx));
    assert!(poll_with(&mut ready, &waker).is_ready());
    drop(ready);
    Pin::new(&mut sink).start_send(1).unwrap();
    Pin::new(&mut sink)
        .start_send(2)
        .expect("the channel is open: a full channel holds the item");
    let mut flush = std::future::poll_fn(|cx| Pin::new(&mut sink).poll_flush(cx));
    assert!(poll_with(&mut flush, &waker).is_pending());
    assert_eq!(count.count(), 0);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(count.count(), 1, "the receive woke the held send");
    assert_eq!(
        poll_with(&mut flush, &waker),
        std::task::Poll::Ready(Ok(()))
    );
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_closed_channel_hands_the_item_back() {
    // Closed before the item is given.
    let (tx, rx) = mpmc::channel::<u32>(2);
    drop(rx);
    let mut sink = tx.into_sink();
    assert_eq!(block_on(sink.send(5)), Err(SendError(5)));

    // Closed while the item is held: the flush returns it.
    let (tx, rx) = mpmc::channel::<u32>(1);
    let mut sink = tx.into_sink();
    block_on(async {
        sink.feed(1).await.unwrap();
        sink.feed(2).await.unwrap();
        assert!(sink.is_holding());
        rx.close();
        assert_eq!(sink.flush().await, Err(SendError(2)));
        assert!(!sink.is_holding());
    });
    assert_eq!(rx.recv(), Ok(1), "what was sent stays receivable");
}

#[test]
fn close_flushes_then_ends_the_channel_when_it_held_the_last_sender() {
    for (tx, rx) in flavors::<u32>() {
        let rendezvous = rx.capacity() == 0;
        let mut sink = tx.into_sink();
        let consumer = std::thread::spawn(move || drain_until_closed(&rx));
        block_on(async {
            for i in 0..3 {
                sink.feed(i).await.unwrap();
            }
            sink.close().await.unwrap();
            // Closing again is harmless.
            sink.close().await.unwrap();
        });
        assert!(sink.sender().is_none());
        assert_eq!(
            consumer.join().unwrap(),
            [0, 1, 2],
            "rendezvous {rendezvous}"
        );
    }
}

#[test]
fn cancel_hands_back_the_held_item_and_a_drop_drops_it_once() {
    #[derive(Debug)]
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel::<Counted>(1);
    let mut sink = tx.into_sink();
    Pin::new(&mut sink)
        .start_send(Counted(drops.clone()))
        .unwrap();
    Pin::new(&mut sink)
        .start_send(Counted(drops.clone()))
        .unwrap();
    let back = sink.cancel().expect("the second item was held");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(back);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    Pin::new(&mut sink)
        .start_send(Counted(drops.clone()))
        .unwrap();
    drop(sink);
    assert_eq!(drops.load(Ordering::SeqCst), 2, "the held item, once");
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 3, "the buffered one, once");
}

#[test]
fn many_sinks_into_one_channel_deliver_every_item_once() {
    let per = scale(30, 2_000) as u64;
    let producers = 4u64;
    let (tx, rx) = mpmc::channel::<u64>(4);
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let sink = tx.sink();
            std::thread::spawn(move || {
                block_on(async move {
                    let items = futures_util::stream::iter((0..per).map(move |i| Ok(p * per + i)));
                    items.forward(sink).await.unwrap();
                });
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<u64> = rx.iter().collect();
    for h in handles {
        h.join().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, (0..producers * per).collect::<Vec<_>>());
}

#[test]
#[should_panic(expected = "called while an item is still held")]
fn start_send_without_poll_ready_while_holding_panics() {
    let (tx, _rx) = mpmc::channel::<u8>(1);
    let mut sink = tx.into_sink();
    Pin::new(&mut sink).start_send(1).unwrap();
    Pin::new(&mut sink).start_send(2).unwrap(); // held
    let _ = Pin::new(&mut sink).start_send(3);
}

#[test]
fn a_closed_sink_hands_items_back_and_stays_closed() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let mut sink = tx.sink();
    block_on(sink.close()).unwrap();
    assert_eq!(tx.sender_count(), 1, "the sink's sender is gone");
    let (_, waker) = counting_waker();
    let mut ready = std::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx));
    assert_eq!(
        poll_with(&mut ready, &waker),
        std::task::Poll::Ready(Ok(()))
    );
    assert_eq!(Pin::new(&mut sink).start_send(1), Err(SendError(1)));
    assert_eq!(block_on(sink.flush()), Ok(()));
    assert_eq!(block_on(sink.close()), Ok(()));
    assert!(
        sink.clone().sender().is_none(),
        "a closed sink's clone is closed"
    );
    assert!(rx.is_empty());
}

#[test]
fn closing_with_an_item_held_on_a_closed_channel_returns_it_and_drops_the_sender() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let mut sink = tx.sink();
    assert_eq!(tx.sender_count(), 2);
    Pin::new(&mut sink).start_send(1).unwrap();
    Pin::new(&mut sink).start_send(2).unwrap();
    assert!(sink.is_holding());
    rx.close();
    assert_eq!(block_on(sink.close()), Err(SendError(2)));
    assert_eq!(tx.sender_count(), 1);
    assert_eq!(rx.recv(), Ok(1));
}

/// Two sinks wait on a full channel; the first is woken by a receive and
/// then dropped (or cancelled) without sending: the wake-up it held goes
/// on to the second.
#[test]
fn a_woken_sink_dropped_or_cancelled_passes_its_wake_up_on() {
    for cancel in [false, true] {
        let (tx, rx) = mpmc::channel::<u8>(1);
        tx.send(0).unwrap();
        let (mut first, mut second) = (tx.sink(), tx.sink());
        let (count_first, waker_first) = counting_waker();
        let (count_second, waker_second) = counting_waker();
        for (sink, item, waker) in [
            (&mut first, 1, &waker_first),
            (&mut second, 2, &waker_second),
        ] {
            Pin::new(&mut *sink).start_send(item).unwrap();
            let mut ready = std::future::poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx));
            assert!(poll_with(&mut ready, waker).is_pending(), "full: held");
        }
        assert_eq!(rx.recv(), Ok(0));
        assert_eq!((count_first.count(), count_second.count()), (1, 0));
        if cancel {
            assert_eq!(first.cancel(), Some(1));
        } else {
            drop(first);
        }
        assert_eq!(count_second.count(), 1, "cancel {cancel}: passed on");
        let mut ready = std::future::poll_fn(|cx| Pin::new(&mut second).poll_ready(cx));
        assert_eq!(
            poll_with(&mut ready, &waker_second),
            std::task::Poll::Ready(Ok(()))
        );
        assert_eq!(rx.try_recv(), Ok(2));
    }
}

#[test]
fn a_clone_has_its_own_sender_and_holds_nothing() {
    let (tx, rx) = mpmc::channel::<u8>(1);
    let mut sink = tx.into_sink();
    Pin::new(&mut sink).start_send(1).unwrap();
    Pin::new(&mut sink).start_send(2).unwrap();
    let clone = sink.clone();
    assert!(sink.is_holding() && !clone.is_holding());
    assert_eq!(clone.sender().map(mpmc::Sender::sender_count), Some(2));
    drop(sink); // drops the held 2 and one sender
    assert_eq!(rx.recv(), Ok(1));
    assert!(!rx.is_closed(), "the clone's sender keeps it open");
    drop(clone);
    assert!(rx.recv().is_err());
}

#[test]
fn debug_shows_the_state() {
    let (tx, _rx) = mpmc::channel::<u8>(0);
    let mut sink = tx.into_sink();
    assert_eq!(
        format!("{sink:?}"),
        "mpmc::SendSink { closed: false, holding: false }"
    );
    Pin::new(&mut sink).start_send(1).unwrap();
    assert_eq!(
        format!("{sink:?}"),
        "mpmc::SendSink { closed: false, holding: true }"
    );
}
