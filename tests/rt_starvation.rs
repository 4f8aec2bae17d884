//! A task queued behind a worker stuck in one long poll is taken by another worker: the
//! monitor moves the stuck worker's next task (the slot nobody else looks in) to the
//! injector, and wakes a parked worker for its deque.
//!
//! The bound the runtime aims at is about two milliseconds from the start of the blocking
//! poll; the tests allow far more, as a loaded machine may not run the other worker at once,
//! but far less than the block, which is what a task stranded in the slot would wait.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::watchdog;

/// How long the blocking task keeps its worker.
const BLOCK: Duration = Duration::from_millis(600);
/// The most a freed task may wait here, spawn to run.
const GENEROUS: Duration = Duration::from_millis(200);

fn two_workers() -> fiber::Runtime {
    fiber::Builder::new().worker_threads(2).build().unwrap()
}

#[test]
fn a_task_spawned_by_a_task_that_then_blocks_runs_elsewhere() {
    watchdog(|| {
        let rt = two_workers();
        let (ran, child_ran) = mpsc::channel();
        let (spawned, spawned_at) = mpsc::channel();
        let blocker = rt.spawn(async move {
            spawned.send(Instant::now()).unwrap();
            fiber::spawn(async move { ran.send(Instant::now()).unwrap() });
            std::thread::sleep(BLOCK);
        });
        let start = spawned_at.recv().unwrap();
        let end = child_ran.recv().unwrap();
        let waited = end.duration_since(start);
        assert!(
            waited < GENEROUS,
            "the spawned task waited {waited:?} behind its spawner"
        );
        rt.block_on(blocker).unwrap();
    });
}

#[test]
fn a_task_woken_by_a_task_that_then_blocks_runs_elsewhere() {
    watchdog(|| {
        let rt = two_workers();
        let (wake, woken) = futures::channel::oneshot::channel::<Instant>();
        let (ran, waiter_ran) = mpsc::channel();
        let waiter = rt.spawn(async move {
            let sent_at = woken.await.unwrap();
            ran.send(sent_at.elapsed()).unwrap();
        });
        // Let the waiter reach its await before it is woken.
        std::thread::sleep(Duration::from_millis(50));
        let blocker = rt.spawn(async move {
            wake.send(Instant::now()).unwrap();
            std::thread::sleep(BLOCK);
        });
        let waited = waiter_ran.recv().unwrap();
        assert!(
            waited < GENEROUS,
            "the woken task waited {waited:?} behind its waker"
        );
        rt.block_on(waiter).unwrap();
        rt.block_on(blocker).unwrap();
    });
}

#[test]
fn every_task_queued_behind_a_blocked_worker_runs_elsewhere() {
    watchdog(|| {
        let rt = two_workers();
        let (ran, children_ran) = mpsc::channel();
        let (spawned, spawned_at) = mpsc::channel();
        let blocker = rt.spawn(async move {
            spawned.send(Instant::now()).unwrap();
            for _ in 0..8 {
                let ran = ran.clone();
                fiber::spawn(async move { ran.send(Instant::now()).unwrap() });
            }
            std::thread::sleep(BLOCK);
        });
        let start = spawned_at.recv().unwrap();
        for _ in 0..8 {
            let waited = children_ran.recv().unwrap().duration_since(start);
            assert!(
                waited < GENEROUS,
                "a queued task waited {waited:?} behind its spawner"
            );
        }
        rt.block_on(blocker).unwrap();
    });
}

/// Many tasks that block briefly right after spawning: whether the monitor or the spawner
/// runs each child, every child runs exactly once.
#[test]
fn freed_tasks_run_exactly_once() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(3).build().unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..200)
            .map(|_| {
                let runs = runs.clone();
                rt.spawn(async move {
                    let child = fiber::spawn(async move {
                        runs.fetch_add(1, Ordering::Relaxed);
                    });
                    std::thread::sleep(Duration::from_micros(1500));
                    child.await.unwrap();
                })
            })
            .collect();
        for handle in handles {
            rt.block_on(handle).unwrap();
        }
        assert_eq!(runs.load(Ordering::Relaxed), 200);
    });
}

/// The monitor stops with the runtime, even while a worker is stuck when it is dropped.
#[test]
fn a_runtime_with_a_stuck_worker_still_shuts_down() {
    watchdog(|| {
        let rt = two_workers();
        let (started, blocked) = mpsc::channel();
        drop(rt.spawn(async move {
            started.send(()).unwrap();
            fiber::spawn(async {});
            std::thread::sleep(Duration::from_millis(100));
        }));
        blocked.recv().unwrap();
        drop(rt);
    });
}
