//! Recycled task memory: freed task cells are kept for the next spawn of the same size.
//!
//! A typical runtime allocates a task on one thread (the spawner) and frees it on another
//! (the worker that completed it). With the system allocator that pattern makes every free
//! take the lock of the spawner's arena while the spawner allocates from it, and a task cell
//! is too big for the allocator's lock-free bins: with 100,000 timer tasks spawned from one
//! thread, about a tenth of the workers' time went to that lock and to merging freed chunks.
//!
//! So task memory goes through two small caches first, per cell size (in steps of 8 bytes,
//! up to [`MAX_CACHED`]):
//!
//! - each thread keeps a short stack of freed blocks ([`LOCAL_MAX`]); a spawn on that thread
//!   takes from it, a free on it gives to it;
//! - a stack shared by all threads ([`SHARED_MAX`] blocks per size, behind a mutex taken once
//!   per [`BATCH`] blocks, and not at all by a thread that finds it empty) takes the overflow
//!   of threads that free more than they allocate, and refills threads that allocate more
//!   than they free.
//!
//! What neither cache can hold goes back to the allocator, so the memory kept is bounded by
//! those constants; nothing is ever freed from a cache later (a thread's own stack goes back
//! to the shared stack, or to the allocator, when the thread exits). Every block of a size is
//! allocated with the same layout (that size, 16-byte aligned), which is what makes a block
//! freed by one task type reusable by another of the same size. Cells aligned to more than 16
//! bytes, bigger than [`MAX_CACHED`], or allocated under loom bypass the caches.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The biggest cell, in bytes, whose memory is recycled.
const MAX_CACHED: usize = 512;
/// Size classes: one per multiple of 8 bytes up to [`MAX_CACHED`].
const CLASSES: usize = MAX_CACHED / 8;
/// Blocks one thread keeps per size.
const LOCAL_MAX: usize = 64;
/// Blocks moved between a thread's stack and the shared one at a time.
const BATCH: usize = LOCAL_MAX / 2;
/// Blocks the shared stack keeps per size.
const SHARED_MAX: usize = 1024;
/// The alignment every cached block is allocated with.
const BLOCK_ALIGN: usize = 16;

/// A free block of task memory.
struct Block(NonNull<u8>);

// SAFETY: a `Block` is an unused heap allocation owned by whichever cache holds it; it may be
// handed to and freed by any thread.
unsafe impl Send for Block {}

/// The stack of one size class shared by every thread.
struct SharedStack {
    blocks: Mutex<Vec<Block>>,
    /// How many blocks `blocks` held when its lock was last released; lets a thread with an
    /// empty stack skip the lock when there is nothing to take.
    len: AtomicUsize,
}

/// The shared stacks, one per size class.
static SHARED_STACKS: [SharedStack; CLASSES] = [EMPTY_SHARED_STACK; CLASSES];
// An item rather than an inline `const` block, which would need Rust 1.79.
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SHARED_STACK: SharedStack = SharedStack {
    blocks: Mutex::new(Vec::new()),
    len: AtomicUsize::new(0),
};
const EMPTY_LOCAL: Vec<Block> = Vec::new();

/// A thread's own stacks, one per size class.
struct Local {
    classes: [Vec<Block>; CLASSES],
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { classes: [EMPTY_LOCAL; CLASSES] })
    };
}

/// Where a cell of `layout` is cached: its size class and the layout its blocks have, or
/// `None` when it bypasses the caches.
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if cfg!(loom) || layout.align() > BLOCK_ALIGN || layout.size() > MAX_CACHED {
        return None;
    }
    let size = layout.size().next_multiple_of(8).max(8);
    let block = Layout::from_size_align(size, BLOCK_ALIGN).ok()?;
    Some((size / 8 - 1, block))
}

