//! The owner list: every unfinished task of a runtime, so that shutdown can find and cancel
//! even tasks that are reachable only through a waker stored somewhere else.
//!
//! It is split into shards by task address, so that spawns and completions on different
//! workers rarely meet on one lock. Each shard is a slab: task pointers in fixed-size chunks,
//! with a stack of the free slots' indices. A task keeps its slot's index in its header (4
//! bytes, beside the state word), so that leaving the list on completion is a lookup, not a
//! search, and the list costs one pointer per unfinished task (and a 4-byte index per free
//! slot), where an intrusive doubly linked list would cost two pointers in every task's
//! header. Chunks rather than one vector: growing never copies the slots under the lock, and
//! a shard holds at most one partly used chunk beyond what its tasks need. A shard's memory
//! beyond its first chunk is freed whenever the shard is empty, so a burst of tasks does not
//! keep its slots for the runtime's whole life.
//!
//! The lock is held for a few reads and writes on spawn and on completion only; polling and
//! waking never take it.

use std::ptr::NonNull;

use super::cell::Header;
use super::raw::Task;
use crossbeam_utils::CachePadded;

use crate::loom::sync::{Mutex, MutexGuard};

/// The index a task has in its header before it joins a list, and after: no shard has that
/// many slots.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Slots per chunk of a shard's slab.
const CHUNK: usize = 256;

type Chunk = Box<[Option<NonNull<Header>>; CHUNK]>;

struct ListShard {
    /// The tasks, each at the index stored in its header (slot `i` is entry `i % CHUNK` of
    /// chunk `i / CHUNK`); `None` marks a free slot.
    chunks: Vec<Chunk>,
    /// How many slots were ever handed out since the shard was last empty: the slots from
    /// here on are unused, and not in `free`.
    used: usize,
    /// The indices of the free slots below `used`.
    free: Vec<u32>,
    /// The number of tasks in `slots`.
    len: usize,
    /// Set by shutdown: no task may join any more.
    closed: bool,
}

// SAFETY: the raw pointers are task references that the list owns; they are only followed
// under the shard's lock.
unsafe impl Send for ListShard {}

impl ListShard {
    fn slot_mut(&mut self, slot: u32) -> Option<&mut Option<NonNull<Header>>> {
        let slot = slot as usize;
        let chunk = self.chunks.get_mut(slot / CHUNK)?;
        Some(&mut chunk[slot % CHUNK])
    }

    /// A slot for a new task: a free one, or the next unused one.
    fn take_slot(&mut self) -> u32 {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        let slot = u32::try_from(self.used)
            .ok()
            .filter(|&slot| slot != NO_SLOT)
            .expect("more than 4 billion unfinished tasks in one shard");
        if self.used == self.chunks.len() * CHUNK {
            self.chunks.push(Box::new([None; CHUNK]));
        }
        self.used += 1;
        slot
    }

