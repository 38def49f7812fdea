//! Unit tests of the list flavor: the run wait's streak, the known-claimed
//! offset and the reused block.

use super::*;
use crate::chan::run::{RUN, RUN_STREAK};

fn streak(s: &Shared<u64>) -> u8 {
    s.head.streak.get()
}

#[test]
fn a_run_keeps_the_streak_and_one_message_or_none_ends_it() {
    let s = Shared::<u64>::new();
    let build = |s: &Shared<u64>| (0..RUN_STREAK).for_each(|_| s.head.streak.note(2));

    build(&s);
    for v in 0..RUN as u64 {
        s.try_send(v).unwrap();
    }
    s.wait_for_run();
    assert_eq!(streak(&s), RUN_STREAK, "a run of {RUN} was there");
    for v in 0..RUN as u64 {
        assert_eq!(s.try_recv(), Ok(v));
    }

    for v in 0..3 {
        s.try_send(v).unwrap();
    }
    s.wait_for_run();
    assert_eq!(
        streak(&s),
        RUN_STREAK,
        "a shorter run stopped growing: slower senders, still a stream"
    );
    for v in 0..3 {
        assert_eq!(s.try_recv(), Ok(v));
    }

    s.try_send(7).unwrap();
    s.wait_for_run();
    assert_eq!(streak(&s), 0, "one message is a reply, not a stream");
    assert_eq!(s.try_recv(), Ok(7));

    build(&s);
    s.wait_for_run();
    assert_eq!(streak(&s), 0, "nothing came while it looked");

    build(&s);
    s.close();
    s.wait_for_run();
    assert_eq!(streak(&s), 0, "closed and empty: it stops looking");
    assert_eq!(s.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_retired_block_comes_back_as_the_block_after_next() {
    let s = Shared::<u64>::new();
    let send_recv = |s: &Shared<u64>, n: usize| {
        for v in 0..n as u64 {
            s.try_send(v).unwrap();
            assert_eq!(s.try_recv(), Ok(v));
        }
    };
    let first = s.tail.block.load(Ordering::Relaxed);
    send_recv(&s, 2 * BLOCK_CAP);
    assert_eq!(
        s.tail.block.load(Ordering::Relaxed),
        first,
        "the first block, retired, is the third"
    );
    let second = s.spare.load(Ordering::Relaxed);
    assert!(
        !second.is_null() && second != first,
        "the second block, drained, is the spare"
    );
    send_recv(&s, BLOCK_CAP);
    assert_eq!(s.tail.block.load(Ordering::Relaxed), second);
    assert_eq!(s.spare.load(Ordering::Relaxed), first);
}

#[test]
fn a_receiver_below_the_known_offset_takes_values_in_order() {
    let s = Shared::<u64>::new();
    for v in 0..300 {
        s.try_send(v).unwrap();
    }
    for v in 0..300 {
        assert_eq!(s.try_recv(), Ok(v));
        let head = s.head.index.load(Ordering::Relaxed);
        let known = (head & KNOWN_MASK) as usize;
        assert!(
            known == BLOCK_CAP || known >= offset(head),
            "known offset {known} behind the head's {}",
            offset(head)
        );
    }
    assert_eq!(s.try_recv(), Err(TryRecvError::Empty));
}
