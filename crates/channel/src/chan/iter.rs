//! The receivers' iterators.

use core::fmt;

use super::{Handle, RecvChan, recv_deadline};

/// A blocking iterator: yields values until the channel is closed and
/// drained. Returned by `iter()` (borrowing the receiver) and by
/// `into_iter()` (owning it); exported as `Iter` and `IntoIter` by the
/// `mpmc` and `spsc` flavors.
pub struct Iter<H: Handle>
where
    H::Chan: RecvChan,
{
    rx: H,
}

impl<H: Handle> Iter<H>
where
    H::Chan: RecvChan,
{
    pub(crate) fn new(rx: H) -> Self {
        Self { rx }
    }
}

impl<H: Handle> Iterator for Iter<H>
where
    H::Chan: RecvChan,
{
    type Item = <H::Chan as RecvChan>::Item;
    fn next(&mut self) -> Option<Self::Item> {
        recv_deadline(self.rx.chan(), None).ok()
    }
}

/// Once the channel is closed and drained it stays so: every later `next`
/// is `None` too.
impl<H: Handle> core::iter::FusedIterator for Iter<H> where H::Chan: RecvChan {}

impl<H: Handle> fmt::Debug for Iter<H>
where
    H::Chan: RecvChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if H::OWNED { "IntoIter" } else { "Iter" };
        f.debug_struct(name).finish_non_exhaustive()
    }
}

/// A non-blocking iterator over what is buffered right now: returned by
/// `try_iter()`, exported as `TryIter` by the `mpmc` and `spsc` flavors.
pub struct TryIter<H: Handle>
where
    H::Chan: RecvChan,
{
    rx: H,
}

impl<H: Handle> TryIter<H>
where
    H::Chan: RecvChan,
{
    pub(crate) fn new(rx: H) -> Self {
        Self { rx }
    }
}

impl<H: Handle> Iterator for TryIter<H>
where
    H::Chan: RecvChan,
{
    type Item = <H::Chan as RecvChan>::Item;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.chan().try_recv().ok()
    }
}

impl<H: Handle> fmt::Debug for TryIter<H>
where
    H::Chan: RecvChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").finish_non_exhaustive()
    }
}
