//! [`Runtime`]: the worker threads and their shutdown.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use super::context;
use super::handle::Handle;
use super::metrics::RuntimeMetrics;
use super::task::JoinHandle;

/// A multi-threaded runtime: a pool of worker threads that run spawned tasks.
///
/// Dropping it shuts it down: the workers stop, every unfinished task's future is dropped
/// (exactly once) before `drop` returns, and every `JoinHandle` of those tasks resolves to a
/// cancellation error. Blocking jobs not yet started are cancelled too, and `drop` waits for
/// the running ones to return, and for tasks inside [`block_in_place`](crate::block_in_place)
/// (see [`shutdown_timeout`](Runtime::shutdown_timeout) to bound that wait).
///
/// A runtime dropped by one of its own tasks (in its poll, or inside
/// [`block_in_place`](crate::block_in_place)) cannot wait for the worker running it: the drop
/// starts the shutdown, which the runtime's last worker finishes once that task's poll has
/// returned, and then panics with a message that says so. A blocking job may drop its own
/// runtime: the shutdown does not wait for that job.
///
/// # Examples
///
/// ```
/// let rt = fiber::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = fiber::spawn(async { 1 });
///     let b = fiber::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct Runtime {
    handle: Handle,
    /// How long the shutdown waits for running blocking jobs; `None`: until they return.
    blocking_shutdown_timeout: Option<Duration>,
}

/// The guard of [`Runtime::enter`]: while it lives, this thread is in the runtime's context.
///
/// Drop guards in the reverse order of their creation. Other orders (or a forgotten guard)
/// leave the wrong runtime current, but never a dangling one: the context keeps the runtime's
/// shared state alive for as long as it names it (a few kilobytes and the I/O driver's file
/// descriptors, never freed if the thread exits while its context still names the runtime).
/// A `block_on` leaves the context as it found it, whatever guards made inside it did.
#[derive(Debug)]
#[must_use = "the runtime context is left when the guard is dropped"]
pub struct EnterGuard<'a> {
    _context: context::ContextGuard,
    _handle: &'a Handle,
}

impl fmt::Debug for context::ContextGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContextGuard")
    }
}

impl Runtime {
    /// A runtime whose workers `handle` reaches (started by the `Builder`).
    pub(crate) fn from_handle(handle: Handle) -> Runtime {
        Runtime {
            handle,
            blocking_shutdown_timeout: None,
        }
    }

    /// Runs `future` to completion on the calling thread, inside this runtime's context.
    ///
    /// The future is polled right here (the "combined single task" path): it never goes
    /// through a queue, and futures combined with `join!`, `select!` or combinators run with
    /// no scheduling cost. Use [`spawn`](Runtime::spawn) for work that should run on the
    /// workers in parallel.
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
    /// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    /// ```
    #[inline]
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task onto the runtime's workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(async { 2 + 2 });
    /// assert_eq!(rt.block_on(handle).unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs the blocking closure `f` on a thread of the runtime's blocking pool and returns a
    /// handle to await its result; see [`fiber::spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let job = rt.spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(job).unwrap());
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Shuts the runtime down, waiting at most about `timeout` for blocking jobs that are
    /// still running and for worker threads blocked in
    /// [`block_in_place`](crate::block_in_place).
    ///
    /// Everything else is as for dropping the runtime: the workers stop, unfinished tasks are
    /// cancelled, and blocking jobs not yet started are cancelled. Blocking threads still
    /// running a job when the time is up are abandoned: they finish that job in the
    /// background (its handle never resolves) and then exit.
    ///
    /// A worker thread inside `block_in_place` when the time is up is abandoned likewise:
    /// the shutdown goes on without it (the worker's queued tasks are cancelled with the
    /// others). Once the closure returns, the thread finishes the poll of the task that
    /// called `block_in_place` (code after the call runs up to the task's next `.await` that
    /// waits, as any poll in progress at a shutdown does), then drops that task's future, as
    /// the task was cancelled (its handle resolves to a cancellation error, or to the output
    /// if that poll completed it), and exits. A poll that does not block in place is waited
    /// for however long it takes, as by `drop`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = fiber::Runtime::new().unwrap();
    /// drop(rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600))));
    /// rt.shutdown_timeout(Duration::from_millis(10));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.blocking_shutdown_timeout = Some(timeout);
        drop(self);
    }

    /// Shuts the runtime down without waiting for blocking jobs that are still running, nor
    /// for worker threads blocked in [`block_in_place`](crate::block_in_place):
    /// [`shutdown_timeout`](Runtime::shutdown_timeout) with no time at all.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// drop(rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_secs(3600))));
    /// rt.shutdown_background();
    /// ```
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// The runtime's handle, for spawning from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// std::thread::spawn(move || drop(handle.spawn(async {}))).join().unwrap();
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Enters the runtime's context without blocking, so that [`fiber::spawn`](crate::spawn)
    /// and [`Handle::current`] work on this thread until the guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let handle = fiber::spawn(async { 5 });
    /// drop(_guard);
    /// assert_eq!(rt.block_on(handle).unwrap(), 5);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _context: context::enter(&self.handle.scheduler),
            _handle: &self.handle,
        }
    }

    /// A live view of the runtime's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let scheduler = &self.handle.scheduler;
        if scheduler.is_own_thread() {
            // Waiting here for this very thread to stop would never end. Start the shutdown
            // anyway: the other workers stop, and the last worker to stop cancels the
            // remaining tasks once this task's poll has returned.
            scheduler.close(self.blocking_shutdown_timeout);
            if std::thread::panicking() {
                return;
            }
            panic!(
                "a fiber runtime was dropped by one of its own tasks: it has been shut down \
                 (its other tasks are cancelled), but drop a runtime from outside it, for \
                 example after `block_on` returns"
            );
        }
        // Cancelled tasks' destructors may spawn or look up the current runtime: they run
        // inside its context (spawns now get cancelled at once).
        let _context = context::enter(scheduler);
        scheduler.close(self.blocking_shutdown_timeout);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.scheduler.num_workers())
            .finish_non_exhaustive()
    }
}
