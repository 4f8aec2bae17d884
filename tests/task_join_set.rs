//! `JoinSet`: completion order, aborts, shutdown, panics, and a large set.

mod common;

use std::time::Duration;

use common::{on_each_runtime, watchdog, watchdog_for, DropCounter};
use fiber::task::JoinSet;
use futures::channel::oneshot;

#[test]
fn join_next_returns_outputs_in_completion_order() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut releases = Vec::new();
            for id in 0..4u32 {
                let (release, released) = oneshot::channel::<u32>();
                releases.push(Some(release));
                set.spawn(async move { released.await.unwrap() * 10 + id });
            }
            for id in [2usize, 0, 3, 1] {
                releases[id].take().unwrap().send(id as u32).unwrap();
                let output = set.join_next().await.unwrap().unwrap();
                assert_eq!(output, id as u32 * 11, "the released task comes out next");
            }
            assert!(set.join_next().await.is_none());
            assert!(set.is_empty());
        });
    });
}

#[test]
fn try_join_next_returns_only_finished_tasks() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (release, released) = oneshot::channel::<()>();
            set.spawn(async move {
                released.await.unwrap();
                "done"
            });
            assert!(
                set.try_join_next().is_none(),
                "the task waits for its release"
            );
            assert_eq!(set.len(), 1);
            release.send(()).unwrap();
            let output = loop {
                if let Some(result) = set.try_join_next() {
                    break result.unwrap();
                }
                fiber::time::sleep(Duration::from_millis(1)).await;
            };
            assert_eq!(output, "done");
            assert!(set.is_empty());
            assert!(
                set.try_join_next().is_none(),
                "an empty set has nothing to give"
            );
        });
    });
}

#[test]
fn abort_all_makes_unfinished_tasks_resolve_cancelled() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                set.spawn(std::future::pending::<()>());
            }
            set.abort_all();
            assert_eq!(set.len(), 10, "aborted tasks stay until joined");
            let mut cancelled = 0;
            while let Some(result) = set.join_next().await {
                assert!(result.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);
        });
    });
}

#[test]
fn the_abort_handle_of_spawn_cancels_only_its_task() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let abort = set.spawn(async {
                std::future::pending::<()>().await;
                "never"
            });
            set.spawn(async { "kept" });
            abort.abort();
            let mut outputs = Vec::new();
            while let Some(result) = set.join_next().await {
                outputs.push(result.map_err(|error| error.is_cancelled()));
            }
            outputs.sort();
            assert_eq!(outputs, [Ok("kept"), Err(true)]);
        });
    });
}

#[test]
fn dropping_a_set_cancels_its_running_tasks() {
    on_each_runtime(|rt| {
        let drops = DropCounter::new();
        let set = rt.block_on(async {
            let mut set = JoinSet::new();
            let mut started_signals = Vec::new();
            for id in 0..8 {
                let guard = drops.guard();
                let (started, started_rx) = oneshot::channel::<()>();
                started_signals.push(started_rx);
                set.spawn(async move {
                    let _guard = guard;
                    started.send(()).unwrap();
                    if id % 2 == 0 {
                        // Idle when aborted.
                        std::future::pending::<()>().await;
                    } else {
                        // Busy: queued or being polled when aborted.
                        loop {
                            fiber::yield_now().await;
                        }
                    }
                });
            }
            for signal in started_signals {
                signal.await.unwrap();
            }
            set
        });
        assert_eq!(drops.count(), 0, "the tasks are running");
        drop(set);
        // An abort of an idle task drops its future at once, but one being polled right now
        // is dropped by its worker when the poll returns.
        rt.block_on(async {
            while drops.count() < 8 {
                fiber::time::sleep(Duration::from_millis(1)).await;
            }
            // Time for a second, wrong drop to show up.
            fiber::time::sleep(Duration::from_millis(10)).await;
        });
        assert_eq!(drops.count(), 8, "each future dropped exactly once");
    });
}

