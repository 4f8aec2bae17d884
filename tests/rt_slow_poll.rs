//! Slow polls: a poll over the threshold is counted and reported to the hook with its
//! duration and its task's spawn site; fast polls are not; a panicking hook does no harm.

mod common;

use std::panic::Location;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::watchdog;
use fiber::SlowPoll;

type Reports = Arc<Mutex<Vec<SlowPoll>>>;

/// A one-worker runtime whose hook records every report.
fn recording_runtime(threshold: Duration) -> (fiber::Runtime, Reports) {
    let reports = Reports::default();
    let sink = reports.clone();
    let rt = fiber::Builder::new()
        .worker_threads(1)
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |slow| sink.lock().unwrap().push(*slow))
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn a_blocking_poll_is_reported_once_with_its_duration_and_spawn_site() {
    watchdog(|| {
        let (rt, reports) = recording_runtime(Duration::from_millis(10));
        let metrics = rt.metrics();
        let spawn_site = Location::caller();
        let line = line!() + 1;
        let task = rt.spawn(async { std::thread::sleep(Duration::from_millis(50)) });
        rt.block_on(task).unwrap();
        // The worker reports after the poll returns, maybe after the handle resolved:
        // stopping it makes sure it is done.
        drop(rt);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].duration() >= Duration::from_millis(50));
        assert_eq!(reports[0].spawned_at().file(), spawn_site.file());
        assert_eq!(reports[0].spawned_at().line(), line);
        assert_eq!(metrics.slow_polls_count(), 1);
    });
}

#[test]
fn the_spawn_site_is_the_caller_of_each_spawn_function() {
    watchdog(|| {
        let (rt, reports) = recording_runtime(Duration::from_millis(10));
        let block = || std::thread::sleep(Duration::from_millis(20));
        let mut lines = Vec::new();
        let handle = rt.handle().clone();
        lines.push(line!() + 1);
        let from_handle = handle.spawn(async move { block() });
        rt.block_on(from_handle).unwrap();
        let inner_line = rt.block_on(async move {
            let line = line!() + 1;
            let from_spawn = fiber::spawn(async move { block() });
            from_spawn.await.unwrap();
            line
        });
        lines.push(inner_line);
        drop(rt);
        let reported: Vec<u32> = reports
            .lock()
            .unwrap()
            .iter()
            .map(|slow| slow.spawned_at().line())
            .collect();
        assert_eq!(reported, lines);
    });
}

#[test]
fn fast_polls_are_not_reported() {
    watchdog(|| {
        // Far above these polls' microseconds, so that a thread descheduled on a busy
        // machine does not count.
        let (rt, reports) = recording_runtime(Duration::from_millis(500));
        let metrics = rt.metrics();
        rt.block_on(async {
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    fiber::spawn(async {
                        for _ in 0..10 {
                            fiber::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        drop(rt);
        assert!(reports.lock().unwrap().is_empty());
        assert_eq!(metrics.slow_polls_count(), 0);
    });
}

#[test]
fn without_a_threshold_nothing_is_reported() {
    watchdog(|| {
        let reports = Reports::default();
        let sink = reports.clone();
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .on_slow_poll(move |slow| sink.lock().unwrap().push(*slow))
            .build()
            .unwrap();
        let metrics = rt.metrics();
        rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) }))
            .unwrap();
        drop(rt);
        assert!(reports.lock().unwrap().is_empty());
        assert_eq!(metrics.slow_polls_count(), 0);
    });
}

#[test]
fn each_slow_poll_of_a_task_counts() {
    watchdog(|| {
        let (rt, reports) = recording_runtime(Duration::from_millis(10));
        let metrics = rt.metrics();
        rt.block_on(rt.spawn(async {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(15));
                fiber::yield_now().await;
            }
        }))
        .unwrap();
        drop(rt);
        let reports = reports.lock().unwrap();
        let blocking = reports
            .iter()
            .filter(|slow| slow.duration() >= Duration::from_millis(15))
            .count();
        assert_eq!(blocking, 3, "{reports:?}");
        // The last, fast poll counts only if the machine held the thread up for 10 ms.
        assert_eq!(metrics.slow_polls_count(), reports.len() as u64);
    });
}

#[test]
fn a_panicking_hook_does_not_stop_the_worker() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .slow_poll_threshold(Duration::from_millis(5))
            .on_slow_poll(|_| panic!("the slow-poll hook panics"))
            .build()
            .unwrap();
        let metrics = rt.metrics();
        for _ in 0..2 {
            rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(10)) }))
                .unwrap();
        }
        // The one worker survived both panics: it still runs tasks.
        assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
        drop(rt);
        assert_eq!(metrics.slow_polls_count(), 2);
    });
}

/// The hook runs outside the task's poll: a `block_in_place` in it just runs its closure, and
/// never lends the worker's core (nobody would take it back before the next task ran on it,
/// so two threads would run the one worker's tasks at once).
#[test]
fn block_in_place_in_the_hook_never_lends_the_core() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    static HOOK_BLOCKED: AtomicBool = AtomicBool::new(false);
    static IN_POLL: AtomicUsize = AtomicUsize::new(0);
    static MOST_IN_POLL: AtomicUsize = AtomicUsize::new(0);

    watchdog(|| {
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .slow_poll_threshold(Duration::from_millis(10))
            .on_slow_poll(|_| {
                if !HOOK_BLOCKED.swap(true, Ordering::SeqCst) {
                    fiber::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
                }
            })
            .build()
            .unwrap();
        rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) }))
            .unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                rt.spawn(async {
                    let polling = IN_POLL.fetch_add(1, Ordering::SeqCst) + 1;
                    MOST_IN_POLL.fetch_max(polling, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                    IN_POLL.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            rt.block_on(task).unwrap();
        }
        assert!(HOOK_BLOCKED.load(Ordering::SeqCst), "the hook never ran");
        assert_eq!(
            MOST_IN_POLL.load(Ordering::SeqCst),
            1,
            "two threads polled the one worker's tasks at once"
        );
    });
}
