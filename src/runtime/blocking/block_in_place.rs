//! [`block_in_place`]: block a task's thread without stalling its worker's other tasks.

use crate::runtime::scheduler::lend;

/// Runs the blocking closure `f` on the current thread; if this is a worker thread, its
/// queued tasks are handed to another thread first, so they keep running while `f` blocks.
///
/// Unlike [`spawn_blocking`](crate::spawn_blocking), `f` need not be `Send` or `'static`: it
/// may borrow from the task. On a worker, a thread of the runtime's blocking pool takes over
/// the worker (its queued tasks, and the new ones that reach it) until the calling task's
/// current poll is over; this works with a single worker too. Inside `f`, the runtime's
/// context stays current, and [`Handle::block_on`](crate::Handle::block_on) may be used.
///
/// Anywhere else (a blocking-pool thread, inside `block_on`, outside any runtime) `f` just
/// runs.
///
/// # Shutdown
///
/// Dropping the runtime waits for `f` to return, and for the rest of the task's poll, as it
/// waits for blocking jobs. [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout)
/// and [`Runtime::shutdown_background`](crate::Runtime::shutdown_background) wait at most
/// their timeout: then this thread is left behind. When `f` returns, the task's poll goes
/// on to its next `.await` that waits (the task was cancelled meanwhile: it is not polled
/// again, and its future is dropped on this thread), and the thread exits.
///
/// # Panics
///
/// A panic in `f` propagates to the caller; the worker's tasks are not lost.
///
/// # Examples
///
/// ```
/// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
/// let (sender, receiver) = std::sync::mpsc::channel();
/// let answer = rt.block_on(rt.spawn(async move {
///     // Queued on this task's worker: it runs while the receive below blocks.
///     let send = fiber::spawn(async move { sender.send(42).unwrap() });
///     let value = fiber::block_in_place(|| receiver.recv().unwrap());
///     send.await.unwrap();
///     value
/// }));
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    let _may_block = lend::lend_for_blocking();
    f()
}
