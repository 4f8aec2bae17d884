//! Blocking work: the pool of threads behind [`spawn_blocking`](crate::spawn_blocking), and
//! [`block_in_place`](crate::block_in_place), which hands a worker's queued tasks to another
//! thread while the calling task blocks.
//!
//! - [`pool`] owns the threads and the queue of jobs not yet started;
//! - [`task`] turns a closure into a task of fiber's task machinery, so a job's handle is an
//!   ordinary [`JoinHandle`];
//! - [`block_in_place`](mod@block_in_place) lends the worker's core to a pool thread (the protocol is in the
//!   scheduler's `lend` module).

mod block_in_place;
pub(crate) mod pool;
mod task;

pub use block_in_place::block_in_place;

use crate::runtime::handle::Handle;
use crate::runtime::task::{new_task, JoinHandle};
use pool::{Admission, Job, SpawnError};
use task::{BlockingSchedule, BlockingTask};

/// Runs `f` on a thread of `handle`'s blocking pool. Past the shutdown the job is
/// cancelled and its handle resolves to a cancellation error.
///
/// # Panics
///
/// Panics if the pool has no thread and cannot start one.
pub(crate) fn spawn_blocking<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match spawn_job(handle, f, Admission::Capped) {
        (join, Ok(()) | Err(SpawnError::Shutdown)) => join,
        (_, Err(SpawnError::NoThread(error))) => panic!(
            "fiber could not start a thread for its blocking pool: {error}; the job was \
             cancelled. Lower the load or raise the process's thread limit."
        ),
    }
}

/// Queues `f` as a job of `handle`'s blocking pool; on an error, the job is already
/// cancelled (its handle resolves to a cancellation error).
pub(crate) fn spawn_job<F, R>(
    handle: &Handle,
    f: F,
    admission: Admission,
) -> (JoinHandle<R>, Result<(), SpawnError>)
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (task, notified, join) = new_task(BlockingTask::new(f), BlockingSchedule);
    let started = handle
        .shared
        .blocking
        .spawn(handle, Job::new(task, notified), admission);
    (join, started)
}
