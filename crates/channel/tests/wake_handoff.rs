//! Wake-ups are never lost between waiters: a claim that reaches a waiter
//! while its re-check after registering completes is passed on, and a
//! panicking waker does not keep the waiters after it from being woken.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, RawWaker, RawWakerVTable, Wake, Waker};

use nimsync_channel::__select::{SelectHandle, Selected, Waiter};

use nimsync_channel::{RecvError, SendError, mpmc, spsc};

mod common;
use common::counting_waker;

/// Values a test hands out as `'static` references, freed in the reverse
/// order of their allocation when the arena is dropped: what was made later
/// (a future) may refer to what was made earlier (its channel, a waker's
/// hooks), never the other way round.
#[derive(Default)]
struct Arena {
    frees: RefCell<Vec<Box<dyn FnOnce()>>>,
}

impl Arena {
    fn alloc<T: 'static>(&self, value: T) -> &'static T {
        let ptr = Box::into_raw(Box::new(value));
        self.frees.borrow_mut().push(Box::new(move || {
            // SAFETY: `ptr` came from `Box::into_raw` above and is freed once,
            // after everything allocated later was freed; the test's own
            // references to it end before the arena is dropped.
            drop(unsafe { Box::from_raw(ptr) });
        }));
        // SAFETY: the allocation lives until the arena frees it.
        unsafe { &*ptr }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        while let Some(free) = self.frees.borrow_mut().pop() {
            free();
        }
    }
}

/// A single-threaded waker that runs a hook the first time it is cloned
/// and another the first time it is woken, so a test can act at the exact
/// points where the wait protocol hands control to an executor's waker.
struct Scripted {
    on_clone: RefCell<Option<Box<dyn FnOnce()>>>,
    on_wake: RefCell<Option<Box<dyn FnOnce()>>>,
    wakes: Cell<usize>,
}

impl Scripted {
    fn new(arena: &Arena) -> &'static Self {
        arena.alloc(Self {
            on_clone: RefCell::new(None),
            on_wake: RefCell::new(None),
            wakes: Cell::new(0),
        })
    }

    fn waker(&'static self) -> Waker {
        // SAFETY: the vtable's functions only read through the pointer to
        // this `Scripted`, which the test's arena frees only after every
        // future and channel that could hold a clone of the waker, and the
        // test never sends the waker to another thread.
        unsafe { Waker::from_raw(RawWaker::new(std::ptr::from_ref(self).cast(), &SCRIPTED)) }
    }
}

static SCRIPTED: RawWakerVTable = RawWakerVTable::new(
    |data| {
        // SAFETY: `data` is a live `Scripted` (see `Scripted::waker`).
        let hooks = unsafe { &*data.cast::<Scripted>() };
        let hook = hooks.on_clone.borrow_mut().take();
        if let Some(hook) = hook {
            hook();
        }
        RawWaker::new(data, &SCRIPTED)
    },
    woken,
    woken,
    |_| {},
);

fn woken(data: *const ()) {
    // SAFETY: `data` is a live `Scripted` (see `Scripted::waker`).
    let hooks = unsafe { &*data.cast::<Scripted>() };
    hooks.wakes.set(hooks.wakes.get() + 1);
    let hook = hooks.on_wake.borrow_mut().take();
    if let Some(hook) = hook {
        hook();
    }
}

type Shared<F> = &'static RefCell<Pin<Box<F>>>;

fn pinned<F: Future + 'static>(arena: &Arena, fut: F) -> Shared<F> {
    arena.alloc(RefCell::new(Box::pin(fut)))
}

fn poll<F: Future>(fut: Shared<F>, waker: &Waker) -> Poll<F::Output> {
    fut.borrow_mut()
        .as_mut()
        .poll(&mut TaskContext::from_waker(waker))
}

/// The sequence that lost a wake-up: `first` registers while message `a`
/// is published with nobody queued; its re-check takes `a`; `second` queues
/// behind it; message `b`'s notify claims `first`, which is already done
/// with `a`. That claim must go on to `second`, or `second` sleeps beside
/// `b` until some later send.
#[test]
fn mpmc_claim_received_during_a_successful_recheck_goes_to_the_next_receiver() {
    let arena = Arena::default();
    let (first_hooks, sender_hooks, second_hooks) = (
        Scripted::new(&arena),
        Scripted::new(&arena),
        Scripted::new(&arena),
    );
    let (tx, rx) = mpmc::channel::<u32>(1);
    let (tx, rx) = (arena.alloc(tx), arena.alloc(rx));
    let sender = pinned(&arena, tx.send_async(2));
    let second = pinned(&arena, rx.recv_async());
    let (sender_waker, second_waker) = (sender_hooks.waker(), second_hooks.waker());

    // Inside `first`'s registration, before it is queued: `a` is sent with
    // nobody waiting, which fills the channel, so the sender of `b` waits.
    *first_hooks.on_clone.borrow_mut() = Some(Box::new(move || {
        tx.try_send(1).unwrap();
        assert!(poll(sender, &sender_waker).is_pending());
    }));
    // Inside `first`'s re-check, which took `a` and so woke the sender:
    // `second` queues behind `first`, then `b` is sent and notified.
    let (sender_waker, second_waker_in_hook) = (sender_hooks.waker(), second_waker.clone());
    *sender_hooks.on_wake.borrow_mut() = Some(Box::new(move || {
        assert!(poll(second, &second_waker_in_hook).is_pending());
        assert_eq!(
            poll(sender, &sender_waker),
            Poll::Ready(Ok::<(), SendError<u32>>(()))
        );
    }));

    let first = pinned(&arena, rx.recv_async());
    assert_eq!(poll(first, &first_hooks.waker()), Poll::Ready(Ok(1)));
    assert_eq!(rx.len(), 1, "`b` is buffered");
    assert_eq!(
        second_hooks.wakes.get(),
        1,
        "the receiver waiting behind was woken for `b`"
    );
    assert_eq!(
        poll(second, &second_waker),
        Poll::Ready(Ok::<u32, RecvError>(2))
    );
}

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this executor's waker panics");
    }
}

