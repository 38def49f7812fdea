//! [`CancelToken`]: cooperative cancellation that flows from parents to
//! children, never back up.
//!
//! # Protocol
//!
//! Each token is a node: a `cancelled` flag, a lock over the wakers of its
//! pending [`CancelledFuture`]s and the list of its children, a count of
//! the token handles that share it, and a strong reference to its parent.
//!
//! - `cancel` swaps the flag to true (only the first caller goes on), then
//!   takes the waiters and the children out under the lock, wakes the
//!   waiters and cancels the children, depth first, without recursion. A
//!   waker that panics stops neither: the first panic is raised again at
//!   the end.
//! - `child` takes the parent's lock, and either links the new node (flag
//!   still clear) or, when the parent is cancelled, returns a cancelled
//!   node. A `cancel` that set the flag but had not yet taken the lock
//!   finds the new child in the list when it does.
//! - A `CancelledFuture` registers its waker under the lock after reading
//!   the flag under it: a `cancel` that set the flag earlier either is seen
//!   there or takes the lock later and wakes the registered waker.
//! - When the last handle of a child is dropped, the child unlinks itself
//!   from its parent, so a long-lived parent does not accumulate children.
//!   The lock order is parent, then child; unlinking takes them one at a
//!   time.

use core::future::{Future, poll_fn};
use core::hash::{Hash, Hasher};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

/// A vector with stable keys and slot reuse.
#[derive(Debug)]
struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Slab<T> {
    const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.slots[key] = Some(value);
                key
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.slots.get_mut(key).and_then(Option::as_mut)
    }

    fn remove(&mut self, key: usize) -> Option<T> {
        let value = self.slots.get_mut(key).and_then(Option::take);
        if value.is_some() {
            self.free.push(key);
        }
        value
    }

    fn drain(&mut self) -> impl Iterator<Item = T> {
        self.free.clear();
        core::mem::take(&mut self.slots).into_iter().flatten()
    }
}

/// What the node's lock guards.
#[derive(Debug)]
struct Inner {
    /// Wakers of pending `CancelledFuture`s.
    waiters: Slab<Waker>,
    /// Linked children (cleared when cancelled).
    children: Slab<Arc<Node>>,
    /// This node's key in its parent's `children`, while linked.
    key_in_parent: Option<usize>,
}

/// One token of the tree.
///
/// # Invariants
/// - `cancelled` goes from false to true once and never back.
/// - Once `cancelled` is true and the `cancel` that set it has released
///   the lock, `waiters` and `children` stay empty: registration and
///   linking re-check the flag under the lock.
#[derive(Debug)]
struct Node {
    cancelled: AtomicBool,
    /// Live `CancelToken` handles of this node.
    handles: AtomicUsize,
    inner: Mutex<Inner>,
    parent: Option<Arc<Node>>,
}

impl Node {
    fn new(parent: Option<Arc<Node>>) -> Arc<Self> {
        Arc::new(Self {
            cancelled: AtomicBool::new(false),
            handles: AtomicUsize::new(1),
            inner: Mutex::new(Inner {
                waiters: Slab::new(),
                children: Slab::new(),
                key_in_parent: None,
            }),
            parent,
        })
    }

    /// Gives back one handle of `this`. A node whose last handle is gone
    /// unlinks from its parent and gives back the handle it held there, so
    /// that a parent stays linked for as long as a descendant lives.
    fn release(this: &Arc<Self>) {
        let mut node = this;
        while node.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let Some(parent) = &node.parent else { return };
            let key = node.inner.lock().key_in_parent.take();
            if let Some(key) = key {
                parent.inner.lock().children.remove(key);
            }
            node = parent;
        }
    }

    /// Cancels this node and every descendant.
    ///
    /// Wakers are an executor's code, and one may panic. The children
    /// taken out of a node and the other waiters must still be cancelled
    /// and woken, or they never would be: the flags are already set, so a
    /// second `cancel` stops at once. So every wake runs under
    /// `catch_unwind`, and the first panic is raised again once the whole
    /// tree is cancelled (not while the thread is already unwinding: a
    /// second panic would abort the process).
    fn cancel(this: &Arc<Self>) {
        let mut stack = vec![Arc::clone(this)];
        let mut first_panic = None;
        while let Some(node) = stack.pop() {
            if node.cancelled.swap(true, Ordering::AcqRel) {
                continue;
            }
            let (waiters, children): (Vec<Waker>, Vec<Arc<Node>>) = {
                let mut inner = node.inner.lock();
                (
                    inner.waiters.drain().collect(),
                    inner.children.drain().collect(),
                )
            };
            stack.extend(children);
            for waker in waiters {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
                    first_panic.get_or_insert(payload);
                }
            }
        }
        if let Some(payload) = first_panic {
            if !std::thread::panicking() {
                resume_unwind(payload);
            }
        }
    }
}

