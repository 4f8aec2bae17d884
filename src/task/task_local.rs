//! Task-local storage: [`task_local!`](crate::task_local) declares a [`LocalKey`], whose
//! [`scope`](LocalKey::scope) gives a future a value that code anywhere inside it can read.
//!
//! The value lives in the [`TaskLocalFuture`], not in the thread: around each poll of the
//! inner future it is moved into a thread-local slot, and moved back out when the poll
//! returns (or panics). So it follows the task from worker to worker, and each of several
//! scoped futures polled by one `join!` or `select!` sees its own value.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Declares task-local keys: `static`s of type [`LocalKey`], each with its own value per
/// scope.
///
/// Any number of keys may be declared at once, each with attributes (doc comments too) and
/// a visibility.
///
/// # Examples
///
/// ```
/// fiber::task_local! {
///     /// The id of the request this task serves.
///     pub static REQUEST_ID: u64;
///     static USER: String;
/// }
///
/// fiber::block_on(REQUEST_ID.scope(7, async {
///     assert_eq!(REQUEST_ID.get(), 7);
///     assert!(USER.try_with(|user| user.len()).is_err());
/// }));
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

/// One key of [`task_local!`]: a `LocalKey` around a thread-local slot of its own.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { slot: SLOT }
        };
    };
}

/// A key for task-local values, declared with [`task_local!`](crate::task_local).
///
/// A value is set for the duration of a future with [`scope`](LocalKey::scope), or of a
/// closure with [`sync_scope`](LocalKey::sync_scope); inside, [`with`](LocalKey::with),
/// [`try_with`](LocalKey::try_with) and [`get`](LocalKey::get) read it.
///
/// # Examples
///
/// ```
/// fiber::task_local! {
///     static DEPTH: u32;
/// }
///
/// let depth = DEPTH.sync_scope(1, || DEPTH.sync_scope(2, || DEPTH.get()));
/// assert_eq!(depth, 2);
/// ```
pub struct LocalKey<T: 'static> {
    /// The thread-local slot that holds the value while a scope's code runs. Public only for
    /// the macro.
    #[doc(hidden)]
    pub slot: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with `value` set for this key; the value is dropped with the returned
    /// future (after the inner future, which can still read it in its destructors).
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::task_local! {
    ///     static NAME: &'static str;
    /// }
    ///
    /// let rt = fiber::Runtime::new().unwrap();
    /// let task = rt.spawn(NAME.scope("worker", async {
    ///     fiber::yield_now().await;
    ///     NAME.get()
    /// }));
    /// assert_eq!(rt.block_on(task).unwrap(), "worker");
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with `value` set for this key, and returns what it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::task_local! {
    ///     static LIMIT: usize;
    /// }
    ///
    /// assert_eq!(LIMIT.sync_scope(10, || LIMIT.get() * 2), 20);
    /// ```
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut value = Some(value);
        self.enter(&mut value, f)
    }

    /// Moves the value in `value` into the slot for the duration of `f`, and back out again
    /// when `f` returns or panics; scopes nest, each seeing its own value.
    fn enter<F: FnOnce() -> R, R>(&'static self, value: &mut Option<T>, f: F) -> R {
        /// Swaps the value back out of the slot, even if `f` panics.
        struct Restore<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                // The borrow cannot fail: `with` releases its borrow before returning, and
                // the slot outlives this guard, which runs inside the thread's lifetime.
                self.key
                    .slot
                    .with(|slot| std::mem::swap(&mut *slot.borrow_mut(), self.value));
            }
        }

        self.swap(value);
        let _restore = Restore { key: self, value };
        f()
    }

    fn swap(&'static self, value: &mut Option<T>) {
        let swapped = self.slot.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().unwrap_or_else(|_| {
                panic!(
                    "a task-local scope was entered while the same key's value was borrowed \
                     by `with`: end the `with` closure before entering a new scope"
                )
            });
            std::mem::swap(&mut *slot, value);
        });
        if swapped.is_err() {
            panic!(
                "a task-local scope was entered while this thread's thread-locals were being \
                 destroyed: task-local values cannot be used from thread-local destructors"
            );
        }
    }

    /// Calls `f` with a reference to the value of the innermost scope.
    ///
    /// # Panics
    ///
    /// Panics when called outside any scope of this key; [`try_with`](LocalKey::try_with)
    /// returns an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::task_local! {
    ///     static GREETING: String;
    /// }
    ///
    /// fiber::block_on(GREETING.scope("hello".to_string(), async {
    ///     assert_eq!(GREETING.with(|greeting| greeting.len()), 5);
    /// }));
    /// ```
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(output) => output,
            Err(AccessError { .. }) => panic!(
                "a task-local value was read outside any scope of its key: wrap the future \
                 in `KEY.scope(value, future)` (or the code in `KEY.sync_scope`), or use \
                 `try_with` to handle its absence"
            ),
        }
    }

    /// Calls `f` with a reference to the value of the innermost scope, or returns an
    /// [`AccessError`] when there is no scope of this key.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::task_local! {
    ///     static TOKEN: u32;
    /// }
    ///
    /// assert!(TOKEN.try_with(|token| *token).is_err());
    /// assert_eq!(TOKEN.sync_scope(3, || TOKEN.try_with(|token| *token)), Ok(3));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        let mut f = Some(f);
        let output = self.slot.try_with(|slot| {
            let slot = slot.try_borrow().ok()?;
            let value = slot.as_ref()?;
            let f = f.take().expect("called once");
            Some(f(value))
        });
        match output {
            Ok(Some(output)) => Ok(output),
            _ => Err(AccessError { _private: () }),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// Returns a copy of the value of the innermost scope.
    ///
    /// # Panics
    ///
    /// Panics outside any scope of this key, like [`with`](LocalKey::with).
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::task_local! {
    ///     static ATTEMPT: u8;
    /// }
    ///
    /// fiber::block_on(ATTEMPT.scope(2, async { assert_eq!(ATTEMPT.get(), 2) }));
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

pin_project! {
    /// Future for the [`scope`](LocalKey::scope) method: runs its inner future with a
    /// task-local value set.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        value: Option<T>,
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.future.is_some() {
                // The inner future's destructors may read the value too, as they could if it
                // had run to completion.
                let mut future = this.future;
                let key: &'static LocalKey<T> = this.key;
                let thread_alive = key.slot.try_with(|_| ()).is_ok();
                if thread_alive {
                    key.enter(this.value, || future.set(None));
                } else {
                    future.set(None);
                }
            }
        }
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let key: &'static LocalKey<T> = this.key;
        let polled = key.enter(this.value, || match future.as_mut().as_pin_mut() {
            Some(inner) => {
                let polled = inner.poll(cx);
                if polled.is_ready() {
                    // Dropped inside the scope, like the destructors of a cancelled one.
                    future.set(None);
                }
                Some(polled)
            }
            None => None,
        });
        polled.expect("`TaskLocalFuture` polled after it completed")
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("finished", &self.future.is_none())
            .finish_non_exhaustive()
    }
}

/// The error of [`LocalKey::try_with`]: no scope of the key encloses the caller.
///
/// # Examples
///
/// ```
/// fiber::task_local! {
///     static KEY: u8;
/// }
///
/// let error = KEY.try_with(|_| ()).unwrap_err();
/// assert!(error.to_string().contains("outside"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value accessed outside any scope of its key")
    }
}

impl Error for AccessError {}
