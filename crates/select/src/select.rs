//! The [`Select`] builder and the [`SelectedOperation`] it returns.

use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::Poll;
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

#[cfg(not(loom))]
use crossbeam_utils::Backoff;
use nimsync_channel::__select::{
    Context, ContextRef, Keeper, RecvHandle, SelectHandle, SendHandle, Token,
};
use nimsync_channel::{RecvError, SendError, mpmc, oneshot, spsc};
use nimsync_time::Sleep;

use crate::timer::{After, Never, Tick};

/// A context state meaning "the owner gave up" (see the channel's wait
/// protocol): `usize::MAX`.
const ABORTED: usize = usize::MAX;

/// Operations kept inline; more spill to the heap.
const INLINE: usize = 8;

/// The indices `0..64`, which a select of up to 64 operations shuffles.
const IDENTITY: [u8; 64] = {
    let mut order = [0; 64];
    let mut i = 0;
    while i < 64 {
        order[i] = i as u8;
        i += 1;
    }
    order
};

/// One operation of a select.
#[derive(Clone, Copy)]
enum Op<'a> {
    /// A channel operation, with its channel's identity to check the
    /// endpoint passed at completion.
    Chan(&'a dyn SelectHandle, u64),
    /// A timer, ready from its deadline on.
    At(Instant),
    /// A ticker.
    Tick(&'a Tick),
    /// Never ready.
    Never,
}

impl Op<'_> {
    /// When a timer operation becomes ready.
    fn deadline(self) -> Option<Instant> {
        match self {
            Op::At(deadline) => Some(deadline),
            Op::Tick(tick) => Some(tick.next_deadline()),
            Op::Chan(..) | Op::Never => None,
        }
    }

    /// True if reserving would succeed now. `now` is read once per pass.
    fn is_ready(self, now: &mut Option<Instant>) -> bool {
        match self {
            Op::Chan(handle, _) => handle.is_ready(),
            Op::At(deadline) => *now.get_or_insert_with(Instant::now) >= deadline,
            Op::Tick(tick) => tick.is_due(*now.get_or_insert_with(Instant::now)),
            Op::Never => false,
        }
    }

    /// Reserves the operation if it is ready.
    fn try_reserve(self, index: usize, now: &mut Option<Instant>) -> Option<SelectedOperation> {
        let selected = |token, endpoint, fired| SelectedOperation {
            index,
            token,
            endpoint,
            fired,
            keeper: None,
            completed: false,
        };
        match self {
            Op::Chan(handle, id) => {
                // NB: the handle fills the token in place. Filled in a local
                // and moved into the operation, its fields (stored 8 bytes
                // at a time) were read back with 16-byte loads the processor
                // could not forward: 14.1-14.4 to 14.5-15.4 M selects/s
                // single-thread over 4 MPMC channels (4 interleaved pairs).
                let mut op = selected(Token::new(), Endpoint::Chan(id), None);
                if handle.try_reserve(&mut op.token) {
                    if op.token.holds_claim() {
                        // The operation may be dropped without its endpoint:
                        // it keeps the channel's state to give the claim up.
                        op.keeper = handle.keeper();
                    }
                    Some(op)
                } else {
                    // Nothing reserved: nothing to complete.
                    op.completed = true;
                    None
                }
            }
            Op::At(deadline) => (*now.get_or_insert_with(Instant::now) >= deadline)
                .then(|| selected(Token::new(), Endpoint::After, Some(deadline))),
            Op::Tick(tick) => tick
                .take(*now.get_or_insert_with(Instant::now))
                .map(|due| selected(Token::new(), Endpoint::Tick(addr_of(tick)), Some(due))),
            Op::Never => None,
        }
    }

    /// Registers `cx` for a channel operation (timers need no
    /// registration: the wait's deadline covers them).
    fn register(self, cx: &ContextRef, index: usize) {
        if let Op::Chan(handle, _) = self {
            handle.register(cx, index);
        }
    }

    /// Undoes [`register`](Op::register).
    fn unregister(self, cx: &ContextRef) {
        if let Op::Chan(handle, _) = self {
            handle.unregister(cx);
        }
    }

    /// Hands a wake-up this operation gave the select to another waiter.
    fn pass_on(self) {
        if let Op::Chan(handle, _) = self {
            #[cfg(all(test, loom))]
            probes::hit(&probes::PASSED_ON);
            handle.pass_on();
        }
    }
}

