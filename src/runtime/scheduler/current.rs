//! Which worker this thread is: set for exactly the span of a worker loop.
//!
//! Tasks reach their worker's queues through this (a spawn or a wake on a worker queues
//! locally). The pointer is set by [`CurrentWorker::enter`] when a worker loop starts and
//! cleared by its guard when the loop ends, before the core it points to is dropped; nothing
//! else writes it. So, unlike the runtime context (`runtime::context`), which guards dropped
//! in any order may restore, it can never be left pointing at a core that is gone: guards
//! dropped out of order panic instead of restoring a stale value.
//!
//! Beside it, the mark that says this thread must not block (a worker, or a `block_on`):
//! the worker loop sets it for its span here, on the lending thread as on the pool thread
//! that runs a lent core, and lending the core lifts it.

use std::cell::Cell;
use std::ptr;

use super::worker::WorkerCore;
use super::Scheduler;

thread_local! {
    static CURRENT: Cell<*const WorkerCore> = const { Cell::new(ptr::null()) };
    /// Why this thread must not block, if it must not: null if it may; [`worker_mark`] while
    /// it runs a worker loop with its core (and around a worker thread's hooks); otherwise
    /// the runtime whose `block_on` runs here, which `runtime::context` sets and clears
    /// around that `block_on` (and borrows from it). One word, so that a `block_on` checks
    /// and marks with one load and one store.
    static ENTERED: Cell<*const Scheduler> = const { Cell::new(ptr::null()) };
}

/// Stands in [`ENTERED`] on worker threads: an address no runtime has, never dereferenced.
#[inline]
pub(crate) fn worker_mark() -> *const Scheduler {
    static WORKER: u8 = 0;
    ptr::addr_of!(WORKER).cast()
}

/// What [`ENTERED`] holds.
#[inline]
pub(crate) fn entered() -> *const Scheduler {
    ENTERED.with(Cell::get)
}

/// Puts `entered` in [`ENTERED`], returning what was there.
#[inline]
pub(crate) fn replace_entered(entered: *const Scheduler) -> *const Scheduler {
    ENTERED.with(|cell| cell.replace(entered))
}

/// Marks this thread as a worker until dropped.
#[must_use = "the thread stops being a worker when the guard is dropped"]
pub(super) struct CurrentWorker {
    core: *const WorkerCore,
    previous: *const WorkerCore,
    previous_entered: *const Scheduler,
}

impl CurrentWorker {
    /// Makes `core` this thread's worker. `core` must outlive the guard, which the worker
    /// loop ensures by declaring the guard after the core.
    pub(super) fn enter(core: &WorkerCore) -> CurrentWorker {
        let core: *const WorkerCore = core;
        CurrentWorker {
            core,
            previous: CURRENT.with(|current| current.replace(core)),
            previous_entered: replace_entered(worker_mark()),
        }
    }
}

impl Drop for CurrentWorker {
    fn drop(&mut self) {
        let current = CURRENT.with(|current| current.replace(self.previous));
        replace_entered(self.previous_entered);
        // A mismatch means a guard outlived the one made after it; the pointer it would put
        // back may dangle, so stop rather than go on. (Null: the core is lent, see `detach`.)
        assert!(
            ptr::eq(current, self.core) || current.is_null(),
            "fiber's worker context was left out of order"
        );
    }
}

/// Forgets this thread's worker while its core is lent to another thread (see
/// `scheduler::lend`): nothing on this thread may reach it, so spawns and wakes from here on
/// go through the injector, as from a thread outside the workers.
pub(super) fn detach() {
    CURRENT.with(|current| current.set(ptr::null()));
    // And it may block now (which is what lending the core is for).
    replace_entered(ptr::null());
}

/// Makes `core` this thread's worker again once its lend is over. The caller is the worker
/// loop whose `CurrentWorker` guard named `core`, so the guard's check still holds.
pub(super) fn attach(core: &WorkerCore) {
    CURRENT.with(|current| current.set(core));
    replace_entered(worker_mark());
}

/// Calls `f` with this thread's worker if it is a worker of `scheduler`.
#[inline]
pub(crate) fn with_worker<R>(scheduler: &Scheduler, f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    // `try_with`: during thread-local destruction (a destructor that wakes a task), the slot
    // may be gone; such a thread is no longer running a worker loop anyway.
    let core = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer was set by `CurrentWorker::enter` to a core that outlives
    // its guard, and is cleared when the guard drops; only this thread reads or writes it.
    let core = unsafe { core.as_ref() }.filter(|core| ptr::eq(core.scheduler(), scheduler));
    f(core)
}

/// Calls `f` with this thread's worker, of whichever runtime.
#[inline]
pub(crate) fn with_any_worker<R>(f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    let core = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: as in `with_worker`.
    f(unsafe { core.as_ref() })
}

/// fiber's `yield_now`, polled on this thread with `waker`: whether the worker running here
/// will requeue the task being polled without a wake (see `WorkerCore::request_yield`).
#[inline]
pub(crate) fn request_yield(waker: &std::task::Waker) -> bool {
    with_any_worker(|worker| worker.is_some_and(|worker| worker.request_yield(waker)))
}
