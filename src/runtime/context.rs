//! The thread-local runtime context: which runtime `spawn` and `Handle::current` find, and
//! whether a `block_on` (or a worker loop) is already running here.
//!
//! Which *worker* this thread is lives apart, in `scheduler::current`, scoped to the worker
//! loop: the guards here may be dropped in any order (or forgotten) by user code, and what
//! they put back is only a counted reference to a runtime, which cannot dangle.
//!
//! The context has two parts, so that a `block_on` (a loop of which is a common pattern)
//! enters and leaves with one store each way and no reference counting: `entered`, the
//! runtime a `block_on` borrows (or a mark for a worker), and `scheduler`, a runtime entered
//! with [`enter`] (or a worker's), which takes precedence over the borrowed one.

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use super::scheduler::Scheduler;
use crate::time::Clock;

struct Context {
    /// The runtime that `Handle::current` returns, if not null; otherwise `entered`'s, if it
    /// is a `block_on`'s. The context owns one strong count of it (from `Arc::into_raw`), so
    /// it stays valid even if a guard is forgotten or guards are dropped out of order.
    scheduler: Cell<*const Scheduler>,
    /// What runs on this thread such that blocking would stall a runtime: null for nothing;
    /// [`worker_mark`] on a worker thread; otherwise the runtime of the `block_on` running
    /// here, borrowed from it (the `block_on` holds the runtime alive for as long as it
    /// runs). Only [`enter_block_on`] installs a borrowed pointer, and its guard (which user
    /// code never sees, so it is dropped in order) takes it out again; whatever keeps the
    /// pointer for later ([`try_current`]) takes a count of its own.
    entered: Cell<*const Scheduler>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            scheduler: Cell::new(ptr::null()),
            entered: Cell::new(ptr::null()),
        }
    };
}

/// Stands in `entered` on worker threads: an address no runtime has, never dereferenced.
fn worker_mark() -> *const Scheduler {
    static WORKER: u8 = 0;
    ptr::addr_of!(WORKER).cast()
}

/// The scheduler of the runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Arc<Scheduler>> {
    let scheduler = CONTEXT.with(|context| {
        let owned = context.scheduler.get();
        if owned.is_null() {
            block_on_runtime(context)
        } else {
            owned
        }
    });
    if scheduler.is_null() {
        return None;
    }
    // SAFETY: the context owns a strong count of `scheduler`, or borrows it from the
    // `block_on` running on this thread, which holds one; either way the `Scheduler` is
    // alive, and taking one more count for the caller is sound.
    Some(unsafe {
        Arc::increment_strong_count(scheduler);
        Arc::from_raw(scheduler)
    })
}

/// The runtime of the `block_on` running on this thread, or null.
#[inline]
fn block_on_runtime(context: &Context) -> *const Scheduler {
    let entered = context.entered.get();
    if entered == worker_mark() {
        ptr::null()
    } else {
        entered
    }
}

/// Whether a `block_on` runs on this thread (its own parker may take a wake as a plain flag).
#[inline]
pub(crate) fn in_block_on() -> bool {
    CONTEXT.with(|context| !block_on_runtime(context).is_null())
}

/// The clock of the runtime whose `block_on` runs on this thread, or null: for `time`, to
/// tell whether the thread that pauses a clock is one of that clock's `block_on` threads.
pub(crate) fn block_on_clock() -> *const Clock {
    let scheduler = CONTEXT.with(block_on_runtime);
    if scheduler.is_null() {
        return ptr::null();
    }
    // SAFETY: a non-null `block_on_runtime` is the runtime of the `block_on` running on this
    // thread, alive until that `block_on` returns; it has not, as this runs on its thread.
    let clock: &Clock = unsafe { (*scheduler).clock() };
    clock
}

/// Lets this thread block (and call `block_on`) until the guard drops, for
/// `block_in_place` once the worker's core is handed over.
pub(crate) fn allow_blocking() -> AllowBlockingGuard {
    AllowBlockingGuard {
        entered: CONTEXT.with(|context| context.entered.replace(ptr::null())),
    }
}

/// Restores the `entered` mark that [`allow_blocking`] cleared.
#[must_use]
pub(crate) struct AllowBlockingGuard {
    entered: *const Scheduler,
}

impl Drop for AllowBlockingGuard {
    fn drop(&mut self) {
        CONTEXT.with(|context| context.entered.set(self.entered));
    }
}

/// Restores the previous runtime when dropped.
#[must_use]
pub(crate) struct ContextGuard {
    /// The scheduler to put back; the guard owns its strong count until then.
    scheduler: *const Scheduler,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        restore(self.scheduler);
    }
}

/// Puts back a saved runtime, owned, and gives up the count of the one it replaces.
fn restore(scheduler: *const Scheduler) {
    let current = CONTEXT.with(|context| context.scheduler.replace(scheduler));
    if !current.is_null() {
        // SAFETY: every non-null pointer in `scheduler` came from `Arc::into_raw` and owns
        // one strong count, released exactly once: here, when it leaves the context.
        unsafe { Arc::decrement_strong_count(current) };
    }
}

/// Makes `scheduler`'s runtime the current one (for `spawn`, `Handle::current`) until the
/// guard drops.
pub(crate) fn enter(scheduler: &Arc<Scheduler>) -> ContextGuard {
    let owned = Arc::into_raw(scheduler.clone());
    ContextGuard {
        scheduler: CONTEXT.with(|context| context.scheduler.replace(owned)),
    }
}