/// What a selected operation must be completed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// An endpoint of the channel with this identity (any clone of the
    /// endpoint added to the select).
    Chan(u64),
    /// Any [`After`].
    After,
    /// The ticker at this address.
    Tick(usize),
}

/// Endpoints a [`Select`] can receive from: `&mpmc::Receiver`, `&mut
/// spsc::Receiver`, `&mut oneshot::Receiver` (each as its own `recv`
/// methods take it), the timers [`After`], `&Tick` and [`Never`], and an
/// `Option` of any of these (`None` is never ready).
///
/// Channels must carry `T: Send`, so that a [`Select`] can move to another
/// thread with the task that owns it.
pub trait RecvOperand<'a>: sealed::Sealed {
    /// Adds the operation; returns its index.
    #[doc(hidden)]
    fn add_to(self, select: &mut Select<'a>) -> usize;
}

/// Endpoints a [`Select`] can send on: `&mpmc::Sender`, `&mut
/// spsc::Sender`, and an `Option` of either (`None` is never ready).
pub trait SendOperand<'a>: sealed::Sealed {
    /// Adds the operation; returns its index.
    #[doc(hidden)]
    fn add_to(self, select: &mut Select<'a>) -> usize;
}

/// Endpoints a [`SelectedOperation`] can be completed with by
/// [`recv`](SelectedOperation::recv): channel receivers and timers.
pub trait RecvEndpoint: sealed::Sealed {
    /// What a receive yields: the message, or the instant a timer was due.
    type Item;
    /// Completes `op`, which was checked to be this endpoint's.
    #[doc(hidden)]
    fn complete(&self, op: &mut SelectedOperation) -> Result<Self::Item, RecvError>;
}

/// Endpoints a [`SelectedOperation`] can be completed with by
/// [`send`](SelectedOperation::send): channel senders.
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

mod sealed {
    pub trait Sealed {}
}

/// The address of an endpoint, as a number.
fn addr_of<T>(endpoint: &T) -> usize {
    core::ptr::from_ref(endpoint) as usize
}

/// Operands and completion for channel endpoints.
macro_rules! channel_endpoint {
    ($operand:ident, $ty:ident :: $end:ident, $($by:tt)+) => {
        impl<T> sealed::Sealed for $ty::$end<T> {}
        impl<'a, T: Send + 'a> sealed::Sealed for $($by)+ $ty::$end<T> {}
        impl<'a, T: Send + 'a> $operand<'a> for $($by)+ $ty::$end<T> {
            fn add_to(self, select: &mut Select<'a>) -> usize {
                select.push_chan(&*self)
            }
        }
    };
}
channel_endpoint!(RecvOperand, mpmc::Receiver, &'a);
channel_endpoint!(RecvOperand, spsc::Receiver, &'a mut);
channel_endpoint!(RecvOperand, oneshot::Receiver, &'a mut);
channel_endpoint!(SendOperand, mpmc::Sender, &'a);
channel_endpoint!(SendOperand, spsc::Sender, &'a mut);

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

impl sealed::Sealed for After {}
impl<'a> RecvOperand<'a> for After {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::At(self.deadline()))
    }
}
impl RecvEndpoint for After {
    type Item = Instant;
    fn complete(&self, op: &mut SelectedOperation) -> Result<Instant, RecvError> {
        op.check(Endpoint::After, "recv");
        Ok(op.fired.expect("a selected timer records when it was due"))
    }
}

impl sealed::Sealed for Tick {}
impl sealed::Sealed for &Tick {}
impl<'a> RecvOperand<'a> for &'a Tick {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::Tick(self))
    }
}
impl RecvEndpoint for Tick {
    type Item = Instant;
    fn complete(&self, op: &mut SelectedOperation) -> Result<Instant, RecvError> {
        op.check(Endpoint::Tick(addr_of(self)), "recv");
        Ok(op.fired.expect("a selected ticker records when it was due"))
    }
}

impl<T> sealed::Sealed for Never<T> {}
impl<'a, T> RecvOperand<'a> for Never<T> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        select.push(Op::Never)
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

impl<O> sealed::Sealed for Option<O> {}
impl<'a, O: RecvOperand<'a>> RecvOperand<'a> for Option<O> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        match self {
            Some(operand) => operand.add_to(select),
            None => select.push(Op::Never),
        }
    }
}
impl<'a, O: SendOperand<'a>> SendOperand<'a> for Option<O> {
    fn add_to(self, select: &mut Select<'a>) -> usize {
        match self {
            Some(operand) => operand.add_to(select),
            None => select.push(Op::Never),
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    /// xorshift state for the fair order; 0 until first used.
    static RNG: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread's last full readiness scan found at least half
    /// of its arms ready (see [`Ready::probe`]).
    static PROBE: Cell<bool> = const { Cell::new(false) };
    /// Async selects since this thread's last budget yield or `Pending`
    /// wait (see [`cooperate`]).
    static SPENT: Cell<u32> = const { Cell::new(0) };
}

// Under loom every execution of a model must make the same choices for the
// same schedule, or loom cannot replay and branch it: the order comes from
// a fixed seed in a loom thread-local, which each execution starts afresh
// (a std thread-local would carry its state from one execution to the
// next, as loom runs every model thread on the same OS thread).
#[cfg(loom)]
loom::thread_local! {
    /// xorshift state for the fair order, with a fixed seed.
    static RNG: Cell<u64> = Cell::new(0x9E37_79B9_7F4A_7C15);
    /// Whether this thread's last full readiness scan found at least half
    /// of its arms ready (see [`Ready::probe`]).
    static PROBE: Cell<bool> = Cell::new(false);
    /// Async selects since this thread's last budget yield or `Pending`
    /// wait (see [`cooperate`]).
    static SPENT: Cell<u32> = Cell::new(0);
}

/// A random number from the thread's generator.
fn random() -> u64 {
    RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            x = seed();
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        x
    })
}

