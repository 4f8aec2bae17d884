//! The system allocator, counting live heap bytes while counting is on, for the examples
//! that measure memory and for the benchmark harness (`#[path]`-included by each, including
//! `benches/runtimes/harness/`; not an example of its own).
//!
//! Counting is one shared atomic add per allocation: cheap alone, but a point of contention
//! for many threads, so a benchmark switches it on only around what it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Wraps [`System`]; install it with `#[global_allocator]`.
pub struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ENABLED: AtomicBool = AtomicBool::new(true);

fn count(bytes: isize) {
    if ENABLED.load(Ordering::Relaxed) {
        LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so each
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counting has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: our caller upholds `alloc`'s contract, which `System::alloc` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: our caller upholds `realloc`'s contract, which `System::realloc` shares.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live heap bytes counted so far (allocations minus frees while counting was on).
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

/// Switches counting on or off; it starts on.
#[allow(dead_code)] // only the benchmark harness switches it
pub fn set_counting(on: bool) {
    ENABLED.store(on, Ordering::SeqCst);
}
