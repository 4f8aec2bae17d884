//! The parker of a `block_on` thread, and the waker that wakes it.
//!
//! Parkers are never freed: a thread takes one from a global pool when it first blocks, and
//! gives it back when it exits, for the next thread to use. That makes the waker a plain
//! pointer: cloning and dropping it count nothing, where a reference-counted waker pays an
//! atomic increment and decrement every time a combinator stores a fresh clone (which
//! `futures`' `AtomicWaker` does after every wake). A waker that outlives its thread may
//! wake the parker's next owner, which then polls its future once for nothing: harmless, as
//! a future must allow spurious polls anyway. The pool holds at most one parker per thread
//! that ever ran a `block_on` at the same time as the others, a few dozen bytes each.

use std::cell::Cell;
use std::ptr;
use std::sync::PoisonError;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::loom::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use crate::runtime::context;
use crate::time::ParkedThread;

/// Nobody woke the parker since its owner last looked.
const EMPTY: u8 = 0;
/// Woken: the owner polls again.
const NOTIFIED: u8 = 1;
/// The owner sleeps on the condition variable and must be signalled.
const PARKED: u8 = 2;

pub(super) struct Parker {
    state: AtomicU8,
    lock: Mutex<()>,
    condvar: Condvar,
    /// Whether the future of the `block_on` running on the parker's thread woke itself
    /// during its poll. Only that thread reads or writes it, so plain loads and stores do:
    /// an atomic only because the parker is shared with the wakers on other threads.
    woken_in_poll: AtomicBool,
}

impl Parker {
    fn new() -> Parker {
        Parker {
            state: AtomicU8::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
            woken_in_poll: AtomicBool::new(false),
        }
    }

    /// A waker for this parker; making, cloning and dropping it cost nothing.
    pub(super) fn waker(&'static self) -> Waker {
        let data: *const Parker = self;
        // SAFETY: `data` points at a parker that is never freed (see the module docs) and is
        // `Sync`, so the vtable's functions may use it from any thread, at any time.
        unsafe { Waker::from_raw(RawWaker::new(data.cast(), &VTABLE)) }
    }

