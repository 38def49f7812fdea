//! The futures and the stream of the bounded flavors, and the `closed()`
//! future of every flavor.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{CloseChan, Handle, RecvChan, SendChan};
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::waiter::{Registration, poll_op};

/// A future that sends one value: returned by `send_async`, exported as
/// `mpmc::SendFuture` and `spsc::SendFuture`.
///
/// Holds the value until it is written into the channel.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<H: Handle>
where
    H::Chan: SendChan,
{
    handle: H,
    value: Option<<H::Chan as SendChan>::Item>,
    registration: Registration,
}

impl<H: Handle> SendFuture<H>
where
    H::Chan: SendChan,
{
    pub(crate) fn new(handle: H, value: <H::Chan as SendChan>::Item) -> Self {
        Self {
            handle,
            value: Some(value),
            registration: Registration::new(),
        }
    }

    /// Stops the send and hands the value back, or `None` if it was already
    /// sent (or returned in an error).
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let (tx, _rx) = nimsync_channel::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// let mut fut = tx.send_async(2);
    /// assert!(futures_lite::future::poll_once(&mut fut).await.is_none()); // full: pending
    /// assert_eq!(fut.cancel(), Some(2));
    /// # });
    /// ```
    pub fn cancel(&mut self) -> Option<<H::Chan as SendChan>::Item> {
        self.registration
            .cancel_and_pass_on(self.handle.chan().send_wait());
        self.value.take()
    }
}

// The value is never pinned: it is moved out by `poll` and `cancel`.
impl<H: Handle + Unpin> Unpin for SendFuture<H> where H::Chan: SendChan {}

impl<H: Handle + Unpin> Future for SendFuture<H>
where
    H::Chan: SendChan,
{
    type Output = Result<(), SendError<<H::Chan as SendChan>::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            this.value.is_some(),
            "`SendFuture` polled after it completed"
        );
        this.poll_pending(cx)
    }
}

impl<H: Handle> SendFuture<H>
where
    H::Chan: SendChan,
{
    /// A send with no value yet: [`put`](Self::put) gives it one.
    pub(crate) fn idle(handle: H) -> Self {
        Self {
            handle,
            value: None,
            registration: Registration::new(),
        }
    }

    /// The endpoint the send goes through.
    pub(crate) fn handle(&self) -> &H {
        &self.handle
    }

    /// True while a value waits to be sent.
    pub(crate) fn is_pending(&self) -> bool {
        self.value.is_some()
    }

    /// Gives an idle send its value.
    pub(crate) fn put(&mut self, value: <H::Chan as SendChan>::Item) {
        debug_assert!(self.value.is_none(), "a send holds one value");
        self.value = Some(value);
    }

    /// Tries to send the value held; `Ready(Ok(()))` at once when none is.
    pub(crate) fn poll_pending(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<<H::Chan as SendChan>::Item>>> {
        if self.value.is_none() {
            return Poll::Ready(Ok(()));
        }
        let chan = self.handle.chan();
        let value = &mut self.value;
        poll_op(&mut self.registration, chan.send_wait(), cx, || match chan
            .try_send(value.take().expect("value present while pending"))
        {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Closed(v)) => Some(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                *value = Some(v);
                None
            }
        })
    }
}

/// Terminated once the value is sent, handed back in an error, or taken
/// back by [`cancel`](SendFuture::cancel).
impl<H: Handle + Unpin> futures_core::FusedFuture for SendFuture<H>
where
    H::Chan: SendChan,
{
    fn is_terminated(&self) -> bool {
        self.value.is_none()
    }
}

impl<H: Handle> Drop for SendFuture<H>
where
    H::Chan: SendChan,
{
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(self.handle.chan().send_wait());
    }
}

impl<H: Handle> fmt::Debug for SendFuture<H>
where
    H::Chan: SendChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::", <H::Chan as super::Chan>::FLAVOR)?;
        f.debug_struct("SendFuture")
            .field("pending", &self.value.is_some())
            .finish()
    }
}

/// A future that receives one value: returned by `recv_async`, exported as
/// `mpmc::RecvFuture` and `spsc::RecvFuture`.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<H: Handle>
where
    H::Chan: RecvChan,
{
    handle: H,
    registration: Registration,
    /// Set when `poll` returned `Ready` (for `FusedFuture`).
    done: bool,
}

impl<H: Handle> RecvFuture<H>
where
    H::Chan: RecvChan,
{
    pub(crate) fn new(handle: H) -> Self {
        Self {
            handle,
            registration: Registration::new(),
            done: false,
        }
    }
}

impl<H: Handle + Unpin> Future for RecvFuture<H>
where
    H::Chan: RecvChan,
{
    type Output = Result<<H::Chan as RecvChan>::Item, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let chan = this.handle.chan();
        let poll = poll_op(
            &mut this.registration,
            chan.recv_wait(),
            cx,
            || match chan.try_recv() {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            },
        );
        this.done = poll.is_ready();
        poll
    }
}

