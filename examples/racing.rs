//! Many light tasks woken from many OS threads at once, checked for races.
//!
//! 100,000 tasks each wait on two oneshot channels whose senders are fired by two different
//! plain OS threads (8 in all, released together), so a task is often woken twice at the
//! same instant, sometimes before its first poll. Each task counts its completions and
//! marks itself while being polled. At the end every task must have completed exactly once
//! and no task may ever have been polled by two workers at the same time. The per-worker poll
//! counts show the work spread over all workers.
//!
//! Run with `cargo run --release --example racing`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::time::Instant;

use futures::channel::oneshot;

const TASKS: usize = 100_000;
const FIRING_THREADS: usize = 8;

/// What every task records, indexed by task number.
struct Ledger {
    completions: Vec<AtomicU32>,
    being_polled: Vec<AtomicBool>,
    overlapping_polls: AtomicUsize,
}

/// Polls `inner` while holding task `id`'s "being polled" mark, counting overlaps.
struct Exclusive<F> {
    id: usize,
    ledger: Arc<Ledger>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Exclusive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mark = &self.ledger.being_polled[self.id];
        if mark.swap(true, Ordering::AcqRel) {
            self.ledger
                .overlapping_polls
                .fetch_add(1, Ordering::Relaxed);
        }
        let output = self.inner.as_mut().poll(cx);
        self.ledger.being_polled[self.id].store(false, Ordering::Release);
        output
    }
}

fn main() {
    let rt = fiber::Runtime::new().expect("a runtime");
    let workers = rt.metrics().num_workers();
    let ledger = Arc::new(Ledger {
        completions: (0..TASKS).map(|_| AtomicU32::new(0)).collect(),
        being_polled: (0..TASKS).map(|_| AtomicBool::new(false)).collect(),
        overlapping_polls: AtomicUsize::new(0),
    });

    let start = Instant::now();
    let mut senders: Vec<Vec<oneshot::Sender<usize>>> =
        (0..FIRING_THREADS).map(|_| Vec::new()).collect();
    let mut handles = Vec::with_capacity(TASKS);
    for id in 0..TASKS {
        let (first, first_fired) = oneshot::channel();
        let (second, second_fired) = oneshot::channel();
        senders[id % FIRING_THREADS].push(first);
        senders[(id + FIRING_THREADS / 2) % FIRING_THREADS].push(second);
        let task_ledger = ledger.clone();
        let body = async move {
            let (a, b) = fiber::join!(first_fired, second_fired);
            task_ledger.completions[id].fetch_add(1, Ordering::Relaxed);
            a.expect("fired") + b.expect("fired")
        };
        let ledger = ledger.clone();
        handles.push(rt.spawn(Exclusive {
            id,
            ledger,
            inner: Box::pin(body),
        }));
    }

    // Release all firing threads together so wakes of the same task collide.
    let barrier = Arc::new(Barrier::new(FIRING_THREADS));
    let firing: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(thread, senders)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                // Half the threads fire in reverse order, so pairs meet in the middle.
                let fire = |sender: oneshot::Sender<usize>| sender.send(1).expect("task alive");
                if thread % 2 == 0 {
                    senders.into_iter().for_each(fire);
                } else {
                    senders.into_iter().rev().for_each(fire);
                }
            })
        })
        .collect();

    let total: usize = rt.block_on(async {
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("the task completed");
        }
        total
    });
    for thread in firing {
        thread.join().expect("a firing thread");
    }
    let elapsed = start.elapsed();

    let ran_once = ledger
        .completions
        .iter()
        .filter(|count| count.load(Ordering::Relaxed) == 1)
        .count();
    let overlaps = ledger.overlapping_polls.load(Ordering::Relaxed);
    println!(
        "{TASKS} tasks, each woken by 2 of {FIRING_THREADS} OS threads, on {workers} workers: {elapsed:?}"
    );
    println!("tasks that ran exactly once: {ran_once} of {TASKS}");
    println!("overlapping polls of one task: {overlaps}");
    println!("sum of task outputs: {total} (expected {})", 2 * TASKS);

    let metrics = rt.metrics();
    let mut all_polls = 0;
    for worker in 0..workers {
        let polls = metrics.worker_poll_count(worker);
        all_polls += polls;
        println!(
            "worker {worker}: {polls} polls, {} parks",
            metrics.worker_park_count(worker)
        );
    }
    println!(
        "{all_polls} polls by workers for {} spawned tasks ({:.2} per task; block_on polls on the main thread are not counted)",
        metrics.spawned_tasks_count(),
        all_polls as f64 / TASKS as f64
    );

    assert_eq!(ran_once, TASKS, "some task did not run exactly once");
    assert_eq!(overlaps, 0, "a task was polled by two threads at once");
    assert_eq!(total, 2 * TASKS);
    println!("OK: every task ran exactly once, never polled concurrently");
}
