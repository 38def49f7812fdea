//! Selects over rendezvous channels (`mpmc::channel(0)`): a send arm is
//! ready while a receiver waits, a receive arm while a sender offers, and
//! two selects on opposite sides of one channel pair up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use futures_lite::future::block_on;
use nimsync_channel::{RecvError, mpmc};
use nimsync_select::{Select, select, select_async};

#[allow(dead_code, reason = "the helpers other test files use")]
mod common;
use common::scale;

#[test]
fn nothing_is_ready_without_a_counterpart() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let mut sel = Select::new();
    sel.send(&tx);
    sel.recv(&rx);
    assert!(sel.try_select().is_err());
    let got = select! {
        send(tx, 1) -> _ => "sent",
        recv(rx) -> _ => "received",
        default(Duration::from_millis(5)) => "nothing",
    };
    assert_eq!(got, "nothing");
}

#[test]
fn a_send_arm_hands_its_value_to_a_blocked_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let (_other_tx, other_rx) = mpmc::channel::<u32>(0);
    let t = thread::spawn(move || rx.recv());
    let res = select! {
        send(tx, 5) -> res => res,
        recv(other_rx) -> _ => unreachable!("nobody sends there"),
    };
    assert_eq!(res, Ok(()));
    assert_eq!(t.join().unwrap(), Ok(5));
}

#[test]
fn a_receive_arm_takes_a_blocked_senders_value() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let t = thread::spawn(move || tx.send(8));
    let got = select! { recv(rx) -> v => v };
    assert_eq!(got, Ok(8));
    assert_eq!(t.join().unwrap(), Ok(()));
    assert_eq!(select! { recv(rx) -> v => v }, Err(RecvError));
}

#[test]
fn selects_on_both_sides_pair_up_and_deliver_each_value_once() {
    let n = scale(50, 5_000);
    let (tx, rx) = mpmc::channel::<usize>(0);
    // A second channel on each side keeps them real selects.
    let (_idle_tx, idle_rx) = mpmc::channel::<usize>(0);
    let (idle_tx2, _idle_rx2) = mpmc::channel::<usize>(0);
    let receiver = thread::spawn(move || {
        let mut sum = 0;
        loop {
            let got = select! {
                recv(rx) -> v => v,
                recv(idle_rx) -> _ => unreachable!("nobody sends there"),
            };
            match got {
                Ok(v) => sum += v,
                Err(RecvError) => return sum,
            }
        }
    });
    for i in 0..n {
        select! {
            send(tx, i) -> res => res.unwrap(),
            send(idle_tx2, usize::MAX) -> _ => unreachable!("nobody receives there"),
        }
    }
    drop(tx);
    assert_eq!(receiver.join().unwrap(), (0..n).sum::<usize>());
}

#[test]
fn async_selects_pair_with_blocking_and_async_counterparts() {
    let n = scale(20, 2_000);
    let (tx, rx) = mpmc::channel::<usize>(0);
    let t = thread::spawn(move || {
        block_on(async {
            for i in 0..n {
                select_async! { send(tx, i) -> res => res.unwrap() }
            }
        });
    });
    let mut sum = 0;
    block_on(async {
        while let Ok(v) = select_async! { recv(rx) -> v => v } {
            sum += v;
        }
    });
    t.join().unwrap();
    assert_eq!(sum, (0..n).sum::<usize>());
}

#[test]
fn a_dropped_selected_send_releases_the_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let t = thread::spawn(move || rx.recv());
    let mut sel = Select::new();
    sel.send(&tx);
    // Reserved once a receiver waits; dropped without sending.
    drop(sel.select());
    // The receiver was released and waits again for the next value.
    tx.send(2).unwrap();
    assert_eq!(t.join().unwrap(), Ok(2));
}

#[test]
fn mixed_senders_and_selecting_receivers_lose_and_duplicate_nothing() {
    let per = scale(20, 2_000);
    let (tx, rx) = mpmc::channel::<usize>(0);
    let seen = Arc::new(
        (0..3 * per)
            .map(|_| AtomicUsize::new(0))
            .collect::<Vec<_>>(),
    );
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let (rx, seen) = (rx.clone(), Arc::clone(&seen));
            thread::spawn(move || {
                while let Ok(v) = select! { recv(rx) -> v => v } {
                    seen[v].fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let plain = {
        let rx = rx.clone();
        let seen = Arc::clone(&seen);
        thread::spawn(move || {
            while let Ok(v) = rx.recv() {
                seen[v].fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    drop(rx);
    let senders: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in p * per..(p + 1) * per {
                    if p == 0 {
                        tx.send(i).unwrap();
                    } else {
                        select! { send(tx, i) -> res => res.unwrap() }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for s in senders {
        s.join().unwrap();
    }
    for r in receivers {
        r.join().unwrap();
    }
    plain.join().unwrap();
    for (v, n) in seen.iter().enumerate() {
        assert_eq!(n.load(Ordering::SeqCst), 1, "value {v}");
    }
}