/// Allocates memory for a task cell of `layout` (not zero-sized), from a cache when one holds
/// a block of its size. Aborts through [`alloc::handle_alloc_error`] when out of memory.
pub(super) fn allocate(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0, "task cells are never zero-sized");
    let Some((class, block)) = class_of(layout) else {
        return system_allocate(layout);
    };
    let cached = LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let stack = &mut local.classes[class];
            if stack.is_empty() {
                refill(class, stack);
            }
            stack.pop()
        })
        .ok()
        .flatten();
    match cached {
        Some(Block(ptr)) => ptr,
        None => system_allocate(block),
    }
}

/// Frees the memory of a task cell of `layout` that [`allocate`] returned, keeping it in a
/// cache when one has room.
///
/// # Safety
///
/// `ptr` came from [`allocate`] with the same `layout`, and is not used afterwards.
pub(super) unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
    let Some((class, block)) = class_of(layout) else {
        // SAFETY: uncached cells were allocated by the allocator with this very layout.
        unsafe { alloc::dealloc(ptr.as_ptr(), layout) };
        return;
    };
    let kept = LOCAL
        .try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return false;
            };
            let stack = &mut local.classes[class];
            if stack.len() == LOCAL_MAX {
                spill(class, block, stack);
            }
            stack.push(Block(ptr));
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: cached classes are allocated with `block` (by `allocate` or `refill`'s
        // suppliers), and the caller gives up the pointer.
        unsafe { alloc::dealloc(ptr.as_ptr(), block) };
    }
}

