//! The thread-local runtime context: which runtime `spawn` and `Handle::current` find.
//!
//! Which *worker* this thread is lives apart, in `scheduler::current`, scoped to the worker
//! loop: the guards here may be dropped in any order (or forgotten) by user code, and what
//! they put back is only a counted reference to a runtime, which cannot dangle.
//!
//! The runtime of a `block_on` is not counted either: `block_on` lends it to the thread
//! through the mark that says the thread must not block (`scheduler::current`'s), which it
//! sets on entry and clears on its way out, so that a `block_on` (a loop of which is a
//! common pattern) enters and leaves with one store each way. A runtime entered with
//! [`enter`] (or a worker's) takes precedence over it, and one entered before the `block_on`
//! steps aside until it returns.

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use super::scheduler::{current, Scheduler};
use crate::time::Clock;

thread_local! {
    /// The runtime that `Handle::current` returns, if not null; otherwise that of the
    /// `block_on` running here, if any. The context owns one strong count of it (from
    /// `Arc::into_raw`), so it stays valid even if a guard is forgotten or guards are dropped
    /// out of order.
    static SCHEDULER: Cell<*const Scheduler> = const { Cell::new(ptr::null()) };
}

/// The scheduler of the runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Arc<Scheduler>> {
    let mut scheduler = SCHEDULER.with(Cell::get);
    if scheduler.is_null() {
        scheduler = block_on_runtime();
        if scheduler.is_null() {
            return None;
        }
    }
    // SAFETY: the context owns a strong count of `scheduler`, or it is the runtime of the
    // `block_on` running on this thread, which holds one; either way the `Scheduler` is
    // alive, and taking one more count for the caller is sound.
    Some(unsafe {
        Arc::increment_strong_count(scheduler);
        Arc::from_raw(scheduler)
    })
}

/// The runtime of the `block_on` running on this thread, or null. Only `enter_block_on`
/// puts a runtime in the mark, and its guard (which user code never sees, so it is dropped in
/// order) takes it out again: the pointer is valid for as long as it is there.
#[inline]
fn block_on_runtime() -> *const Scheduler {
    let entered = current::entered();
    if entered == current::worker_mark() {
        ptr::null()
    } else {
        entered
    }
}

/// Whether a `block_on` runs on this thread (its own parker may take a wake as a plain flag).
#[inline]
pub(crate) fn in_block_on() -> bool {
    !block_on_runtime().is_null()
}

/// The clock of the runtime whose `block_on` runs on this thread, or null: for `time`, to
/// tell whether the thread that pauses a clock is one of that clock's `block_on` threads.
pub(crate) fn block_on_clock() -> *const Clock {
    let scheduler = block_on_runtime();
    if scheduler.is_null() {
        return ptr::null();
    }
    // SAFETY: a non-null `block_on_runtime` is the runtime of the `block_on` running on this
    // thread, alive until that `block_on` returns; it has not, as this runs on its thread.
    let clock: &Clock = unsafe { (*scheduler).clock() };
    clock
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
    let current = SCHEDULER.with(|cell| cell.replace(scheduler));
    if !current.is_null() {
        // SAFETY: every non-null pointer in `SCHEDULER` came from `Arc::into_raw` and owns
        // one strong count, released exactly once: here, when it leaves the context.
        unsafe { Arc::decrement_strong_count(current) };
    }
}

/// Makes `scheduler`'s runtime the current one (for `spawn`, `Handle::current`) until the
/// guard drops.
pub(crate) fn enter(scheduler: &Arc<Scheduler>) -> ContextGuard {
    let owned = Arc::into_raw(scheduler.clone());
    ContextGuard {
        scheduler: SCHEDULER.with(|cell| cell.replace(owned)),
    }
}

/// The context of a worker thread, hooks included: its runtime, and the mark that forbids
/// blocking (which the worker loop sets again for its own span).
#[must_use]
pub(crate) struct WorkerGuard {
    _runtime: ContextGuard,
    entered: *const Scheduler,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        current::replace_entered(self.entered);
    }
}

/// Enters a runtime on one of its worker threads, for the whole life of the thread.
pub(crate) fn enter_worker(scheduler: &Arc<Scheduler>) -> WorkerGuard {
    WorkerGuard {
        _runtime: enter(scheduler),
        entered: current::replace_entered(current::worker_mark()),
    }
}

/// The context of a `block_on`: when dropped, at the end of the `block_on` that borrowed
/// `'a` of its runtime, clears the mark and puts back the runtime current before.
#[must_use]
pub(crate) struct BlockOnGuard<'a> {
    /// The runtime entered before the `block_on`, if any, to put back; the guard owns its
    /// strong count until then.
    scheduler: *const Scheduler,
    /// The runtime lent to the mark, which must stay alive while the guard does.
    _runtime: std::marker::PhantomData<&'a Arc<Scheduler>>,
}

impl Drop for BlockOnGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // A constant store, not the value read at entry: the next `block_on`'s read of the
        // mark then does not wait on this one's, which would make a loop of short
        // `block_on`s a chain of dependent memory accesses.
        current::replace_entered(ptr::null());
        // The context as the `block_on` found it, even if a guard made inside was forgotten
        // or outlives it. (Not a comparison of the two: a guard dropped out of order may
        // have put back the saved runtime with a count of its own.)
        if !(SCHEDULER.with(Cell::get).is_null() && self.scheduler.is_null()) {
            restore_saved(self.scheduler);
        }
    }
}

/// Puts back the runtime current before a `block_on`, in place of one entered inside it:
/// rare, so kept out of line.
#[cold]
#[inline(never)]
fn restore_saved(scheduler: *const Scheduler) {
    restore(scheduler);
}

/// Enters a runtime for a `block_on`, panicking if this thread must not block (a worker, or
/// inside another `block_on`). The mark borrows `scheduler` rather than counting it: the
/// guard, which the `block_on` holds until it returns, keeps the borrow alive. A runtime
/// entered before (with [`enter`]) steps aside until the guard drops, so that `spawn` finds
/// this one.
#[inline]
#[track_caller]
pub(crate) fn enter_block_on(scheduler: &Arc<Scheduler>) -> BlockOnGuard<'_> {
    if !current::entered().is_null() {
        nested_block_on();
    }
    current::replace_entered(Arc::as_ptr(scheduler));
    let saved = SCHEDULER.with(Cell::get);
    if !saved.is_null() {
        SCHEDULER.with(|cell| cell.set(ptr::null()));
    }
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

    /// Guards of one runtime dropped out of order inside a `block_on` (so that one puts back
    /// the very runtime the `block_on` saved, with a count of its own), and one forgotten
    /// there: once every guard is gone, the context holds no count of that runtime.
    #[test]
    fn guards_dropped_out_of_order_or_forgotten_inside_block_on_leak_no_count() {
        let rt = Builder::new().worker_threads(1).build().unwrap();
        let other = Builder::new().worker_threads(1).build().unwrap();
        // Once a task has run, the worker thread holds its counts, for good.
        other.block_on(other.spawn(async {})).unwrap();
        let counts = || Arc::strong_count(&other.handle().scheduler);
        let before = counts();

        let outer = other.enter();
        let inner = other.enter();
        rt.block_on(async move { drop(inner) });
        drop(outer);
        assert_eq!(
            counts(),
            before,
            "a guard dropped out of order leaked a count"
        );

        let outer = other.enter();
        rt.block_on(async { std::mem::forget(other.enter()) });
        drop(outer);
        assert_eq!(counts(), before, "a guard forgotten inside leaked a count");
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
