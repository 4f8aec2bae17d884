//! Blocking work, the runtime's side: [`spawn_blocking`](crate::spawn_blocking) and
//! [`block_in_place`](crate::block_in_place). The pool of threads itself, and the lending of
//! a worker's core that `block_in_place` does, belong to the scheduler
//! (`scheduler::blocking`, `scheduler::lend`).

mod block_in_place;

pub use block_in_place::block_in_place;

use std::sync::Arc;

use crate::runtime::scheduler::blocking::pool::{Admission, SpawnError};
use crate::runtime::scheduler::blocking::spawn_job;
use crate::runtime::scheduler::Scheduler;
use crate::runtime::task::JoinHandle;

/// Runs `f` on a thread of `scheduler`'s blocking pool. Past the shutdown the job is
/// cancelled and its handle resolves to a cancellation error.
///
/// # Panics
///
/// Panics if the pool has no thread and cannot start one.
pub(crate) fn spawn_blocking<F, R>(scheduler: &Arc<Scheduler>, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match spawn_job(scheduler, f, Admission::Capped) {
        (join, Ok(()) | Err(SpawnError::Shutdown)) => join,
        (_, Err(SpawnError::NoThread(error))) => panic!(
            "fiber could not start a thread for its blocking pool: {error}; the job was \
             cancelled. Lower the load or raise the process's thread limit."
        ),
    }
}