/// A cooperative cancellation signal, cheap to clone and to check.
///
/// [`cancel`](CancelToken::cancel) sets it for this token, its clones and
/// every token made from it with [`child`](CancelToken::child), however
/// deep; cancelling a child never reaches its parent. Code sees it by
/// checking [`is_cancelled`](CancelToken::is_cancelled) or by awaiting
/// [`cancelled`](CancelToken::cancelled). Every task group has one.
///
/// # Examples
/// ```
/// use nimsync_group::CancelToken;
///
/// let root = CancelToken::new();
/// let child = root.child();
/// let grandchild = child.child();
/// child.cancel();
/// assert!(grandchild.is_cancelled());
/// assert!(!root.is_cancelled(), "cancellation never flows up");
/// root.cancel();
/// futures_lite::future::block_on(root.cancelled());
/// ```
pub struct CancelToken {
    node: Arc<Node>,
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for CancelToken {
    fn clone(&self) -> Self {
        self.node.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            node: Arc::clone(&self.node),
        }
    }
}

impl Drop for CancelToken {
    fn drop(&mut self) {
        Node::release(&self.node);
    }
}

/// Two handles are equal when they are handles of the same token: clones
/// of one another (or of a common original). A [`child`](CancelToken::child)
/// is another token, never equal to its parent, even once both are
/// cancelled. Whether a token is cancelled plays no part.
///
/// # Examples
/// ```
/// use nimsync_group::CancelToken;
///
/// let token = CancelToken::new();
/// assert_eq!(token, token.clone());
/// assert_ne!(token, token.child());
/// assert_ne!(token, CancelToken::new());
/// ```
impl PartialEq for CancelToken {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq::<Node>(&*self.node, &*other.node)
    }
}

impl Eq for CancelToken {}

/// Hashes which token this is, consistently with `==`: all the handles of
/// one token hash the same. Neither reads the token's state, so a token is
/// a sound key even though it changes when cancelled (clippy's
/// `mutable_key_type` lint cannot tell: allow it, or list the type under
/// `ignore-interior-mutability` in `clippy.toml`).
///
/// # Examples
/// ```
/// use std::collections::HashSet;
/// use nimsync_group::CancelToken;
///
/// let token = CancelToken::new();
/// let set: HashSet<CancelToken> = [token.clone(), token.clone(), token.child()].into();
/// assert_eq!(set.len(), 2);
/// assert!(set.contains(&token));
/// ```
impl Hash for CancelToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        core::ptr::hash::<Node, H>(&*self.node, state);
    }
}

impl CancelToken {
    /// A new root token, not cancelled.
    ///
    /// # Examples
    /// ```
    /// assert!(!nimsync_group::CancelToken::new().is_cancelled());
    /// ```
    pub fn new() -> Self {
        Self {
            node: Node::new(None),
        }
    }

