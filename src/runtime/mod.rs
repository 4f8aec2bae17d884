//! The runtime: worker threads, tasks, the thread-local context, and time.
//!
//! - [`builder`] and [`runtime`] start and stop the workers; [`handle`] reaches them from
//!   anywhere.
//! - [`scheduler`] is where woken tasks go (the queues and the parking protocol);
//!   [`worker`] is the loop each worker thread runs.
//! - [`task`] is the task allocation and its state machine.
//! - [`park`] drives `block_on` on the calling thread; [`context`] tells code which runtime
//!   (and which worker) it runs on.

mod block_on;
mod builder;
mod context;
mod handle;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;
mod scheduler;
pub(crate) mod task;
mod yield_now;

use std::future::Future;
use std::sync::{Arc, OnceLock};

pub use builder::Builder;
pub use handle::{Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;
pub use runtime::{EnterGuard, Runtime};
pub use task::{AbortHandle, JoinError, JoinHandle};
pub use yield_now::{yield_now, YieldNow};

/// A thread start or stop hook.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync + 'static>;

#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_thread_start: Option<Hook>,
    pub(crate) on_thread_stop: Option<Hook>,
}

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
        Some(handle) => handle.spawn_owned(future),
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

/// The runtime this thread is in or, outside any, the global runtime: where I/O sources
/// created here register.
pub(crate) fn current_or_global() -> Handle {
    context::try_current().unwrap_or_else(|| global().handle().clone())
}

fn global() -> &'static Runtime {
    static GLOBAL: OnceLock<Runtime> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        Runtime::new().unwrap_or_else(|error| {
            panic!("fiber could not start its global runtime's worker threads: {error}")
        })
    })
}
