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
//! - [`block_on`] drives a future on the calling thread; [`context`] tells code which runtime
//!   it runs in.

mod block_on;
mod builder;
mod context;
pub(crate) mod coop;
mod handle;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;
mod scheduler;
pub(crate) mod task;
mod yield_now;

use std::future::Future;
use std::sync::OnceLock;

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
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    global().block_on(future)
}

fn global() -> &'static Runtime {
    static GLOBAL: OnceLock<Runtime> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        Runtime::new().unwrap_or_else(|error| {
            panic!("fiber could not start its global runtime's worker threads: {error}")
        })
    })
}
