//! Timer slots, the part of a timer shared between its `Sleep` and the driver, and the
//! process-wide pool that recycles them.
//!
//! A slot lives in one of three places: in a shard's wheel (its timer is pending), in a
//! shard's free list, or in the shared pool. Each shard keeps at most
//! [`SHARD_FREE_MAX`] free slots and hands the rest to the shared pool in batches, and takes
//! a batch from there (or allocates one) when it runs dry; so slots freed by one thread serve
//! the timers of the next, and the number of slots follows the most timers pending at once
//! in the whole process, not the sum of each thread's peaks.
//!
//! Slots are allocated one by one and may be freed again: the driver trims the shared pool
//! every [`TRIM_INTERVAL`], freeing the slots that were not needed during the whole interval
//! beyond a reserve of [`POOL_RESERVE`]. A slot may be freed only when nothing refers to it:
//! it is in the shared pool (so not in a wheel, and no other pool), and no `Registration`
//! holds it, which its `holders` count says. A fired timer's slot goes back to a free list
//! at once, ready for reuse, while its `Sleep` may keep it for as long as it lives: reuse is
//! safe (the generation tells the old holder its timer has fired), freeing is not, so the
//! count keeps it from being freed until the last holder lets go.

use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::Waker;
use std::time::Duration;

/// Slots moved between a shard and the shared pool at once.
pub(super) const SLOT_BATCH: usize = 256;
/// The most free slots a shard keeps for itself.
pub(super) const SHARD_FREE_MAX: usize = 2 * SLOT_BATCH;
/// Free slots the shared pool keeps however long they stay unused.
const POOL_RESERVE: usize = 4 * SLOT_BATCH;
/// How often the driver trims the shared pool while it holds more than its reserve.
pub(super) const TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// The part of a timer shared between its `Sleep` and the driver; reused by later timers.
pub(super) struct Slot {
    /// How many timers have left this slot (fired or were cancelled). A `Registration` that
    /// took the slot at generation `g` owns it while the generation is still `g`. Read
    /// without a lock on the fast path of `Sleep::poll`; changed only with the shard's lock
    /// and this slot's `waker` lock both held, so a holder of either lock who reads `g` knows
    /// the timer is still in the wheel.
    pub(super) generation: AtomicU64,
    /// The waker of the last poll; the driver takes it when the timer fires.
    pub(super) waker: Mutex<Option<Waker>>,
    /// Where the current timer sits in its shard's wheel; the wheel updates it when the
    /// timer moves. Written and read only under the shard's lock (an atomic only so that a
    /// shared slot can hold it).
    pub(super) key: AtomicU64,
    /// The shard whose wheel holds the current timer. Written under that shard's lock when
    /// the timer is inserted, after the generation has moved on from any earlier timer.
    pub(super) shard: AtomicU32,
    /// How many `Registration`s refer to this slot (pending or fired); it is freed only at 0.
    holders: AtomicU32,
}

/// A pointer to a live slot. Copied freely between the wheel, the free lists and the
/// registrations; a slot is freed only when none of them holds it (module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotRef(NonNull<Slot>);

// SAFETY: a `SlotRef` only hands out `&Slot`, and `Slot` is `Sync` (atomics and a mutex); the
// slot outlives every `SlotRef` that is used (module docs), whichever thread uses it.
unsafe impl Send for SlotRef {}
// SAFETY: as above: sharing a `SlotRef` shares only `&Slot`.
unsafe impl Sync for SlotRef {}

impl Deref for SlotRef {
    type Target = Slot;

    fn deref(&self) -> &Slot {
        // SAFETY: the slot was allocated by `Box` in `SlotPool::allocate` and is freed only by
        // `SlotPool::trim`, once it is in the shared pool and no registration holds it; so
        // every `SlotRef` in use (in a wheel, a free list, or a registration) points to a
        // live slot. Only shared references are ever made.
        unsafe { self.0.as_ref() }
    }
}

impl Slot {
    /// A new `Registration` holds this slot.
    pub(super) fn hold(&self) {
        self.holders.fetch_add(1, Ordering::Relaxed);
    }

    /// A `Registration` let go of this slot; it must not touch it afterwards.
    pub(super) fn release(&self) {
        // Release: the holder's last reads of the slot happen before a trim that sees 0.
        self.holders.fetch_sub(1, Ordering::Release);
    }
}

/// The shared pool: free slots that no shard keeps, and the count of all slots.
pub(super) struct SlotPool {
    free: Vec<SlotRef>,
    /// Slots allocated and not freed, wherever they are.
    allocated: usize,
    /// The fewest free slots the pool held since the last trim: that many went unused.
    low_water: usize,
}

impl SlotPool {
    pub(super) const fn new() -> SlotPool {
        SlotPool {
            free: Vec::new(),
            allocated: 0,
            low_water: 0,
        }
    }

    pub(super) fn allocated(&self) -> usize {
        self.allocated
    }

