//! The runtime: worker threads, tasks, the thread-local context, and time.
//!
//! Imports run one way: `builder` -> `runtime` -> `handle` -> `scheduler` -> `task`.
//!
//! - [`builder`] starts a [`Runtime`]'s worker threads; [`runtime`] owns them and shuts them
//!   down on drop; [`handle`] reaches the runtime from anywhere.
//! - [`scheduler`] is the multi-thread scheduler: the queues, the worker loop, parking, and
//!   the shutdown protocol.
//! - [`task`] is the task allocation and its state machine; [`coop`] is the budget that
//!   makes a task yield after finding fiber's resources ready many times in a row.
//! - [`blocking`] is the runtime's side of blocking work: `spawn_blocking` and
//!   `block_in_place` (the pool itself and the lending of a worker's core are the
//!   scheduler's).
//! - [`block_on`] drives a future on the calling thread; [`context`] tells code which runtime
//!   it runs in.

mod block_on;
mod blocking;
mod builder;
mod context;
pub(crate) mod coop;
mod handle;
pub(crate) mod io;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;
mod scheduler;
pub(crate) mod task;
mod yield_now;

use std::future::Future;
use std::sync::OnceLock;

pub use blocking::block_in_place;
pub use builder::Builder;
pub use handle::{Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;
pub use runtime::{EnterGuard, Runtime};
pub use scheduler::slow_poll::SlowPoll;
pub use task::{AbortHandle, JoinError, JoinHandle};
pub use yield_now::{yield_now, YieldNow};

/// Spawns a task onto the current runtime: the one whose worker this is, or whose
/// `block_on` (or [`Runtime::enter`]) this thread is inside.
///
/// # Panics
///
/// Panics outside a runtime; use [`Handle::spawn`] from other threads.
///
/// # Examples
///
/// ```
/// fiber::block_on(async {
///     let handle = fiber::spawn(async { 21 * 2 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::try_current() {
        Some(scheduler) => scheduler::Scheduler::spawn(scheduler, future),
        None => panic!(
            "`fiber::spawn` called outside a fiber runtime: call it from a task or inside \
             `block_on`, or spawn through a `Handle` (`Runtime::handle`)"
        ),
    }
}

/// Runs the blocking closure `f` on a thread of the current runtime's blocking pool, and
/// returns a handle to await its result.
///
/// Use it for work that would block a worker: file system calls, blocking libraries, long
/// computations. The pool starts threads on demand, up to
/// [`Builder::max_blocking_threads`] (512 by default); further jobs wait for a thread in the
/// order they were spawned. Threads with nothing to do exit after
/// [`Builder::thread_keep_alive`] (10 seconds by default). `f` runs inside the runtime's
/// context: [`spawn`] and [`Handle::current`] work there, and so does [`Handle::block_on`].
///
/// The handle is an ordinary [`JoinHandle`]: a panic in `f` resolves it to a [`JoinError`]
/// whose [`is_panic`](JoinError::is_panic) is true; [`abort`](JoinHandle::abort) before the
/// job starts cancels it (once started, it runs to the end). Dropping the runtime cancels
/// the jobs not yet started and waits for those running (see
/// [`Runtime::shutdown_timeout`]).
///
/// # Panics
///
/// Panics outside a runtime; use [`Handle::spawn_blocking`] from other threads.
///
/// # Examples
///
/// ```
/// fiber::block_on(async {
///     let job = fiber::spawn_blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         "slept"
///     });
///     assert_eq!(job.await.unwrap(), "slept");
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::try_current() {
        Some(scheduler) => blocking::spawn_blocking(&scheduler, f),
        None => panic!(
            "`fiber::spawn_blocking` called outside a fiber runtime: call it from a task or \
             inside `block_on`, or spawn through a `Handle` (`Handle::spawn_blocking`)"
        ),
    }
}

/// Runs `future` to completion on the calling thread, inside the context of fiber's global
/// runtime, so [`spawn`] works inside it.
///
/// The global runtime (one worker per available CPU) starts on first use and lives for the
/// rest of the process. The future itself is polled on this thread, never through a queue.
///
/// # Panics
///
/// Panics if called from inside a runtime (a worker thread or another `block_on`), or if
/// the global runtime's threads cannot be started.
///
/// # Examples
///
/// ```
/// let value = fiber::block_on(async {
///     let task = fiber::spawn(async { 1 });
///     task.await.unwrap() + 1
/// });
/// assert_eq!(value, 2);
/// ```
#[inline]
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    global().block_on(future)
}

/// The runtime this thread is in or, outside any, the global runtime: where I/O sources
/// created here register.
pub(crate) fn current_or_global() -> Handle {
    context::try_current()
        .map(|scheduler| Handle { scheduler })
        .unwrap_or_else(|| global().handle().clone())
}

/// The global runtime, started on first use (see [`block_on`]).
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime; in line, as `fiber::block_on` in a loop pays this on every call.
#[inline]
fn global() -> &'static Runtime {
    match GLOBAL.get() {
        Some(runtime) => runtime,
        None => start_global(),
    }
}

#[cold]
fn start_global() -> &'static Runtime {
    GLOBAL.get_or_init(|| {
        Runtime::new().unwrap_or_else(|error| {
            panic!("fiber could not start its global runtime's worker threads: {error}")
        })
    })
}