/// Seeds this thread's generator, so that a test can replay the same fair
/// choices. Not part of the semver contract.
#[doc(hidden)]
pub fn __seed_thread_rng(seed: u64) {
    RNG.with(|rng| rng.set(seed | 1));
}

/// A non-zero seed that differs between threads and runs: a stack
/// address hashed with std's randomly keyed hasher.
///
/// NB: not the wall clock: `SystemTime::now` is refused by Miri's
/// isolation, which `cargo xtask miri` keeps on. `RandomState` takes its
/// keys from the OS once per thread (Miri supplies them too) and changes
/// them for every new instance.
fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    let marker = 0u8;
    RandomState::new().hash_one(addr_of(&marker)) | 1
}

/// The indices `0..N`, for a select of `N` arms to shuffle. Not part of
/// the semver contract.
#[doc(hidden)]
pub const fn __identity<const N: usize>() -> [usize; N] {
    let mut order = [0; N];
    let mut i = 0;
    while i < N {
        order[i] = i;
        i += 1;
    }
    order
}

/// The ready arms of a macro select of `N` arms, and the choice among
/// them. Not part of the semver contract.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ready<const N: usize> {
    /// The ready arms' indices; the first `count` are valid.
    ready: [usize; N],
    /// How many arms are ready.
    count: usize,
}

impl<const N: usize> Ready<N> {
    /// No arm ready.
    #[inline]
    pub fn new() -> Self {
        Self {
            ready: [0; N],
            count: 0,
        }
    }

    /// Records arm `index` as ready; arms are recorded in arm order.
    #[inline]
    pub fn push(&mut self, index: usize) {
        self.ready[self.count] = index;
        self.count += 1;
    }

    /// The arm an async select tries before reading them all, if any: none
    /// without arms; the first when `biased` or when there is one arm (a
    /// biased select whose first arm is not ready reads it twice); otherwise a
    /// uniformly drawn arm, but only while this thread's last full scan
    /// found at least half of its arms ready ([`learn`](Self::learn)).
    ///
    /// Trying a uniformly drawn arm first and, if it is not ready, choosing
    /// uniformly among all ready arms still chooses each of `r` ready arms
    /// with probability `1/N + (N - r)/N * 1/r = 1/r`. Whether to probe
    /// depends only on earlier selects, so each way is fair on its own.
    ///
    /// NB: the probe spares a select whose arms are mostly ready from
    /// reading every channel, whose lines the senders keep taking away:
    /// `select_async!` over 4 channels fed by 4 tasks went from 6.9-9.0 to
    /// 9.6-10.3 M selects/s (5 pairs). Blocking selects do not probe: with
    /// 4 producer threads it bought nothing (8 pairs), and in the
    /// single-thread scenario, where one arm of 4 is ready, probing always
    /// cost 30 % (38.4 to 26.6 M) and probing after a mostly ready scan
    /// still cost 7 % (36 to 33.4 M).
    #[inline]
    pub fn probe(biased: bool) -> Option<usize> {
        if N == 0 {
            None
        } else if biased || N == 1 {
            Some(0)
        } else if PROBE.with(Cell::get) {
            Some(below(N))
        } else {
            None
        }
    }

