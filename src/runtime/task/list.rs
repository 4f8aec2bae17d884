//! The owner list: every unfinished task of a runtime, so that shutdown can find and cancel
//! even tasks that are reachable only through a waker stored somewhere else.
//!
//! It is an intrusive doubly linked list (the links live in each task's header, so joining
//! the list allocates nothing), split into shards by task address so that spawns and
//! completions on different workers rarely meet on one lock. The lock is held for a few
//! pointer writes on spawn and on completion only; polling and waking never take it.

use std::ptr::NonNull;

use super::cell::Header;
use super::raw::Task;
use crossbeam_utils::CachePadded;

use crate::loom::sync::{Mutex, MutexGuard};

/// A task's position in its shard. Only read or written under that shard's lock.
#[derive(Default)]
pub(crate) struct Links {
    previous: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
}

struct ListShard {
    head: Option<NonNull<Header>>,
    len: usize,
    /// Set by shutdown: no task may join any more.
    closed: bool,
}

// SAFETY: the raw pointers are task references that the list owns; they are only followed
// under the shard's lock.
unsafe impl Send for ListShard {}

/// The runtime's owner list. See the module docs.
pub(crate) struct OwnedTasks {
    /// Each on cache lines of its own: a spawning thread and a worker completing a task in
    /// another shard must not bounce one line between them.
    shards: Box<[CachePadded<Mutex<ListShard>>]>,
}

impl OwnedTasks {
    /// A list with at least `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let shards = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..shards)
                .map(|_| {
                    CachePadded::new(Mutex::new(ListShard {
                        head: None,
                        len: 0,
                        closed: false,
                    }))
                })
                .collect(),
        }
    }

    fn shard(&self, ptr: NonNull<Header>) -> MutexGuard<'_, ListShard> {
        // Allocations are at least 16-byte aligned; mixing in higher bits spreads
        // neighbouring tasks over the shards.
        let address = ptr.as_ptr() as usize;
        let index = ((address >> 4) ^ (address >> 12)) & (self.shards.len() - 1);
        // A panic cannot happen while a shard lock is held (only pointer writes), so a
        // poisoned lock is still consistent.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a new task, taking over its reference. Gives the reference back if the list was
    /// closed by a shutdown: the caller must then cancel the task.
    pub(crate) fn bind(&self, task: Task) -> Result<(), Task> {
        let ptr = task.header_ptr();
        let mut shard = self.shard(ptr);
        if shard.closed {
            return Err(task);
        }
        let old_head = shard.head;
        // SAFETY: we hold the shard lock, which guards the links of every task in it and of
        // this unlinked one.
        unsafe {
            set_links(ptr, None, old_head);
            if let Some(old_head) = old_head {
                set_previous(old_head, Some(ptr));
            }
        }
        shard.head = Some(ptr);
        shard.len += 1;
        std::mem::forget(task);
        Ok(())
    }

    /// Unlinks a task, returning the list's reference, or `None` if it was not in the list
    /// (never bound, or already taken by shutdown).
    pub(crate) fn remove(&self, ptr: NonNull<Header>) -> Option<Task> {
        let mut shard = self.shard(ptr);
        // SAFETY: we hold the lock of the only shard this task can be linked into.
        unsafe {
            let (previous, next) = links(ptr);
            match previous {
                Some(previous) => set_next(previous, next),
                None if shard.head == Some(ptr) => shard.head = next,
                None => return None,
            }
            if let Some(next) = next {
                set_previous(next, previous);
            }
            set_links(ptr, None, None);
        }
        shard.len -= 1;
        Some(Task::from_raw(ptr))
    }

    /// Closes every shard to new tasks and takes all tasks out, for shutdown.
    pub(crate) fn close_and_take_all(&self) -> Vec<Task> {
        let mut tasks = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.closed = true;
            let mut cursor = shard.head.take();
            while let Some(ptr) = cursor {
                // SAFETY: under the shard lock; the task is alive because the list holds a
                // reference, which moves into the returned `Task`.
                unsafe {
                    cursor = links(ptr).1;
                    set_links(ptr, None, None);
                }
                tasks.push(Task::from_raw(ptr));
            }
            shard.len = 0;
        }
        tasks
    }

    /// Closes the list and cancels every task in it, for shutdown. Returns once every one of
    /// their futures is gone: a task that another thread holds at this moment (dropping its
    /// future after an `abort`, or running it on a blocking thread) is waited for. The caller
    /// makes sure no worker runs any more, so such a hold is brief.
    pub(crate) fn close_and_cancel_all(&self) {
        let held_elsewhere: Vec<Task> = self
            .close_and_take_all()
            .into_iter()
            .filter(|task| !task.shutdown())
            .collect();
        for task in held_elsewhere {
            wait_until_complete(&task);
        }
    }

    /// Returns true when no unfinished task is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of unfinished tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|p| p.into_inner()).len)
            .sum()
    }
}

impl Drop for OwnedTasks {
    fn drop(&mut self) {
        // Shutdown empties the list before the runtime goes away; any task left would be
        // leaked, never double-freed.
        debug_assert!(
            self.is_empty(),
            "runtime dropped with tasks in its owner list"
        );
    }
}

/// # Safety
/// The caller holds the lock of the shard `ptr` belongs to, and the task is alive.
unsafe fn links(ptr: NonNull<Header>) -> (Option<NonNull<Header>>, Option<NonNull<Header>>) {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.links.with(|links| {
        // SAFETY: the shard lock makes this read exclusive.
        let links = unsafe { &*links };
        (links.previous, links.next)
    })
}

/// # Safety
/// As for [`links`].
unsafe fn set_links(
    ptr: NonNull<Header>,
    previous: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
) {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.links.with_mut(|links| {
        // SAFETY: the shard lock makes this write exclusive.
        unsafe { *links = Links { previous, next } };
    });
}

/// # Safety
/// As for [`links`].
unsafe fn set_previous(ptr: NonNull<Header>, previous: Option<NonNull<Header>>) {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.links.with_mut(|links| {
        // SAFETY: the shard lock makes this write exclusive.
        unsafe { (*links).previous = previous };
    });
}

/// # Safety
/// As for [`links`].
unsafe fn set_next(ptr: NonNull<Header>, next: Option<NonNull<Header>>) {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.links.with_mut(|links| {
        // SAFETY: the shard lock makes this write exclusive.
        unsafe { (*links).next = next };
    });
}

/// Waits for another thread to finish with `task`. Such a wait is rare and short, so it backs
/// off to sleeping rather than arranging a wake-up.
#[cfg(not(loom))]
fn wait_until_complete(task: &Task) {
    let backoff = crossbeam_utils::Backoff::new();
    while !task.is_complete() {
        if backoff.is_completed() {
            std::thread::sleep(std::time::Duration::from_micros(100));
        } else {
            backoff.snooze();
        }
    }
}

#[cfg(loom)]
fn wait_until_complete(task: &Task) {
    while !task.is_complete() {
        loom::thread::yield_now();
    }
}
