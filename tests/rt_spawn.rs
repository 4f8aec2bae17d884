//! Spawning and joining: values, many tasks, wakes from plain threads, remote spawns.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{on_each_runtime, watchdog};
use futures::channel::oneshot;

#[derive(Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[test]
fn spawned_tasks_return_typed_values() {
    on_each_runtime(|rt| {
        let number = rt.spawn(async { 6 * 7 });
        let text = rt.spawn(async { String::from("fiber") });
        let point = rt.spawn(async { Point { x: 1, y: 2 } });
        let result = rt.spawn(async { "12".parse::<u8>() });
        assert_eq!(rt.block_on(number).unwrap(), 42);
        assert_eq!(rt.block_on(text).unwrap(), "fiber");
        assert_eq!(rt.block_on(point).unwrap(), Point { x: 1, y: 2 });
        assert_eq!(rt.block_on(result).unwrap(), Ok(12));
    });
}

#[test]
fn tasks_spawned_inside_block_on_and_tasks_run_on_the_same_runtime() {
    on_each_runtime(|rt| {
        let total = rt.block_on(async {
            let outer = fiber::spawn(async {
                let inner = fiber::spawn(async { 2 });
                inner.await.unwrap() + 1
            });
            outer.await.unwrap()
        });
        assert_eq!(total, 3);
    });
}

#[test]
fn hundreds_of_tasks_woken_from_plain_threads_all_finish() {
    on_each_runtime(|rt| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for i in 0..500usize {
            let (sender, receiver) = oneshot::channel::<usize>();
            senders.push(sender);
            handles.push(rt.spawn(async move { receiver.await.unwrap() + i }));
        }
        let mut chunks: Vec<Vec<_>> = (0..4).map(|_| Vec::new()).collect();
        for (i, sender) in senders.into_iter().enumerate() {
            chunks[i % 4].push((i, sender));
        }
        let threads: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                std::thread::spawn(move || {
                    for (i, sender) in chunk {
                        sender.send(i).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(rt.block_on(handle).unwrap(), 2 * i);
        }
    });
}

#[test]
fn spawns_from_a_non_runtime_thread_run_on_an_idle_runtime() {
    on_each_runtime(|rt| {
        let handle = rt.handle().clone();
        let results = std::thread::spawn(move || {
            let handles: Vec<_> = (0..1000).map(|i| handle.spawn(async move { i })).collect();
            handles
                .into_iter()
                .map(|h| futures::executor::block_on(h).unwrap())
                .sum::<u64>()
        })
        .join()
        .unwrap();
        assert_eq!(results, (0..1000).sum::<u64>());
    });
}

#[test]
fn spawns_from_a_non_runtime_thread_run_while_workers_are_busy() {
    on_each_runtime(|rt| {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy: Vec<_> = (0..8)
            .map(|_| {
                let stop = stop.clone();
                rt.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_micros(10));
                        fiber::yield_now().await;
                    }
                })
            })
            .collect();
        let handle = rt.handle().clone();
        let sum = std::thread::spawn(move || {
            let handles: Vec<_> = (0..1000u64)
                .map(|i| handle.spawn(async move { i }))
                .collect();
            handles
                .into_iter()
                .map(|h| futures::executor::block_on(h).unwrap())
                .sum::<u64>()
        })
        .join()
        .unwrap();
        assert_eq!(sum, (0..1000).sum::<u64>());
        stop.store(true, Ordering::Relaxed);
        for task in busy {
            rt.block_on(task).unwrap();
        }
    });
}

#[test]
fn a_task_that_keeps_waking_itself_does_not_stop_other_work_on_one_worker() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = released.clone();
        let spinner = rt.spawn(async move {
            let mut spins = 0u64;
            while !flag.load(Ordering::SeqCst) {
                spins += 1;
                fiber::yield_now().await;
            }
            spins
        });
        // Both a local spawn and a remote one must get a turn.
        let flag = released.clone();
        let local = rt.spawn(async move {
            fiber::spawn(async move { flag.store(true, Ordering::SeqCst) })
                .await
                .unwrap();
        });
        rt.block_on(local).unwrap();
        assert!(rt.block_on(spinner).unwrap() >= 1);
    });
}

#[test]
fn thousands_of_chained_spawns_complete() {
    on_each_runtime(|rt| {
        fn chain(left: usize, done: Arc<AtomicUsize>) {
            if left == 0 {
                done.store(1, Ordering::SeqCst);
                return;
            }
            drop(fiber::spawn(async move { chain(left - 1, done) }));
        }
        let done = Arc::new(AtomicUsize::new(0));
        let flag = done.clone();
        rt.block_on(async move { chain(2000, flag) });
        while done.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
fn is_finished_turns_true_when_the_task_completes() {
    on_each_runtime(|rt| {
        let (sender, receiver) = oneshot::channel::<()>();
        let handle = rt.spawn(async move { receiver.await.unwrap() });
        assert!(!handle.is_finished());
        sender.send(()).unwrap();
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        rt.block_on(handle).unwrap();
    });
}

#[test]
fn a_join_handle_can_be_awaited_from_another_executor() {
    on_each_runtime(|rt| {
        let handle = rt.spawn(async { fiber::yield_now().await });
        futures::executor::block_on(handle).unwrap();
    });
}

#[test]
fn metrics_count_spawns_alive_tasks_and_polls() {
    on_each_runtime(|rt| {
        let workers = rt.metrics().num_workers();
        let (sender, receiver) = oneshot::channel::<()>();
        let waiting = rt.spawn(async move { receiver.await.unwrap() });
        rt.block_on(rt.spawn(async {
            for _ in 0..3 {
                drop(fiber::spawn(async {}));
            }
        }))
        .unwrap();
        let metrics = rt.metrics();
        assert_eq!(metrics.spawned_tasks_count(), 5);
        assert!(metrics.num_alive_tasks() >= 1);
        sender.send(()).unwrap();
        rt.block_on(waiting).unwrap();
        while metrics.num_alive_tasks() != 0 {
            std::thread::yield_now();
        }
        let polls: u64 = (0..workers).map(|w| metrics.worker_poll_count(w)).sum();
        assert!(polls >= 5, "{polls} polls for 5 tasks");
    });
}

/// `yield_now` inside a combinator that gives its futures wakers of their own (`join_all`,
/// `select!`) cannot rely on the worker requeueing the task: it must wake. Each of these
/// completes only if the yielding futures are polled again.
#[test]
fn yield_now_inside_combinators_on_a_worker_is_polled_again() {
    on_each_runtime(|rt| {
        let yielder = |times: usize| async move {
            for _ in 0..times {
                fiber::yield_now().await;
            }
            times
        };
        let handle = rt.spawn(async move {
            let all = fiber::join_all((1..=10).map(yielder)).await;
            let (a, b) = fiber::join!(yielder(50), yielder(70));
            let raced = fiber::select! {
                n = yielder(30) => n,
                _ = std::future::pending::<()>() => 0,
            };
            all.iter().sum::<usize>() + a + b + raced
        });
        assert_eq!(rt.block_on(handle).unwrap(), 55 + 50 + 70 + 30);
    });
}