    /// Fills `free` (a shard's empty free list) with a batch of slots.
    pub(super) fn take_batch(&mut self, free: &mut Vec<SlotRef>) {
        if self.free.is_empty() {
            self.allocate(free);
            return;
        }
        let keep = self.free.len().saturating_sub(SLOT_BATCH);
        free.extend(self.free.drain(keep..));
        self.low_water = self.low_water.min(self.free.len());
    }

    /// Takes the slots of `free` (a shard's free list, too long) beyond half its limit.
    /// Returns true if the pool now holds more than its reserve for the first time since
    /// the last trim: the driver must then come and trim it.
    pub(super) fn give_back(&mut self, free: &mut Vec<SlotRef>) -> bool {
        let had_excess = self.has_excess();
        // The least recently freed (coldest) go, from the front.
        let excess = free.len().saturating_sub(SHARD_FREE_MAX - SLOT_BATCH);
        self.free.extend(free.drain(..excess));
        !had_excess && self.has_excess()
    }

    fn allocate(&mut self, free: &mut Vec<SlotRef>) {
        free.extend((0..SLOT_BATCH).map(|_| {
            SlotRef(NonNull::from(Box::leak(Box::new(Slot {
                generation: AtomicU64::new(0),
                waker: Mutex::new(None),
                key: AtomicU64::new(0),
                shard: AtomicU32::new(0),
                holders: AtomicU32::new(0),
            }))))
        }));
        self.allocated += SLOT_BATCH;
    }

    /// Whether the pool holds slots that a trim may free.
    pub(super) fn has_excess(&self) -> bool {
        self.free.len() > POOL_RESERVE
    }

    /// Frees the slots that stayed unused since the last trim, beyond the reserve; keeps
    /// those a fired `Sleep` still holds.
    pub(super) fn trim(&mut self) {
        let unused = self.low_water.saturating_sub(POOL_RESERVE);
        let mut freed = 0;
        let mut index = 0;
        while freed < unused && index < self.free.len() {
            let slot = self.free[index];
            if slot.holders.load(Ordering::Acquire) == 0 {
                self.free.swap_remove(index);
                // SAFETY: `slot` came from `Box::leak` in `allocate`, and nothing else refers
                // to it: it was in this pool (the only place it was listed, and it is out of
                // it now), so it is in no wheel and no free list, and no registration holds
                // it (the count is 0, and a holder's release happened before this load).
                drop(unsafe { Box::from_raw(slot.0.as_ptr()) });
                freed += 1;
            } else {
                index += 1;
            }
        }
        self.allocated -= freed;
        if self.free.capacity() > 2 * self.free.len().max(POOL_RESERVE) {
            self.free.shrink_to(self.free.len().max(POOL_RESERVE));
        }
        self.low_water = self.free.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `batches` batches of slots from `pool`.
    fn take(pool: &mut SlotPool, batches: usize) -> Vec<SlotRef> {
        let mut taken = Vec::new();
        for _ in 0..batches {
            let mut batch = Vec::new();
            pool.take_batch(&mut batch);
            taken.append(&mut batch);
        }
        taken
    }

    #[test]
    fn slots_given_back_are_taken_again_before_any_is_allocated() {
        let mut pool = SlotPool::new();
        let mut shard = take(&mut pool, 3);
        assert_eq!(pool.allocated(), 3 * SLOT_BATCH);
        assert!(!pool.give_back(&mut shard), "under the reserve");
        assert_eq!(shard.len(), SHARD_FREE_MAX - SLOT_BATCH);
        let again = take(&mut pool, 2);
        assert_eq!(again.len(), 2 * SLOT_BATCH);
        assert_eq!(pool.allocated(), 3 * SLOT_BATCH, "nothing new allocated");
        pool.free.extend(shard.into_iter().chain(again));
        pool.trim();
        pool.trim();
        assert_eq!(pool.allocated(), 3 * SLOT_BATCH, "all within the reserve");
    }

    #[test]
    fn a_trim_frees_slots_unused_for_a_whole_interval_but_never_a_held_one() {
        let mut pool = SlotPool::new();
        let slots = take(&mut pool, 6);
        for slot in &slots {
            slot.hold();
        }
        pool.free.extend(slots.iter().copied());
        pool.trim(); // Sets the low-water mark.
        pool.trim();
        assert_eq!(
            pool.allocated(),
            6 * SLOT_BATCH,
            "held slots are never freed"
        );
        for slot in &slots {
            assert_eq!(slot.generation.load(Ordering::Relaxed), 0, "still alive");
            slot.release();
        }
        pool.trim();
        assert_eq!(
            pool.allocated(),
            POOL_RESERVE,
            "the unused ones beyond the reserve"
        );
        assert_eq!(pool.free.len(), POOL_RESERVE);
        // Taking a batch lowers the low-water mark: what was taken is not freed.
        let taken = take(&mut pool, 1);
        pool.free.extend(taken);
        pool.trim();
        assert_eq!(pool.allocated(), POOL_RESERVE);
    }
}
