//! MPMC select reservations whose owner went away without resolving them.
//!
//! A select's reservation on an MPMC channel is a claimed position: a send
//! reservation has claimed a slot to write, a receive reservation a slot to
//! read. Until it is completed, the channel's other operations on that slot
//! wait. A reservation is normally completed or given up through its
//! endpoint, but a `SelectedOperation` dropped early (a `?` between the
//! select and its completion, a panic, a completion with the wrong endpoint)
//! has no endpoint to do it with, and may even outlive the channel. It must
//! not touch the channel either: the channel's values may borrow data that
//! is gone by then.
//!
//! So the token only records the position here, keyed by the channel's
//! process-unique id, and the channel resolves it itself when one of its
//! operations finds that slot still unresolved after its bounded wait (see
//! the array ring's `start_send` and `start_recv_with`), or when the channel
//! is dropped:
//!
//! - an orphaned send position is given up (marked skipped), exactly as
//!   if the select had abandoned it;
//! - an orphaned receive position's value is dropped and its slot freed;
//!   the token that orphaned it panics to report the lost message (unless
//!   the thread is already unwinding).
//!
//! A channel looks here only on those cold paths, and only after one load of
//! [`COUNT`] finds an orphan anywhere in the process, so channels pay nothing
//! while no reservation has been orphaned. The list is not modelled by loom:
//! its lock is held only around plain vector operations, never across a
//! channel operation.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sync::StaticMutex;

/// Which side of the channel the orphaned position was reserved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A claimed position that was never written.
    Send,
    /// A claimed position whose value was never read.
    Recv,
}

/// One orphaned reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Orphan {
    /// The channel's process-unique id.
    channel: u64,
    /// The claimed position (lap-encoded).
    pos: u64,
    side: Side,
    /// The claimed slot's address, for a flavor whose claims are
    /// addresses (the list flavor's blocks); `None` for positions.
    at: Option<Addr>,
}

/// A claimed slot's address, with its provenance, as an orphan keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addr(pub(crate) core::ptr::NonNull<()>);

// SAFETY: an `Addr` is only dereferenced by the channel that issued it
// (found by its id), under that channel's protocol; the list only stores it.
unsafe impl Send for Addr {}

/// Orphans recorded and not yet resolved, process-wide.
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// The orphans themselves.
static LIST: StaticMutex<Vec<Orphan>> = StaticMutex::new(Vec::new());

/// Records a reservation whose owner is gone. The channel resolves it.
pub(crate) fn adopt(channel: u64, pos: u64, side: Side) {
    let mut list = LIST.lock();
    list.push(Orphan {
        channel,
        pos,
        side,
        at: None,
    });
    COUNT.store(list.len(), Ordering::Release);
}

/// Records a reservation whose owner is gone, for a flavor whose claims
/// are slot addresses (`at`, `None` for a send that claimed no slot). The
/// channel resolves it with [`take_addrs`].
pub(crate) fn adopt_addr(channel: u64, side: Side, at: Option<Addr>) {
    let mut list = LIST.lock();
    list.push(Orphan {
        channel,
        pos: 0,
        side,
        at,
    });
    COUNT.store(list.len(), Ordering::Release);
}

/// Removes every orphan of `channel` reserved for `side` and returns their
/// addresses: the caller now owns their resolution.
pub(crate) fn take_addrs(channel: u64, side: Side) -> Vec<Option<Addr>> {
    let mut list = LIST.lock();
    let mut taken = Vec::new();
    list.retain(|o| {
        if o.channel == channel && o.side == side {
            taken.push(o.at);
            return false;
        }
        true
    });
    COUNT.store(list.len(), Ordering::Release);
    taken
}

/// True if any reservation in the process is orphaned: one load, for the
/// channels' cold paths to check before [`take`].
#[inline]
pub(crate) fn any() -> bool {
    COUNT.load(Ordering::Acquire) != 0
}

/// Removes the orphan at `pos` of `channel` reserved for `side`; true if
/// there was one: the caller now owns its resolution.
pub(crate) fn take(channel: u64, pos: u64, side: Side) -> bool {
    let mut list = LIST.lock();
    let wanted = Orphan {
        channel,
        pos,
        side,
        at: None,
    };
    let Some(i) = list.iter().position(|o| *o == wanted) else {
        return false;
    };
    list.swap_remove(i);
    COUNT.store(list.len(), Ordering::Release);
    true
}

/// Removes every orphan of `channel` (which is being dropped) and returns
/// the positions of its orphaned receives, whose values are still in their
/// slots.
pub(crate) fn take_channel(channel: u64) -> Vec<u64> {
    let mut list = LIST.lock();
    let mut receives = Vec::new();
    list.retain(|o| {
        if o.channel != channel {
            return true;
        }
        if o.side == Side::Recv {
            receives.push(o.pos);
        }
        false
    });
    COUNT.store(list.len(), Ordering::Release);
    receives
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn orphans_are_taken_once_and_per_channel() {
        // Ids far from any real channel's, so parallel tests never meet them.
        let (a, b) = (u64::MAX - 10, u64::MAX - 11);
        adopt(a, 3, Side::Send);
        adopt(a, 4, Side::Recv);
        adopt(b, 3, Side::Send);
        assert!(any());
        assert!(!take(a, 3, Side::Recv), "the side must match");
        assert!(take(a, 3, Side::Send));
        assert!(!take(a, 3, Side::Send), "taken once");
        assert_eq!(take_channel(a), [4]);
        assert!(take(b, 3, Side::Send));
        assert!(take_channel(a).is_empty());
    }
}
