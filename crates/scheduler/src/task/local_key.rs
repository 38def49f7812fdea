//! Task-local values: [`LocalKey`], declared with
//! [`task_local!`](crate::task_local), set for the extent of one future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::cell::RefCell;
use std::fmt;

/// A task-local value declared with [`task_local!`](crate::task_local).
///
/// The value is set for the extent of one future with [`LocalKey::scope`]
/// and read inside it with [`LocalKey::with`] or [`LocalKey::get`]. It moves
/// with the future across workers: it lives in the future, and is installed
/// in the polling thread only during each poll.
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// The error of [`LocalKey::try_with`] outside a scope of the key.
///
/// The value is set only inside a future wrapped by [`LocalKey::scope`] (or
/// a closure run by [`LocalKey::sync_scope`]): read it there, or set it
/// around the code that reads it.
///
/// # Examples
/// ```
/// nimsync_scheduler::task_local! {
///     static USER: u32;
/// }
/// let err = USER.try_with(|u| *u).unwrap_err();
/// assert_eq!(err.to_string(), "task-local value not set");
/// assert_eq!(USER.sync_scope(7, || USER.try_with(|u| *u)), Ok(7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with the key set to `value`.
    ///
    /// # Examples
    /// ```
    /// nimsync_scheduler::task_local! {
    ///     static REQUEST_ID: u64;
    /// }
    ///
    /// let rt = nimsync_scheduler::Runtime::new().unwrap();
    /// let seen = rt.block_on(REQUEST_ID.scope(42, async {
    ///     nimsync_scheduler::yield_now().await;
    ///     REQUEST_ID.get()
    /// }));
    /// assert_eq!(seen, 42);
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with the key set to `value`.
    ///
    /// # Examples
    /// ```
    /// nimsync_scheduler::task_local! {
    ///     static DEPTH: u32;
    /// }
    /// assert_eq!(DEPTH.sync_scope(3, || DEPTH.get()), 3);
    /// ```
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        let _guard = self.enter(&mut slot);
        f()
    }

    /// Swaps `slot` into the key until the guard drops.
    ///
    /// # Panics
    /// Inside a [`LocalKey::with`] closure of the same key (its value is
    /// borrowed there): entering a scope would replace it.
    fn enter<'a>(&'static self, slot: &'a mut Option<T>) -> Swap<'a, T> {
        self.inner.with(|cell| {
            let mut current = cell.try_borrow_mut().unwrap_or_else(|_| {
                panic!(
                    "a task-local scope of this key was entered inside its own `with` \
                     closure; read the value into a local first, then enter the scope"
                )
            });
            std::mem::swap(&mut *current, slot);
        });
        Swap { key: self, slot }
    }

    /// Calls `f` with the value.
    ///
    /// # Panics
    /// Outside a scope of this key; use [`LocalKey::try_with`].
    ///
    /// # Examples
    /// ```
    /// nimsync_scheduler::task_local! {
    ///     static NAME: String;
    /// }
    /// NAME.sync_scope("a".to_owned(), || NAME.with(|n| assert_eq!(n, "a")));
    /// ```
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        self.try_with(f).unwrap_or_else(|err| {
            panic!(
                "{err}: read it inside a future wrapped by LocalKey::scope \
                 (or a closure run by LocalKey::sync_scope)"
            )
        })
    }

    /// Calls `f` with the value, or fails outside a scope of this key.
    ///
    /// # Errors
    /// [`AccessError`] outside a scope.
    ///
    /// # Examples
    /// ```
    /// nimsync_scheduler::task_local! {
    ///     static USER: u32;
    /// }
    /// assert!(USER.try_with(|u| *u).is_err());
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        self.inner.with(|cell| {
            let value = cell.borrow();
            value.as_ref().map(f).ok_or(AccessError(()))
        })
    }

    /// A clone of the value.
    ///
    /// # Panics
    /// Outside a scope of this key.
    ///
    /// # Examples
    /// ```
    /// nimsync_scheduler::task_local! {
    ///     static N: u8;
    /// }
    /// assert_eq!(N.sync_scope(1, || N.get()), 1);
    /// ```
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

/// Puts the value back into its future when a scope's poll ends.
struct Swap<'a, T: 'static> {
    /// The key.
    key: &'static LocalKey<T>,
    /// The future's copy of the value (empty while installed).
    slot: &'a mut Option<T>,
}

impl<T: 'static> Drop for Swap<'_, T> {
    fn drop(&mut self) {
        self.key
            .inner
            .with(|cell| std::mem::swap(&mut *cell.borrow_mut(), self.slot));
    }
}

pin_project_lite::pin_project! {
    /// A future running with a task-local value set; see [`LocalKey::scope`].
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        slot: Option<T>,
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // The future is dropped inside its scope, so its drop code can
            // still read the value.
            let _guard = this.key.enter(this.slot);
            let mut future = this.future;
            future.set(None);
        }
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").finish_non_exhaustive()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let _guard = this.key.enter(this.slot);
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            panic!("a TaskLocalFuture was polled after it completed");
        };
        let output = future.poll(cx);
        if output.is_ready() {
            // Dropped inside the scope, like on any other path.
            this.future.set(None);
        }
        output
    }
}

/// Declares task-local values: `static NAME: Type;` items, each a
/// [`LocalKey`].
///
/// # Examples
/// ```
/// nimsync_scheduler::task_local! {
///     /// The id of the request being served.
///     pub static REQUEST: u64;
///     static TRACE: String;
/// }
///
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(REQUEST.scope(7, async {
///     let inner = TRACE.scope("abc".into(), async { TRACE.get() });
///     assert_eq!(inner.await, "abc");
///     assert_eq!(REQUEST.get(), 7);
/// }));
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __KEY: ::std::cell::RefCell<::core::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::core::option::Option::None) };
            }
            $crate::task::LocalKey { inner: __KEY }
        };
    };
}
