//! Tasks: one heap allocation per spawned future, driven by an atomic state word.
//!
//! # Design
//!
//! A task is a single allocation, a [`Cell`](cell::Cell), holding:
//!
//! - the [`Header`](cell::Header): the state word ([`state`]), a pointer to the typed
//!   operations (a vtable), the join waker, and the links of the owner list;
//! - the scheduler handle `S` (for the runtime, an `Arc` of its shared state);
//! - the stage: the future (and its spawn site) while it runs, then its
//!   `Result<Output, JoinError>`; the state word says which (see [`cell`] for the layout).
//!
//! There is no separate `Arc` or `Mutex` per task: wakers point straight at the header. The
//! memory comes from, and returns to, small caches of freed cells ([`memory`]).
//!
//! # References and who may touch what
//!
//! The reference count in the state word counts these kinds of references:
//!
//! - **The owner list** ([`list`]) holds one from spawn until the task completes. It touches
//!   only the header's links, under its shard lock. The completing thread (which holds
//!   `RUNNING`) unlinks the task just before setting `COMPLETE` and drops this reference;
//!   shutdown takes every remaining one to cancel the task, but only once no worker runs
//!   any more (the runtime joins its workers first). So a task that is neither running nor
//!   complete always has this reference, which is why a worker may release its own reference
//!   in the same step that makes the task idle.
//! - **`Notified`** ([`raw`]): a task in a run queue. Only the thread that takes it out of the
//!   queue and wins the `RUNNING` flag may touch the stage, to poll or cancel the future (a
//!   held `Notified` carries the flag already).
//! - **`JoinHandle`** ([`join`]): may read the stage only once `COMPLETE` is set, and may
//!   write the join waker only while `JOIN_WAKER` is clear. Taking the output leaves a
//!   marker in its place (`JoinError::taken`), so that neither a second poll nor the handle's
//!   drop nor the task's deallocation drops it again.
//! - **`Waker`** ([`waker`]): touches only the state word, and hands a new `Notified` to the
//!   scheduler when it moves an idle task to `NOTIFIED`.
//! - **An aborting thread** borrows the `JoinHandle`'s reference; if the task is idle it takes
//!   `RUNNING` itself and drops the future there.
//!
//! The stage is thus touched by exactly one thread at a time: the holder of `RUNNING` before
//! completion, the `JoinHandle` after it (or the completing worker, when no handle is left).
//!
//! # Life of a task
//!
//! `spawn` creates the task `NOTIFIED` with three references (list, queue, handle). A
//! worker pops the `Notified`, moves the state to `RUNNING`, and polls. On `Pending` it
//! moves back to idle, releasing the queue's reference, unless a wake arrived during the
//! poll: then the same reference goes back to the queue, so a task woken while running is
//! queued once, after the poll. A task that called fiber's `yield_now` on its worker (with
//! its own waker) skips the wake and both transitions: its worker queues it *held*, still
//! `RUNNING`, and polls it again when it comes up (see [`Notified`]). On `Ready` (or a
//! panic, or a cancellation) the future is dropped, the output stored, the task leaves the
//! owner list, `COMPLETE` is set and the join waker woken. The allocation is freed when the
//! last reference goes.

mod cell;
mod error;
mod harness;
mod join;
pub(crate) mod list;
mod memory;
mod raw;
pub(crate) mod state;
#[cfg(test)]
mod tests;
mod waker;

use std::future::Future;
use std::ptr::NonNull;

pub(crate) use cell::Header;
pub use error::JoinError;
pub use join::{AbortHandle, JoinHandle};
pub(crate) use raw::{Notified, Task};
pub(crate) use waker::is_waker_of;

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a woken or new task.
    fn schedule(&self, task: Notified);

    /// Queues a task that was woken while it was being polled; it should go behind the work
    /// already waiting, so a task that keeps waking itself cannot starve the others.
    fn yield_now(&self, task: Notified);

    /// Queues a task that was woken while it was being polled, as [`yield_now`] does, if
    /// this thread has a queue for this scheduler's tasks that outlives them (a worker's own
    /// queue); returns the task otherwise. The caller then uses `yield_now`.
    ///
    /// `this` is the scheduler stored inside the task itself, and `task` carries the only
    /// reference that the caller could count on: once the task is queued, another thread may
    /// run it to completion and free it, `*this` included. That is why this takes a raw
    /// pointer rather than `&self`.
    ///
    /// # Safety
    ///
    /// `this` points at the scheduler of `task`, which is alive until `task` is queued.
    /// Implementations read what they need from `*this` before queueing `task` and never
    /// touch `*this` afterwards.
    ///
    /// [`yield_now`]: Schedule::yield_now
    unsafe fn yield_local(this: NonNull<Self>, task: Notified) -> Option<Notified>
    where
        Self: Sized,
    {
        let _ = this;
        Some(task)
    }

    /// Called when a poll returned `Pending`: if the task asked this scheduler during the
    /// poll to be re-queued without giving up `RUNNING` (fiber's `yield_now` on one of its
    /// workers, see [`Notified::held`]), queues it so, as `yield_now` would, and returns
    /// true. Otherwise returns false and the caller makes the task idle as usual.
    ///
    /// # Safety
    ///
    /// The caller holds `RUNNING` and a reference of `task`, whose scheduler `this` is; both
    /// pass to the queue when this returns true. As for [`yield_local`], `*this` is not
    /// touched once the task is queued.
    ///
    /// [`yield_local`]: Schedule::yield_local
    unsafe fn requeue_held(this: NonNull<Self>, task: NonNull<Header>) -> bool
    where
        Self: Sized,
    {
        let _ = (this, task);
        false
    }

    /// Removes a completed task from the owner list, returning the list's reference.
    fn release(&self, task: NonNull<Header>) -> Option<Task>;
}

/// Allocates a task for `future`: the owner list's reference, the first `Notified`, and the
/// `JoinHandle`. The caller's location is recorded as the spawn site.
#[track_caller]
pub(crate) fn new_task<F, S>(future: F, scheduler: S) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let ptr = cell::Cell::allocate(future, scheduler);
    (
        Task::from_raw(ptr),
        Notified::from_raw(ptr),
        JoinHandle::from_raw(ptr),
    )
}