    /// Records, after a full scan, whether at least half of the arms were
    /// ready, for the next [`probe`](Self::probe); `probed` is what that
    /// call returned for this select. Writes only when the answer changes.
    #[inline]
    pub fn learn(&self, biased: bool, probed: Option<usize>) {
        if !biased && N > 1 && probed.is_some() != (self.count * 2 >= N) {
            PROBE.with(|p| p.set(probed.is_none()));
        }
    }

    /// Takes one of the ready arms out: uniformly at random, or the first
    /// in arm order when `biased`.
    #[inline]
    pub fn pick(&mut self, biased: bool) -> Option<usize> {
        let count = self.count.checked_sub(1)?;
        self.count = count;
        if biased {
            let first = self.ready[0];
            self.ready.copy_within(1..=count, 0);
            return Some(first);
        }
        let k = if count == 0 { 0 } else { below(count + 1) };
        let index = self.ready[k];
        self.ready[k] = self.ready[count];
        Some(index)
    }
}

impl<const N: usize> Default for Ready<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Async selects a thread may run, since the last one that returned
/// `Pending`, before one of them yields to its executor.
pub(crate) const COOPERATIVE_BUDGET: u32 = 128;

/// The cooperative budget of `select_async!`: spends one unit of the
/// calling thread's budget; every [`COOPERATIVE_BUDGET`]th select yields
/// to the executor once (wakes its task and returns `Pending`) before it
/// reads its arms, so a task whose arms are always ready does not keep the
/// tasks queued behind it on the same worker from running. A select that
/// returns `Pending` while it waits resets the count ([`Waits`]): its task
/// yielded anyway. Not part of the semver contract.
///
/// NB: a consumer task selecting over 4 channels that 4 producer tasks
/// kept full never waited, so the producers it woke queued behind it;
/// yielding every 128 selects (as tokio's own channels do) took the
/// producers' waits from 10-15 % of their sends to 8-10 %, and the
/// scenario from 0.47-0.49x to 0.62-0.65x `tokio::select!` in slow minutes
/// (unchanged in quick ones).
#[doc(hidden)]
#[inline]
pub fn cooperate() -> Cooperate {
    let yield_now = SPENT.with(|spent| {
        let n = spent.get() + 1;
        let spent_all = n >= COOPERATIVE_BUDGET;
        spent.set(if spent_all { 0 } else { n });
        spent_all
    });
    Cooperate { yield_now }
}

/// The future [`cooperate`] returns: `Pending` once (after waking its
/// task) when the budget was spent, else `Ready` at once.
#[doc(hidden)]
#[derive(Debug)]
#[must_use = "the budget is only honoured when the future is awaited"]
pub struct Cooperate {
    yield_now: bool,
}

