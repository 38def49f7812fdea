//! The "finished" markers peers' users rely on: `FusedIterator` on the
//! blocking iterators (crossbeam), `FusedStream` on the receive stream
//! (async-channel, flume), `FusedFuture` on the send and receive futures
//! (flume) and on the oneshot receiver (futures' oneshot).

use futures_core::stream::FusedStream;
use futures_core::{FusedFuture, Stream};
use futures_lite::StreamExt;
use futures_lite::future::{block_on, poll_once};
use nimsync_channel::{mpmc, oneshot, spsc};

fn assert_fused_iter<I: core::iter::FusedIterator>(_: &I) {}

#[test]
fn blocking_iterators_stay_ended() {
    let (tx, rx) = mpmc::channel(4);
    tx.send(1).unwrap();
    drop(tx);
    let mut it = rx.iter();
    assert_fused_iter(&it);
    assert_eq!(it.next(), Some(1));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None, "fused: None again");
    let (mut stx, srx) = spsc::channel(2);
    stx.send(2).unwrap();
    drop(stx);
    let mut it = srx.into_iter();
    assert_fused_iter(&it);
    assert_eq!((it.next(), it.next(), it.next()), (Some(2), None, None));
}

#[test]
fn recv_stream_is_terminated_once_it_ended() {
    block_on(async {
        let (tx, rx) = mpmc::unbounded();
        let mut stream = rx.into_stream();
        assert!(!stream.is_terminated());
        tx.send(1).unwrap();
        assert_eq!(stream.next().await, Some(1));
        assert!(!stream.is_terminated(), "still open");
        drop(tx);
        assert_eq!(stream.size_hint().0, 0);
        assert_eq!(stream.next().await, None);
        assert!(stream.is_terminated());
        assert_eq!(stream.size_hint(), (0, Some(0)));
        assert_eq!(stream.next().await, None, "and stays ended");

        let (mut stx, srx) = spsc::channel::<u8>(1);
        let mut s = srx.into_stream();
        stx.send(3).unwrap();
        drop(stx);
        assert_eq!(s.next().await, Some(3));
        assert!(!s.is_terminated(), "not ended until it returned None");
        assert_eq!(s.next().await, None);
        assert!(s.is_terminated());
    });
}

#[test]
fn recv_and_send_futures_are_terminated_once_ready() {
    block_on(async {
        let (tx, rx) = mpmc::channel::<u8>(1);
        let mut recv = rx.recv_async();
        assert!(!recv.is_terminated());
        assert!(poll_once(&mut recv).await.is_none(), "empty: pending");
        assert!(!recv.is_terminated(), "pending is not terminated");
        tx.send(5).unwrap();
        assert_eq!(poll_once(&mut recv).await, Some(Ok(5)));
        assert!(recv.is_terminated());

        let mut send = tx.send_async(6);
        assert!(!send.is_terminated());
        assert_eq!(poll_once(&mut send).await, Some(Ok(())));
        assert!(send.is_terminated());
        let mut blocked = tx.send_async(7);
        assert!(poll_once(&mut blocked).await.is_none(), "full: pending");
        assert!(!blocked.is_terminated());
        assert_eq!(blocked.cancel(), Some(7));
        assert!(blocked.is_terminated(), "cancelled: nothing left to send");
    });
}

#[test]
fn oneshot_receiver_is_a_fused_future() {
    block_on(async {
        let (tx, mut rx) = oneshot::channel::<u8>();
        assert!(!FusedFuture::is_terminated(&rx));
        tx.send(9).unwrap();
        assert_eq!((&mut rx).await, Ok(9));
        assert!(FusedFuture::is_terminated(&rx));
        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        assert!(FusedFuture::is_terminated(&rx), "nothing will ever come");
    });
}
