//! A worker's next-task slot: one task that its owner runs next, and that an idle worker may
//! take instead when the owner is stuck in a long poll.
//!
//! The owner fills an empty slot with a store, and empties or refills a full one with a swap;
//! a thief takes the task with a compare-exchange from the pointer it saw to null. Whoever turns the pointer into null owns
//! the reference it stood for, so each task leaves the slot exactly once. The pointer is
//! never dereferenced between the load and the compare-exchange, so a task that left and a
//! new one at the same address in between (ABA) is no harm: the thief then takes the new
//! one, which is in the slot at that moment.
//!
//! Besides the task, the slot carries its worker's *waiting* mark: set by the owner when it
//! queues work on itself (slot or deque), cleared when it finds its queues empty. A parked
//! worker watches for long polls only while some worker is so marked (see [`super::watch`]).

use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::runtime::task::{Header, Notified};

/// One worker's slot and its waiting mark.
pub(crate) struct Slot {
    /// A `Notified` given up with `into_raw` (tag included), or null.
    task: AtomicPtr<Header>,
    waiting: AtomicBool,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            task: AtomicPtr::new(ptr::null_mut()),
            waiting: AtomicBool::new(false),
        }
    }

    /// Owner only: puts `task` in the slot and returns the task it displaced, if any.
    #[inline]
    pub(crate) fn replace(&self, task: Notified) -> Option<Notified> {
        let task = task.into_raw().as_ptr();
        // Release, here and below: a thief that takes the task sees it as we made it.
        if self.task.load(Ordering::Relaxed).is_null() {
            // Thieves only ever empty the slot: an empty one stays empty until we fill it,
            // so a plain store does, without a locked instruction on every spawn.
            self.task.store(task, Ordering::Release);
            return None;
        }
        let previous = self.task.swap(task, Ordering::AcqRel);
        // Every non-null pointer in the slot came from `Notified::into_raw`; swapped out, it
        // is ours alone.
        NonNull::new(previous).map(Notified::from_raw)
    }

    /// Owner only: empties the slot.
    #[inline]
    pub(crate) fn take(&self) -> Option<Notified> {
        // Only the owner fills the slot, so an empty slot stays empty until we fill it: the
        // swap (a locked instruction) is needed only when there is something to race for.
        if self.task.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let task = self.task.swap(ptr::null_mut(), Ordering::Acquire);
        NonNull::new(task).map(Notified::from_raw)
    }

    /// Any thread: takes the task in the slot, if there is one and nobody takes it first.
    pub(crate) fn steal(&self) -> Option<Notified> {
        let task = self.task.load(Ordering::Acquire);
        if task.is_null() {
            return None;
        }
        self.task
            .compare_exchange(task, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .and_then(NonNull::new)
            .map(Notified::from_raw)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.task.load(Ordering::Relaxed).is_null()
    }

    /// Owner only: marks the worker as having queued work; returns true if the mark was not
    /// set before (the caller then follows the watch protocol, see [`super::watch`]).
    #[inline]
    pub(crate) fn mark_waiting(&self) -> bool {
        // A load first: the mark is usually set already, and a load keeps the line shared
        // with the watcher that reads it.
        if self.waiting.load(Ordering::Relaxed) {
            return false;
        }
        self.waiting.store(true, Ordering::Relaxed);
        true
    }

    /// Owner only: its queues are empty. Returns true if the mark was set before (the
    /// caller then takes it out of the count, see [`super::watch`]).
    #[inline]
    pub(crate) fn clear_waiting(&self) -> bool {
        if !self.waiting.load(Ordering::Relaxed) {
            return false;
        }
        self.waiting.store(false, Ordering::Relaxed);
        true
    }

    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed)
    }
}
