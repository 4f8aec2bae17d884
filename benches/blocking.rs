//! Micro-benchmark of the task toolkit: `spawn_blocking` round trips, `block_in_place` and
//! `JoinSet` throughput on fiber and tokio, side by side in one process.
//!
//! ```text
//! cargo bench --bench blocking
//! ```
//!
//! Two cases, each from inside a task on a runtime of two workers: `sequential` awaits
//! 10,000 jobs one after the other (a hand-off to a warm pool thread and back, each time);
//! `concurrent` spawns 10,000 jobs at once and then awaits them all (the pool's queue and its
//! growth). `join_set` spawns 10,000 tasks that yield once into a `JoinSet` and joins them
//! all in completion order. `block_in_place` runs the jobs in 16 tasks at once, each job a
//! `block_in_place` (the worker's queue handed to a pool thread and taken back) followed by
//! a yield. The runtimes take turns round by round, so drift on a shared machine hits both
//! alike; the medians per job and their ratio are printed.
//!
//! Under `cargo test` (no `--bench` argument) each case runs once with a few jobs, as a
//! smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Jobs per round.
struct Load {
    jobs: u64,
    rounds: usize,
}

fn fiber_sequential(rt: &fiber::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let mut sum = 0;
        for job in 0..jobs {
            sum += fiber::spawn_blocking(move || black_box(job)).await.unwrap();
        }
        sum
    }))
    .unwrap()
}

fn tokio_sequential(rt: &tokio::runtime::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let mut sum = 0;
        for job in 0..jobs {
            sum += tokio::task::spawn_blocking(move || black_box(job))
                .await
                .unwrap();
        }
        sum
    }))
    .unwrap()
}

fn fiber_concurrent(rt: &fiber::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..jobs)
            .map(|job| fiber::spawn_blocking(move || black_box(job)))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }))
    .unwrap()
}

fn tokio_concurrent(rt: &tokio::runtime::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..jobs)
            .map(|job| tokio::task::spawn_blocking(move || black_box(job)))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }))
    .unwrap()
}

fn fiber_join_set(rt: &fiber::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let mut set = fiber::task::JoinSet::new();
        for job in 0..jobs {
            set.spawn(async move {
                fiber::yield_now().await;
                black_box(job)
            });
        }
        let mut sum = 0;
        while let Some(output) = set.join_next().await {
            sum += output.unwrap();
        }
        sum
    }))
    .unwrap()
}

fn tokio_join_set(rt: &tokio::runtime::Runtime, jobs: u64) -> u64 {
    rt.block_on(rt.spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for job in 0..jobs {
            set.spawn(async move {
                tokio::task::yield_now().await;
                black_box(job)
            });
        }
        let mut sum = 0;
        while let Some(output) = set.join_next().await {
            sum += output.unwrap();
        }
        sum
    }))
    .unwrap()
}

/// Tasks that call `block_in_place` at once in the `block_in_place` case.
const BLOCKING_TASKS: u64 = 16;

fn fiber_block_in_place(rt: &fiber::Runtime, jobs: u64) -> u64 {
    rt.block_on(async {
        let tasks: Vec<_> = (0..BLOCKING_TASKS)
            .map(|task| {
                rt.spawn(async move {
                    let mut sum = 0;
                    for job in (task..jobs).step_by(BLOCKING_TASKS as usize) {
                        sum += fiber::block_in_place(|| black_box(job));
                        fiber::yield_now().await;
                    }
                    sum
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    })
}

fn tokio_block_in_place(rt: &tokio::runtime::Runtime, jobs: u64) -> u64 {
    rt.block_on(async {
        let tasks: Vec<_> = (0..BLOCKING_TASKS)
            .map(|task| {
                rt.spawn(async move {
                    let mut sum = 0;
                    for job in (task..jobs).step_by(BLOCKING_TASKS as usize) {
                        sum += tokio::task::block_in_place(|| black_box(job));
                        tokio::task::yield_now().await;
                    }
                    sum
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    })
}

/// Runs `case` once and returns the time per job.
fn time_per_job(jobs: u64, case: impl FnOnce() -> u64) -> Duration {
    let start = Instant::now();
    let sum = case();
    let elapsed = start.elapsed();
    assert_eq!(sum, jobs * (jobs - 1) / 2, "every job ran once");
    elapsed / u32::try_from(jobs).expect("jobs fit in u32")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let load = if benchmarking {
        Load {
            jobs: 10_000,
            rounds: 11,
        }
    } else {
        Load {
            jobs: 10,
            rounds: 1,
        }
    };
    let fiber_rt = fiber::Builder::new().worker_threads(2).build().unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();

    type Case<'a> = (
        &'static str,
        Box<dyn Fn() -> u64 + 'a>,
        Box<dyn Fn() -> u64 + 'a>,
    );
    let jobs = load.jobs;
    let cases: [Case<'_>; 4] = [
        (
            "sequential",
            Box::new(|| fiber_sequential(&fiber_rt, jobs)),
            Box::new(|| tokio_sequential(&tokio_rt, jobs)),
        ),
        (
            "concurrent",
            Box::new(|| fiber_concurrent(&fiber_rt, jobs)),
            Box::new(|| tokio_concurrent(&tokio_rt, jobs)),
        ),
        (
            "block_in_place",
            Box::new(|| fiber_block_in_place(&fiber_rt, jobs)),
            Box::new(|| tokio_block_in_place(&tokio_rt, jobs)),
        ),
        (
            "join_set",
            Box::new(|| fiber_join_set(&fiber_rt, jobs)),
            Box::new(|| tokio_join_set(&tokio_rt, jobs)),
        ),
    ];
    println!(
        "spawn_blocking round trips, block_in_place and JoinSet throughput, {} jobs per round, median of {} rounds",
        load.jobs, load.rounds
    );
    println!("| case | fiber (µs/job) | tokio (µs/job) | fiber / tokio |");
    println!("|---|---|---|---|");
    for (name, fiber, tokio) in &cases {
        // A warm-up round each, so both pools have their threads.
        fiber();
        tokio();
        let mut fiber_samples = Vec::new();
        let mut tokio_samples = Vec::new();
        for round in 0..load.rounds {
            // Alternate which runtime goes first.
            if round % 2 == 0 {
                fiber_samples.push(time_per_job(jobs, fiber));
                tokio_samples.push(time_per_job(jobs, tokio));
            } else {
                tokio_samples.push(time_per_job(jobs, tokio));
                fiber_samples.push(time_per_job(jobs, fiber));
            }
        }
        let (fiber_median, tokio_median) = (median(fiber_samples), median(tokio_samples));
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            fiber_median.as_secs_f64() * 1e6,
            tokio_median.as_secs_f64() * 1e6,
            fiber_median.as_secs_f64() / tokio_median.as_secs_f64()
        );
    }
}
