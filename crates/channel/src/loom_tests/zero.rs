//! Loom models of the rendezvous flavor (`mpmc::channel(0)`,
//! `mpmc/zero/`).

use super::*;

/// Runs the select protocol over `handles` (reserve, register, reserve
/// again, park, pass on a claim it did not use) until one operation is
/// reserved in `token`; returns its index.
fn select_over(handles: &[&dyn SelectHandle], token: &mut Token) -> usize {
    let reserve = |token: &mut Token| (0..handles.len()).find(|&i| handles[i].try_reserve(token));
    loop {
        if let Some(i) = reserve(token) {
            return i;
        }
        let cx = Waiter::for_current_thread();
        for (i, h) in handles.iter().enumerate() {
            h.register(&cx, i);
        }
        if let Some(i) = reserve(token) {
            let aborted = cx.try_abort();
            for h in handles {
                h.unregister(&cx);
            }
            if let Selected::Operation(k) = aborted {
                handles[k].pass_on();
            }
            return i;
        }
        cx.wait_until(None);
        for h in handles {
            h.unregister(&cx);
        }
    }
}

/// A blocking send and a blocking receive meet while a third thread closes
/// the channel: either the value is delivered (both `Ok`), or the send hands
/// it back (`Closed` with the value) and the receive reports the close;
/// never one without the other, and the value is dropped exactly once.
#[test]
fn loom_zero_send_recv_race_a_close() {
    static DELIVERED: StdAtomicUsize = StdAtomicUsize::new(0);
    static HANDED_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(0);
        let closer = rx.clone();
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || tx.send(value).map_err(|e| e.into_inner()));
        let closing = thread::spawn(move || {
            closer.close();
        });
        let received = rx.recv();
        let sent = sender.join().unwrap();
        closing.join().unwrap();
        match (sent, received) {
            (Ok(()), Ok(v)) => {
                DELIVERED.fetch_add(1, Relaxed);
                drop(v);
            }
            (Err(v), Err(_)) => {
                HANDED_BACK.fetch_add(1, Relaxed);
                assert_eq!(drops.load(Ordering::Relaxed), 0, "handed back alive");
                drop(v);
            }
            (sent, received) => {
                panic!("send {:?} but receive {:?}", sent.is_ok(), received.is_ok())
            }
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(DELIVERED.load(Relaxed) > 0 && HANDED_BACK.load(Relaxed) > 0);
}

/// Two blocking senders, one receiver taking two values: each value is
/// received once, both sends complete, whatever the order of offers,
/// takes and parks.
#[test]
fn loom_zero_two_senders_one_receiver() {
    let parks_before = PARKS.load(Relaxed);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1));
        let b = thread::spawn(move || tx2.send(2));
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(a.join().unwrap(), Ok(()));
        assert_eq!(b.join().unwrap(), Ok(()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
    assert!(
        PARKS.load(Relaxed) > parks_before,
        "no receiver ever parked"
    );
}

/// A sender whose deadline passes races the receiver that takes its offer
/// (and claims its waiter): exactly one of "delivered" (the send is `Ok`
/// and the receive has the value) and "handed back" (`Timeout` with the
/// value, and the receive finds nothing).
#[test]
fn loom_zero_timed_out_sender_races_the_take() {
    static DELIVERED: StdAtomicUsize = StdAtomicUsize::new(0);
    static HANDED_BACK: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(0);
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || {
            let sent = tx.send_deadline(value, std::time::Instant::now());
            (sent.map_err(|e| e.into_inner()), tx)
        });
        let taken = rx.try_recv();
        let (sent, _tx) = sender.join().unwrap();
        match (sent, taken) {
            (Ok(()), Ok(v)) => {
                DELIVERED.fetch_add(1, Relaxed);
                drop(v);
            }
            (Err(v), Err(TryRecvError::Empty)) => {
                HANDED_BACK.fetch_add(1, Relaxed);
                drop(v);
            }
            (sent, taken) => panic!("send {:?} but take {:?}", sent.is_ok(), taken.is_ok()),
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped exactly once");
    });
    assert!(DELIVERED.load(Relaxed) > 0 && HANDED_BACK.load(Relaxed) > 0);
}

/// Both sides select: a select's send reservation claims the waiter of
/// another thread's select registered for a receive on the rendezvous
/// channel, and the commit hands the value over; each select completes
/// once.
#[test]
fn loom_zero_select_send_pairs_with_a_select_receive() {
    static PAIRED: StdAtomicUsize = StdAtomicUsize::new(0);
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let receiver = thread::spawn(move || {
            let mut token = Token::new();
            let i = select_over(&[&rx], &mut token);
            assert_eq!(i, 0);
            rx.commit_recv(&mut token)
        });
        let mut token = Token::new();
        assert_eq!(select_over(&[&tx], &mut token), 0);
        if token.holds_claim() {
            PAIRED.fetch_add(1, Relaxed);
        }
        tx.commit_send(&mut token, 7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
    assert!(
        PAIRED.load(Relaxed) > 0,
        "the send never claimed a receiver"
    );
}

/// A select's send reservation on a rendezvous channel is given up while
/// the claimed receiver waits and a blocking sender offers: the receiver is
/// released and takes the real value; nothing hangs.
#[test]
fn loom_zero_abandoned_send_reservation_releases_the_receiver() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let tx2 = tx.clone();
        let receiver = thread::spawn(move || rx.recv());
        let mut token = Token::new();
        select_over(&[&tx], &mut token);
        SendHandle::abandon_send(&tx, &mut token);
        tx2.send(3).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(3));
    });
}
