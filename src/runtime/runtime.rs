//! [`Runtime`]: the worker threads and their shutdown.

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle as ThreadHandle;

use super::builder::Builder;
use super::context;
use super::handle::Handle;
use super::metrics::RuntimeMetrics;
use super::scheduler::Message;
use super::task::JoinHandle;

/// A multi-threaded runtime: a pool of worker threads that run spawned tasks.
///
/// Dropping it shuts it down: the workers stop, every unfinished task's future is dropped
/// (exactly once) before `drop` returns, and every `JoinHandle` of those tasks resolves to a
/// cancellation error.
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
    threads: Vec<ThreadHandle<()>>,
}

/// The guard of [`Runtime::enter`]: while it lives, this thread is in the runtime's context.
///
/// Drop guards in the reverse order of their creation. Other orders (or a forgotten guard)
/// leave the wrong runtime current, but never a dangling one: the context keeps the runtime's
/// shared state alive for as long as it names it (a few kilobytes, never freed if the thread
/// exits while its context still names the runtime).
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
    /// Starts a runtime with one worker per available CPU.
    ///
    /// # Errors
    ///
    /// Returns the operating system's error if a worker thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { "ok" }), "ok");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    pub(crate) fn new_with(handle: Handle) -> Runtime {
        Runtime {
            handle,
            threads: Vec::new(),
        }
    }

    pub(crate) fn add_thread(&mut self, thread: ThreadHandle<()>) {
        self.threads.push(thread);
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
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
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
            _context: context::enter_handle(&self.handle),
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
        RuntimeMetrics::new(self.handle.clone())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        if context::with_worker(shared, |worker| worker.is_some()) {
            // Waiting for our own thread to stop would never end, and cancelling the task
            // that is running this drop would pull its future out from under it.
            if std::thread::panicking() {
                return;
            }
            panic!(
                "a fiber runtime was dropped by one of its own tasks: drop it from outside                  the runtime (for example after `block_on` returns)"
            );
        }
        shared.shutdown.store(true, Ordering::SeqCst);
        for _ in 0..self.threads.len() {
            let _ = shared.sender.send(Message::Shutdown);
        }
        // A worker blocked in the I/O driver's poll does not read the channel.
        shared.io.unpark();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }

        shared.workers_stopped.store(true, Ordering::SeqCst);
        // Sockets outlive their runtime: fail their waits and later operations with an error
        // rather than leave them waiting for a driver nobody polls.
        shared.io.shutdown();

        // No worker runs any more: cancel every unfinished task here. Their destructors may
        // spawn or look for the current runtime, so they run inside its context (spawns now
        // get cancelled at once).
        let _context = context::enter_handle(&self.handle);
        for task in shared.owned.close_and_take_all() {
            task.shutdown();
        }
        shared.drain_injector();
        for stealer in shared.stealers.iter() {
            while let Some(task) = stealer.steal().success() {
                drop(task);
            }
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}
