//! Measures how late fiber's timers fire and how much heap a pending sleep costs.
//!
//! Run on an idle machine: `cargo run --release --example timer_lateness`.
//!
//! Lateness is the time from a sleep's deadline to the moment the sleeping future observed
//! completion. Heap bytes per pending sleep are the live bytes a registered (polled once,
//! still pending) `Sleep` adds, counted by a wrapper around the system allocator; the
//! `Sleep` value itself (`size_of::<Sleep>()`) is not included.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};

use fiber::time::{sleep, Sleep};
use futures::executor::block_on;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// Durations of 1 to 20 ms in a fixed pseudo-random order.
fn one_to_twenty_millis(count: usize) -> Vec<Duration> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            Duration::from_millis(1 + (seed >> 33) % 20)
        })
        .collect()
}

fn report(label: &str, mut lateness: Vec<Duration>) {
    lateness.sort_unstable();
    let at = |fraction: f64| lateness[((lateness.len() - 1) as f64 * fraction) as usize];
    println!(
        "{label}: {} sleeps, lateness median {:?}, p99 {:?}, max {:?}",
        lateness.len(),
        at(0.5),
        at(0.99),
        lateness[lateness.len() - 1]
    );
}

fn main() {
    // Start the driver so its one-time allocations are not counted below.
    block_on(sleep(Duration::from_millis(1)));

    let count = 100_000;
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut pending: Vec<Sleep> = Vec::with_capacity(count);
    pending.extend((0..count).map(|_| sleep(Duration::from_secs(3600))));
    let before = counting_alloc::live_bytes();
    for pause in &mut pending {
        assert!(Pin::new(pause).poll(&mut cx).is_pending());
    }
    let after = counting_alloc::live_bytes();
    println!(
        "heap per pending sleep: {:.1} bytes ({count} registered; the Sleep value itself is {} bytes)",
        (after - before) as f64 / count as f64,
        std::mem::size_of::<Sleep>()
    );
    drop(pending);

    let concurrent = block_on(futures::future::join_all(
        one_to_twenty_millis(10_000)
            .into_iter()
            .map(|duration| async move {
                let pause = sleep(duration);
                let deadline = pause.deadline();
                pause.await;
                Instant::now() - deadline
            }),
    ));
    report("10,000 concurrent 1-20 ms sleeps", concurrent);

    let one_at_a_time = one_to_twenty_millis(300)
        .into_iter()
        .map(|duration| {
            let pause = sleep(duration / 4 + Duration::from_micros(137));
            let deadline = pause.deadline();
            block_on(pause);
            Instant::now() - deadline
        })
        .collect();
    report("300 sleeps one at a time", one_at_a_time);

    // The `timers` workload of PEERS.md, on an executor that is not fiber's.
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .expect("a thread pool");
    for round in 0..3 {
        let start = Instant::now();
        let (done, finished) = std::sync::mpsc::channel();
        for duration in one_to_twenty_millis(100_000) {
            let done = done.clone();
            pool.spawn_ok(async move {
                sleep(duration).await;
                let _ = done.send(());
            });
        }
        drop(done);
        let completed = finished.iter().count();
        println!(
            "timers round {round}: {completed} tasks sleeping 1-20 ms on a 2-thread ThreadPool in {:?}",
            start.elapsed()
        );
    }
}
