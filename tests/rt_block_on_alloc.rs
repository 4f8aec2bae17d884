//! A warm `block_on` allocates nothing: it polls with a cached waker and parker.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread only, so other tests' threads and the
/// runtime's workers do not disturb the count.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local without a destructor, so touching it never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn warm_block_on_of_a_ready_future_allocates_nothing() {
    let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    rt.block_on(async {});
    fiber::block_on(async {});
    let before = allocations();
    for i in 0..1000u64 {
        assert_eq!(rt.block_on(async move { i }), i);
        assert_eq!(fiber::block_on(async move { i + 1 }), i + 1);
    }
    assert_eq!(allocations() - before, 0);
}

#[test]
fn warm_block_on_that_parks_allocates_nothing() {
    let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    rt.block_on(fiber::yield_now());
    let before = allocations();
    for _ in 0..100 {
        rt.block_on(async {
            fiber::yield_now().await;
            fiber::yield_now().await;
        });
    }
    assert_eq!(allocations() - before, 0);
}
