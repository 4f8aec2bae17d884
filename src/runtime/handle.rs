//! [`Handle`]: a cloneable reference to a runtime, for spawning from anywhere.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::block_on;
use super::blocking;
use super::context;
use super::metrics::RuntimeMetrics;
use super::scheduler::Scheduler;
use super::task::JoinHandle;

/// A handle to a runtime: spawn onto it or block on it from any thread.
///
/// Cloning is cheap (one reference count). A handle does not keep the runtime's workers
/// alive: once the [`Runtime`](crate::Runtime) is dropped, tasks spawned through the handle
/// are cancelled at once.
///
/// # Examples
///
/// ```
/// let rt = fiber::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let answer = std::thread::spawn(move || handle.block_on(handle.spawn(async { 42 })))
///     .join()
///     .unwrap();
/// assert_eq!(answer.unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) scheduler: Arc<Scheduler>,
}

/// The error of [`Handle::try_current`]: this thread is not inside a fiber runtime.
///
/// # Examples
///
/// ```
/// let error = fiber::Handle::try_current().unwrap_err();
/// assert!(error.to_string().contains("not inside a fiber runtime"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError {
    _private: (),
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "this thread is not inside a fiber runtime: call this from a task, from inside \
             `block_on`, or inside `Runtime::enter`",
        )
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The handle of the runtime this thread is in: on a worker thread, inside a `block_on`,
    /// or inside [`Runtime::enter`](crate::Runtime::enter).
    ///
    /// # Panics
    ///
    /// Panics outside any runtime; see [`try_current`](Handle::try_current).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let handle = fiber::Handle::current();
    ///     assert_eq!(handle.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(error) => panic!("`Handle::current` failed: {error}"),
        }
    }

    /// The handle of the runtime this thread is in, or an error outside any runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(fiber::Handle::try_current().is_err());
    /// let rt = fiber::Runtime::new().unwrap();
    /// rt.block_on(async { assert!(fiber::Handle::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::try_current()
            .map(|scheduler| Handle { scheduler })
            .ok_or(TryCurrentError { _private: () })
    }

    /// Spawns a task onto the runtime and returns a handle to await its output.
    ///
    /// The task starts running at once on some worker. If the runtime has been dropped, the
    /// future is dropped here and the returned handle resolves to a cancellation error.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.handle().spawn(async { "hello" });
    /// assert_eq!(rt.block_on(handle).unwrap(), "hello");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.clone().spawn_owned(future)
    }

    /// `spawn`, with this handle becoming the task's reference to its runtime.
    #[inline]
    #[track_caller]
    pub(crate) fn spawn_owned<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Scheduler::spawn(self.scheduler, future)
    }

    /// A live view of the runtime's counters (the same as
    /// [`Runtime::metrics`](crate::Runtime::metrics)), reachable from inside the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
    /// let workers = rt.block_on(async { fiber::Handle::current().metrics().num_workers() });
    /// assert_eq!(workers, 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.scheduler.clone())
    }

    /// Runs the blocking closure `f` on a thread of the runtime's blocking pool and returns a
    /// handle to await its result; see [`fiber::spawn_blocking`](crate::spawn_blocking).
    ///
    /// If the runtime has been dropped, `f` is dropped here and the handle resolves to a
    /// cancellation error.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let job = handle.spawn_blocking(|| (1..=10u64).product::<u64>());
    /// assert_eq!(rt.block_on(job).unwrap(), 3_628_800);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        blocking::spawn_blocking(&self.scheduler, f)
    }

    /// Runs `future` to completion on the calling thread, inside this runtime's context (so
    /// [`fiber::spawn`](crate::spawn) inside it spawns here).
    ///
    /// The future is polled on this thread, not by the workers: it does not go through a
    /// queue, and a warm call allocates nothing.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a runtime: on a worker thread or inside another
    /// `block_on`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(async { 1 + 1 }), 2);
    /// ```
    // Always in line: a `block_on` of a ready future is a few loads and two stores, and the
    // call itself (registers saved and restored) would cost as much again.
    #[inline(always)]
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _context = context::enter_block_on(&self.scheduler);
        let blocker = crate::time::BlockerGuard::enter(self.scheduler.clock());
        block_on::block_on(future, Some((&self.scheduler, &blocker)))
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.scheduler.num_workers())
            .field("shutdown", &self.scheduler.is_shutdown())
            .finish()
    }
}
