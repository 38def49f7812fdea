//! The unbounded MPMC flavor (`mpmc::unbounded`): sends never wait, blocks
//! are allocated and freed across many laps, close and drop accounting as
//! the bounded flavor's, select hooks and permits.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

use common::{Tracker, scale};

/// Slots per block of the list (`crates/channel/src/mpmc/list/mod.rs`): the
/// counts below are chosen to cross block boundaries.
const BLOCK: usize = 255;
use futures_lite::future::block_on;
use nimsync_channel::__select::{RecvHandle, SelectHandle, SendHandle, Token};
use nimsync_channel::{
    RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
};

#[test]
fn values_come_out_in_order_across_many_blocks() {
    let (tx, rx) = mpmc::unbounded();
    let n = scale(3 * BLOCK, 40 * BLOCK);
    for i in 0..n {
        tx.try_send(i).unwrap();
        assert_eq!(tx.len(), i + 1);
    }
    assert!(!tx.is_full());
    assert!(!rx.is_full());
    assert_eq!(tx.capacity(), usize::MAX);
    assert_eq!(rx.capacity(), usize::MAX);
    for i in 0..n {
        assert_eq!(rx.try_recv(), Ok(i));
        assert_eq!(rx.len(), n - i - 1);
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Interleaved sends and receives around block boundaries.
    for round in 0..scale(40, 400) {
        for i in 0..round % 70 {
            tx.send(i).unwrap();
        }
        for i in 0..round % 70 {
            assert_eq!(rx.recv(), Ok(i));
        }
        assert!(rx.is_empty());
    }
}

#[test]
fn sends_fail_only_once_closed() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    tx.send_timeout(1, Duration::from_millis(1)).unwrap();
    block_on(tx.send_async(2)).unwrap();
    let permit = tx.try_reserve().unwrap();
    let permit2 = block_on(tx.reserve()).unwrap();
    permit.send(3).unwrap();
    assert!(rx.close());
    assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    assert_eq!(tx.send(5), Err(SendError(5)));
    assert_eq!(
        tx.send_timeout(6, Duration::from_millis(1)),
        Err(SendTimeoutError::Closed(6))
    );
    assert_eq!(
        permit2.send(7),
        Err(SendError(7)),
        "closed since the permit"
    );
    assert!(tx.try_reserve().is_err());
    assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn last_sender_drop_lets_receivers_drain() {
    let (tx, rx) = mpmc::unbounded();
    for i in 0..100 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(rx.iter().count(), 100);
    assert_eq!(rx.recv(), Err(nimsync_channel::RecvError));
}

#[test]
fn many_producers_and_consumers_receive_every_value_once() {
    let (tx, rx) = mpmc::unbounded::<usize>();
    let per = scale(BLOCK, 20_000);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.send(p * per + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut last = [None::<usize>; 4];
                for v in rx.iter() {
                    // One producer's values arrive in order at each consumer.
                    let p = v / per;
                    assert!(last[p].is_none_or(|l| l < v));
                    last[p] = Some(v);
                    got.push(v);
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<usize> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..4 * per).collect::<Vec<_>>());
}

#[test]
fn the_last_receiver_drops_every_buffered_value_once() {
    for senders_first in [false, true] {
        let n = 2 * BLOCK + 10;
        let t = Tracker::new(n);
        let (tx, rx) = mpmc::unbounded();
        for i in 0..n {
            tx.send(t.item(i)).unwrap();
        }
        // Some received, some left.
        for _ in 0..10 {
            drop(rx.recv().unwrap());
        }
        if senders_first {
            drop(tx);
            t.assert_alive(10..n);
            drop(rx);
        } else {
            drop(rx);
            t.assert_once(0..n);
            assert!(tx.is_closed());
            let back = tx.try_send(t.item(0));
            assert!(back.is_err());
            drop(back);
            drop(tx);
        }
    }
}

#[test]
fn panicking_drops_in_the_last_receivers_drain_drop_every_value() {
    let n = 2 * BLOCK + 10;
    let t = Tracker::with_panics(n, &[3, BLOCK + 40]);
    let (tx, rx) = mpmc::unbounded();
    for i in 0..n {
        tx.send(t.item(i)).unwrap();
    }
    let res = catch_unwind(AssertUnwindSafe(move || drop(rx)));
    assert!(res.is_err(), "the first panic is raised again");
    assert!(tx.is_closed());
    drop(tx);
    t.assert_once(0..n);
}

#[test]
fn batches_move_every_value() {
    let (tx, rx) = mpmc::unbounded();
    let mut it = (0..100).peekable();
    assert_eq!(tx.try_send_iter(&mut it), Ok(100));
    assert!(tx.send_iter(100..150).is_ok());
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 120), Ok(120));
    assert_eq!(rx.recv_many(&mut buf, 100), Ok(30));
    assert_eq!(buf, (0..150).collect::<Vec<_>>());
}

