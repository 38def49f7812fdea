//! The producer as a `Sink`: backpressure through `poll_ready`, errors
//! with the item, and `close` ending this producer's part.

use futures_lite::future::block_on;
use futures_lite::{StreamExt, stream};
use futures_util::SinkExt;
use nimsync_stream::{Overflow, RecvError, SendError, channel};

#[test]
fn a_full_block_stage_holds_the_sink_until_the_consumer_takes() {
    let (tx, mut rx) = channel(1, Overflow::Block);
    let mut sink = tx.into_sink();
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv() {
            got.push(v);
        }
        got
    });
    block_on(async {
        sink.send_all(&mut stream::iter((0..1_000u32).map(Ok)))
            .await
            .unwrap();
        sink.close().await.unwrap();
    });
    assert_eq!(consumer.join().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn errors_carry_the_item_and_a_closed_sink_refuses() {
    let (tx, mut rx) = channel(1, Overflow::Fail);
    let mut sink = tx.into_sink();
    block_on(async {
        sink.send(1).await.unwrap();
        assert_eq!(sink.send(2).await, Err(SendError::Overflowed(2)));
        assert_eq!(sink.send(3).await, Err(SendError::Closed(3)));
        sink.close().await.unwrap();
        assert_eq!(sink.send(4).await, Err(SendError::Closed(4)));
    });
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv(), Err(RecvError::Overflowed));
}

#[test]
fn a_stream_forwards_into_the_sink() {
    let (tx, rx) = channel(4, Overflow::Block);
    let consumer = std::thread::spawn(move || block_on(rx.collect::<Vec<u8>>()));
    block_on(futures_util::StreamExt::forward(
        stream::iter((0..50u8).map(Ok)),
        tx.into_sink(),
    ))
    .unwrap();
    assert_eq!(consumer.join().unwrap(), (0..50).collect::<Vec<_>>());
}
