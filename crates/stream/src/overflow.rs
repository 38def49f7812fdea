//! The overflow policy every bounded stage shares, and why an item was
//! dropped.

use std::fmt;
use std::sync::Arc;

/// What a bounded stage does with a new item when it is full.
///
/// One policy for every bounded stage: the stream [`channel`](crate::channel)
/// and the [`buffer`](crate::StageExt::buffer) stage take it, and so will
/// actor mailboxes. Every item a policy drops goes to the stage's `on_drop`
/// hook, if it has one, and is counted in its [`Metrics`](crate::Metrics).
///
/// | policy | the full stage ... | the new item |
/// |---|---|---|
/// | [`Block`](Overflow::Block) | makes the producer wait for room | sent once there is room |
/// | [`DropOldest`](Overflow::DropOldest) | drops its oldest item | kept |
/// | [`DropNewest`](Overflow::DropNewest) | keeps what it holds | dropped |
/// | [`DropBuffer`](Overflow::DropBuffer) | drops everything it holds | kept |
/// | [`Fail`](Overflow::Fail) | fails: the producer gets an error, the consumer sees the end after the items held | handed back in the error |
/// | [`Conflate`](Overflow::conflate) | folds the new item into its newest one | merged |
///
/// # Examples
///
/// ```
/// use nimsync_stream::{channel, Overflow};
///
/// let (tx, mut rx) = channel(2, Overflow::DropOldest);
/// for i in 0..5 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.try_recv(), Ok(3));
/// assert_eq!(rx.try_recv(), Ok(4));
/// assert_eq!(rx.metrics().dropped_oldest, 3);
/// ```
pub enum Overflow<T> {
    /// Backpressure: the producer waits for room (a blocking or async send)
    /// or gets `Full` back (`try_send`). Nothing is ever dropped.
    Block,
    /// Drop the oldest item the stage holds to make room for the new one.
    DropOldest,
    /// Drop the new item and keep what the stage holds.
    DropNewest,
    /// Drop every item the stage holds, then keep the new one.
    DropBuffer,
    /// Refuse the new item and fail the stage: the producer gets the item
    /// back in an `Overflowed` error, later sends fail with `Closed`, and
    /// the consumer gets the items held, then sees the end with the
    /// overflow error. Sends racing the one that fails the stage may get
    /// `Overflowed` too. "Full" is the ring's answer at that moment: a slot
    /// the consumer is still moving a value out of counts as taken.
    Fail,
    /// Fold the new item into the newest item held, with the function given
    /// to [`Overflow::conflate`].
    Conflate(Conflate<T>),
}

impl<T> Overflow<T> {
    /// The [`Conflate`](Overflow::Conflate) policy: when the stage is full,
    /// `fold(&mut newest, new)` merges each new item into the newest one it
    /// holds.
    ///
    /// The stage holds up to its capacity plus the one item being folded
    /// into, which is delivered after the others.
    ///
    /// ```
    /// use nimsync_stream::{channel, Overflow};
    ///
    /// // Keep a running sum of what the consumer has not taken yet.
    /// let (tx, mut rx) = channel(1, Overflow::conflate(|sum: &mut u32, n| *sum += n));
    /// for n in [1, 2, 3, 4] {
    ///     tx.try_send(n).unwrap();
    /// }
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Ok(2 + 3 + 4));
    /// assert_eq!(rx.metrics().conflated, 2);
    /// ```
    pub fn conflate(fold: impl Fn(&mut T, T) + Send + Sync + 'static) -> Self {
        Overflow::Conflate(Conflate(Arc::new(fold)))
    }

    /// The policy's name, as [`Debug`](fmt::Debug) prints it.
    ///
    /// ```
    /// use nimsync_stream::Overflow;
    /// assert_eq!(Overflow::<u8>::DropOldest.name(), "DropOldest");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Overflow::Block => "Block",
            Overflow::DropOldest => "DropOldest",
            Overflow::DropNewest => "DropNewest",
            Overflow::DropBuffer => "DropBuffer",
            Overflow::Fail => "Fail",
            Overflow::Conflate(_) => "Conflate",
        }
    }
}

impl<T> Clone for Overflow<T> {
    fn clone(&self) -> Self {
        match self {
            Overflow::Block => Overflow::Block,
            Overflow::DropOldest => Overflow::DropOldest,
            Overflow::DropNewest => Overflow::DropNewest,
            Overflow::DropBuffer => Overflow::DropBuffer,
            Overflow::Fail => Overflow::Fail,
            Overflow::Conflate(c) => Overflow::Conflate(c.clone()),
        }
    }
}

impl<T> fmt::Debug for Overflow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fold function of [`Overflow::Conflate`]; made by
/// [`Overflow::conflate`].
pub struct Conflate<T>(FoldFn<T>);

/// A fold of [`Conflate`]: `fold(&mut newest, new)`.
type FoldFn<T> = Arc<dyn Fn(&mut T, T) + Send + Sync>;

impl<T> Conflate<T> {
    /// Folds `new` into `newest`.
    ///
    /// ```
    /// use nimsync_stream::Overflow;
    ///
    /// let Overflow::Conflate(fold) = Overflow::conflate(|a: &mut u8, b| *a = (*a).max(b)) else {
    ///     unreachable!()
    /// };
    /// let mut newest = 3;
    /// fold.fold(&mut newest, 9);
    /// assert_eq!(newest, 9);
    /// ```
    pub fn fold(&self, newest: &mut T, new: T) {
        (self.0)(newest, new)
    }
}

impl<T> Clone for Conflate<T> {
    fn clone(&self) -> Self {
        Conflate(Arc::clone(&self.0))
    }
}

impl<T> fmt::Debug for Conflate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Conflate(..)")
    }
}

/// Why a bounded stage dropped an item: the argument of its `on_drop` hook.
///
/// ```
/// use nimsync_stream::DropReason;
/// assert_eq!(DropReason::Oldest.to_string(), "dropped as the oldest item of a full stage");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// [`Overflow::DropOldest`]: evicted to make room for a newer item.
    Oldest,
    /// [`Overflow::DropNewest`]: the new item, refused by a full stage.
    Newest,
    /// [`Overflow::DropBuffer`]: cleared with the rest of a full stage.
    Buffer,
    /// [`Overflow::Fail`] in a [`buffer`](crate::StageExt::buffer) stage,
    /// or [`ThrottleMode::Fail`](crate::ThrottleMode::Fail): the item that
    /// failed the stage, which has no producer to go back to.
    Failed,
    /// [`ThrottleMode::Drop`](crate::ThrottleMode::Drop): above the rate.
    Throttled,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Oldest => "dropped as the oldest item of a full stage",
            DropReason::Newest => "dropped as the new item of a full stage",
            DropReason::Buffer => "dropped with the whole buffer of a full stage",
            DropReason::Failed => "dropped as the item that failed a failing stage",
            DropReason::Throttled => "dropped above the rate of a throttle",
        })
    }
}

/// The `on_drop` hook: receives each dropped item and why.
pub(crate) type DropHook<T> = Arc<dyn Fn(T, DropReason) + Send + Sync>;
/// The `on_undelivered` hook: receives each item a stage held when it was
/// dropped.
pub(crate) type UndeliveredHook<T> = Arc<dyn Fn(T) + Send + Sync>;
