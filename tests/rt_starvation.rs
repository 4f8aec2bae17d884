//! A task that blocks its worker must not hold back the work it queued there: an idle worker
//! takes that work (from the next-task slot as well as from the local deque) while the poll
//! runs on, and it goes back to parking for good once the runtime is idle again.

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;

/// How long the spawning task keeps its worker busy without yielding.
const BLOCK: Duration = Duration::from_millis(50);
/// Generous: an idle worker looks at a long poll every millisecond or so.
const BOUND: Duration = Duration::from_millis(25);

fn two_workers() -> fiber::Runtime {
    let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
    // Let both workers reach their park before the test starts.
    thread::sleep(Duration::from_millis(20));
    rt
}

/// Spawns a task that spawns `children` tasks and then blocks its worker for [`BLOCK`];
/// returns when the spawned task was spawned, and how long after that each child ran.
fn spawn_then_block(rt: &fiber::Runtime, children: usize) -> Vec<Duration> {
    let (report, reports) = mpsc::channel();
    let spawned_at = Arc::new(Mutex::new(None));
    let blocker = rt.spawn({
        let spawned_at = spawned_at.clone();
        async move {
            let start = Instant::now();
            *spawned_at.lock().unwrap() = Some(start);
            for _ in 0..children {
                let report = report.clone();
                fiber::spawn(async move { report.send(start.elapsed()).unwrap() });
            }
            thread::sleep(BLOCK);
        }
    });
    let delays: Vec<Duration> = (0..children).map(|_| reports.recv().unwrap()).collect();
    rt.block_on(blocker).unwrap();
    delays
}

#[test]
fn a_task_in_the_slot_runs_while_its_spawner_blocks_the_worker() {
    watchdog(|| {
        let rt = two_workers();
        let delays = spawn_then_block(&rt, 1);
        assert!(
            delays[0] < BOUND,
            "the child waited {:?} behind its spawner's {BLOCK:?} block",
            delays[0]
        );
    });
}

#[test]
fn tasks_in_the_deque_run_while_their_spawner_blocks_the_worker() {
    watchdog(|| {
        let rt = two_workers();
        let delays = spawn_then_block(&rt, 8);
        let slowest = delays.iter().max().unwrap();
        assert!(
            *slowest < BOUND,
            "a child waited {slowest:?} behind its spawner's {BLOCK:?} block ({delays:?})"
        );
    });
}

#[test]
fn an_idle_runtime_stops_watching_for_long_polls() {
    watchdog(|| {
        let rt = two_workers();
        let _ = spawn_then_block(&rt, 1);
        // The runtime is idle now; give the worker that watched a few ticks to see it.
        thread::sleep(Duration::from_millis(50));
        let metrics = rt.metrics();
        let parks = |metrics: &fiber::RuntimeMetrics| -> u64 {
            (0..2).map(|worker| metrics.worker_park_count(worker)).sum()
        };
        let before = parks(&metrics);
        thread::sleep(Duration::from_millis(100));
        assert_eq!(
            parks(&metrics),
            before,
            "an idle worker kept waking up after the long poll ended"
        );
    });
}
