//! The thread-local runtime context: which runtime `spawn` and `Handle::current` find, and
//! whether a `block_on` (or a worker loop) is already running here.
//!
//! Which *worker* this thread is lives apart, in `scheduler::current`, scoped to the worker
//! loop: the guards here may be dropped in any order (or forgotten) by user code, and what
//! they put back is only a counted reference to a runtime, which cannot dangle.

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use super::scheduler::Scheduler;

struct Context {
    /// The runtime that `Handle::current` returns; null outside any runtime. While it is not
    /// null, either the context owns one strong count of it (from `Arc::into_raw`), so it
    /// stays valid even if a guard is forgotten or guards are dropped out of order, or it is
    /// `borrowed`.
    scheduler: Cell<*const Scheduler>,
    /// True while `scheduler` is borrowed from the `block_on` running on this thread, which
    /// holds the runtime alive for as long as it runs: entering and leaving a `block_on`
    /// then costs no reference counting, which is most of a `block_on` of a ready future.
    ///
    /// A borrowed pointer never outlives its `block_on`: only [`enter_block_on`] installs
    /// one, its guard (which user code never sees, so it is dropped in order) takes it out
    /// again, and whatever saves it to put back later ([`replace`]) takes a count of its own
    /// first.
    borrowed: Cell<bool>,
    /// True on worker threads and inside `block_on`: blocking here would stall a runtime.
    entered: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            scheduler: Cell::new(ptr::null()),
            borrowed: Cell::new(false),
            entered: Cell::new(false),
        }
    };
}

impl Context {
    /// Puts `scheduler` (owned, or borrowed if `borrowed`) in place and returns the previous
    /// one, owned: a borrowed previous pointer gets a count of its own, since whoever puts
    /// it back may do so after its `block_on` has returned.
    #[inline]
    fn swap(&self, scheduler: *const Scheduler, borrowed: bool) -> *const Scheduler {
        let previous = self.scheduler.replace(scheduler);
        if self.borrowed.replace(borrowed) {
            // SAFETY: a borrowed pointer points at a runtime that the `block_on` running on
            // this thread holds alive (see `borrowed`); it is still running, as its guard
            // has not taken the pointer out yet. It is that runtime's `Arc::as_ptr`, the
            // same pointer `Arc::into_raw` would give, so counting it here is sound.
            unsafe { Arc::increment_strong_count(previous) };
        }
        previous
    }
}

/// The scheduler of the runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Arc<Scheduler>> {
    let scheduler = CONTEXT.with(|context| context.scheduler.get());
    if scheduler.is_null() {
        return None;
    }
    // SAFETY: the context owns a strong count of a non-null pointer, or borrows it from a
    // running `block_on` that holds one, so the `Scheduler` is alive and taking one more
    // count for the caller is sound.
    Some(unsafe {
        Arc::increment_strong_count(scheduler);
        Arc::from_raw(scheduler)
    })
}

/// Whether this thread is inside a runtime where blocking would stall it (a worker, or a
/// `block_on`).
pub(crate) fn is_entered() -> bool {
    CONTEXT.with(|context| context.entered.get())
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

/// Restores the previous context when dropped.
#[must_use]
pub(crate) struct ContextGuard {
    /// The scheduler to put back; the guard owns its strong count until then.
    scheduler: *const Scheduler,
    entered: bool,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        restore(self.scheduler, self.entered);
    }
}

/// Puts back a saved context, `scheduler` owned, and gives up the count of the one it
/// replaces unless that one was borrowed.
#[inline]
fn restore(scheduler: *const Scheduler, entered: bool) {
    let (current, borrowed) = CONTEXT.with(|context| {
        context.entered.set(entered);
        (
            context.scheduler.replace(scheduler),
            context.borrowed.replace(false),
        )
    });
    if !borrowed {
        release(current);
    }
}

/// Gives up the strong count a context or guard owned.
#[inline]
fn release(scheduler: *const Scheduler) {
    if !scheduler.is_null() {
        // SAFETY: every non-null scheduler pointer that a guard holds, or that the context
        // holds and does not borrow, came from `Arc::into_raw` (or was counted by
        // `Context::swap`) and owns one strong count, which is released exactly once: here,
        // when it leaves the context.
        unsafe { Arc::decrement_strong_count(scheduler) };
    }
}

/// Installs a new context; the guard puts the old one back.
fn replace(scheduler: &Arc<Scheduler>, entered: bool) -> ContextGuard {
    let owned = Arc::into_raw(scheduler.clone());
    CONTEXT.with(|context| ContextGuard {
        scheduler: context.swap(owned, false),
        entered: context.entered.replace(entered),
    })
}

/// Makes `scheduler`'s runtime the current one (for `spawn`, `Handle::current`) until the
/// guard drops.
pub(crate) fn enter(scheduler: &Arc<Scheduler>) -> ContextGuard {
    replace(scheduler, is_entered())
}

/// The context of a `block_on`: restores the previous one when dropped, at the end of the
/// `block_on` that borrowed `'a` of its runtime.
#[must_use]
pub(crate) struct BlockOnGuard<'a> {
    /// The scheduler to put back; the guard owns its strong count until then.
    scheduler: *const Scheduler,
    /// The runtime lent to the context, which must stay alive while the guard does.
    _runtime: std::marker::PhantomData<&'a Arc<Scheduler>>,
}

impl Drop for BlockOnGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // `entered` was false: `enter_block_on` checked.
        if self.scheduler.is_null() {
            // The common case, a `block_on` outside any runtime, puts back a constant rather
            // than the saved pointer: the next `block_on`'s read of the context then does not
            // wait on this one's writes, which would make a loop of short `block_on`s (each
            // reading what the last one wrote back) a chain of dependent memory accesses.
            restore(ptr::null(), false);
        } else {
            restore_saved(self.scheduler);
        }
    }
}

/// [`restore`] of a saved runtime, kept out of line so that the compiler does not merge it
/// with the null case above (which would bring back the dependency that case avoids).
#[inline(never)]
fn restore_saved(scheduler: *const Scheduler) {
    restore(scheduler, false);
}

/// Enters a runtime for a `block_on`, panicking if this thread is already inside one. The
/// context borrows `scheduler` rather than counting it: the guard, which the `block_on`
/// holds until it returns, keeps the borrow alive.
#[inline]
#[track_caller]
pub(crate) fn enter_block_on(scheduler: &Arc<Scheduler>) -> BlockOnGuard<'_> {
    let borrowed = Arc::as_ptr(scheduler);
    CONTEXT.with(|context| {
        if context.entered.replace(true) {
            nested_block_on();
        }
        BlockOnGuard {
            scheduler: context.swap(borrowed, true),
            _runtime: std::marker::PhantomData,
        }
    })
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

/// Enters a runtime on one of its worker threads, for the whole life of the thread.
pub(crate) fn enter_worker(scheduler: &Arc<Scheduler>) -> ContextGuard {
    replace(scheduler, true)
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
