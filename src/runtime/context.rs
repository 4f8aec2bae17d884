//! The thread-local runtime context: which runtime `spawn` and `Handle::current` find, which
//! worker (if any) this thread is, and whether a `block_on` is already running here.

use std::cell::Cell;
use std::ptr;
use std::task::Waker;

use super::handle::Handle;
use super::scheduler::lend::Lend;
use super::scheduler::worker::WorkerCore;
use super::scheduler::Shared;
use std::sync::Arc;

struct Context {
    /// The runtime whose handle `Handle::current` returns; null outside any runtime. While
    /// it is not null, the context owns one strong count of it (from `Arc::into_raw`), so it
    /// stays valid even if a guard is forgotten or guards are dropped out of order.
    handle: Cell<*const Shared>,
    /// This thread's worker, while it runs the worker loop.
    worker: Cell<*const WorkerCore>,
    /// True on worker threads and inside `block_on`: blocking here would stall a runtime.
    entered: Cell<bool>,
    /// The core this thread lent to a borrower during the poll in progress
    /// (`block_in_place`), for its worker loop to recall once the poll is over. When not
    /// null, it owns one strong count (from `Arc::into_raw`).
    lend: Cell<*const Lend>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: Cell::new(ptr::null()),
            worker: Cell::new(ptr::null()),
            entered: Cell::new(false),
            lend: Cell::new(ptr::null()),
        }
    };
}

/// The handle of the runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Handle> {
    let shared = CONTEXT.with(|context| context.handle.get());
    if shared.is_null() {
        return None;
    }
    // SAFETY: the context owns a strong count of a non-null `handle`, so the `Shared` is
    // alive and taking one more count for the returned handle is sound.
    let shared = unsafe {
        Arc::increment_strong_count(shared);
        Arc::from_raw(shared)
    };
    Some(Handle { shared })
}

/// Calls `f` with this thread's worker if it belongs to the runtime `shared`.
#[inline]
pub(crate) fn with_worker<R>(shared: &Shared, f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    let worker = CONTEXT.with(|context| context.worker.get());
    // SAFETY: the pointer is set by the worker loop to a core that outlives the loop, and
    // cleared before the core is dropped; only this thread reads it.
    let worker = unsafe { worker.as_ref() }.filter(|worker| ptr::eq(worker.shared(), shared));
    f(worker)
}

/// Calls `f` with this thread's worker, whichever runtime it belongs to.
pub(crate) fn with_current_worker<R>(f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    let worker = CONTEXT.with(|context| context.worker.get());
    // SAFETY: as in `with_worker`.
    f(unsafe { worker.as_ref() })
}

/// Forgets this thread's worker: its core is lent (see `scheduler::lend`), so nothing on
/// this thread may reach it. Code that spawns or wakes from here on goes through the
/// injector, as from a thread outside the workers.
pub(crate) fn detach_worker() {
    CONTEXT.with(|context| context.worker.set(ptr::null()));
}

/// Makes `core` this thread's worker again, after a lend of it ended (or never started).
pub(crate) fn attach_worker(core: &WorkerCore) {
    CONTEXT.with(|context| context.worker.set(core));
}

/// Records the lend this thread just made, for its worker loop to recall.
pub(crate) fn set_lend(lend: Arc<Lend>) {
    let previous = CONTEXT.with(|context| context.lend.replace(Arc::into_raw(lend)));
    debug_assert!(
        previous.is_null(),
        "a thread lends at most one core at a time"
    );
}

/// Whether this thread lent its core during the poll in progress: one thread-local load,
/// made by the worker loop after every poll.
#[inline]
pub(crate) fn has_lend() -> bool {
    !CONTEXT.with(|context| context.lend.get()).is_null()
}

/// Takes the lend this thread made, if any.
pub(crate) fn take_lend() -> Option<Arc<Lend>> {
    let lend = CONTEXT.with(|context| context.lend.replace(ptr::null()));
    if lend.is_null() {
        return None;
    }
    // SAFETY: a non-null `lend` came from `Arc::into_raw` in `set_lend` and owns one strong
    // count, which passes to the returned `Arc`; the slot is null now, so it is taken once.
    Some(unsafe { Arc::from_raw(lend) })
}

/// Lets this thread block (and call `block_on`) until the guard drops, for
/// `block_in_place` once the worker's core is handed over.
pub(crate) fn allow_blocking() -> AllowBlockingGuard {
    AllowBlockingGuard {
        entered: CONTEXT.with(|context| context.entered.replace(false)),
    }
}

/// Restores the `entered` flag that [`allow_blocking`] cleared.
#[must_use]
pub(crate) struct AllowBlockingGuard {
    entered: bool,
}

impl Drop for AllowBlockingGuard {
    fn drop(&mut self) {
        CONTEXT.with(|context| context.entered.set(self.entered));
    }
}

/// `yield_now` on this thread with `waker`: whether the worker running here will requeue
/// the task being polled without a wake (see `WorkerCore::request_yield`).
#[inline]
pub(crate) fn request_yield(waker: &Waker) -> bool {
    let worker = CONTEXT.with(|context| context.worker.get());
    // SAFETY: as in `with_worker`.
    unsafe { worker.as_ref() }.is_some_and(|worker| worker.request_yield(waker))
}

/// Restores the previous context when dropped.
#[must_use]
pub(crate) struct ContextGuard {
    /// The handle to put back; the guard owns its strong count until then.
    handle: *const Shared,
    worker: *const WorkerCore,
    entered: bool,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let current = CONTEXT.with(|context| {
            context.worker.set(self.worker);
            context.entered.set(self.entered);
            context.handle.replace(self.handle)
        });
        release(current);
    }
}

/// Gives up the strong count a context or guard owned.
fn release(handle: *const Shared) {
    if !handle.is_null() {
        // SAFETY: every non-null handle pointer in the context or a guard came from
        // `Arc::into_raw` and owns one strong count, which is released exactly once: here,
        // when it leaves the context.
        unsafe { Arc::decrement_strong_count(handle) };
    }
}

/// Installs a new context; the guard puts the old one back.
fn replace(handle: &Handle, worker: *const WorkerCore, entered: bool) -> ContextGuard {
    let owned = Arc::into_raw(handle.shared.clone());
    CONTEXT.with(|context| ContextGuard {
        handle: context.handle.replace(owned),
        worker: context.worker.replace(worker),
        entered: context.entered.replace(entered),
    })
}

/// Makes `handle` the current runtime (for `spawn`, `Handle::current`) until the guard drops.
pub(crate) fn enter_handle(handle: &Handle) -> ContextGuard {
    let (worker, entered) = CONTEXT.with(|context| (context.worker.get(), context.entered.get()));
    replace(handle, worker, entered)
}

/// Enters `handle` for a `block_on`, panicking if this thread is already inside a runtime.
#[track_caller]
pub(crate) fn enter_block_on(handle: &Handle) -> ContextGuard {
    if CONTEXT.with(|context| context.entered.get()) {
        panic!(
            "cannot call `block_on` from inside a fiber runtime (a worker thread or another \
             `block_on`): it would block the thread that drives other tasks. `.await` the \
             future instead, or `spawn` it and await the `JoinHandle`."
        );
    }
    replace(handle, ptr::null(), true)
}

/// Marks this thread as worker `core` of the runtime `handle` until the guard drops.
pub(crate) fn enter_worker(handle: &Handle, core: &WorkerCore) -> ContextGuard {
    replace(handle, core, true)
}
