//! Tasks: one heap allocation per spawned future, driven by an atomic state word.
//!
//! # Design
//!
//! A task is a single allocation, a [`Cell`](cell::Cell), holding:
//!
//! - the [`Header`](cell::Header): the state word ([`state`]), the task's slot in the owner
//!   list, a pointer to the typed operations (a vtable), and the (boxed) join waker;
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
//!   only the header's slot index, under its shard lock. The completing thread (which holds
//!   `RUNNING`) takes the task out just before setting `COMPLETE` and drops this reference;
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
//!   `RUNNING` itself and drops the future there (for a `LocalSet`'s task on another
//!   thread, it hands the task, `RUNNING` and all, to the owner's queue instead).
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
//!
//! # Local tasks
//!
//! A `LocalSet`'s tasks hold futures that are not `Send`. They use the same cell and the
//! same transitions; their scheduler keeps the future on the set's thread (see
//! [`new_local_task`] for the argument).

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
///
/// # Requeueing on the worker (the yield path)
///
/// A task that is still runnable when its poll returns goes back to the queue of the worker
/// that polled it, by one of two operations, both called by the harness right after a
/// `Pending` poll, on the polling thread:
///
/// - [`requeue_yielded`](Schedule::requeue_yielded): the task called fiber's `yield_now`
///   with its own waker on a worker (`scheduler::current::request_yield`). No wake happened;
///   the task is queued *held*, still `RUNNING`, skipping the two state transitions.
/// - [`requeue_woken`](Schedule::requeue_woken): the task was woken during its poll (the
///   transition to idle said `Requeue`); it is queued behind the work already waiting.
///
/// Both share one invariant: once the task is queued, another worker may steal it, run it to
/// completion and free it (the scheduler handle `*this` inside it included), so they take a
/// raw pointer to the handle, read what they need from it first, and never touch it or the
/// task after queueing. Both fall back (return `false` / the task) off the task's own workers.
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
    unsafe fn requeue_woken(this: NonNull<Self>, task: Notified) -> Option<Notified>
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
    /// pass to the queue when this returns true. As for [`requeue_woken`], `*this` is not
    /// touched once the task is queued.
    ///
    /// [`requeue_woken`]: Schedule::requeue_woken
    unsafe fn requeue_yielded(this: NonNull<Self>, task: NonNull<Header>) -> bool
    where
        Self: Sized,
    {
        let _ = (this, task);
        false
    }

    /// Removes a completed task from the owner list, returning the list's reference.
    fn release(&self, task: NonNull<Header>) -> Option<Task>;

    /// Whether the calling thread may drop the task's future. Always for `Send` futures;
    /// for a `LocalSet`'s tasks only on the set's own thread. Where it may not, a
    /// cancellation that would drop an idle task's future on the spot (an `abort` from
    /// another thread) queues the task instead, still holding `RUNNING`, so that its owner
    /// drops the future when it runs the queued entry.
    fn may_drop_future_here(&self) -> bool {
        true
    }
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
    // SAFETY: the contract of `new_local_task` keeps a future and an output that are not
    // `Send` on one thread; these are `Send`, so any thread may poll or drop them, and any
    // scheduler will do.
    unsafe { new_local_task(future, scheduler) }
}

/// [`new_task`] for a future that need not be `Send`, for a `LocalSet`.
///
/// `Notified`, `Task` and `JoinHandle` are `Send` (the handle if the output is), so the
/// references to such a task do travel; what keeps the future on its thread is that only
/// the owner thread ever touches the stage while the future is in it:
///
/// - every `Notified` is run only by the owner (the scheduler queues them for it, and only
///   the owner takes them out);
/// - an abort from another thread does not drop an idle future there: the scheduler's
///   [`may_drop_future_here`](Schedule::may_drop_future_here) says no, and the task goes
///   to the owner's queue instead (see `harness::cancel`);
/// - the owner list's reference (the `Task`) is cancelled by the owner, and is released
///   only on completion, so no release on another thread (a waker's, a `Notified`'s) can
///   free a task whose future is still alive;
/// - the output goes to the `JoinHandle`, which is `Send` only if the output is, or is
///   dropped on completion, by the owner.
///
/// A waker of such a task may be woken or dropped on any thread: it only touches the state
/// word and hands a `Notified` to the scheduler, which is `Send + Sync`.
///
/// # Safety
///
/// Unless `F` and `F::Output` are `Send`: `scheduler` only runs the `Notified`s it is given
/// (and drops held ones, whose drop
/// cancels the task) on one thread, the owner; its `may_drop_future_here` is false on every
/// other thread; and the owner cancels every task still in its owner list (or runs it to
/// completion) before it goes away, so that no future outlives the owner's presence.
#[track_caller]
pub(crate) unsafe fn new_local_task<F, S>(
    future: F,
    scheduler: S,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let ptr = cell::Cell::allocate(future, scheduler);
    (
        Task::from_raw(ptr),
        Notified::from_raw(ptr),
        JoinHandle::from_raw(ptr),
    )
}
