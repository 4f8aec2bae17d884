//! Routes the synchronisation primitives of the task machinery, the scheduler's idle
//! protocol, its record of lent cores and the `block_on` parker through one place, so that
//! the same code runs on `std` normally and on [loom]'s model-checked types under
//! `--cfg loom`.
//!
//! [loom]: https://docs.rs/loom

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering,
        };
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering,
        };
    }
}

#[cfg(not(loom))]
pub(crate) mod cell {
    /// `std`'s `UnsafeCell` behind loom's closure-based interface, so that loom can track
    /// every access when the model checker is on.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

/// Runs a model test: once, natively; under `--cfg loom`, in every interleaving loom explores,
/// reporting how many there were.
#[cfg(all(test, not(loom)))]
pub(crate) fn model(test: impl Fn()) {
    test();
}

/// Runs a model test: once, natively; under `--cfg loom`, in every interleaving loom explores,
/// reporting how many there were.
#[cfg(all(test, loom))]
pub(crate) fn model(test: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let explored = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = explored.clone();
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        test();
    });
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    eprintln!(
        "loom: {name}: {} interleavings",
        explored.load(Ordering::Relaxed)
    );
}
