//! Static checks of the auto traits and trait impls every public type
//! promises. These fail at compile time, not at run time.

use std::error::Error;
use std::future::Future;

use nimsync_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
    oneshot, spsc,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_clone<T: Clone>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_static<T: 'static>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}
fn assert_future<F: Future + Send + Unpin>() {}
fn assert_stream<S: futures_core::Stream + Send + Unpin>() {}
fn assert_iterator<I: Iterator + Send>() {}

/// A payload that is `Send` but not `Sync`.
type NotSync = std::cell::Cell<u32>;

#[test]
fn spsc_types() {
    assert_send::<spsc::Sender<NotSync>>();
    assert_send::<spsc::Receiver<NotSync>>();
    assert_send::<spsc::Sender<String>>();
    assert_send::<spsc::Receiver<String>>();
    assert_future::<spsc::SendFuture<'static, NotSync>>();
    assert_future::<spsc::RecvFuture<'static, NotSync>>();
    assert_future::<spsc::ReserveFuture<'static, NotSync>>();
    assert_future::<spsc::ClosedFuture<'static, NotSync>>();
    assert_stream::<spsc::RecvStream<NotSync>>();
    assert_send::<spsc::Permit<'static, NotSync>>();
    assert_iterator::<spsc::Iter<'static, NotSync>>();
    assert_iterator::<spsc::TryIter<'static, NotSync>>();
    assert_iterator::<spsc::IntoIter<NotSync>>();
    assert_unpin::<spsc::Sender<std::marker::PhantomPinned>>();
    assert_unpin::<spsc::Receiver<std::marker::PhantomPinned>>();
    assert_unpin::<spsc::SendFuture<'static, std::marker::PhantomPinned>>();
}

#[test]
fn mpmc_types() {
    assert_send::<mpmc::Sender<NotSync>>();
    assert_sync::<mpmc::Sender<NotSync>>();
    assert_clone::<mpmc::Sender<NotSync>>();
    assert_send::<mpmc::Receiver<NotSync>>();
    assert_sync::<mpmc::Receiver<NotSync>>();
    assert_clone::<mpmc::Receiver<NotSync>>();
    // Clone must not require `T: Clone`.
    assert_clone::<mpmc::Sender<std::sync::Mutex<()>>>();
    assert_clone::<mpmc::Receiver<std::sync::Mutex<()>>>();
    assert_future::<mpmc::SendFuture<'static, NotSync>>();
    assert_future::<mpmc::RecvFuture<'static, NotSync>>();
    assert_future::<mpmc::ReserveFuture<'static, NotSync>>();
    assert_future::<mpmc::ClosedFuture<'static, NotSync>>();
    assert_stream::<mpmc::RecvStream<NotSync>>();
    assert_send::<mpmc::Permit<'static, NotSync>>();
    assert_iterator::<mpmc::Iter<'static, NotSync>>();
    assert_iterator::<mpmc::TryIter<'static, NotSync>>();
    assert_iterator::<mpmc::IntoIter<NotSync>>();
    assert_unpin::<mpmc::SendFuture<'static, std::marker::PhantomPinned>>();
    assert_send::<mpmc::SendSink<NotSync>>();
    assert_clone::<mpmc::SendSink<NotSync>>();
    assert_unpin::<mpmc::SendSink<std::marker::PhantomPinned>>();
    assert_iterator::<mpmc::PermitIterator<'static, NotSync>>();
    assert_future::<mpmc::ReserveManyFuture<'static, NotSync>>();
    assert_send::<mpmc::OwnedPermit<NotSync>>();
    assert_sync::<mpmc::OwnedPermit<NotSync>>();
    assert_static::<mpmc::OwnedPermit<NotSync>>();
    assert_future::<mpmc::ReserveOwnedFuture<NotSync>>();
    assert_send::<mpmc::WeakSender<NotSync>>();
    assert_sync::<mpmc::WeakSender<NotSync>>();
    assert_clone::<mpmc::WeakSender<NotSync>>();
    assert_send::<mpmc::WeakReceiver<NotSync>>();
    assert_sync::<mpmc::WeakReceiver<NotSync>>();
    assert_clone::<mpmc::WeakReceiver<NotSync>>();
}

#[test]
fn oneshot_types() {
    assert_send::<oneshot::Sender<NotSync>>();
    assert_send::<oneshot::Receiver<NotSync>>();
    // As tokio's: a receiver of a `Send` value can be shared; `&Receiver`
    // only reads whether it is terminated.
    assert_sync::<oneshot::Receiver<NotSync>>();
    assert_sync::<oneshot::Sender<NotSync>>();
    assert_future::<oneshot::Receiver<NotSync>>();
    assert_future::<oneshot::ClosedFuture<'static, NotSync>>();
}

#[test]
fn error_types() {
    type Payload = String;
    assert_error::<TrySendError<Payload>>();
    assert_error::<SendError<Payload>>();
    assert_error::<SendTimeoutError<Payload>>();
    assert_error::<TryRecvError>();
    assert_error::<RecvError>();
    assert_error::<RecvTimeoutError>();
    assert_static::<TrySendError<Payload>>();
    assert_unpin::<SendError<Payload>>();
    // Errors about unsent values need no `Debug` on the value.
    struct NoDebug;
    assert_error::<TrySendError<NoDebug>>();
    assert_error::<SendError<NoDebug>>();
    assert_error::<SendTimeoutError<NoDebug>>();
}

#[test]
fn endpoints_of_send_types_cross_threads_in_practice() {
    let (mut stx, srx) = spsc::channel::<NotSync>(1);
    let (mtx, mrx) = mpmc::channel::<NotSync>(1);
    let (otx, orx) = oneshot::channel::<NotSync>();
    stx.send(std::cell::Cell::new(1)).unwrap();
    mtx.send(std::cell::Cell::new(2)).unwrap();
    otx.send(std::cell::Cell::new(3)).unwrap();
    let sum = std::thread::spawn(move || {
        let mut srx = srx;
        srx.recv().unwrap().get() + mrx.recv().unwrap().get() + orx.recv().unwrap().get()
    })
    .join()
    .unwrap();
    assert_eq!(sum, 6);
}
