//! The operation a select chose, [`SelectedOperation`], and its
//! completion: with the endpoint added to the select (checked by channel
//! identity, so any clone of it will do), or, dropped uncompleted, by
//! giving its reservation up through the channel state it keeps (its
//! `Keeper`), so the channel goes on as if it had not been selected.

use std::fmt;
use std::time::Instant;

use nimsync_channel::__select::{Keeper, RecvHandle, SendHandle, Token};
use nimsync_channel::{RecvError, SendError};

use crate::operand::{addr_of, sealed};
use crate::timer::{After, Never, Tick};

/// What a selected operation must be completed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// An endpoint of the channel with this identity (any clone of the
    /// endpoint added to the select).
    Chan(u64),
    /// The timer at this address.
    After(usize),
    /// The ticker at this address.
    Tick(usize),
}

/// Endpoints a [`SelectedOperation`] can be completed with by
/// [`recv`](SelectedOperation::recv): channel receivers and timers.
///
/// # Examples
/// ```
/// use nimsync_select::{RecvEndpoint, Select};
///
/// fn first<R: RecvEndpoint>(sel: &mut Select<'_>, rx: &R) -> Option<R::Item> {
///     sel.select().recv(rx).ok()
/// }
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// tx.send(5).unwrap();
/// let mut sel = Select::new();
/// sel.recv(&rx);
/// assert_eq!(first(&mut sel, &rx), Some(5));
/// ```
pub trait RecvEndpoint: sealed::Sealed {
    /// What a receive yields: the message, or the instant a timer was due.
    type Item;
    /// Completes `op`, which was checked to be this endpoint's.
    #[doc(hidden)]
    fn complete(&self, op: &mut SelectedOperation) -> Result<Self::Item, RecvError>;
}

/// Endpoints a [`SelectedOperation`] can be completed with by
/// [`send`](SelectedOperation::send): channel senders.
///
/// # Examples
/// ```
/// use nimsync_select::{Select, SendEndpoint};
///
/// fn offer<S: SendEndpoint>(sel: &mut Select<'_>, tx: &S, value: S::Item) -> bool {
///     sel.select().send(tx, value).is_ok()
/// }
/// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// sel.send(&tx);
/// assert!(offer(&mut sel, &tx, 8));
/// assert_eq!(rx.try_recv(), Ok(8));
/// ```
pub trait SendEndpoint: sealed::Sealed {
    /// The message type.
    type Item;
    /// Completes `op`, which was checked to be this endpoint's.
    #[doc(hidden)]
    fn complete(
        &self,
        op: &mut SelectedOperation,
        value: Self::Item,
    ) -> Result<(), SendError<Self::Item>>;
}

impl<R: RecvHandle> RecvEndpoint for R
where
    R: sealed::Sealed,
{
    type Item = R::Item;
    fn complete(&self, op: &mut SelectedOperation) -> Result<R::Item, RecvError> {
        op.check(Endpoint::Chan(self.id()), "recv");
        self.commit_recv(&mut op.token)
    }
}

impl<S: SendHandle> SendEndpoint for S
where
    S: sealed::Sealed,
{
    type Item = S::Item;
    fn complete(
        &self,
        op: &mut SelectedOperation,
        value: S::Item,
    ) -> Result<(), SendError<S::Item>> {
        op.check(Endpoint::Chan(self.id()), "send");
        self.commit_send(&mut op.token, value)
    }
}

impl RecvEndpoint for After {
    type Item = Instant;
    fn complete(&self, op: &mut SelectedOperation) -> Result<Instant, RecvError> {
        op.check(Endpoint::After(addr_of(self)), "recv");
        Ok(op.fired.expect("a selected timer records when it was due"))
    }
}

impl RecvEndpoint for Tick {
    type Item = Instant;
    fn complete(&self, op: &mut SelectedOperation) -> Result<Instant, RecvError> {
        op.check(Endpoint::Tick(addr_of(self)), "recv");
        Ok(op.fired.expect("a selected ticker records when it was due"))
    }
}

impl<T> RecvEndpoint for Never<T> {
    type Item = T;
    fn complete(&self, op: &mut SelectedOperation) -> Result<T, RecvError> {
        panic!(
            "selected operation {} was completed with a `never` endpoint, which is never \
             selected; pass the endpoint added to the select",
            op.index
        )
    }
}