/// The context of a worker thread: its runtime, and the mark that forbids `block_on`.
#[must_use]
pub(crate) struct WorkerGuard {
    _runtime: ContextGuard,
    entered: *const Scheduler,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        CONTEXT.with(|context| context.entered.set(self.entered));
    }
}

/// Enters a runtime on one of its worker threads, for the whole life of the thread.
pub(crate) fn enter_worker(scheduler: &Arc<Scheduler>) -> WorkerGuard {
    WorkerGuard {
        _runtime: enter(scheduler),
        entered: CONTEXT.with(|context| context.entered.replace(worker_mark())),
    }
}

/// The context of a `block_on`: when dropped, at the end of the `block_on` that borrowed
/// `'a` of its runtime, clears the borrowed runtime and puts back the one current before.
#[must_use]
pub(crate) struct BlockOnGuard<'a> {
    /// The runtime entered before the `block_on`, if any, to put back; the guard owns its
    /// strong count until then.
    scheduler: *const Scheduler,
    /// The runtime lent to the context, which must stay alive while the guard does.
    _runtime: std::marker::PhantomData<&'a Arc<Scheduler>>,
}

impl Drop for BlockOnGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        CONTEXT.with(|context| {
            // A constant store, not the value read at entry: the next `block_on`'s read of
            // the mark then does not wait on this one's, which would make a loop of short
            // `block_on`s a chain of dependent memory accesses.
            context.entered.set(ptr::null());
            // The context as the `block_on` found it, even if a guard made inside was
            // forgotten or outlives it.
            if context.scheduler.get() != self.scheduler {
                restore_saved(self.scheduler);
            }
        });
    }
}

/// Puts back the runtime current before a `block_on`, in place of one entered inside it:
/// rare, so kept out of line.
#[cold]
#[inline(never)]
fn restore_saved(scheduler: *const Scheduler) {
    restore(scheduler);
}

/// Enters a runtime for a `block_on`, panicking if this thread is already inside one or is
/// a worker. The context borrows `scheduler` rather than counting it: the guard, which the
/// `block_on` holds until it returns, keeps the borrow alive. A runtime entered before (with
/// [`enter`]) steps aside until the guard drops, so that `spawn` finds this one.
#[inline]
#[track_caller]
pub(crate) fn enter_block_on(scheduler: &Arc<Scheduler>) -> BlockOnGuard<'_> {
    let borrowed = Arc::as_ptr(scheduler);
    let saved = CONTEXT.with(|context| {
        if !context.entered.get().is_null() {
            nested_block_on();
        }
        context.entered.set(borrowed);
        let saved = context.scheduler.get();
        if !saved.is_null() {
            context.scheduler.set(ptr::null());
        }
        saved
    });
    BlockOnGuard {
        scheduler: saved,
        _runtime: std::marker::PhantomData,
    }
}

#[cold]
#[track_caller]
fn nested_block_on() -> ! {
    panic!(
        "cannot call `block_on` from inside a fiber runtime (a worker thread or another \
         `block_on`): it would block the thread that drives other tasks. `.await` the \
         future instead, or `spawn` it and await the `JoinHandle`."
    );
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc, OnceLock};

    use crate::{Builder, EnterGuard, Runtime};

    static OTHER_RUNTIME: OnceLock<Runtime> = OnceLock::new();

    /// Spawns onto the current runtime when the thread's locals are destroyed.
    struct SpawnOnExit(Arc<AtomicBool>);

    impl Drop for SpawnOnExit {
        fn drop(&mut self) {
            let dropped = SetOnDrop(self.0.clone());
            drop(crate::spawn(async move {
                let _dropped = dropped;
            }));
        }
    }

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    thread_local! {
        static SPAWN_ON_EXIT: RefCell<Option<SpawnOnExit>> = const { RefCell::new(None) };
        static KEPT_GUARD: RefCell<Option<EnterGuard<'static>>> = const { RefCell::new(None) };
    }

    /// A guard of another runtime (kept in a `static`) stored in a worker's thread-local puts
    /// its saved context back while the thread's locals are destroyed, after the worker loop
    /// ended; a later destructor then spawns. The worker itself must not be reachable any
    /// more (it used to be restored by the guard, pointing at a dropped core): the spawn goes
    /// through the injector and the shutdown cancels it. Also run under Miri.
    #[test]
    fn whole_runtime_context_restored_during_thread_exit_never_points_at_a_dead_worker() {
        let other = OTHER_RUNTIME.get_or_init(|| Builder::new().worker_threads(1).build().unwrap());
        let rt = Builder::new().worker_threads(1).build().unwrap();
        let spawned_future_dropped = Arc::new(AtomicBool::new(false));
        let flag = spawned_future_dropped.clone();
        let (done, stored) = mpsc::channel();
        drop(rt.spawn(async move {
            // Registered first, so destroyed last (thread-local destructors run in reverse).
            SPAWN_ON_EXIT.with(|slot| *slot.borrow_mut() = Some(SpawnOnExit(flag)));
            KEPT_GUARD.with(|slot| *slot.borrow_mut() = Some(other.enter()));
            done.send(()).unwrap();
        }));
        stored.recv().unwrap();
        drop(rt);
        assert!(
            spawned_future_dropped.load(Ordering::SeqCst),
            "the task spawned during thread exit was neither run nor cancelled"
        );
    }
}
