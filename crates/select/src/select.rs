//! The [`Select`] builder: a run-time number of operations, added one by
//! one, then one call that selects among them.
//!
//! The fair order is drawn in `fairness.rs`, the operations are held as
//! `operand.rs` describes, a select that finds nothing ready waits as
//! `waiting.rs` describes, and the winner is a [`SelectedOperation`]
//! (`selected.rs`).

use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use nimsync_channel::__select::SelectHandle;

use crate::error::{SelectTimeoutError, TrySelectError};
use crate::operand::{Op, RecvOperand, SendOperand};
use crate::selected::SelectedOperation;
use crate::waiting::Registration;

/// Operations kept inline; more spill to the heap.
const INLINE: usize = 8;

/// Waits on several channel operations and completes exactly one.
///
/// Add operations with [`recv`](Select::recv) and [`send`](Select::send)
/// (each returns the operation's index), then call [`select`](Select::select)
/// (blocks), [`try_select`](Select::try_select),
/// [`select_timeout`](Select::select_timeout),
/// [`select_deadline`](Select::select_deadline) or
/// [`select_async`](Select::select_async). The result must be completed
/// with [`SelectedOperation::recv`] or [`SelectedOperation::send`], passing
/// the same endpoint.
///
/// Endpoints taken by `&mut` (spsc, oneshot) stay borrowed by the `Select`:
/// let it go out of scope (or drop it) before completing the operation.
///
/// # Examples
/// ```
/// use nimsync_channel::mpmc;
/// use nimsync_select::Select;
///
/// let (tx, rx) = mpmc::channel::<i32>(1);
/// let (_tx2, rx2) = mpmc::channel::<i32>(1);
/// tx.send(5).unwrap();
/// let mut sel = Select::new();
/// let a = sel.recv(&rx);
/// let _b = sel.recv(&rx2);
/// let op = sel.select();
/// assert_eq!(op.index(), a);
/// assert_eq!(op.recv(&rx), Ok(5));
/// ```
pub struct Select<'a> {
    /// The first operations.
    inline: [Op<'a>; INLINE],
    /// The rest.
    more: Vec<Op<'a>>,
    /// How many.
    pub(crate) len: usize,
    /// Take ready operations in order instead of at random.
    pub(crate) biased: bool,
    /// Whether any operation is a timer.
    timers: bool,
    /// Operations taken out by [`remove`](Select::remove).
    removed: usize,
    /// A select stays on the thread that uses it: it is `Send` (see below)
    /// but not `Sync`.
    not_sync: PhantomData<Cell<()>>,
}

