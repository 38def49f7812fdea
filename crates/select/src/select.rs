//! The [`Select`] builder and the [`SelectedOperation`] it returns.

use core::future::{Future, poll_fn};
use core::task::Poll;
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use nimsync_channel::__select::{Context, ContextRef, RecvHandle, SelectHandle, SendHandle, Token};
use nimsync_channel::{RecvError, SendError, mpmc, oneshot, spsc};

/// A context state meaning "the owner gave up" (see the channel's wait
/// protocol): `usize::MAX`.
const ABORTED: usize = usize::MAX;

/// Operations kept inline; more spill to the heap.
const INLINE: usize = 8;

/// One operation of a select.
#[derive(Clone, Copy)]
struct Op<'a> {
    /// The endpoint.
    handle: &'a dyn SelectHandle,
    /// Its address, to check the endpoint passed at completion.
    addr: usize,
}

/// Endpoints a [`Select`] can receive from: `&mpmc::Receiver`, `&mut
/// spsc::Receiver`, `&mut oneshot::Receiver` (each as its own `recv`
/// methods take it).
pub trait RecvOperand<'a>: sealed::Sealed {
    /// The endpoint as a select handle.
    #[doc(hidden)]
    fn handle(self) -> (&'a dyn SelectHandle, usize);
}

/// Endpoints a [`Select`] can send on: `&mpmc::Sender`, `&mut
/// spsc::Sender`.
pub trait SendOperand<'a>: sealed::Sealed {
    /// The endpoint as a select handle.
    #[doc(hidden)]
    fn handle(self) -> (&'a dyn SelectHandle, usize);
}

mod sealed {
    pub trait Sealed {}
}

/// The address of an endpoint, as a number.
fn addr_of<T>(endpoint: &T) -> usize {
    core::ptr::from_ref(endpoint) as usize
}

macro_rules! operand {
    ($trait:ident, $ty:ty) => {
        impl<'a, T: 'a> sealed::Sealed for $ty {}
        impl<'a, T: 'a> $trait<'a> for $ty {
            fn handle(self) -> (&'a dyn SelectHandle, usize) {
                let addr = addr_of(&*self);
                (&*self, addr)
            }
        }
    };
}
operand!(RecvOperand, &'a mpmc::Receiver<T>);
operand!(RecvOperand, &'a mut spsc::Receiver<T>);
operand!(RecvOperand, &'a mut oneshot::Receiver<T>);
operand!(SendOperand, &'a mpmc::Sender<T>);
operand!(SendOperand, &'a mut spsc::Sender<T>);

thread_local! {
    /// xorshift state for the fair order.
    static RNG: Cell<u64> = Cell::new({
        let seed = addr_of(&0u8) as u64 ^ Instant::now().elapsed().as_nanos() as u64;
        seed | 1
    });
}

/// A random number from the thread's generator.
fn random() -> u64 {
    RNG.with(|rng| {
        let mut x = rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        x
    })
}

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
    inline: [Option<Op<'a>>; INLINE],
    /// The rest.
    more: Vec<Op<'a>>,
    /// How many.
    len: usize,
    /// Take ready operations in order instead of at random.
    biased: bool,
}

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

/// The error of [`Select::try_select`] and [`Select::try_ready`]: no
/// operation was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrySelectError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no operation of the select was ready; select again later, or block with `select`",
        )
    }
}

impl std::error::Error for TrySelectError {}

/// The error of [`Select::select_timeout`] and
/// [`Select::select_deadline`]: no operation became ready in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation of the select became ready before the deadline; retry with a longer timeout")
    }
}

