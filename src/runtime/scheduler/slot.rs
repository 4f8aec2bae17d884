//! The next-task slot: the one task a worker runs next, which the monitor may take from a
//! worker stuck in a long poll.
//!
//! A task spawned or woken on a worker goes here rather than to the back of its deque, so
//! that spawn-then-await and wake-then-yield hand over at once, while the data the two tasks
//! share is still in the cache. Only the slot's worker puts tasks in and takes them out; its
//! fast paths are a plain load and a plain store when the slot is empty (putting) or a load
//! and one swap (taking), with no fence. The one other party is the monitor, which takes the
//! task out of the slot of a worker whose current poll has run too long (see
//! [`monitor`](super::monitor)), so that a task that blocks its worker does not strand the
//! task it just spawned or woke.
//!
//! Why the worker's plain store is safe: the monitor only ever empties the slot (full to
//! empty, by compare-and-swap), so an empty slot that the worker sees stays empty until the
//! worker itself fills it. A full slot may be emptied at any moment, so the worker swaps to
//! replace or take its task, and gets back whatever was left.

use std::ptr::{self, NonNull};

use crate::loom::sync::atomic::{AtomicPtr, Ordering};
use crate::runtime::task::{Header, Notified};

/// What a slot holds, as a pointer it can store in one word.
pub(crate) trait SlotItem: Sized {
    fn into_ptr(self) -> NonNull<()>;

    /// # Safety
    ///
    /// `ptr` came from `into_ptr` and is converted back once.
    unsafe fn from_ptr(ptr: NonNull<()>) -> Self;
}

impl SlotItem for Notified {
    fn into_ptr(self) -> NonNull<()> {
        self.into_raw().cast()
    }

    unsafe fn from_ptr(ptr: NonNull<()>) -> Notified {
        Notified::from_raw(ptr.cast::<Header>())
    }
}

/// One worker's next task; see the module docs for who may call what.
pub(crate) struct Slot<T: SlotItem = Notified> {
    task: AtomicPtr<()>,
    _owns: std::marker::PhantomData<T>,
}

// SAFETY: the slot owns at most one `T` and hands it to exactly one thread (the swap or the
// compare-and-swap that empties it), so sharing it is sending a `T`.
unsafe impl<T: SlotItem + Send> Sync for Slot<T> {}
// SAFETY: as above: moving the slot moves the `T` it holds.
unsafe impl<T: SlotItem + Send> Send for Slot<T> {}

impl<T: SlotItem> Slot<T> {
    pub(crate) fn new() -> Slot<T> {
        Slot {
            task: AtomicPtr::new(ptr::null_mut()),
            _owns: std::marker::PhantomData,
        }
    }

    /// The worker puts `task` in; returns the task it replaces, if the slot held one.
    ///
    /// Only the slot's own worker may call this (and [`Slot::take`]).
    #[inline]
    pub(crate) fn put(&self, task: T) -> Option<T> {
        let new = task.into_ptr().as_ptr();
        if self.task.load(Ordering::Relaxed).is_null() {
            // Nobody but us fills the slot (module docs): it is still empty. Release
            // publishes the task's queue entry to the monitor that may take it.
            self.task.store(new, Ordering::Release);
            None
        } else {
            // SAFETY: a non-null pointer in the slot came from `into_ptr`, and the swap
            // hands it to us alone.
            NonNull::new(self.task.swap(new, Ordering::AcqRel))
                .map(|old| unsafe { T::from_ptr(old) })
        }
    }

    /// The worker takes its next task, unless the monitor took it first.
    #[inline]
    pub(crate) fn take(&self) -> Option<T> {
        if self.task.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let old = self.task.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: as in `put`: the swap hands the pointer to us alone.
        NonNull::new(old).map(|old| unsafe { T::from_ptr(old) })
    }

    /// Another thread (the monitor) takes the task out of the slot, if there is one.
    pub(crate) fn steal(&self) -> Option<T> {
        let old = self.task.load(Ordering::Acquire);
        if old.is_null() {
            return None;
        }
        // A failed exchange means the worker took or replaced the task meanwhile, so it is
        // not stuck after all: leave the slot alone.
        self.task
            .compare_exchange(old, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .and_then(NonNull::new)
            // SAFETY: the exchange handed the pointer, which came from `into_ptr`, to us.
            .map(|old| unsafe { T::from_ptr(old) })
    }

    /// Whether the slot holds a task (a possibly stale look).
    pub(crate) fn is_full(&self) -> bool {
        !self.task.load(Ordering::Relaxed).is_null()
    }
}

impl<T: SlotItem> Drop for Slot<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use super::{Slot, SlotItem};
    use std::ptr::NonNull;

    /// A test item, a box, so that a task lost or taken twice shows as a leak or a double
    /// free (under Miri).
    struct Item(Box<u32>);

    impl SlotItem for Item {
        fn into_ptr(self) -> NonNull<()> {
            NonNull::from(Box::leak(self.0)).cast()
        }

        unsafe fn from_ptr(ptr: NonNull<()>) -> Item {
            // SAFETY: the pointer came from `Box::leak` in `into_ptr`.
            Item(unsafe { Box::from_raw(ptr.cast::<u32>().as_ptr()) })
        }
    }

    /// A worker's hand-offs while another thread keeps stealing: every task comes out once.
    #[cfg(not(loom))]
    #[test]
    fn a_thief_and_the_worker_share_every_task_exactly_once() {
        use std::sync::Arc;
        const TASKS: u32 = if cfg!(miri) { 200 } else { 20_000 };
        let slot = Arc::new(Slot::<Item>::new());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thief = {
            let (slot, done) = (slot.clone(), done.clone());
            std::thread::spawn(move || {
                let mut stolen = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    stolen.extend(slot.steal().map(|item| *item.0));
                }
                stolen.extend(slot.steal().map(|item| *item.0));
                stolen
            })
        };
        let mut taken = Vec::new();
        for task in 0..TASKS {
            if let Some(replaced) = slot.put(Item(Box::new(task))) {
                taken.push(*replaced.0);
            }
            if task % 3 == 0 {
                taken.extend(slot.take().map(|item| *item.0));
            }
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        taken.extend(thief.join().unwrap());
        taken.extend(slot.take().map(|item| *item.0));
        taken.sort_unstable();
        assert!(
            taken.iter().copied().eq(0..TASKS),
            "a task was lost or taken twice"
        );
    }

    /// The worker puts two tasks in turn (the second replacing the first) and takes its next
    /// one, while the monitor steals: each task ends up with exactly one of them.
    #[cfg(loom)]
    #[test]
    fn every_task_is_taken_exactly_once() {
        use loom::sync::Arc;
        use loom::thread;

        loom::model(|| {
            let slot = Arc::new(Slot::<Item>::new());
            let monitor = {
                let slot = slot.clone();
                thread::spawn(move || slot.steal().map(|item| *item.0))
            };
            let mut seen = Vec::new();
            assert!(slot.put(Item(Box::new(1))).is_none());
            if let Some(replaced) = slot.put(Item(Box::new(2))) {
                seen.push(*replaced.0);
            }
            if let Some(next) = slot.take() {
                seen.push(*next.0);
            }
            seen.extend(monitor.join().unwrap());
            // None is lost, none is taken twice.
            seen.sort_unstable();
            assert_eq!(seen, [1, 2]);
        });
    }
}