    fn wake(&self) {
        if ptr::eq(OWN_PARKER.get(), self) && context::in_block_on() {
            // Woken on the thread of the `block_on` that uses this parker (one at a time: a
            // `block_on` inside another panics), so by the future it is polling: the loop
            // looks at the flag as soon as the poll returns. (A stale waker of an earlier
            // `block_on` on this thread costs a spurious poll at most, as elsewhere.)
            self.woken_in_poll.store(true, Ordering::Relaxed);
            return;
        }
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            // Taking the lock orders this wake after the owner's check of the state in
            // `park`: it either saw `NOTIFIED`, or it waits on the condition variable now.
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.condvar.notify_one();
        }
    }

    /// Takes the wake the future gave itself while it was polled, if any.
    #[inline]
    pub(super) fn take_woken_in_poll(&self) -> bool {
        // Load and store, not a swap: only this thread writes the flag.
        let woken = self.woken_in_poll.load(Ordering::Relaxed);
        if woken {
            self.woken_in_poll.store(false, Ordering::Relaxed);
        }
        woken
    }

    /// Takes a wake from elsewhere, if there was one since the last.
    pub(super) fn take_notified(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Sleeps until woken, and leaves the wake in place for `take_notified`.
    pub(super) fn park(&self) {
        if self.state.load(Ordering::Acquire) == NOTIFIED {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Acquire)
            .is_err()
        {
            // Woken in the meantime (the state is `NOTIFIED`: only this thread parks).
            return;
        }
        // `wait` may return spuriously; only a wake counts.
        while self.state.load(Ordering::Acquire) == PARKED {
            guard = self
                .condvar
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl ParkedThread for Parker {
    fn is_woken(&self) -> bool {
        self.state.load(Ordering::Acquire) == NOTIFIED
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

/// The vtable's `clone`: the pointer alone, nothing to count.
unsafe fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

/// The vtable's `wake` and `wake_by_ref`: the same, as dropping the waker does nothing.
unsafe fn wake(data: *const ()) {
    // SAFETY: every waker with this vtable was made by `Parker::waker` from a parker that is
    // never freed.
    let parker = unsafe { &*data.cast::<Parker>() };
    parker.wake();
}

/// The vtable's `drop`: nothing to release.
unsafe fn drop_waker(_: *const ()) {}

/// Parkers given back by threads that exited, for new threads to take.
static POOL: std::sync::Mutex<Vec<&'static Parker>> = std::sync::Mutex::new(Vec::new());

/// Takes a parker from the pool, or makes one if the pool is empty.
fn take() -> &'static Parker {
    let pooled = POOL.lock().unwrap_or_else(PoisonError::into_inner).pop();
    pooled.unwrap_or_else(|| Box::leak(Box::new(Parker::new())))
}

/// Gives a parker back to the pool.
fn give_back(parker: &'static Parker) {
    POOL.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(parker);
}

/// Owns this thread's parker until the thread exits.
struct Owner(&'static Parker);

impl Drop for Owner {
    fn drop(&mut self) {
        // From now on, no wake on this thread may take the parker for its own: its next
        // owner polls on another thread.
        let _ = OWN_PARKER.try_with(|own| own.set(ptr::null()));
        give_back(self.0);
    }
}

thread_local! {
    /// This thread's parker, null before it has one and once it gave it back: what a wake
    /// compares its parker with, to know whether it runs on the parker's own thread. A
    /// constant thread-local without a destructor, so that reading it is a plain load,
    /// where reaching [`OWNER`] goes through a lazy-initialisation check out of line, a
    /// sizeable part of a `block_on` of a ready future.
    static OWN_PARKER: Cell<*const Parker> = const { Cell::new(ptr::null()) };
    static OWNER: Owner = Owner(take());
}

/// This thread's parker, taken from the pool on first use; `None` once the thread's locals
/// are being destroyed.
#[inline]
pub(super) fn current() -> Option<&'static Parker> {
    let own = OWN_PARKER.get();
    if own.is_null() {
        return first_use();
    }
    // SAFETY: a non-null `OWN_PARKER` was set by `first_use` from a parker that is never
    // freed.
    Some(unsafe { &*own })
}

#[cold]
fn first_use() -> Option<&'static Parker> {
    let parker = OWNER.try_with(|owner| owner.0).ok()?;
    OWN_PARKER.set(parker);
    Some(parker)
}

/// A parker for one `block_on` on a thread whose locals are being destroyed, given back
/// when dropped.
pub(super) struct Borrowed(pub(super) &'static Parker);

impl Borrowed {
    pub(super) fn take() -> Borrowed {
        Borrowed(take())
    }
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        give_back(self.0);
    }
}

#[cfg(all(test, loom))]
mod tests {
    use loom::sync::Arc;
    use loom::thread;

    use super::Parker;

    /// The owner's loop of `block_on`: waits until a wake from elsewhere arrives.
    fn wait_for_a_wake(parker: &Parker) {
        while !parker.take_notified() {
            parker.park();
        }
    }

    /// A wake from another thread, at any point of the owner's check, park and sleep, ends
    /// the owner's wait (fails if `wake` skips the lock before signalling a parked owner).
    #[test]
    fn a_wake_from_another_thread_is_never_lost() {
        crate::loom::model(|| {
            let parker = Arc::new(Parker::new());
            let waker = {
                let parker = parker.clone();
                thread::spawn(move || parker.wake())
            };
            wait_for_a_wake(&parker);
            waker.join().unwrap();
        });
    }

    /// Two wakes, one taken by each of two waits of the owner, or both by the first: the
    /// second wait never sleeps on a wake that was consumed, and a wake after the first wait
    /// still ends the second.
    #[test]
    fn wakes_between_two_waits_are_never_lost() {
        crate::loom::model(|| {
            let parker = Arc::new(Parker::new());
            let waker = {
                let parker = parker.clone();
                thread::spawn(move || {
                    parker.wake();
                    parker.wake();
                })
            };
            wait_for_a_wake(&parker);
            waker.join().unwrap();
            // Both wakes are in now: the second wait ends at once if the first took only one,
            // and otherwise needs one more.
            if !parker.take_notified() {
                parker.wake();
                wait_for_a_wake(&parker);
            }
        });
    }
}