impl std::error::Error for SelectTimeoutError {}

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
            inline: [None; INLINE],
            more: Vec::new(),
            len: 0,
            biased: false,
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

    /// Adds an operation; returns its index.
    fn push(&mut self, (handle, addr): (&'a dyn SelectHandle, usize)) -> usize {
        let op = Op { handle, addr };
        let index = self.len;
        if index < INLINE {
            self.inline[index] = Some(op);
        } else {
            self.more.push(op);
        }
        self.len += 1;
        index
    }

    /// The operation at `index`.
    fn op(&self, index: usize) -> Op<'a> {
        if index < INLINE {
            self.inline[index].expect("an added operation")
        } else {
            self.more[index - INLINE]
        }
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
        self.push(rx.handle())
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
        self.push(tx.handle())
    }

    /// The operations in this round's order: a fresh random permutation,
    /// or insertion order when biased. Calls `f` until it returns `Some`.
    fn in_order<R>(&self, mut f: impl FnMut(usize, Op<'a>) -> Option<R>) -> Option<R> {
        let n = self.len;
        if self.biased || n <= 1 {
            return (0..n).find_map(|i| f(i, self.op(i)));
        }
        let mut small = [0usize; INLINE];
        let mut large = Vec::new();
        let order: &mut [usize] = if n <= INLINE {
            for (i, slot) in small.iter_mut().enumerate().take(n) {
                *slot = i;
            }
            &mut small[..n]
        } else {
            large.extend(0..n);
            &mut large
        };
        // Fisher-Yates: every order equally likely, so every ready
        // operation is equally likely to come first.
        for i in (1..n).rev() {
            let j = (random() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        order.iter().find_map(|&i| f(i, self.op(i)))
    }

    /// One pass: reserves the first ready operation in this round's order.
    fn try_once(&self) -> Option<SelectedOperation> {
        self.in_order(|index, op| {
            let mut token = Token::new();
            op.handle
                .try_reserve(&mut token)
                .then(|| SelectedOperation {
                    index,
                    token,
                    addr: op.addr,
                    completed: false,
                })
        })
    }

    /// Registers `cx` with every operation.
    fn register(&self, cx: &ContextRef) {
        for i in 0..self.len {
            self.op(i).handle.register(cx, i);
        }
    }

    /// Unregisters `cx` from every operation.
    fn unregister(&self, cx: &ContextRef) {
        for i in 0..self.len {
            self.op(i).handle.unregister(cx);
        }
    }

    /// Gives up a registration: if a notifier claimed it for an operation
    /// other than `kept`, its wake-up goes on to another waiter.
    fn release(&self, cx: &ContextRef, kept: Option<usize>) {
        let claimed = match cx.try_abort() {
            Ok(()) => None,
            Err(state) if state != ABORTED => Some(state - 1),
            Err(_) => None,
        };
        self.unregister(cx);
        if let Some(k) = claimed {
            if Some(k) != kept {
                self.op(k).handle.pass_on();
            }
        }
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

    /// One pass of readiness checks in this round's order.
    fn ready_once(&self) -> Option<usize> {
        self.in_order(|index, op| op.handle.is_ready().then_some(index))
    }

    /// The blocking loop of `ready`: check, register, check again, park.
    fn wait_ready(&self, deadline: Option<Instant>) -> Result<usize, SelectTimeoutError> {
        assert!(
            self.len > 0,
            "a select with no operations would wait forever; add a recv or send first"
        );
        if let Some(index) = self.ready_once() {
            return Ok(index);
        }
        let cx = Context::for_current_thread();
        self.register(&cx);
        if let Some(index) = self.ready_once() {
            // Not consumed: a wake-up handed over meanwhile goes on.
            self.release(&cx, None);
            return Ok(index);
        }
        let state = cx.wait_until(deadline);
        self.unregister(&cx);
        if state == ABORTED {
            return Err(SelectTimeoutError);
        }
        // The operation that woke us is reported, not consumed: its wake-up
        // goes on, so another waiter may take the value.
        self.op(state - 1).handle.pass_on();
        Ok(state - 1)
    }

    /// The blocking loop: try, register, try again, park.
    fn wait(&self, deadline: Option<Instant>) -> Result<SelectedOperation, SelectTimeoutError> {
        assert!(
            self.len > 0,
            "a select with no operations would wait forever; add a recv or send first"
        );
        loop {
            if let Some(selected) = self.try_once() {
                return Ok(selected);
            }
            let cx = Context::for_current_thread();
            self.register(&cx);
            if let Some(selected) = self.try_once() {
                self.release(&cx, Some(selected.index));
                return Ok(selected);
            }
            let state = cx.wait_until(deadline);
            self.unregister(&cx);
            if state == ABORTED {
                return Err(SelectTimeoutError);
            }
            // Woken by operation `state - 1`: take whatever is ready now,
            // and pass that wake-up on if another operation wins.
            let woken = state - 1;
            if let Some(selected) = self.try_once() {
                if selected.index != woken {
                    self.op(woken).handle.pass_on();
                }
                return Ok(selected);
            }
        }
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
    pub fn select_async(&mut self) -> impl Future<Output = SelectedOperation> + '_ {
        assert!(
            self.len > 0,
            "a select with no operations would wait forever; add a recv or send first"
        );
        let mut registration = Registration {
            select: self,
            cx: None,
        };
        poll_fn(move |cx| registration.poll(cx.waker()))
    }
}

/// The async select's registration; dropping it gives the registration up.
struct Registration<'s, 'a> {
    /// The select.
    select: &'s Select<'a>,
    /// The task's context while registered.
    cx: Option<ContextRef>,
}

impl Registration<'_, '_> {
    /// One poll of the async select.
    fn poll(&mut self, waker: &core::task::Waker) -> Poll<SelectedOperation> {
        // Take back the previous registration, learning whether an
        // operation claimed it (and so handed this select a wake-up).
        let mut woken_by = None;
        let previous = self.cx.take().inspect(|cx| {
            if let Err(state) = cx.try_abort() {
                if state != ABORTED {
                    woken_by = Some(state - 1);
                }
            }
            self.select.unregister(cx);
        });
        if let Some(selected) = self.select.try_once() {
            if let Some(k) = woken_by.filter(|&k| k != selected.index) {
                self.select.op(k).handle.pass_on();
            }
            return Poll::Ready(selected);
        }
        let cx = match previous {
            Some(cx) => {
                // Registered nowhere now, so it may be reset.
                cx.reset();
                cx.set_waker(waker);
                cx
            }
            None => Context::for_task(waker),
        };
        self.select.register(&cx);
        if let Some(selected) = self.select.try_once() {
            self.select.release(&cx, Some(selected.index));
            return Poll::Ready(selected);
        }
        self.cx = Some(cx);
        Poll::Pending
    }
}

impl Drop for Registration<'_, '_> {
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            self.select.release(&cx, None);
        }
    }
}

/// The operation a select chose. Complete it with
/// [`recv`](SelectedOperation::recv) or [`send`](SelectedOperation::send),
/// passing the same endpoint.
///
/// # Panics
/// When dropped without being completed: a reserved slot would stall its
/// channel. The message names the operation's index.
#[must_use = "a selected operation must be completed with `.recv(..)` or `.send(..)`"]
pub struct SelectedOperation {
    /// The operation's index in its select.
    index: usize,
    /// Its reservation.
    token: Token,
    /// The address of its endpoint.
    addr: usize,
    /// Whether it was completed.
    completed: bool,
}

impl fmt::Debug for SelectedOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

impl SelectedOperation {
    /// The index of the operation, as [`Select::recv`] or
    /// [`Select::send`] returned it.
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

    /// Checks that `addr` is the selected endpoint.
    fn check(&self, addr: usize, what: &str) {
        assert_eq!(
            addr, self.addr,
            "selected operation {} was completed with `{what}` on a different endpoint than \
             the one added to the select",
            self.index
        );
    }

    /// Completes a selected receive.
    ///
    /// # Errors
    /// [`RecvError`] when the channel was closed and drained.
    ///
    /// # Panics
    /// If `rx` is not the endpoint of the selected operation, or that
    /// operation was a send.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(tx);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select().recv(&rx).is_err()); // closed counts as ready
    /// ```
    pub fn recv<R: RecvHandle>(mut self, rx: &R) -> Result<R::Item, RecvError> {
        self.check(addr_of(rx), "recv");
        self.completed = true;
        rx.commit_recv(&mut self.token)
    }

    /// Completes a selected send with `value`.
    ///
    /// # Errors
    /// [`SendError`] with the value when the channel was closed.
    ///
    /// # Panics
    /// If `tx` is not the endpoint of the selected operation, or that
    /// operation was a receive.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// let mut sel = nimsync_select::Select::new();
    /// sel.send(&tx);
    /// assert_eq!(sel.select().send(&tx, 1).unwrap_err().0, 1);
    /// ```
    pub fn send<S: SendHandle>(mut self, tx: &S, value: S::Item) -> Result<(), SendError<S::Item>> {
        self.check(addr_of(tx), "send");
        self.completed = true;
        tx.commit_send(&mut self.token, value)
    }
}

impl Drop for SelectedOperation {
    fn drop(&mut self) {
        if !self.completed && !std::thread::panicking() {
            panic!(
                "selected operation {} was dropped without being completed: call `.recv(..)` or \
                 `.send(..)` on it with its endpoint (a reserved slot would stall the channel)",
                self.index
            );
        }
    }
}