    /// Cancels this token, its clones and all its descendants, and wakes
    /// every task awaiting [`cancelled`](CancelToken::cancelled) on them.
    /// Idempotent.
    ///
    /// # Panics
    /// When a waker panics: the panic is raised again once every token is
    /// cancelled and every other task woken (the first, if several did).
    ///
    /// # Examples
    /// ```
    /// let token = nimsync_group::CancelToken::new();
    /// let clone = token.clone();
    /// token.cancel();
    /// token.cancel();
    /// assert!(clone.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        Node::cancel(&self.node);
    }

    /// True once this token (or an ancestor) was cancelled: one atomic
    /// load.
    ///
    /// # Examples
    /// ```
    /// let token = nimsync_group::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::Acquire)
    }

    /// A token cancelled when this one is (or when cancelled itself),
    /// whose own cancellation does not reach this one.
    ///
    /// # Examples
    /// ```
    /// let parent = nimsync_group::CancelToken::new();
    /// let child = parent.child();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// let other = parent.child();
    /// parent.cancel();
    /// assert!(other.is_cancelled());
    /// ```
    pub fn child(&self) -> CancelToken {
        let child = Node::new(Some(Arc::clone(&self.node)));
        // The child holds a handle of this node until its own last handle
        // is gone.
        self.node.handles.fetch_add(1, Ordering::Relaxed);
        let linked = {
            let mut inner = self.node.inner.lock();
            if self.node.cancelled.load(Ordering::Acquire) {
                false
            } else {
                let key = inner.children.insert(Arc::clone(&child));
                child.inner.lock().key_in_parent = Some(key);
                true
            }
        };
        if !linked {
            Node::cancel(&child);
        }
        CancelToken { node: child }
    }

    /// A future that completes once the token is cancelled. Dropping it
    /// unregisters it.
    ///
    /// # Examples
    /// ```
    /// use nimsync_group::CancelToken;
    ///
    /// let token = CancelToken::new();
    /// let remote = token.clone();
    /// std::thread::spawn(move || remote.cancel());
    /// futures_lite::future::block_on(token.cancelled());
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancelled(&self) -> CancelledFuture {
        self.clone().cancelled_owned()
    }

    /// [`cancelled`](CancelToken::cancelled), consuming this handle instead
    /// of cloning it. The future owns its handle either way (it borrows
    /// nothing, so it can be moved into a task); this one spares the clone.
    ///
    /// # Examples
    /// ```
    /// let token = nimsync_group::CancelToken::new();
    /// let wait = token.clone().cancelled_owned();
    /// token.cancel();
    /// futures_lite::future::block_on(wait);
    /// ```
    pub fn cancelled_owned(self) -> CancelledFuture {
        CancelledFuture {
            token: self,
            key: None,
        }
    }

    /// Runs `fut` until it completes (`Some` with its output) or this token
    /// is cancelled (`None`; `fut` is dropped, unfinished).
    ///
    /// Biased towards cancellation: each poll checks the token first, and
    /// polls `fut` only while the token is not cancelled. So with a token
    /// already cancelled, `fut` is never polled and `None` comes back at
    /// once; when the cancel and `fut`'s readiness coincide, the cancel
    /// wins and `fut` is dropped without being polled again (a cancel-safe
    /// future then loses nothing). (tokio-util's `run_until_cancelled` is
    /// biased the other way, towards the future; see `docs/group.md`.)
    ///
    /// # Cancel safety
    /// Dropping this future drops `fut`: it is exactly as cancel safe as
    /// `fut` is. Its wait for the token is cancel safe.
    ///
    /// # Examples
    /// ```
    /// use nimsync_group::CancelToken;
    /// use futures_lite::future::block_on;
    ///
    /// let token = CancelToken::new();
    /// assert_eq!(block_on(token.run_until_cancelled(async { 7 })), Some(7));
    /// token.cancel();
    /// assert_eq!(block_on(token.run_until_cancelled(async { 7 })), None);
    /// assert_eq!(block_on(token.run_until_cancelled(std::future::pending::<u8>())), None);
    /// ```
    pub async fn run_until_cancelled<F: Future>(&self, fut: F) -> Option<F::Output> {
        race_cancelled(self.cancelled(), fut).await
    }

    /// [`run_until_cancelled`](CancelToken::run_until_cancelled), owning
    /// this handle: the future borrows nothing, so it can be spawned (it
    /// is `Send` when `fut` is).
    ///
    /// # Cancel safety
    /// As [`run_until_cancelled`](CancelToken::run_until_cancelled).
    ///
    /// # Examples
    /// ```
    /// use nimsync_group::CancelToken;
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let token = CancelToken::new();
    /// let worker = rt.spawn(token.clone().run_until_cancelled_owned(std::future::pending::<()>()));
    /// token.cancel();
    /// assert_eq!(rt.block_on(worker).unwrap(), None);
    /// ```
    pub async fn run_until_cancelled_owned<F: Future>(self, fut: F) -> Option<F::Output> {
        race_cancelled(self.cancelled_owned(), fut).await
    }

    /// A guard that cancels this token when it is dropped (on every way
    /// out of a scope, unwinding included), unless
    /// [`disarm`](CancelGuard::disarm)ed first.
    ///
    /// # Examples
    /// ```
    /// use nimsync_group::CancelToken;
    ///
    /// let token = CancelToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    ///     // ... work that may return early or panic ...
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> CancelGuard {
        CancelGuard { token: Some(self) }
    }
}

