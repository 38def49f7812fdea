//! Permits on the ring: room promised to a sender before it has a value,
//! counted in the tail word's top 16 bits (see the module above for the
//! word's layout and the bound they keep).

use super::{MAX_PERMITS, ONE_PERMIT, POS_MASK, Shared};
use crate::error::TrySendError;
use crate::sync::{Backoff, Ordering};

impl<T> Shared<T> {
    /// Takes a permit if length plus permits leaves room.
    pub(super) fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        self.try_reserve_many(1)
    }

    /// Takes `n` permits at once (`1 ..= MAX_PERMITS`), or none: with one
    /// compare-and-swap of the tail word, so length plus permits stays at
    /// most `cap` at every moment.
    ///
    /// A permit is granted only while the slot at the tail is free for the
    /// tail's position. A [`force_send`](Self::force_send) replacing the
    /// oldest value in place has moved the head but not yet the tail, so
    /// the ring looks one short of full; the slot, which still holds the
    /// old value, tells the two apart. A receiver of the previous lap still
    /// moving its value out looks the same and is waited out briefly, as
    /// `start_send` does, then reported `Full`.
    pub(super) fn try_reserve_many(&self, n: usize) -> Result<(), TrySendError<()>> {
        debug_assert!((1..=MAX_PERMITS as usize).contains(&n));
        let n = n as u64;
        let mut backoff = Backoff::new();
        let mut waited = Backoff::new();
        let mut word = self.tail.load(Ordering::SeqCst);
        loop {
            let pos = word & POS_MASK;
            if pos & self.mark_bit != 0 {
                return Err(TrySendError::Closed(()));
            }
            let permits = word >> 48;
            let head = self.head.load(Ordering::SeqCst);
            let stamp = self
                .slot((pos & (self.mark_bit - 1)) as usize)
                .stamp
                .load(Ordering::SeqCst);
            let again = self.tail.load(Ordering::SeqCst);
            if again != word {
                // The tail moved between the loads: no consistent snapshot.
                word = again;
                continue;
            }
            if permits + n > MAX_PERMITS
                || self.len_of(head, pos) + (permits + n) as usize > self.cap
            {
                return Err(TrySendError::Full(()));
            }
            if stamp != pos {
                // The tail's slot is not free yet (see above).
                if waited.is_completed() {
                    return Err(TrySendError::Full(()));
                }
                waited.snooze();
                word = self.tail.load(Ordering::SeqCst);
                continue;
            }
            match self.tail.compare_exchange_weak(
                word,
                word + n * ONE_PERMIT,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(()),
                Err(w) => {
                    word = w;
                    backoff.spin();
                }
            }
        }
    }

    /// Gives back `n` unused permits and wakes as many waiting senders.
    pub(super) fn release_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.tail.fetch_sub(n as u64 * ONE_PERMIT, Ordering::SeqCst);
        self.send_wait.notify_many(n);
    }

    /// Slots neither buffered nor promised to a permit, a snapshot.
    pub(super) fn free_capacity(&self) -> usize {
        let (word, head) = loop {
            let word = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == word {
                break (word, head);
            }
        };
        let permits = (word >> 48) as usize;
        self.cap
            .saturating_sub(self.len_of(head, word & POS_MASK & !self.mark_bit) + permits)
    }

    /// Gives back a permit that was not used.
    pub(super) fn release_permit(&self) {
        self.tail.fetch_sub(ONE_PERMIT, Ordering::SeqCst);
        self.send_wait.notify_one();
    }
}