/// Terminated once `poll` returned `Ready` (a value or `RecvError`).
impl<H: Handle + Unpin> futures_core::FusedFuture for RecvFuture<H>
where
    H::Chan: RecvChan,
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<H: Handle> Drop for RecvFuture<H>
where
    H::Chan: RecvChan,
{
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(self.handle.chan().recv_wait());
    }
}

impl<H: Handle> fmt::Debug for RecvFuture<H>
where
    H::Chan: RecvChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::RecvFuture", <H::Chan as super::Chan>::FLAVOR)
    }
}

/// A future that resolves once the channel is closed: returned by
/// `closed()`, exported as `mpmc::ClosedFuture`, `spsc::ClosedFuture` and
/// `oneshot::ClosedFuture`.
#[must_use = "futures do nothing unless polled"]
pub struct ClosedFuture<H: Handle>
where
    H::Chan: CloseChan,
{
    handle: H,
    registration: Registration,
}

impl<H: Handle> ClosedFuture<H>
where
    H::Chan: CloseChan,
{
    pub(crate) fn new(handle: H) -> Self {
        Self {
            handle,
            registration: Registration::new(),
        }
    }
}

impl<H: Handle + Unpin> Future for ClosedFuture<H>
where
    H::Chan: CloseChan,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let chan = this.handle.chan();
        poll_op(&mut this.registration, chan.close_wait(), cx, || {
            chan.is_closed().then_some(())
        })
    }
}

impl<H: Handle> Drop for ClosedFuture<H>
where
    H::Chan: CloseChan,
{
    fn drop(&mut self) {
        self.registration.cancel(self.handle.chan().close_wait());
    }
}

impl<H: Handle> fmt::Debug for ClosedFuture<H>
where
    H::Chan: CloseChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::ClosedFuture", <H::Chan as super::Chan>::FLAVOR)
    }
}

/// A receiver as a [`futures_core::Stream`]: returned by `into_stream`,
/// exported as `mpmc::RecvStream` and `spsc::RecvStream`.
pub struct RecvStream<H: Handle>
where
    H::Chan: RecvChan,
{
    rx: H,
    registration: Registration,
    /// Set when `poll_next` returned `None`: the channel is closed and
    /// drained, and stays so (for `FusedStream`).
    ended: bool,
}

impl<H: Handle> RecvStream<H>
where
    H::Chan: RecvChan,
{
    pub(crate) fn new(rx: H) -> Self {
        Self {
            rx,
            registration: Registration::new(),
            ended: false,
        }
    }

    /// The receiver, for its other operations (a `try_recv`, a blocking
    /// `recv`, its length) while it is a stream.
    ///
    /// ```
    /// let (tx, rx) = nimsync_channel::mpmc::channel(2);
    /// let stream = rx.into_stream();
    /// tx.send(1).unwrap();
    /// assert_eq!(stream.get_ref().try_recv(), Ok(1));
    /// ```
    pub fn get_ref(&self) -> &H {
        &self.rx
    }

    /// Gives the receiver back.
    ///
    /// ```
    /// let (_tx, rx) = nimsync_channel::spsc::channel::<u8>(1);
    /// let rx = rx.into_stream().into_inner();
    /// assert_eq!(rx.capacity(), 1);
    /// ```
    pub fn into_inner(mut self) -> H {
        self.registration
            .cancel_and_pass_on(self.rx.chan().recv_wait());
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out
        // exactly once and `RecvStream::drop` does not run.
        let (rx, registration) = unsafe {
            (
                core::ptr::read(&this.rx),
                core::ptr::read(&this.registration),
            )
        };
        drop(registration);
        rx
    }
}

impl<H: Handle + Unpin> futures_core::Stream for RecvStream<H>
where
    H::Chan: RecvChan,
{
    type Item = <H::Chan as RecvChan>::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let chan = this.rx.chan();
        let poll = poll_op(
            &mut this.registration,
            chan.recv_wait(),
            cx,
            || match chan.try_recv() {
                Ok(v) => Some(Some(v)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => None,
            },
        );
        if let Poll::Ready(None) = poll {
            this.ended = true;
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        (self.rx.chan().len(), None)
    }
}

/// Terminated once the stream has ended (returned `None`); polling it
/// again returns `None` again.
impl<H: Handle + Unpin> futures_core::stream::FusedStream for RecvStream<H>
where
    H::Chan: RecvChan,
{
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<H: Handle> Drop for RecvStream<H>
where
    H::Chan: RecvChan,
{
    fn drop(&mut self) {
        self.registration
            .cancel_and_pass_on(self.rx.chan().recv_wait());
    }
}

impl<H: Handle + fmt::Debug> fmt::Debug for RecvStream<H>
where
    H::Chan: RecvChan,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::", <H::Chan as super::Chan>::FLAVOR)?;
        f.debug_struct("RecvStream").field("rx", &self.rx).finish()
    }
}