#[test]
fn detach_all_lets_the_tasks_run_on() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (release, released) = oneshot::channel::<()>();
            let (done, finished) = oneshot::channel::<&str>();
            set.spawn(async move {
                released.await.unwrap();
                done.send("ran to the end").unwrap();
            });
            set.detach_all();
            assert!(set.is_empty());
            drop(set);
            release.send(()).unwrap();
            assert_eq!(finished.await.unwrap(), "ran to the end");
        });
    });
}

#[test]
fn a_hundred_thousand_tasks_are_all_joined() {
    watchdog_for(Duration::from_secs(60), || {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        let sum = rt.block_on(async {
            let mut set = JoinSet::new();
            for n in 0..100_000u64 {
                set.spawn(async move {
                    if n % 3 == 0 {
                        fiber::yield_now().await;
                    }
                    n
                });
            }
            assert_eq!(set.len(), 100_000);
            let mut sum = 0;
            let mut joined = 0;
            while let Some(result) = set.join_next().await {
                sum += result.unwrap();
                joined += 1;
                assert_eq!(set.len(), 100_000 - joined);
            }
            sum
        });
        assert_eq!(sum, (0..100_000u64).sum::<u64>());
    });
}

#[test]
fn join_all_returns_every_output() {
    on_each_runtime(|rt| {
        let mut outputs = rt.block_on(async {
            let mut set = JoinSet::new();
            for n in 0..50u32 {
                set.spawn(async move {
                    fiber::yield_now().await;
                    n
                });
            }
            set.join_all().await
        });
        outputs.sort();
        assert_eq!(outputs, (0..50).collect::<Vec<_>>());
    });
}

#[test]
fn join_all_resumes_a_tasks_panic() {
    let payload = watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                set.spawn(async { 1 });
                set.spawn(async { panic!("task failed on purpose") });
                set.spawn(std::future::pending());
                set.join_all().await
            })
        }))
        .unwrap_err()
    });
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"task failed on purpose"),
        "the task's own panic payload is resumed"
    );
}

#[test]
fn join_next_reports_a_panicking_task_and_goes_on() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("boom") });
            set.spawn(async {
                fiber::time::sleep(Duration::from_millis(5)).await;
                7
            });
            let error = set.join_next().await.unwrap().unwrap_err();
            assert!(error.is_panic());
            assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
        });
    });
}

#[test]
fn len_counts_finished_tasks_until_they_are_joined() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            assert!(set.is_empty());
            let abort = set.spawn(async { 1 });
            set.spawn(async { 2 });
            while !abort.is_finished() {
                fiber::yield_now().await;
            }
            assert_eq!(set.len(), 2, "a finished task counts until joined");
            assert!(!set.is_empty());
            set.join_next().await.unwrap().unwrap();
            set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), 0);
            assert!(set.is_empty());
        });
    });
}

#[test]
fn shutdown_aborts_and_waits_for_every_task() {
    on_each_runtime(|rt| {
        let drops = DropCounter::new();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..16 {
                let guard = drops.guard();
                set.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
            }
            set.shutdown().await;
            assert!(set.is_empty());
            assert_eq!(
                drops.count(),
                16,
                "every future was dropped before shutdown returned"
            );
            // The set is reusable afterwards.
            set.spawn(async {});
            assert!(set.join_next().await.unwrap().is_ok());
        });
    });
}

#[test]
fn spawn_on_uses_the_given_runtime_from_outside_any_context() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        let mut set = JoinSet::new();
        for n in 0..4u32 {
            set.spawn_on(async move { n + 1 }, rt.handle());
        }
        let mut outputs = rt.block_on(set.join_all());
        outputs.sort();
        assert_eq!(outputs, [1, 2, 3, 4]);
    });
}

#[test]
#[should_panic(expected = "outside a fiber runtime")]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    let mut set = JoinSet::new();
    set.spawn(async {});
}

#[test]
fn dropping_the_join_next_future_loses_no_output() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async {
                fiber::time::sleep(Duration::from_millis(20)).await;
                "late"
            });
            let timed_out = fiber::time::timeout(Duration::from_millis(1), set.join_next()).await;
            assert!(timed_out.is_err(), "the task is still sleeping");
            assert_eq!(set.join_next().await.unwrap().unwrap(), "late");
        });
    });
}