fn system_allocate(layout: Layout) -> NonNull<u8> {
    // SAFETY: `layout` is not zero-sized (task cells hold at least their header).
    let ptr = unsafe { alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Runs `f` on the shared stack of `class` under its lock, and publishes its new length.
fn with_shared<R>(class: usize, f: impl FnOnce(&mut Vec<Block>) -> R) -> R {
    let shared = &SHARED_STACKS[class];
    // Poisoning cannot leave a stack of blocks inconsistent.
    let mut blocks = shared.blocks.lock().unwrap_or_else(PoisonError::into_inner);
    let result = f(&mut blocks);
    shared.len.store(blocks.len(), Ordering::Relaxed);
    result
}

/// Moves up to a batch of blocks of `class` from the shared stack to a thread's empty one.
fn refill(class: usize, stack: &mut Vec<Block>) {
    // A stale zero only means one more allocation from the system.
    if SHARED_STACKS[class].len.load(Ordering::Relaxed) == 0 {
        return;
    }
    with_shared(class, |shared| {
        let from = shared.len() - shared.len().min(BATCH);
        stack.extend(shared.drain(from..));
    });
}

/// Makes room in a thread's full stack: moves a batch of its blocks to the shared stack, or
/// frees those that do not fit there.
fn spill(class: usize, block: Layout, stack: &mut Vec<Block>) {
    let keep = LOCAL_MAX - BATCH;
    with_shared(class, |shared| {
        let moved = (SHARED_MAX - shared.len()).min(BATCH);
        shared.extend(stack.drain(keep..keep + moved));
    });
    // Whatever did not fit goes back to the allocator, outside the lock.
    for Block(ptr) in stack.drain(keep..) {
        // SAFETY: every block of this class was allocated with `block` and is unused.
        unsafe { alloc::dealloc(ptr.as_ptr(), block) };
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // The thread is exiting: its blocks go to the shared stacks, or back to the allocator.
        for (class, stack) in self.classes.iter_mut().enumerate() {
            if stack.is_empty() {
                continue;
            }
            let block = Layout::from_size_align((class + 1) * 8, BLOCK_ALIGN)
                .expect("a size class is a valid layout");
            with_shared(class, |shared| {
                let moved = (SHARED_MAX - shared.len()).min(stack.len());
                let from = stack.len() - moved;
                shared.extend(stack.drain(from..));
            });
            for Block(ptr) in stack.drain(..) {
                // SAFETY: as in `spill`.
                unsafe { alloc::dealloc(ptr.as_ptr(), block) };
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::collections::HashSet;
    use std::thread;

    use super::*;

    /// Sizes no task of this crate's tests has, one per test, so that the shared stacks
    /// these tests look at hold only their own blocks.
    const SIZE_REUSE: usize = 472;
    const SIZE_ACROSS: usize = 480;
    const SIZE_OVERFLOW: usize = 488;

    #[test]
    fn a_freed_block_serves_the_next_cell_of_its_size_on_the_same_thread() {
        let first = Layout::from_size_align(SIZE_REUSE, 8).unwrap();
        let ptr = allocate(first);
        // SAFETY: allocated just above with this layout.
        unsafe { deallocate(ptr, first) };
        // Another type of the same size, and a smaller alignment, gets the same block.
        let second = Layout::from_size_align(SIZE_REUSE - 4, 4).unwrap();
        let again = allocate(second);
        assert_eq!(again, ptr);
        // SAFETY: as above.
        unsafe { deallocate(again, second) };
    }

    #[test]
    fn blocks_freed_on_one_thread_serve_allocations_on_another() {
        let layout = Layout::from_size_align(SIZE_ACROSS, 8).unwrap();
        let count = 3 * BATCH;
        let blocks: Vec<Block> = (0..count).map(|_| Block(allocate(layout))).collect();
        let freed: HashSet<usize> = blocks
            .iter()
            .map(|block| block.0.as_ptr() as usize)
            .collect();
        // Freed on a thread that then exits: what its own stack holds goes to the shared one.
        thread::spawn(move || {
            for Block(ptr) in blocks {
                // SAFETY: allocated above with this layout, each freed once.
                unsafe { deallocate(ptr, layout) };
            }
        })
        .join()
        .unwrap();
        let reused: Vec<Block> =
            thread::spawn(move || (0..count).map(|_| Block(allocate(layout))).collect())
                .join()
                .unwrap();
        let addresses: HashSet<usize> = reused
            .iter()
            .map(|block| block.0.as_ptr() as usize)
            .collect();
        assert_eq!(addresses, freed, "every freed block is reused, none twice");
        for Block(ptr) in reused {
            // SAFETY: allocated with this layout on the thread above.
            unsafe { deallocate(ptr, layout) };
        }
    }

    #[test]
    fn what_the_caches_cannot_hold_goes_back_to_the_allocator() {
        let layout = Layout::from_size_align(SIZE_OVERFLOW, 8).unwrap();
        // More than the shared stack and a thread's own hold: the rest must be freed (a leak
        // here fails the test under Miri).
        let count = if cfg!(miri) {
            SHARED_MAX + 2 * LOCAL_MAX
        } else {
            4 * SHARED_MAX
        };
        let blocks: Vec<Block> = (0..count).map(|_| Block(allocate(layout))).collect();
        thread::spawn(move || {
            for Block(ptr) in blocks {
                // SAFETY: allocated above with this layout, each freed once.
                unsafe { deallocate(ptr, layout) };
            }
            let (class, _) = class_of(layout).unwrap();
            assert_eq!(
                LOCAL.with(|local| local.borrow().classes[class].len()),
                LOCAL_MAX
            );
        })
        .join()
        .unwrap();
        let (class, _) = class_of(layout).unwrap();
        assert_eq!(with_shared(class, |shared| shared.len()), SHARED_MAX);
    }

    #[test]
    fn big_or_overaligned_cells_bypass_the_caches() {
        assert!(class_of(Layout::from_size_align(MAX_CACHED + 8, 8).unwrap()).is_none());
        assert!(class_of(Layout::from_size_align(64, 32).unwrap()).is_none());
        for layout in [
            Layout::from_size_align(MAX_CACHED + 8, 8).unwrap(),
            Layout::from_size_align(64, 32).unwrap(),
        ] {
            let ptr = allocate(layout);
            assert_eq!(ptr.as_ptr() as usize % layout.align(), 0);
            // SAFETY: allocated just above with this layout.
            unsafe { deallocate(ptr, layout) };
        }
        let (class, block) = class_of(Layout::from_size_align(100, 4).unwrap()).unwrap();
        assert_eq!((class, block.size(), block.align()), (12, 104, BLOCK_ALIGN));
    }
}
