//! How much memory a pending task costs, and that shutdown gives it all back.
//!
//! A counting global allocator (a wrapper around `System`) tracks live heap bytes. One
//! million tasks are spawned, each awaiting a future that never completes, and their
//! `JoinHandle`s are dropped at once (detached), so the figure is the task alone: its cell,
//! header and scheduling state, minus the future's own size. Resident memory comes from
//! `/proc/self/statm` (Linux). Dropping the runtime cancels every task, and the live heap
//! returns to where it started, give or take about a hundred kilobytes: one-time,
//! process-wide bookkeeping, and the freed task cells fiber keeps for the next tasks of
//! their size (at most 1,024 per size, plus 64 per thread). It stays flat if runtimes are
//! built and dropped again and again.
//!
//! Run with `cargo run --release --example memory_usage`.

use std::future::Future;

use std::time::{Duration, Instant};

const TASKS: usize = 1_000_000;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

fn live_bytes() -> isize {
    counting_alloc::live_bytes()
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