    /// The last task left: every slot is free, so the shard starts over, keeping one chunk.
    fn reset(&mut self) {
        self.chunks.truncate(1);
        self.used = 0;
        if self.free.capacity() > CHUNK {
            self.free = Vec::new();
        } else {
            self.free.clear();
        }
    }
}

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
                        chunks: Vec::new(),
                        used: 0,
                        free: Vec::new(),
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
        // A panic cannot happen while a shard lock is held but in a vector's growth (out of
        // memory), which leaves the shard consistent: a poisoned lock is still usable.
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
        let slot = shard.take_slot();
        *shard.slot_mut(slot).expect("a slot taken is in a chunk") = Some(ptr);
        // SAFETY: we hold the shard lock, which guards the index of every task in it and of
        // this one, which joins it.
        unsafe { set_slot(ptr, slot) };
        shard.len += 1;
        std::mem::forget(task);
        Ok(())
    }

    /// Takes a task out of the list, returning the list's reference, or `None` if it was not
    /// in the list (never bound, or already taken by shutdown).
    pub(crate) fn remove(&self, ptr: NonNull<Header>) -> Option<Task> {
        let mut shard = self.shard(ptr);
        // SAFETY: we hold the lock of the only shard this task can be in.
        let slot = unsafe { slot(ptr) };
        // A task that is not in the list has no slot, or (taken by shutdown) a slot that the
        // emptied shard no longer has. A slot of its shard that holds this very pointer can
        // only be its own: no other live task has its address.
        match shard.slot_mut(slot) {
            Some(entry) if *entry == Some(ptr) => *entry = None,
            _ => return None,
        }
        // SAFETY: as above.
        unsafe { set_slot(ptr, NO_SLOT) };
        shard.len -= 1;
        if shard.len == 0 {
            shard.reset();
        } else {
            shard.free.push(slot);
        }
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
            shard.free = Vec::new();
            shard.used = 0;
            shard.len = 0;
            let chunks = std::mem::take(&mut shard.chunks);
            for ptr in chunks
                .iter()
                .flat_map(|chunk| chunk.iter())
                .flatten()
                .copied()
            {
                // SAFETY: under the shard lock; the task is alive because the list holds a
                // reference, which moves into the returned `Task`.
                unsafe { set_slot(ptr, NO_SLOT) };
                tasks.push(Task::from_raw(ptr));
            }
        }
        tasks
    }

    /// Closes the list and cancels every task in it, for shutdown. Returns once every one of
    /// their futures is gone: a task that another thread holds at this moment (dropping its
    /// future after an `abort`, or running it on a blocking thread) is waited for. The caller
    /// makes sure no worker runs any more, so such a hold is brief, but for the tasks at the
    /// addresses `abandoned`: polls that a shutdown leaves behind, blocked in place, whose
    /// futures their threads drop when the polls return (they are cancelled).
    pub(crate) fn close_and_cancel_all(&self, abandoned: &[usize]) {
        let held_elsewhere: Vec<Task> = self
            .close_and_take_all()
            .into_iter()
            .filter(|task| !task.shutdown())
            .collect();
        for task in held_elsewhere {
            // An address names the abandoned poll's task, unless that poll ended meanwhile
            // and the task's memory went to a task spawned since: the worst that does is
            // skip the wait for that one's future, which an abort would be dropping.
            if !abandoned.contains(&(task.header_ptr().as_ptr() as usize)) {
                wait_until_cancelled(&task);
            }
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

/// The task's slot in its shard, or [`NO_SLOT`].
///
/// # Safety
/// The caller holds the lock of the shard `ptr` belongs to, and the task is alive.
unsafe fn slot(ptr: NonNull<Header>) -> u32 {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.owner_slot.with(|slot| {
        // SAFETY: the shard lock makes this read exclusive.
        unsafe { *slot }
    })
}

/// # Safety
/// As for [`slot`].
unsafe fn set_slot(ptr: NonNull<Header>, slot: u32) {
    // SAFETY: per the function's contract.
    unsafe { ptr.as_ref() }.owner_slot.with_mut(|stored| {
        // SAFETY: the shard lock makes this write exclusive.
        unsafe { *stored = slot };
    });
}

/// Waits for another thread to finish with `task`, trying the shutdown's cancellation again
/// each time: the holder may give the task back without completing it (an abandoned worker
/// draining its queue hands a held entry back after this shutdown's pass), and then nobody
/// else would cancel it. Such a wait is rare and short, so it backs off to sleeping rather
/// than arranging a wake-up.
#[cfg(not(loom))]
fn wait_until_cancelled(task: &Task) {
    let backoff = crossbeam_utils::Backoff::new();
    while !task.shutdown() {
        if backoff.is_completed() {
            std::thread::sleep(std::time::Duration::from_micros(100));
        } else {
            backoff.snooze();
        }
    }
}

#[cfg(loom)]
fn wait_until_cancelled(task: &Task) {
    while !task.shutdown() {
        loom::thread::yield_now();
    }
}