/// The first of the token's cancellation (checked first) and `fut`'s
/// completion.
async fn race_cancelled<F: Future>(cancelled: CancelledFuture, fut: F) -> Option<F::Output> {
    let mut cancelled = cancelled;
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if Pin::new(&mut cancelled).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Cancels its token when dropped; made by [`CancelToken::drop_guard`].
///
/// For work whose every exit, early returns and panics included, must
/// cancel the work that depends on it; [`disarm`](CancelGuard::disarm)
/// on the one path that must not.
///
/// # Examples
/// ```
/// use nimsync_group::CancelToken;
///
/// let token = CancelToken::new();
/// let guard = token.clone().drop_guard();
/// let back = guard.disarm();
/// assert!(!token.is_cancelled());
/// assert_eq!(back, token);
/// ```
#[must_use = "a guard dropped at once cancels its token at once"]
pub struct CancelGuard {
    /// Until disarmed.
    token: Option<CancelToken>,
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelGuard")
            .field("token", &self.token)
            .finish()
    }
}

impl CancelGuard {
    /// Gives the token back without cancelling it.
    ///
    /// # Examples
    /// ```
    /// let token = nimsync_group::CancelToken::new().drop_guard().disarm();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn disarm(mut self) -> CancelToken {
        self.token
            .take()
            .expect("a guard holds its token until disarmed or dropped")
    }
}

impl Drop for CancelGuard {
    /// Cancels the token; see [`CancelToken::cancel`], whose panics (a
    /// waker's, raised again) it passes on unless the thread is already
    /// unwinding.
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

/// The future of [`CancelToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct CancelledFuture {
    token: CancelToken,
    /// Its waker's key while registered.
    key: Option<usize>,
}

impl fmt::Debug for CancelledFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledFuture")
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}

impl Future for CancelledFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let node = &this.token.node;
        if node.cancelled.load(Ordering::Acquire) {
            this.key = None;
            return Poll::Ready(());
        }
        let mut inner = node.inner.lock();
        if node.cancelled.load(Ordering::Acquire) {
            // `cancel` drained (or will not find) the registration.
            this.key = None;
            return Poll::Ready(());
        }
        match this.key.and_then(|k| inner.waiters.get_mut(k)) {
            Some(waker) => waker.clone_from(cx.waker()),
            None => this.key = Some(inner.waiters.insert(cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for CancelledFuture {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.token.node.inner.lock().waiters.remove(key);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn dropped_children_unlink_from_their_parent() {
        let root = CancelToken::new();
        for _ in 0..100 {
            let child = root.child();
            let grandchild = child.child();
            drop(child);
            drop(grandchild);
        }
        assert_eq!(
            root.node
                .inner
                .lock()
                .children
                .slots
                .iter()
                .flatten()
                .count(),
            0
        );
    }

    #[test]
    fn dropped_cancelled_futures_unregister() {
        let token = CancelToken::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..10 {
            let mut fut = token.cancelled();
            assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
            assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        }
        assert_eq!(
            token
                .node
                .inner
                .lock()
                .waiters
                .slots
                .iter()
                .flatten()
                .count(),
            0
        );
    }

    #[test]
    fn cancel_reaches_deep_descendants_and_clones() {
        let root = CancelToken::new();
        let mut chain = vec![root.child()];
        for _ in 0..1000 {
            let next = chain.last().unwrap().child();
            chain.push(next);
        }
        let far = chain.last().unwrap().clone();
        root.cancel();
        assert!(chain.iter().all(CancelToken::is_cancelled));
        assert!(far.is_cancelled());
        assert!(
            root.child().is_cancelled(),
            "children of a cancelled token start cancelled"
        );
    }
}