/// The close wakes every waiter even though the first one's waker panics;
/// the panic reaches the code that closed the channel.
#[test]
fn mpmc_close_wakes_the_waiters_after_a_panicking_waker() {
    let (tx, rx) = mpmc::channel::<u32>(1);
    let bad = Waker::from(Arc::new(PanickingWaker));
    let (counts, good) = counting_waker();
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(rx.recv_async())).collect();
    assert!(
        futures[0]
            .as_mut()
            .poll(&mut TaskContext::from_waker(&bad))
            .is_pending()
    );
    for fut in &mut futures[1..] {
        assert!(
            fut.as_mut()
                .poll(&mut TaskContext::from_waker(&good))
                .is_pending()
        );
    }
    let closed = catch_unwind(AssertUnwindSafe(move || drop(tx)));
    assert!(closed.is_err(), "the waker's panic is raised to the closer");
    assert_eq!(counts.count(), 2, "both later waiters were woken");
    for fut in &mut futures[1..] {
        assert_eq!(
            fut.as_mut().poll(&mut TaskContext::from_waker(&good)),
            Poll::Ready(Err(RecvError))
        );
    }
}

/// The same for an spsc channel, whose receiver can have a select and a
/// future waiting at once: the sender's drop wakes the future after the
/// select's panicking waker.
#[test]
fn spsc_close_wakes_a_future_after_a_panicking_waker() {
    let (tx, mut rx) = spsc::channel::<u32>(1);
    let bad = Waker::from(Arc::new(PanickingWaker));
    let (counts, good) = counting_waker();
    let select = Waiter::for_task(&bad);
    SelectHandle::register(&rx, &select, 0);
    let mut recv = Box::pin(rx.recv_async());
    assert!(
        recv.as_mut()
            .poll(&mut TaskContext::from_waker(&good))
            .is_pending()
    );
    let closed = catch_unwind(AssertUnwindSafe(move || drop(tx)));
    assert!(closed.is_err(), "the waker's panic is raised to the closer");
    assert_eq!(
        select.selected(),
        Selected::Operation(0),
        "the select was claimed"
    );
    assert_eq!(counts.count(), 1, "the future behind it was woken");
    assert_eq!(
        recv.as_mut().poll(&mut TaskContext::from_waker(&good)),
        Poll::Ready(Err(RecvError))
    );
}

/// Many waiters and a batch that frees room for all of them: a panicking
/// waker among them does not strand the others.
#[test]
fn mpmc_batch_receive_wakes_every_sender_despite_a_panicking_waker() {
    let (tx, rx) = mpmc::channel::<u32>(3);
    tx.send_iter([0, 1, 2]).unwrap();
    let bad = Waker::from(Arc::new(PanickingWaker));
    let (counts, good) = counting_waker();
    let mut sends: Vec<_> = (10..13).map(|v| Box::pin(tx.send_async(v))).collect();
    assert!(
        sends[0]
            .as_mut()
            .poll(&mut TaskContext::from_waker(&bad))
            .is_pending()
    );
    for send in &mut sends[1..] {
        assert!(
            send.as_mut()
                .poll(&mut TaskContext::from_waker(&good))
                .is_pending()
        );
    }
    let mut buf = Vec::new();
    let taken = catch_unwind(AssertUnwindSafe(|| rx.try_recv_many(&mut buf, 3)));
    assert!(
        taken.is_err(),
        "the waker's panic is raised to the receiver"
    );
    assert_eq!(counts.count(), 2, "the other two senders were woken");
    let sent = AtomicUsize::new(0);
    for send in &mut sends[1..] {
        if send
            .as_mut()
            .poll(&mut TaskContext::from_waker(&good))
            .is_ready()
        {
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
    assert_eq!(sent.load(Ordering::Relaxed), 2);
}
