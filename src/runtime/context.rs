//! The thread-local runtime context: which runtime `spawn` and `Handle::current` find, which
//! worker (if any) this thread is, and whether a `block_on` is already running here.

use std::cell::Cell;
use std::ptr;

use super::handle::Handle;
use super::scheduler::Shared;
use super::worker::WorkerCore;
use std::sync::Arc;

struct Context {
    /// The runtime whose handle `Handle::current` returns; null outside any runtime.
    handle: Cell<*const Shared>,
    /// This thread's worker, while it runs the worker loop.
    worker: Cell<*const WorkerCore>,
    /// True on worker threads and inside `block_on`: blocking here would stall a runtime.
    entered: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: Cell::new(ptr::null()),
            worker: Cell::new(ptr::null()),
            entered: Cell::new(false),
        }
    };
}

/// The handle of the runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Handle> {
    let shared = CONTEXT.with(|context| context.handle.get());
    if shared.is_null() {
        return None;
    }
    // SAFETY: the pointer was set from a live `Arc<Shared>` by a guard that keeps it alive
    // until the guard restores the previous value, so taking one more strong count is sound.
    let shared = unsafe {
        Arc::increment_strong_count(shared);
        Arc::from_raw(shared)
    };
    Some(Handle { shared })
}

/// Calls `f` with this thread's worker if it belongs to the runtime `shared`.
pub(crate) fn with_worker<R>(shared: &Shared, f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    let worker = CONTEXT.with(|context| context.worker.get());
    // SAFETY: the pointer is set by the worker loop to a core that outlives the loop, and
    // cleared before the core is dropped; only this thread reads it.
    let worker = unsafe { worker.as_ref() }.filter(|worker| ptr::eq(worker.shared(), shared));
    f(worker)
}

/// Restores the previous context when dropped.
#[must_use]
pub(crate) struct ContextGuard {
    handle: *const Shared,
    worker: *const WorkerCore,
    entered: bool,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        CONTEXT.with(|context| {
            context.handle.set(self.handle);
            context.worker.set(self.worker);
            context.entered.set(self.entered);
        });
    }
}

fn replace(handle: *const Shared, worker: *const WorkerCore, entered: bool) -> ContextGuard {
    CONTEXT.with(|context| ContextGuard {
        handle: context.handle.replace(handle),
        worker: context.worker.replace(worker),
        entered: context.entered.replace(entered),
    })
}

/// Makes `handle` the current runtime (for `spawn`, `Handle::current`) until the guard drops.
/// The caller keeps `handle` alive for as long as the guard lives.
pub(crate) fn enter_handle(handle: &Handle) -> ContextGuard {
    let (worker, entered) = CONTEXT.with(|context| (context.worker.get(), context.entered.get()));
    replace(Arc::as_ptr(&handle.shared), worker, entered)
}

/// Enters `handle` for a `block_on`, panicking if this thread is already inside a runtime.
#[track_caller]
pub(crate) fn enter_block_on(handle: &Handle) -> ContextGuard {
    let shared = Arc::as_ptr(&handle.shared);
    let guard = CONTEXT.with(|context| {
        if context.entered.get() {
            return None;
        }
        Some(ContextGuard {
            handle: context.handle.replace(shared),
            worker: context.worker.replace(ptr::null()),
            entered: context.entered.replace(true),
        })
    });
    match guard {
        Some(guard) => guard,
        None => panic!(
            "cannot call `block_on` from inside a fiber runtime (a worker thread or another \
             `block_on`): it would block the thread that drives other tasks. `.await` the \
             future instead, or `spawn` it and await the `JoinHandle`."
        ),
    }
}

/// Marks this thread as worker `core` of the runtime `handle` until the guard drops.
pub(crate) fn enter_worker(handle: &Handle, core: &WorkerCore) -> ContextGuard {
    replace(Arc::as_ptr(&handle.shared), core, true)
}
