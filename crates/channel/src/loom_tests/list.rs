//! Loom models of the MPMC list flavor (`mpmc::unbounded`, `mpmc/list/`).
//! Under loom a block holds 3 slots, so four values cross a block boundary.

use super::*;

#[test]
fn loom_list_two_senders_cross_a_block() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let b = thread::spawn(move || {
            tx2.send(11).unwrap();
            tx2.send(12).unwrap();
        });
        let got: Vec<usize> = (0..4).map(|_| rx.recv().unwrap()).collect();
        a.join().unwrap();
        b.join().unwrap();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 11, 12]);
        let pos = |v| got.iter().position(|&g| g == v).unwrap();
        assert!(
            pos(1) < pos(2) && pos(11) < pos(12),
            "one sender's order: {got:?}"
        );
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Closed),
            "both senders are gone"
        );
    });
}

/// A block retired by the receiver is kept as the spare and taken by the
/// sender for the block after next (under loom a block holds 3 values, so
/// the seventh is written into the reused block): each value comes out once
/// and in order (a block reused without resetting its slots' states fails
/// here).
#[test]
fn loom_list_retired_block_is_reused_by_the_sender() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let s = thread::spawn(move || {
            for v in 0..7 {
                tx.send(v).unwrap();
            }
        });
        let got: Vec<usize> = (0..7).map(|_| rx.recv().unwrap()).collect();
        s.join().unwrap();
        assert_eq!(got, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// One receiver's look at the tail records in the head word how far the
/// head's block is claimed; the other receiver claims below that without
/// reading the tail. Each value is received once.
#[test]
fn loom_list_two_receivers_share_what_the_tail_showed() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let rx2 = rx.clone();
        let s = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let r = thread::spawn(move || rx2.recv().unwrap());
        let mine = rx.recv().unwrap();
        let theirs = r.join().unwrap();
        s.join().unwrap();
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn loom_list_slot_given_back_to_a_slow_sender_keeps_its_order() {
    static GIVEN_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        // Under loom a receiver gives a claimed, unwritten slot back at
        // once; the sender sends its value again, still before its next.
        let mut got = Vec::new();
        while got.len() < 2 {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => {
                    if !rx.is_empty() {
                        GIVEN_BACK.fetch_add(1, Relaxed);
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Closed) => panic!("closed before both values"),
            }
        }
        assert_eq!(got, [1, 2]);
        t.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
    assert!(
        GIVEN_BACK.load(Relaxed) > 0,
        "no receiver found a claimed slot unwritten"
    );
}

#[test]
fn loom_list_close_races_a_send_and_the_drain() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let rx2 = rx.clone();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let sender = thread::spawn(move || {
            let sent = tx.send(7).is_ok();
            done2.store(true, Ordering::Release);
            sent
        });
        let closer = thread::spawn(move || {
            rx2.close();
        });
        let mut got = Vec::new();
        let mut closed = false;
        loop {
            match rx.try_recv() {
                Ok(v) => {
                    assert!(!closed, "a value after Closed");
                    got.push(v);
                }
                Err(TryRecvError::Closed) => {
                    closed = true;
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = sender.join().unwrap();
        closer.join().unwrap();
        assert_eq!(
            got.len(),
            usize::from(sent),
            "a send that returned Ok is received"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn loom_list_last_receiver_drop_races_sends_drops_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::unbounded::<Counted>();
        let d = drops.clone();
        let sender = thread::spawn(move || {
            for _ in 0..2 {
                // Handed back in the error if closed, and dropped here.
                let _ = tx.send(Counted(d.clone()));
            }
        });
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each value dropped once");
    });
}

#[test]
fn loom_list_select_send_reserved_before_a_close_is_received() {
    model(|| {
        let (tx, rx) = mpmc::unbounded::<usize>();
        let rx2 = rx.clone();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let selector = thread::spawn(move || {
            let mut token = Token::new();
            assert!(SelectHandle::try_reserve(&tx, &mut token), "always ready");
            let sent = SendHandle::commit_send(&tx, &mut token, 5).is_ok();
            done2.store(true, Ordering::Release);
            sent
        });
        let closer = thread::spawn(move || {
            rx2.close();
        });
        let mut got = 0;
        loop {
            match rx.try_recv() {
                Ok(5) => got += 1,
                Ok(v) => panic!("unexpected {v}"),
                Err(TryRecvError::Closed) => {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    thread::yield_now();
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = selector.join().unwrap();
        closer.join().unwrap();
        assert_eq!(got, usize::from(sent), "a committed send is received");
    });
}

/// Drains what `rx` holds now into `out`; the error it stopped on.
fn drain_into(rx: &mpmc::Receiver<usize>, out: &mut Vec<usize>) -> TryRecvError {
    loop {
        match rx.try_recv() {
            Ok(v) => out.push(v),
            Err(e) => return e,
        }
    }
}

#[test]
fn loom_mpmc_force_send_races_a_receive_for_the_last_slot() {
    static EVICTED: StdAtomicUsize = StdAtomicUsize::new(0);
    static RECEIVED_OLD: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let t = thread::spawn(move || tx.force_send(2).unwrap());
        let first = rx.try_recv();
        let evicted = t.join().unwrap();
        let mut got: Vec<usize> = first.iter().copied().collect();
        drain_into(&rx, &mut got);
        match evicted {
            // The force-send took the oldest: the receive got the new one
            // (now or after the join), never the old one.
            Some(old) => {
                assert_eq!(old, 1);
                assert_eq!(got, [2]);
                EVICTED.fetch_add(1, Relaxed);
            }
            // The receive took the oldest first; the force-send used the
            // slot it freed without evicting.
            None => {
                assert_eq!(got, [1, 2]);
                RECEIVED_OLD.fetch_add(1, Relaxed);
            }
        }
    });
    assert!(EVICTED.load(Relaxed) > 0 && RECEIVED_OLD.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_two_force_sends_on_a_full_channel_of_capacity_one() {
    static ORDERS: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.force_send(2).unwrap());
        let mine = tx.force_send(3).unwrap();
        let theirs = t.join().unwrap();
        let mut all: Vec<usize> = mine.into_iter().chain(theirs).collect();
        let mut left = Vec::new();
        drain_into(&rx, &mut left);
        // Exactly one value stays, the last one written; the other two
        // came back, each once.
        assert_eq!(left.len(), 1);
        assert_eq!(all.len(), 2);
        if left == [2] {
            ORDERS.fetch_or(1, Relaxed);
        } else {
            ORDERS.fetch_or(2, Relaxed);
        }
        all.extend(left);
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3]);
    });
    assert_eq!(ORDERS.load(Relaxed), 3, "both orders explored");
}

