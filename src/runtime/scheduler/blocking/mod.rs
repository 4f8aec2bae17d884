//! The blocking pool: threads for blocking work, owned by the scheduler so that
//! `block_in_place` can lend a worker's core to one of them (see `scheduler::lend`).
//!
//! - [`pool`] owns the threads and the queue of jobs not yet started;
//! - [`task`] turns a closure into a task of fiber's task machinery, so a job's handle is an
//!   ordinary `JoinHandle`.

pub(crate) mod pool;
mod task;

use std::sync::Arc;

use super::Scheduler;
use crate::runtime::task::{new_task, JoinHandle};
use pool::{Admission, Job, SpawnError};
use task::{BlockingSchedule, BlockingTask};

/// Queues `f` as a job of `scheduler`'s blocking pool; on an error, the job is already
/// cancelled (its handle resolves to a cancellation error).
pub(crate) fn spawn_job<F, R>(
    scheduler: &Arc<Scheduler>,
    f: F,
    admission: Admission,
) -> (JoinHandle<R>, Result<(), SpawnError>)
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (task, notified, join) = new_task(BlockingTask::new(f), BlockingSchedule);
    let started = scheduler
        .blocking
        .spawn(scheduler, Job::new(task, notified), admission);
    (join, started)
}