#[test]
fn async_receivers_are_woken_by_sends() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    let consumer = thread::spawn(move || {
        block_on(async {
            let mut sum = 0;
            while let Ok(v) = rx.recv_async().await {
                sum += v;
            }
            sum
        })
    });
    for i in 0..1000 {
        block_on(tx.send_async(i)).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), (0..1000).sum());
}

#[test]
fn select_hooks_reserve_commit_and_abandon() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    // A send arm is always ready; a receive arm only with a value.
    assert!(SelectHandle::is_ready(&tx));
    assert!(!SelectHandle::is_ready(&rx));
    let mut token = Token::new();
    assert!(!SelectHandle::try_reserve(&rx, &mut token));
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    SendHandle::commit_send(&tx, &mut token, 5).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    SendHandle::abandon_send(&tx, &mut token);
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    assert_eq!(RecvHandle::commit_recv(&rx, &mut token), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_pending_select_send_keeps_a_closed_channel_open_for_receivers() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert!(tx.close());
    // The reservation was made before the close: its value will come.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    SendHandle::commit_send(&tx, &mut token, 9).unwrap();
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    // A reservation after the close reports it.
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    assert!(SendHandle::commit_send(&tx, &mut token, 1).is_err());
}

#[test]
fn an_abandoned_or_orphaned_select_send_lets_receivers_see_the_close() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    let waiter = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv())
    };
    tx.close();
    SendHandle::abandon_send(&tx, &mut token);
    assert!(waiter.join().unwrap().is_err(), "woken by the abandon");
    // A token dropped without its endpoint: resolved by the receiver.
    let (tx, rx) = mpmc::unbounded::<u32>();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&tx, &mut token));
    drop(token);
    tx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_given_up_receive_reservation_drops_its_value_once() {
    let t = Tracker::new(3);
    let (tx, rx) = mpmc::unbounded();
    for i in 0..3 {
        tx.send(t.item(i)).unwrap();
    }
    // Through a keeper, as a dropped `SelectedOperation` does.
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    let keeper = SelectHandle::keeper(&rx).unwrap();
    assert!(keeper.give_up(&mut token), "a message was lost");
    t.assert_alive([0]);
    assert_eq!(rx.recv().unwrap().id, 1);
    assert_eq!(rx.recv().unwrap().id, 2);
    // The next receiver that finds the channel empty resolves it.
    assert_eq!(rx.try_recv().map(|i| i.id), Err(TryRecvError::Empty));
    t.assert_once(0..3);
    drop(keeper);
    // Or the last receiver's drop does.
    let t = Tracker::new(1);
    let (tx, rx) = mpmc::unbounded();
    tx.send(t.item(0)).unwrap();
    let mut token = Token::new();
    assert!(SelectHandle::try_reserve(&rx, &mut token));
    let keeper = SelectHandle::keeper(&rx).unwrap();
    keeper.give_up(&mut token);
    t.assert_alive([0]);
    drop((tx, rx));
    t.assert_once([0]);
    drop(keeper);
    t.assert_once([0]);
}

/// The endpoint capabilities on an unbounded channel: a force-send never
/// evicts, any number of permits is granted at once, and the free room
/// has no bound.
#[test]
fn force_send_permits_and_free_capacity_on_an_unbounded_channel() {
    let (tx, rx) = mpmc::unbounded::<u32>();
    for i in 0..100 {
        assert_eq!(tx.force_send(i), Ok(None), "nothing is ever evicted");
    }
    assert_eq!(tx.free_capacity(), usize::MAX);
    let permits = tx.try_reserve_many(1_000_000).unwrap();
    let mut sent = 0;
    for (permit, v) in permits.take(3).zip(100..) {
        permit.send(v).unwrap();
        sent += 1;
    }
    assert_eq!(sent, 3);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (0..103).collect::<Vec<_>>()
    );
    drop(rx);
    assert_eq!(tx.force_send(7), Err(nimsync_channel::SendError(7)));
}