// SAFETY: every operation is added through `RecvOperand`, `SendOperand` or
// the macros' arms, and each holds either a shared reference to an endpoint
// that is `Sync` (mpmc endpoints and `Tick`, whose channels carry
// `T: Send`), an exclusive borrow of a `Send` endpoint (spsc and oneshot
// endpoints with `T: Send`: the select's `&dyn SelectHandle` is derived
// from the `&mut` it holds for its whole lifetime, so no other reference to
// the endpoint is in use), or a plain value. Moving the select to another
// thread moves those borrows, which is sound for each of them. The select
// is not `Sync`, so two threads never use its handles at once.
unsafe impl Send for Select<'_> {}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.len)
            .field("biased", &self.biased)
            .finish()
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Select<'a> {
    /// An empty, fair select.
    ///
    /// # Examples
    /// ```
    /// let sel = nimsync_select::Select::new();
    /// # drop(sel);
    /// ```
    pub fn new() -> Self {
        Self {
            inline: [Op::Never; INLINE],
            more: Vec::new(),
            len: 0,
            biased: false,
            timers: false,
            removed: 0,
            not_sync: PhantomData,
        }
    }

    /// An empty select that takes ready operations in the order they were
    /// added.
    ///
    /// # Examples
    /// ```
    /// use nimsync_channel::mpmc;
    /// let (tx, rx) = mpmc::channel::<u8>(1);
    /// let (tx2, rx2) = mpmc::channel::<u8>(1);
    /// tx.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// let mut sel = nimsync_select::Select::new_biased();
    /// let first = sel.recv(&rx);
    /// sel.recv(&rx2);
    /// let op = sel.select();
    /// assert_eq!(op.index(), first);
    /// assert_eq!(op.recv(&rx), Ok(1));
    /// ```
    pub fn new_biased() -> Self {
        Self {
            biased: true,
            ..Self::new()
        }
    }

    /// A fair or biased select, as a macro asks for one.
    pub(crate) fn with_bias(biased: bool) -> Self {
        Self {
            biased,
            ..Self::new()
        }
    }

    /// Adds an operation; returns its index.
    pub(crate) fn push(&mut self, op: Op<'a>) -> usize {
        let index = self.len;
        if index < INLINE {
            self.inline[index] = op;
        } else {
            self.more.push(op);
        }
        self.timers |= !matches!(op, Op::Chan(..));
        self.len += 1;
        index
    }

    /// Adds a channel operation; returns its index.
    pub(crate) fn push_chan<H: SelectHandle>(&mut self, handle: &'a H) -> usize {
        self.push(Op::Chan(handle, handle.id()))
    }

    /// Operations added and not removed: a select with none cannot wait.
    pub(crate) fn live(&self) -> usize {
        self.len - self.removed
    }

    /// Takes out the operation at `index`, as crossbeam's `Select::remove`
    /// does: it is never selected again, and the indices of the others,
    /// and of operations added later, do not change (an index is never
    /// reused). Useful after an operation was selected because its channel
    /// closed, to wait on the rest.
    ///
    /// # Panics
    ///
    /// If no operation was added at `index`, or it was already removed.
    ///
    /// # Examples
    /// ```
    /// use nimsync_channel::mpmc;
    /// let (tx, rx) = mpmc::channel::<u8>(1);
    /// let (tx2, rx2) = mpmc::channel::<u8>(1);
    /// drop(tx); // rx's channel is closed: always ready
    /// tx2.send(5).unwrap();
    /// let mut sel = nimsync_select::Select::new_biased();
    /// let closed = sel.recv(&rx);
    /// let other = sel.recv(&rx2);
    /// let op = sel.select();
    /// assert_eq!(op.index(), closed);
    /// assert!(op.recv(&rx).is_err());
    /// sel.remove(closed);
    /// let op = sel.select();
    /// assert_eq!(op.index(), other);
    /// assert_eq!(op.recv(&rx2), Ok(5));
    /// ```
    pub fn remove(&mut self, index: usize) {
        assert!(
            index < self.len,
            "no operation at index {index} to remove: this select has {} (indices from 0)",
            self.len
        );
        let slot = if index < INLINE {
            &mut self.inline[index]
        } else {
            &mut self.more[index - INLINE]
        };
        assert!(
            !matches!(slot, Op::Removed),
            "operation {index} was already removed from this select"
        );
        *slot = Op::Removed;
        self.removed += 1;
    }

    /// The operation at `index`.
    pub(crate) fn op(&self, index: usize) -> Op<'a> {
        if index < INLINE {
            self.inline[index]
        } else {
            self.more[index - INLINE]
        }
    }

    /// The earliest timer deadline, if there are timers.
    pub(crate) fn timer_deadline(&self) -> Option<Instant> {
        if !self.timers {
            return None;
        }
        (0..self.len).filter_map(|i| self.op(i).deadline()).min()
    }

    /// Adds a receive; returns its index.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// ```
    pub fn recv(&mut self, rx: impl RecvOperand<'a>) -> usize {
        rx.add_to(self)
    }

    /// Adds a send; returns its index. The value is given at completion,
    /// only if this operation wins.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// let i = sel.send(&tx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// op.send(&tx, 9).unwrap();
    /// assert_eq!(rx.recv(), Ok(9));
    /// ```
    pub fn send(&mut self, tx: impl SendOperand<'a>) -> usize {
        tx.add_to(self)
    }

    /// One pass: reserves a ready operation, chosen uniformly at random
    /// among the ready ones (the first ready one when biased).
    pub(crate) fn try_once(&self) -> Option<SelectedOperation> {
        let mut now = None;
        self.first_of(|i| {
            let op = self.op(i);
            // A reservation attempt costs more than the plain loads of a
            // readiness check on an operation that is not ready.
            if op.is_ready(&mut now) {
                // `None` if taken meanwhile (or a message still being
                // written): the others are tried, and the caller's
                // registration covers this one.
                op.try_reserve(i, &mut now)
            } else {
                None
            }
        })
    }

    /// Completes the first ready operation, or fails at once.
    ///
    /// # Errors
    /// [`TrySelectError`] when no operation is ready.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_err());
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation, TrySelectError> {
        self.try_once().ok_or(TrySelectError)
    }

    /// Blocks until an operation is ready and selects it.
    ///
    /// # Panics
    /// With no operations added: it would wait forever.
    ///
    /// # Examples
    /// ```
    /// use nimsync_channel::mpmc;
    /// let (tx, rx) = mpmc::channel::<u8>(1);
    /// std::thread::spawn(move || tx.send(3).unwrap());
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), Ok(3));
    /// ```
    pub fn select(&mut self) -> SelectedOperation {
        if let Some(selected) = self.try_once() {
            return selected;
        }
        self.wait(None)
            .expect("a select without a deadline does not time out")
    }

    /// Like [`select`](Select::select), giving up after `timeout`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select_timeout(std::time::Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation, SelectTimeoutError> {
        self.select_deadline(Instant::now() + timeout)
    }

    /// Like [`select`](Select::select), giving up at `deadline`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// let deadline = std::time::Instant::now() + std::time::Duration::from_millis(2);
    /// assert!(sel.select_deadline(deadline).is_err());
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation, SelectTimeoutError> {
        self.wait(Some(deadline))
    }

    /// The index of a ready operation, without completing it (another
    /// thread may take it before this one acts): fails at once when none
    /// is ready.
    ///
    /// # Errors
    /// [`TrySelectError`] when no operation is ready.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// let i = sel.recv(&rx);
    /// assert!(sel.try_ready().is_err());
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.try_ready(), Ok(i));
    /// assert_eq!(rx.try_recv(), Ok(1)); // nothing was taken
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TrySelectError> {
        self.ready_once().ok_or(TrySelectError)
    }

    /// Blocks until an operation is ready and returns its index, without
    /// completing it.
    ///
    /// # Panics
    /// With no operations added.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// std::thread::spawn(move || tx.send(2).unwrap());
    /// let mut sel = nimsync_select::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready(), i);
    /// assert_eq!(rx.recv(), Ok(2));
    /// ```
    pub fn ready(&mut self) -> usize {
        self.wait_ready(None)
            .expect("a wait without a deadline does not time out")
    }

    /// Like [`ready`](Select::ready), giving up after `timeout`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_timeout(std::time::Duration::from_millis(2)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, SelectTimeoutError> {
        self.wait_ready(Some(Instant::now() + timeout))
    }

    /// Like [`ready`](Select::ready), giving up at `deadline`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// let i = sel.recv(&rx);
    /// let soon = Instant::now() + Duration::from_millis(2);
    /// assert!(sel.ready_deadline(soon).is_err());
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.ready_deadline(soon), Ok(i));
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, SelectTimeoutError> {
        self.wait_ready(Some(deadline))
    }

    /// One pass of readiness checks: a ready operation chosen uniformly
    /// at random among the ready ones (the first when biased).
    pub(crate) fn ready_once(&self) -> Option<usize> {
        let mut now = None;
        self.first_of(|i| self.op(i).is_ready(&mut now).then_some(i))
    }

    /// Waits, under any executor, until an operation is ready and selects
    /// it. Dropping the future before it completes takes nothing and loses
    /// no wake-up.
    ///
    /// # Panics
    /// With no operations added.
    ///
    /// # Examples
    /// ```
    /// use nimsync_channel::mpmc;
    /// let (tx, rx) = mpmc::channel::<u8>(1);
    /// let (_tx2, rx2) = mpmc::channel::<u8>(1);
    /// futures_lite::future::block_on(async {
    ///     let sender = async { tx.send_async(4).await.unwrap() };
    ///     let mut sel = nimsync_select::Select::new();
    ///     let a = sel.recv(&rx);
    ///     sel.recv(&rx2);
    ///     let (op, ()) = futures_lite::future::zip(sel.select_async(), sender).await;
    ///     assert_eq!(op.index(), a);
    ///     assert_eq!(op.recv(&rx), Ok(4));
    /// });
    /// ```
    pub fn select_async(&mut self) -> impl Future<Output = SelectedOperation> + Send + '_ {
        let mut registration = Registration::new(self, None);
        poll_fn(move |cx| {
            registration
                .poll(cx)
                .map(|r| r.expect("a select without a deadline does not time out"))
        })
    }

    /// Like [`select_async`](Select::select_async), giving up after
    /// `timeout`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// let res = futures_lite::future::block_on(sel.select_async_timeout(Duration::from_millis(2)));
    /// assert!(res.is_err());
    /// ```
    pub fn select_async_timeout(
        &mut self,
        timeout: Duration,
    ) -> impl Future<Output = Result<SelectedOperation, SelectTimeoutError>> + Send + '_ {
        self.select_async_deadline(Instant::now() + timeout)
    }

    /// Like [`select_async`](Select::select_async), giving up at
    /// `deadline`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when nothing became ready in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// let deadline = Instant::now() + Duration::from_millis(2);
    /// assert!(futures_lite::future::block_on(sel.select_async_deadline(deadline)).is_err());
    /// ```
    pub fn select_async_deadline(
        &mut self,
        deadline: Instant,
    ) -> impl Future<Output = Result<SelectedOperation, SelectTimeoutError>> + Send + '_ {
        let mut registration = Registration::new(self, Some(deadline));
        poll_fn(move |cx| registration.poll(cx))
    }
}
