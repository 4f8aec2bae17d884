//! `#[fiber::main]` and `#[fiber::test]`: the runtime each builds, return values, panics and
//! `timeout_ms`.
//!
//! `#[fiber::main]` functions stay callable, so the plain tests below call them under the
//! watchdog. `#[fiber::test]` functions are tests themselves; those that do more than a
//! trivial step carry a `timeout_ms`, their own watchdog.

mod common;

use std::num::ParseIntError;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use fiber::Handle;

fn available_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn current_workers() -> usize {
    Handle::current().metrics().num_workers()
}

// ---- #[fiber::main] ----

#[fiber::main]
async fn main_default() -> usize {
    fiber::spawn(async {}).await.unwrap();
    current_workers()
}

#[fiber::main(worker_threads = 3)]
async fn main_three_workers() -> usize {
    current_workers()
}

#[fiber::main(flavor = "current_thread")]
async fn main_current_thread() -> (usize, std::thread::ThreadId) {
    (current_workers(), std::thread::current().id())
}

#[fiber::main(flavor = "multi_thread", worker_threads = 2)]
async fn main_multi_thread_two() -> usize {
    // Both workers run tasks: two tasks that each wait for the other finish only in parallel.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            fiber::spawn(async move {
                barrier.wait();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    current_workers()
}

#[fiber::main]
async fn main_parse_number() -> Result<u32, ParseIntError> {
    let n: u32 = "21".parse()?;
    Ok(fiber::spawn(async move { n * 2 }).await.unwrap())
}

#[fiber::main]
async fn main_parse_word() -> Result<u32, ParseIntError> {
    let n: u32 = "twenty-one".parse()?;
    Ok(n * 2)
}

#[fiber::main]
async fn main_early_return() -> u32 {
    for round in 0.. {
        if round == 3 {
            return round;
        }
        fiber::yield_now().await;
    }
    unreachable!("the loop returns at round 3")
}

#[test]
fn main_defaults_to_one_worker_per_cpu() {
    assert_eq!(watchdog(main_default), available_parallelism());
}

#[test]
fn main_worker_threads_alone_starts_that_many_workers() {
    assert_eq!(watchdog(main_three_workers), 3);
}

#[test]
fn main_current_thread_has_one_worker_and_polls_the_body_on_the_calling_thread() {
    let (workers, body_thread, calling_thread) = watchdog(|| {
        let (workers, body_thread) = main_current_thread();
        (workers, body_thread, std::thread::current().id())
    });
    assert_eq!(workers, 1);
    assert_eq!(body_thread, calling_thread);
}

#[test]
fn main_multi_thread_with_worker_threads_runs_tasks_in_parallel() {
    assert_eq!(watchdog(main_multi_thread_two), 2);
}

#[test]
fn main_returns_the_result_of_its_body_and_question_mark_works() {
    assert_eq!(watchdog(main_parse_number), Ok(42));
    let error = watchdog(main_parse_word).unwrap_err();
    assert_eq!(error, "x".parse::<u32>().unwrap_err());
}

#[test]
fn main_body_may_return_early() {
    assert_eq!(watchdog(main_early_return), 3);
}

#[test]
fn main_shuts_its_runtime_down_before_returning() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct CountDrop;
    impl Drop for CountDrop {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[fiber::main(worker_threads = 1)]
    async fn leave_a_task_pending() {
        let guard = CountDrop;
        drop(fiber::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }

    watchdog(leave_a_task_pending);
    assert_eq!(DROPPED.load(Ordering::SeqCst), 1);
}

#[test]
#[should_panic(expected = "could not compute")]
fn main_passes_on_a_panic_of_its_body() {
    #[fiber::main(worker_threads = 1)]
    async fn panics() {
        panic!("could not compute");
    }
    watchdog(panics);
}

// ---- #[fiber::test] ----

#[fiber::test]
async fn test_defaults_to_one_worker() {
    assert_eq!(current_workers(), 1);
}

#[fiber::test(timeout_ms = 10_000)]
async fn test_spawned_tasks_run() {
    let tasks: Vec<_> = (0..8u64).map(|n| fiber::spawn(async move { n })).collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await.unwrap();
    }
    assert_eq!(sum, 28);
}

#[fiber::test(worker_threads = 4, timeout_ms = 10_000)]
async fn test_worker_threads_alone_starts_that_many_workers() {
    assert_eq!(current_workers(), 4);
}

#[fiber::test(flavor = "current_thread")]
async fn test_current_thread_has_one_worker() {
    assert_eq!(current_workers(), 1);
}

#[fiber::test(flavor = "multi_thread", timeout_ms = 10_000)]
async fn test_multi_thread_defaults_to_one_worker_per_cpu() {
    assert_eq!(current_workers(), available_parallelism());
}

#[fiber::test(flavor = "multi_thread", worker_threads = 2, timeout_ms = 10_000)]
async fn test_multi_thread_with_worker_threads() {
    assert_eq!(current_workers(), 2);
}

#[fiber::test]
async fn test_may_return_ok() -> Result<(), ParseIntError> {
    let n: u32 = "5".parse()?;
    assert_eq!(n, 5);
    Ok(())
}

#[fiber::test(timeout_ms = 10_000)]
async fn test_with_timeout_may_return_ok() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n: u32 = "5".parse()?;
    assert_eq!(fiber::spawn(async move { n + 1 }).await?, 6);
    Ok(())
}

/// A doc comment, kept on the function like every other attribute.
#[fiber::test]
#[should_panic(expected = "the body panicked")]
async fn test_should_panic_sees_the_panic_of_the_body() {
    panic!("the body panicked");
}

#[fiber::test(timeout_ms = 10_000)]
#[should_panic(expected = "the body panicked under a timeout")]
async fn test_with_timeout_passes_on_the_panic_of_the_body() {
    fiber::yield_now().await;
    panic!("the body panicked under a timeout");
}

#[fiber::test(timeout_ms = 100)]
#[should_panic(
    expected = "test `test_timeout_fires_on_a_body_that_never_finishes` did not \
                           finish within timeout_ms = 100"
)]
async fn test_timeout_fires_on_a_body_that_never_finishes() {
    std::future::pending::<()>().await;
}

#[fiber::test(timeout_ms = 100)]
#[should_panic(expected = "did not finish within timeout_ms = 100")]
async fn test_timeout_fires_on_a_body_that_blocks_its_thread() {
    // Blocks the thread rather than awaiting: only a watchdog outside the thread sees it.
    loop {
        std::thread::park();
    }
}

// ---- crate = "..." ----

/// A stand-in for fiber that records that the expansion went through it.
mod fake_fiber {
    use std::sync::atomic::AtomicUsize;

    pub use fiber::Builder;

    pub static CALLS: AtomicUsize = AtomicUsize::new(0);

    pub mod __private {
        pub fn block_on<F: std::future::Future>(
            attribute: &'static str,
            builder: &mut fiber::Builder,
            future: F,
        ) -> F::Output {
            super::CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            fiber::__private::block_on(attribute, builder, future)
        }
    }
}

#[fiber::main(crate = "fake_fiber", worker_threads = 1)]
async fn main_through_a_renamed_crate() -> u8 {
    7
}

#[test]
fn crate_argument_names_the_path_to_fiber() {
    assert_eq!(watchdog(main_through_a_renamed_crate), 7);
    assert_eq!(fake_fiber::CALLS.load(Ordering::SeqCst), 1);
}
