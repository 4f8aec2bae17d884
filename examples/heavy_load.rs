//! CPU-heavy jobs on every worker: the runtime adds little overhead and leaves no worker idle.
//!
//! Each job hashes a counter a few million times with a small FNV-1a loop. The same jobs run
//! first one after another on the main thread, then as tasks on all workers. The output
//! compares the time per job (wall time / jobs) with the ideal (single-thread time / workers)
//! and shows each worker's busy share (`worker_busy_duration` over the wall time).
//!
//! Run with `cargo run --release --example heavy_load`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const ROUNDS_PER_JOB: u64 = 2_000_000;
const JOBS_PER_WORKER: usize = 32;

/// FNV-1a over the bytes of `0..rounds` mixed with `seed`: pure CPU work.
fn hash_job(seed: u64, rounds: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for round in 0..black_box(rounds) {
        for byte in round.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn main() {
    let rt = fiber::Runtime::new().expect("a runtime");
    let metrics = rt.metrics();
    let workers = metrics.num_workers();
    let jobs = workers * JOBS_PER_WORKER;

    // Warm up, then time the jobs one after another on this thread.
    black_box(hash_job(0, ROUNDS_PER_JOB));
    let start = Instant::now();
    let mut expected = 0u64;
    for job in 0..jobs {
        expected ^= hash_job(job as u64, ROUNDS_PER_JOB);
    }
    let single = start.elapsed();
    let single_per_job = single / jobs as u32;

    // The same jobs as tasks on every worker.
    let busy_before: Vec<Duration> = (0..workers)
        .map(|worker| metrics.worker_busy_duration(worker))
        .collect();
    let start = Instant::now();
    let (combined, job_times) = rt.block_on(async {
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                fiber::spawn(async move {
                    let started = Instant::now();
                    let hash = hash_job(job as u64, ROUNDS_PER_JOB);
                    (hash, started.elapsed())
                })
            })
            .collect();
        let mut combined = 0u64;
        let mut job_times = Duration::ZERO;
        for handle in handles {
            let (hash, took) = handle.await.expect("the job finished");
            combined ^= hash;
            job_times += took;
        }
        (combined, job_times)
    });
    let wall = start.elapsed();
    assert_eq!(combined, expected, "the tasks computed something else");

    let multi_per_job = wall / jobs as u32;
    let ideal_per_job = single_per_job / workers as u32;
    println!("{jobs} jobs of {ROUNDS_PER_JOB} FNV rounds, {workers} workers");
    println!("single thread: {single:?} in all, {single_per_job:?} per job");
    println!(
        "multi thread:  {wall:?} in all, {multi_per_job:?} per job (ideal {ideal_per_job:?}, {:.1}% above it)",
        (multi_per_job.as_secs_f64() / ideal_per_job.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "one job inside a task takes {:?} on average (vs {single_per_job:?} alone)",
        job_times / jobs as u32
    );
    println!(
        "speed-up: {:.2}x on {workers} workers",
        single.as_secs_f64() / wall.as_secs_f64()
    );
    for (worker, before) in busy_before.iter().enumerate() {
        let busy = metrics.worker_busy_duration(worker) - *before;
        println!(
            "worker {worker}: busy {busy:?} of {wall:?} wall ({:.1}%), {} polls",
            busy.as_secs_f64() / wall.as_secs_f64() * 100.0,
            metrics.worker_poll_count(worker)
        );
    }
}