#[test]
fn loom_mpmc_force_send_races_a_close() {
    static SENT: StdAtomicUsize = StdAtomicUsize::new(0);
    static REFUSED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let t = thread::spawn(move || tx.force_send(2));
        rx.close();
        let mut got = Vec::new();
        let stop = drain_into(&rx, &mut got);
        let res = t.join().unwrap();
        let after_closed = got.len();
        let again = drain_into(&rx, &mut got);
        assert_eq!(again, TryRecvError::Closed);
        if stop == TryRecvError::Closed {
            // Once `Closed`, always `Closed`.
            assert_eq!(got.len(), after_closed);
        }
        let mut all = got;
        match res {
            Ok(evicted) => {
                all.extend(evicted);
                SENT.fetch_add(1, Relaxed);
            }
            Err(e) => {
                all.push(e.into_inner());
                REFUSED.fetch_add(1, Relaxed);
            }
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2], "each value received or handed back once");
    });
    assert!(SENT.load(Relaxed) > 0 && REFUSED.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_weak_upgrade_races_the_last_drop() {
    static UPGRADED: StdAtomicUsize = StdAtomicUsize::new(0);
    static TOO_LATE: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let weak = tx.downgrade();
        let t = thread::spawn(move || drop(tx));
        let up = weak.upgrade();
        t.join().unwrap();
        match up {
            Some(tx) => {
                // The upgrade came first: the channel stayed open.
                assert!(!rx.is_closed());
                tx.try_send(7).unwrap();
                drop(tx);
                assert_eq!(rx.try_recv(), Ok(7));
                UPGRADED.fetch_add(1, Relaxed);
            }
            None => {
                TOO_LATE.fetch_add(1, Relaxed);
            }
        }
        // Either way the last sender is gone now: closed, and for good.
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(weak.upgrade().is_none());
    });
    assert!(UPGRADED.load(Relaxed) > 0 && TOO_LATE.load(Relaxed) > 0);
}

#[test]
fn loom_mpmc_no_permit_while_a_force_send_replaces_in_place() {
    model(|| {
        // Capacity 2: with one slot the window below looks full anyway.
        let (tx, rx) = mpmc::channel::<usize>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.force_send(3).unwrap());
        // Between the force-send's head claim and its tail claim the ring
        // looks one short of full; a permit granted then would promise
        // room that is not there.
        let tx3 = tx.clone();
        let r = thread::spawn(move || tx3.try_reserve().map(drop));
        let permit = r.join().unwrap();
        assert_eq!(t.join().unwrap(), Some(1));
        assert!(permit.unwrap_err().is_full());
        let mut got = Vec::new();
        drain_into(&rx, &mut got);
        assert_eq!(got, [2, 3]);
        assert_eq!(tx.free_capacity(), 2);
    });
}

/// Two batches, one slot: the first to take the batch turn gathers its
/// permit when the receiver frees the slot, then hands the turn to the
/// other. Neither is lost; loom reports a deadlock if a wake-up is.
#[test]
fn loom_mpmc_two_batches_take_turns() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(1);
        tx.send(1).unwrap();
        let batches: Vec<_> = [10, 20]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut permits = poll_until_ready(tx.reserve_many(1)).unwrap();
                    permits.next().unwrap().send(v).unwrap();
                })
            })
            .collect();
        drop(tx);
        let mut got: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
        for b in batches {
            b.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 10, 20]);
    });
}

/// A batch of two gathers its permits one at a time as the receiver frees
/// slots, holding the first while it waits for the second.
#[test]
fn loom_mpmc_batch_gathers_across_wakeups() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let t = thread::spawn(move || {
            let permits = poll_until_ready(tx.reserve_many(2)).unwrap();
            for (p, v) in permits.zip([10, 11]) {
                p.send(v).unwrap();
            }
        });
        let got: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
        t.join().unwrap();
        assert_eq!(got, [1, 2, 10, 11]);
    });
}