impl Future for Cooperate {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<()> {
        if self.yield_now {
            self.yield_now = false;
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// A select's waiting future, which resets the thread's cooperative budget
/// (see [`cooperate`]) whenever it returns `Pending`. Not part of the
/// semver contract.
#[doc(hidden)]
#[derive(Debug)]
pub struct Waits<F>(pub F);

impl<F: Future + Unpin> Future for Waits<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<F::Output> {
        let poll = Pin::new(&mut self.0).poll(cx);
        if poll.is_pending() {
            SPENT.with(|spent| spent.set(0));
        }
        poll
    }
}

/// A uniformly random number below `n` (at most 2^32): the high half of
/// a draw, scaled by multiplication instead of division.
fn below(n: usize) -> usize {
    (((random() >> 32) * n as u64) >> 32) as usize
}

/// One step of a lazily drawn Fisher-Yates shuffle: swaps into position
/// `k` of `order` an index drawn uniformly from positions `k..`. `bits`
/// holds `halves` unused 32-bit draws.
#[inline(always)]
fn shuffle_step<I>(order: &mut [I], k: usize, bits: &mut u64, halves: &mut u8) {
    let left = order.len() - k;
    if left > 1 {
        if *halves == 0 {
            *bits = random();
            *halves = 2;
        }
        // 32 random bits scaled to `0..left`: a bias of at most
        // left / 2^32.
        let j = k + (((*bits & 0xFFFF_FFFF) * left as u64) >> 32) as usize;
        *bits >>= 32;
        *halves -= 1;
        order.swap(k, j);
    }
}

/// Calls `f` on the indices in `order` (the indices `0..order.len()`) in
/// a random order (a Fisher-Yates shuffle drawn one position at a time,
/// so that a select stops drawing at its first ready operation; the first
/// ready operation of a uniformly random order is uniform among the ready
/// ones), until `f` returns `Some`.
#[inline(always)]
fn in_random_order<I: Copy + Into<usize>, R>(
    order: &mut [I],
    mut f: impl FnMut(usize) -> Option<R>,
) -> Option<R> {
    let (mut bits, mut halves) = (0, 0);
    for k in 0..order.len() {
        shuffle_step(order, k, &mut bits, &mut halves);
        if let Some(r) = f(order[k].into()) {
            return Some(r);
        }
    }
    None
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
    inline: [Op<'a>; INLINE],
    /// The rest.
    more: Vec<Op<'a>>,
    /// How many.
    len: usize,
    /// Take ready operations in order instead of at random.
    biased: bool,
    /// Whether any operation is a timer.
    timers: bool,
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
            inline: [Op::Never; INLINE],
            more: Vec::new(),
            len: 0,
            biased: false,
            timers: false,
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

    /// A fair or biased select, for the macros.
    #[doc(hidden)]
    pub fn __with_bias(biased: bool) -> Self {
        Self {
            biased,
            ..Self::new()
        }
    }

    /// Adds an operation; returns its index.
    fn push(&mut self, op: Op<'a>) -> usize {
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

    /// The operation at `index`.
    fn op(&self, index: usize) -> Op<'a> {
        if index < INLINE {
            self.inline[index]
        } else {
            self.more[index - INLINE]
        }
    }

    /// The earliest timer deadline, if there are timers.
    fn timer_deadline(&self) -> Option<Instant> {
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

    /// Calls `f` on the operations until it returns `Some`: in a fresh
    /// random order, or in the order they were added when biased.
    fn first_of<R>(&self, f: impl FnMut(usize) -> Option<R>) -> Option<R> {
        let n = self.len;
        if self.biased || n <= 1 {
            return (0..n).find_map(f);
        }
        // NB: the operations are tried in a lazily drawn random order,
        // stopping at the first ready one, instead of checking every
        // operation and drawing among the ready ones. With channels fed
        // from other cores, each readiness check of a channel is a cache
        // miss, and the first operation tried is usually ready: the
        // builder over 4 fed mpmc channels went from 4.8-5.7 to 6.7-7.7 M
        // selects/s (6 interleaved pairs). The price is in the
        // single-thread scenario, where one channel of 4 is ready and the
        // position of the ready one, now random, costs a mispredicted
        // branch: 15.4-15.7 to 12.6-13.5 M selects/s.
        if n <= 64 {
            let mut order = IDENTITY;
            in_random_order(&mut order[..n], f)
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            in_random_order(&mut order, f)
        }
    }

    /// One pass: reserves a ready operation, chosen uniformly at random
    /// among the ready ones (the first ready one when biased).
    fn try_once(&self) -> Option<SelectedOperation> {
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

    /// Registers `cx` with every operation.
    fn register(&self, cx: &ContextRef) {
        for i in 0..self.len {
            self.op(i).register(cx, i);
        }
    }

    /// Unregisters `cx` from every operation.
    fn unregister(&self, cx: &ContextRef) {
        for i in 0..self.len {
            self.op(i).unregister(cx);
        }
    }

    /// Gives up a registration that was not waited on (the re-check after
    /// registering found an operation ready, or the select went away): if
    /// a notifier claimed it, its wake-up goes on to another waiter.
    ///
    /// That holds even when the claim came from the operation the re-check
    /// took: the item taken may have been published before the
    /// registration (its notify finding nobody), and the claim then belongs
    /// to a later item that another waiter must be woken for. Passing on a
    /// claim that was the taken item's own costs one spurious wake-up.
    fn release(&self, cx: &ContextRef) {
        let claimed = claimed_by(cx);
        self.unregister(cx);
        if let Some(k) = claimed {
            self.op(k).pass_on();
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

    /// One pass of readiness checks: a ready operation chosen uniformly
    /// at random among the ready ones (the first when biased).
    fn ready_once(&self) -> Option<usize> {
        let mut now = None;
        self.first_of(|i| self.op(i).is_ready(&mut now).then_some(i))
    }

    /// Handles a wait on no operations: sleeps until `deadline` and
    /// returns true, or panics when there is none.
    fn wait_on_nothing(&self, deadline: Option<Instant>) -> bool {
        if self.len > 0 {
            return false;
        }
        let deadline = deadline
            .expect("a select with no operations would wait forever; add a recv or send first");
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        true
    }

    /// Parks until `cx` is claimed, `deadline` passes or the first timer
    /// is due, then unregisters `cx`. Returns the operation that claimed
    /// it, if one did.
    fn park(&self, cx: &ContextRef, deadline: Option<Instant>) -> Option<usize> {
        #[cfg(all(test, loom))]
        probes::hit(&probes::PARKS);
        let state = cx.wait_until(earliest(deadline, self.timer_deadline()));
        self.unregister(cx);
        (state != ABORTED).then(|| state - 1)
    }

    /// The blocking loop of `ready`: check, register, check again, park.
    fn wait_ready(&self, deadline: Option<Instant>) -> Result<usize, SelectTimeoutError> {
        if self.wait_on_nothing(deadline) {
            return Err(SelectTimeoutError);
        }
        loop {
            if let Some(index) = self.ready_once() {
                return Ok(index);
            }
            if passed(deadline) {
                return Err(SelectTimeoutError);
            }
            let cx = Context::for_current_thread();
            self.register(&cx);
            if let Some(index) = self.ready_once() {
                // Not consumed: a wake-up handed over meanwhile goes on.
                self.release(&cx);
                return Ok(index);
            }
            if let Some(woken) = self.park(&cx, deadline) {
                // Reported, not consumed: the wake-up goes on, so another
                // waiter may take the value.
                self.op(woken).pass_on();
                return Ok(woken);
            }
        }
    }

    /// The tries before the first registration: a short spin, then
    /// yields. When the other side is about to act (a producer mid-burst)
    /// this saves the registration and the park.
    #[cfg(not(loom))]
    fn first_tries(&self, deadline: Option<Instant>) -> Option<SelectedOperation> {
        let backoff = Backoff::new();
        loop {
            if let Some(selected) = self.try_once() {
                return Some(selected);
            }
            if backoff.is_completed() || passed(deadline) {
                return None;
            }
            backoff.snooze();
        }
    }

    /// Under loom, a single try before the first registration. The spin is
    /// left out: the retry after registering already covers the race it
    /// shortens, each extra try multiplies the interleavings loom explores,
    /// and crossbeam's `Backoff` yields through std, which loom does not
    /// schedule.
    #[cfg(loom)]
    fn first_tries(&self, _deadline: Option<Instant>) -> Option<SelectedOperation> {
        self.try_once()
    }

    /// The blocking loop: try (spinning briefly), register, try again,
    /// park.
    fn wait(&self, deadline: Option<Instant>) -> Result<SelectedOperation, SelectTimeoutError> {
        if self.wait_on_nothing(deadline) {
            return Err(SelectTimeoutError);
        }
        if let Some(selected) = self.first_tries(deadline) {
            return Ok(selected);
        }
        loop {
            let cx = Context::for_current_thread();
            self.register(&cx);
            if let Some(selected) = self.try_once() {
                self.release(&cx);
                return Ok(selected);
            }
            let woken = self.park(&cx, deadline);
            // Take whatever is ready now; a wake-up from another operation
            // than the winner goes on to another waiter.
            if let Some(selected) = self.try_once() {
                if let Some(k) = woken.filter(|&k| k != selected.index) {
                    self.op(k).pass_on();
                }
                return Ok(selected);
            }
            if passed(deadline) {
                return Err(SelectTimeoutError);
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

/// Counters the loom models read to check that the paths they exist for
/// were explored; they add up over every execution of a model.
///
/// They are std thread-locals on purpose: loom runs all the threads of a
/// model on the OS thread of its test, so each test counts only its own
/// model's events, even while the test harness runs other models in
/// parallel.
#[cfg(all(test, loom))]
pub(crate) mod probes {
    use std::cell::Cell;
    use std::thread::LocalKey;

    std::thread_local! {
        /// How often a blocking select went to park.
        pub(crate) static PARKS: Cell<usize> = const { Cell::new(0) };
        /// How often a select passed a wake-up on to another waiter.
        pub(crate) static PASSED_ON: Cell<usize> = const { Cell::new(0) };
    }

    /// Adds one to `probe`.
    pub(crate) fn hit(probe: &'static LocalKey<Cell<usize>>) {
        probe.with(|n| n.set(n.get() + 1));
    }

    /// The count of `probe` on this thread so far.
    pub(crate) fn count(probe: &'static LocalKey<Cell<usize>>) -> usize {
        probe.with(Cell::get)
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// True if `deadline` has passed.
fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Aborts `cx`; returns the operation that had claimed it, if one had.
fn claimed_by(cx: &ContextRef) -> Option<usize> {
    match cx.try_abort() {
        Err(state) if state != ABORTED => Some(state - 1),
        _ => None,
    }
}

/// The async select's registration; dropping it gives the registration up.
struct Registration<'s, 'a> {
    /// The select.
    select: &'s mut Select<'a>,
    /// The task's context while registered.
    cx: Option<ContextRef>,
    /// When to give up.
    deadline: Option<Instant>,
    /// Wakes the task at the earlier of `deadline` and the first timer.
    sleep: Option<Sleep>,
}

impl<'s, 'a> Registration<'s, 'a> {
    /// A registration for `select`, checking that it can wait.
    fn new(select: &'s mut Select<'a>, deadline: Option<Instant>) -> Self {
        assert!(
            select.len > 0 || deadline.is_some(),
            "a select with no operations would wait forever; add a recv or send first"
        );
        Self {
            select,
            cx: None,
            deadline,
            sleep: None,
        }
    }

    /// One poll of the async select.
    fn poll(
        &mut self,
        task: &mut core::task::Context<'_>,
    ) -> Poll<Result<SelectedOperation, SelectTimeoutError>> {
        loop {
            // Take back the previous registration, learning whether an
            // operation claimed it (and so handed this select a wake-up).
            let mut woken_by = None;
            let previous = self.cx.take().inspect(|cx| {
                woken_by = claimed_by(cx);
                self.select.unregister(cx);
            });
            if let Some(selected) = self.select.try_once() {
                if let Some(k) = woken_by.filter(|&k| k != selected.index) {
                    self.select.op(k).pass_on();
                }
                return Poll::Ready(Ok(selected));
            }
            if passed(self.deadline) {
                return Poll::Ready(Err(SelectTimeoutError));
            }
            let cx = match previous {
                Some(cx) => {
                    // Registered nowhere now, so it may be reset.
                    cx.reset();
                    cx.set_waker(task.waker());
                    cx
                }
                None => Context::for_task(task.waker()),
            };
            self.select.register(&cx);
            if let Some(selected) = self.select.try_once() {
                self.select.release(&cx);
                return Poll::Ready(Ok(selected));
            }
            self.cx = Some(cx);
            let Some(wake_at) = earliest(self.deadline, self.select.timer_deadline()) else {
                return Poll::Pending;
            };
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != wake_at {
                        sleep.reset(wake_at);
                    }
                    sleep
                }
                None => self.sleep.insert(nimsync_time::sleep_until(wake_at)),
            };
            if Pin::new(sleep).poll(task).is_pending() {
                return Poll::Pending;
            }
            // The deadline or a timer is due: look again.
        }
    }
}

impl Drop for Registration<'_, '_> {
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            self.select.release(&cx);
        }
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
    index: usize,
    /// Its reservation.
    token: Token,
    /// What it must be completed with.
    endpoint: Endpoint,
    /// When a timer operation was due.
    fired: Option<Instant>,
    /// The channel's state, kept while the token holds a claimed MPMC
    /// position, to give it up if the operation is dropped uncompleted.
    keeper: Option<Keeper>,
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

    /// Checks that `endpoint` is the selected operation's.
    fn check(&self, endpoint: Endpoint, what: &str) {
        assert!(
            endpoint == self.endpoint,
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
