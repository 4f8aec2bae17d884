//! How much memory a pending task costs, and that shutdown gives it all back.
//!
//! A counting global allocator (a wrapper around `System`) tracks live heap bytes. One
//! million tasks are spawned, each awaiting a future that never completes, and their
//! `JoinHandle`s are dropped at once (detached), so the figure is the task alone: its cell,
//! header and scheduling state, minus the future's own size. Resident memory comes from
//! `/proc/self/statm` (Linux). Dropping the runtime cancels every task, and the live heap
//! returns to where it started, give or take a few kilobytes of one-time, process-wide
//! bookkeeping (it stays flat if runtimes are built and dropped again and again).
//!
//! Run with `cargo run --release --example memory_usage`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

const TASKS: usize = 1_000_000;

/// The system allocator, counting live bytes.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so each
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counting has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: our caller upholds `alloc`'s contract, which `System::alloc` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: our caller upholds `realloc`'s contract, which `System::realloc` shares.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Resident set size in bytes, from `/proc/self/statm` (0 where that file is missing).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The task body: waits forever (until shutdown cancels it).
fn never_ready() -> impl Future<Output = ()> + Send + 'static {
    std::future::pending::<()>()
}

fn mebibytes(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let rt = fiber::Runtime::new().expect("a runtime");
    let metrics = rt.metrics();
    let workers = metrics.num_workers();
    // Warm up: workers started, one task spawned and finished.
    rt.block_on(rt.spawn(async {})).expect("the warm-up task");
    let polls_before: u64 = (0..workers).map(|w| metrics.worker_poll_count(w)).sum();

    let heap_before = live_bytes();
    let resident_before = resident_bytes();
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(rt.spawn(never_ready())); // the JoinHandle is dropped: the task is detached
    }
    let spawned_in = start.elapsed();

    // Wait (bounded) until every task has been polled once, so the run queues are empty
    // and only the pending tasks remain on the heap.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let polls: u64 = (0..workers).map(|w| metrics.worker_poll_count(w)).sum();
        if polls - polls_before >= TASKS as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tasks were not all polled within 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let heap_after = live_bytes();
    let resident_after = resident_bytes();
    assert_eq!(metrics.num_alive_tasks(), TASKS);

    let future_size = std::mem::size_of_val(&never_ready());
    let per_task = (heap_after - heap_before) as f64 / TASKS as f64;
    println!("spawned {TASKS} pending tasks (JoinHandles dropped) in {spawned_in:?}");
    println!(
        "live heap: {:.1} MiB before, {:.1} MiB with the tasks pending",
        mebibytes(heap_before),
        mebibytes(heap_after)
    );
    println!(
        "{:.1} bytes per task ({per_task:.1} heap bytes per task, minus the {future_size}-byte future)",
        per_task - future_size as f64
    );
    println!(
        "resident memory: {:.1} MiB before, {:.1} MiB after ({:.1} bytes per task)",
        mebibytes(resident_before as isize),
        mebibytes(resident_after as isize),
        (resident_after as f64 - resident_before as f64) / TASKS as f64
    );

    let start = Instant::now();
    drop(rt); // shutdown: every pending task is cancelled and freed
    let shutdown_in = start.elapsed();
    println!("alive tasks after shutdown: {}", metrics.num_alive_tasks());
    drop(metrics); // the metrics view keeps the runtime's shared state alive
    let heap_end = live_bytes();
    println!(
        "after dropping the runtime ({shutdown_in:?}) and its metrics: live heap {:.1} MiB, {} bytes above the start",
        mebibytes(heap_end),
        heap_end - heap_before
    );
    assert!(
        heap_end - heap_before < (heap_after - heap_before) / 100,
        "shutdown left more than 1% of the tasks' memory behind"
    );
}