/// The operation a select chose. Complete it with
/// [`recv`](SelectedOperation::recv) or [`send`](SelectedOperation::send),
/// passing an endpoint of the same channel (the one added to the select, or
/// a clone of it).
///
/// Dropping it without completing it (an early return with `?`, a panic)
/// gives its reservation up: the channel goes on as if the operation had
/// not been selected. A selected send loses nothing, as its value was never
/// given. A selected receive had already reserved its message, which
/// cannot be put back.
///
/// # Panics
/// When a selected receive is dropped without being completed (its message
/// is dropped with it), unless the thread is already panicking. The
/// message names the operation's index.
///
/// # Examples
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::Select;
///
/// fn value() -> Result<u32, &'static str> {
///     Err("no value after all")
/// }
///
/// let (tx, rx) = mpmc::channel::<u32>(1);
/// let attempt = || -> Result<(), &'static str> {
///     let mut sel = Select::new();
///     sel.send(&tx);
///     let op = sel.select();
///     op.send(&tx.clone(), value()?).unwrap(); // any clone completes it
///     Ok(())
/// };
/// assert!(attempt().is_err()); // the reservation was given up
/// tx.try_send(7).unwrap(); // so the channel is usable
/// assert_eq!(rx.try_recv(), Ok(7));
/// ```
#[must_use = "a selected operation must be completed with `.recv(..)` or `.send(..)`"]
pub struct SelectedOperation {
    /// The operation's index in its select.
    pub(crate) index: usize,
    /// Its reservation.
    pub(crate) token: Token,
    /// What it must be completed with.
    pub(crate) endpoint: Endpoint,
    /// When a timer operation was due.
    pub(crate) fired: Option<Instant>,
    /// The channel's state, kept while the token holds a claimed MPMC
    /// position, to give it up if the operation is dropped uncompleted.
    pub(crate) keeper: Option<Keeper>,
    /// Whether it was completed.
    pub(crate) completed: bool,
}

impl fmt::Debug for SelectedOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

impl SelectedOperation {
    /// The index of the operation, as [`Select::recv`](crate::Select::recv) or
    /// [`Select::send`](crate::Select::send) returned it.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// tx.send(1).unwrap();
    /// let mut sel = nimsync_select::Select::new();
    /// let i = sel.recv(&rx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// op.recv(&rx).unwrap();
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Checks that `endpoint` is the selected operation's.
    fn check(&self, endpoint: Endpoint, what: &str) {
        assert!(
            endpoint == self.endpoint,
            "selected operation {} was completed with `{what}` on an endpoint of another \
             channel than the one added to the select (a clone of the endpoint added would \
             complete it)",
            self.index
        );
    }

    /// Completes a selected receive.
    ///
    /// # Errors
    /// [`RecvError`] when the channel was closed and drained.
    ///
    /// # Panics
    /// If `rx` is not an endpoint of the selected operation's channel (the
    /// one added to the select or a clone of it) or, for a timer, the timer
    /// added; or if that operation was a send.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select().recv(&rx).is_err()); // closed counts as ready
    /// ```
    pub fn recv<R: RecvEndpoint>(mut self, rx: &R) -> Result<R::Item, RecvError> {
        // Not marked completed before the endpoint is checked: if the check
        // panics, the drop gives the reservation up.
        let res = rx.complete(&mut self);
        self.completed = true;
        res
    }

    /// Completes a selected send with `value`.
    ///
    /// # Errors
    /// [`SendError`] with the value when the channel was closed.
    ///
    /// # Panics
    /// If `tx` is not an endpoint of the selected operation's channel (the
    /// one added to the select or a clone of it), or if that operation was
    /// a receive.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.send(&tx);
    /// assert_eq!(sel.select().send(&tx, 1).unwrap_err().0, 1);
    /// ```
    pub fn send<S: SendEndpoint>(
        mut self,
        tx: &S,
        value: S::Item,
    ) -> Result<(), SendError<S::Item>> {
        let res = tx.complete(&mut self, value);
        self.completed = true;
        res
    }
}

impl SelectedOperation {
    /// Gives up a selected send without sending: the channel goes on as if
    /// it had not been reserved.
    pub(crate) fn abandon_send<S: SendHandle>(mut self, tx: &S) {
        self.completed = true;
        tx.abandon_send(&mut self.token);
    }
}

impl Drop for SelectedOperation {
    fn drop(&mut self) {
        // An operation dropped without being completed (an early return
        // or a panic between the select and the completion) gives its
        // reservation up, so its channel goes on as if it had not been
        // selected. A reserved receive's message cannot be put back: it is
        // dropped, and that loss is reported.
        if self.completed {
            return;
        }
        let lost = match &self.keeper {
            Some(keeper) => keeper.give_up(&mut self.token),
            None => self.token.give_up(),
        };
        if lost && !std::thread::panicking() {
            panic!(
                "selected operation {} (a receive) was dropped without being completed, and the \
                 message it had reserved was dropped with it: call `.recv(..)` on it with its \
                 endpoint",
                self.index
            );
        }
    }
}
