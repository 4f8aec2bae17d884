//! `block_in_place`: the worker's queued tasks keep running while a task blocks, with one
//! worker too; panics propagate; elsewhere the closure just runs.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{eventually, watchdog, DropCounter};

fn one_worker() -> fiber::Runtime {
    fiber::Builder::new().worker_threads(1).build().unwrap()
}

#[test]
fn a_task_queued_on_the_only_worker_runs_while_another_blocks_in_place() {
    watchdog(|| {
        let rt = one_worker();
        let (sender, receiver) = mpsc::channel();
        let value = rt
            .block_on(rt.spawn(async move {
                // B is spawned first: it sits in this worker's queue, behind A.
                let b = fiber::spawn(async move { sender.send(7).unwrap() });
                let a =
                    fiber::spawn(async move { fiber::block_in_place(|| receiver.recv().unwrap()) });
                let value = a.await.unwrap();
                b.await.unwrap();
                value
            }))
            .unwrap();
        assert_eq!(value, 7);
    });
}

#[test]
fn tasks_spawned_before_blocking_in_place_in_the_same_poll_run_meanwhile() {
    watchdog(|| {
        let rt = one_worker();
        let (sender, receiver) = mpsc::channel();
        let value = rt
            .block_on(rt.spawn(async move {
                // In the next-task slot of this worker when the task blocks.
                let b = fiber::spawn(async move { sender.send("from b").unwrap() });
                let value = fiber::block_in_place(|| receiver.recv().unwrap());
                b.await.unwrap();
                value
            }))
            .unwrap();
        assert_eq!(value, "from b");
    });
}

#[test]
fn the_worker_is_restored_after_block_in_place() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .thread_name("restored")
            .build()
            .unwrap();
        rt.block_on(rt.spawn(async {
            fiber::block_in_place(|| std::thread::sleep(Duration::from_millis(5)));
            // The task goes on after the closure: spawning and awaiting still work.
            fiber::yield_now().await;
            assert_eq!(fiber::spawn(async { 1 }).await.unwrap(), 1);
        }))
        .unwrap();
        // The borrower gives the worker back and returns to the pool...
        let metrics = rt.metrics();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while metrics.num_idle_blocking_threads() < metrics.num_blocking_threads() {
            assert!(
                std::time::Instant::now() < deadline,
                "the borrower never went idle"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(metrics.num_blocking_threads(), 1);
        // ...and the worker thread runs the tasks again.
        let name = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("restored"));
    });
}

#[test]
fn a_panic_in_block_in_place_propagates_to_the_task_and_the_worker_lives_on() {
    watchdog(|| {
        let rt = one_worker();
        let error = rt
            .block_on(rt.spawn(async {
                fiber::block_in_place(|| panic!("blocked badly"));
            }))
            .unwrap_err();
        assert!(error.is_panic());
        assert!(error.to_string().contains("blocked badly"), "{error}");
        // The panic is an ordinary one inside the task, which can catch it.
        let caught = rt
            .block_on(rt.spawn(async {
                std::panic::catch_unwind(|| fiber::block_in_place(|| panic!("caught"))).is_err()
            }))
            .unwrap();
        assert!(caught);
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    });
}

#[test]
fn many_tasks_block_in_place_at_once_on_one_worker() {
    watchdog(|| {
        const TASKS: usize = 8;
        let rt = one_worker();
        // Every task must be blocking at the same time for the barrier to open: each one's
        // worker must have been handed on while the earlier ones block.
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|index| {
                let barrier = barrier.clone();
                rt.spawn(async move {
                    fiber::block_in_place(|| barrier.wait());
                    index
                })
            })
            .collect();
        let results = rt.block_on(async {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        });
        assert_eq!(results, (0..TASKS).collect::<Vec<_>>());
    });
}

#[test]
fn a_task_that_blocked_in_place_can_unblock_a_later_blocker() {
    watchdog(|| {
        // A blocks first and, once released, sends what C (which blocks after A) waits for:
        // A must finish its poll without waiting for its worker, which C's thread holds.
        let rt = one_worker();
        let (to_a, a_waits) = mpsc::channel::<()>();
        let (to_c, c_waits) = mpsc::channel::<()>();
        let (c_blocking, c_is_blocking) = mpsc::channel::<()>();
        let a = rt.spawn(async move {
            fiber::block_in_place(|| a_waits.recv().unwrap());
            to_c.send(()).unwrap();
        });
        let c = rt.spawn(async move {
            fiber::block_in_place(|| {
                c_blocking.send(()).unwrap();
                c_waits.recv().unwrap();
            });
        });
        c_is_blocking.recv().unwrap();
        to_a.send(()).unwrap();
        rt.block_on(async {
            a.await.unwrap();
            c.await.unwrap();
        });
    });
}

#[test]
fn block_in_place_allows_block_on_inside() {
    watchdog(|| {
        let rt = one_worker();
        let value = rt
            .block_on(rt.spawn(async {
                fiber::block_in_place(|| {
                    let handle = fiber::Handle::current();
                    handle.block_on(fiber::spawn(async { 11 })).unwrap()
                })
            }))
            .unwrap();
        assert_eq!(value, 11);
    });
}

#[test]
fn outside_a_worker_the_closure_just_runs() {
    watchdog(|| {
        assert_eq!(fiber::block_in_place(|| 1), 1);
        let rt = fiber::Runtime::new().unwrap();
        let on_caller = std::thread::current().id();
        let thread = rt.block_on(async { fiber::block_in_place(|| std::thread::current().id()) });
        assert_eq!(thread, on_caller);
        let in_job = rt
            .block_on(rt.spawn_blocking(|| fiber::block_in_place(|| 2)))
            .unwrap();
        assert_eq!(in_job, 2);
        // Nothing was handed over, so no borrower thread was started.
        assert_eq!(rt.metrics().num_blocking_threads(), 1);
    });
}

#[test]
fn block_in_place_works_with_many_workers_under_load() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(4).build().unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|index| {
                let done = done.clone();
                rt.spawn(async move {
                    if index % 4 == 0 {
                        fiber::block_in_place(|| std::thread::sleep(Duration::from_micros(300)));
                    }
                    fiber::yield_now().await;
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        rt.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 200);
    });
}

#[test]
fn dropping_the_runtime_after_block_in_place_stops_cleanly() {
    watchdog(|| {
        for workers in [1, 2] {
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .build()
                .unwrap();
            let (started, blocking) = mpsc::channel();
            // Keeps blocking in place while the runtime shuts down around it.
            drop(rt.spawn(async move {
                fiber::block_in_place(|| {
                    started.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                });
                std::future::pending::<()>().await;
            }));
            blocking.recv().unwrap();
            drop(rt);
        }
    });
}

#[test]
fn the_worker_is_handed_over_even_when_the_blocking_pool_is_full() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        // The only thread the cap allows is busy, and a second job waits behind it.
        let (release, gate) = mpsc::channel::<()>();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let job = |gate: Option<mpsc::Receiver<()>>| {
            let (running, most) = (running.clone(), most.clone());
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                if let Some(gate) = gate {
                    gate.recv().unwrap();
                }
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let first = rt.spawn_blocking(job(Some(gate)));
        let second = rt.spawn_blocking(job(None));
        assert_eq!(rt.metrics().blocking_queue_depth(), 1);

        let (sender, receiver) = mpsc::channel();
        let value = rt
            .block_on(rt.spawn(async move {
                let b = fiber::spawn(async move { sender.send(9).unwrap() });
                let value = fiber::block_in_place(|| receiver.recv().unwrap());
                b.await.unwrap();
                value
            }))
            .unwrap();
        assert_eq!(value, 9);

        release.send(()).unwrap();
        rt.block_on(async {
            first.await.unwrap();
            second.await.unwrap();
        });
        // The thread started beyond the cap for the hand-over did not run queued jobs
        // beside the pool's own.
        assert_eq!(most.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn block_in_place_spawn_blocking_and_block_on_mixed_under_load() {
    common::watchdog_for(Duration::from_secs(60), || {
        for workers in [1, 3] {
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .max_blocking_threads(4)
                .build()
                .unwrap();
            let tasks: Vec<_> = (0..300u64)
                .map(|index| {
                    rt.spawn(async move {
                        let value = match index % 3 {
                            // Blocks in place, waiting on a blocking job through `block_on`.
                            0 => fiber::block_in_place(|| {
                                let handle = fiber::Handle::current();
                                handle
                                    .block_on(fiber::spawn_blocking(move || index))
                                    .unwrap()
                            }),
                            // Nested: the borrowing thread's task blocks in place as well.
                            1 => fiber::block_in_place(|| fiber::block_in_place(|| index)),
                            _ => fiber::spawn_blocking(move || index).await.unwrap(),
                        };
                        fiber::yield_now().await;
                        value
                    })
                })
                .collect();
            let sum: u64 = rt.block_on(async {
                let mut sum = 0;
                for task in tasks {
                    sum += task.await.unwrap();
                }
                sum
            });
            assert_eq!(sum, (0..300).sum::<u64>(), "{workers} workers");
        }
    });
}

#[test]
fn dropping_the_runtime_while_workers_are_handed_over_never_hangs() {
    common::watchdog_for(Duration::from_secs(60), || {
        for round in 0..100u64 {
            let workers = if round % 2 == 0 { 1 } else { 2 };
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .max_blocking_threads(2)
                .build()
                .unwrap();
            for index in 0..8u64 {
                drop(rt.spawn(async move {
                    fiber::block_in_place(|| std::thread::sleep(Duration::from_micros(index * 50)));
                    let job = fiber::spawn_blocking(move || index);
                    let _ = job.await;
                    fiber::yield_now().await;
                }));
            }
            if round % 3 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            drop(rt);
        }
    });
}

/// Where the task that never stops blocking calls `block_in_place`.
#[derive(Clone, Copy, Debug)]
enum Blocking {
    /// In its own poll, on a worker.
    OnAWorker,
    /// Inside a task that the first blocking task's borrower runs: the core is lent twice.
    Nested,
}

/// A task blocks in place until released; `shutdown` (with a timeout) returns all the same:
/// the other tasks are cancelled, each future dropped once, and the blocked task is left
/// behind. Once released, its poll runs to its end (the rest of the poll that was in
/// progress at the shutdown), and its future is then dropped, as the task was cancelled.
fn a_worker_blocked_in_place_is_left_behind(shutdown: fn(fiber::Runtime), blocking: Blocking) {
    watchdog(move || {
        for workers in [1, 2] {
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .build()
                .unwrap();
            let (release, gate) = mpsc::channel::<()>();
            let gate = Arc::new(std::sync::Mutex::new(gate));
            let (started, blocked) = mpsc::channel();
            let polls_ended = Arc::new(AtomicUsize::new(0));
            let blockers = DropCounter::new();
            // Blocks in place until released, then ends its poll pending.
            let blocker = |inner: Option<fiber::JoinHandle<()>>| {
                let (gate, started) = (gate.clone(), started.clone());
                let (polls_ended, guard) = (polls_ended.clone(), blockers.guard());
                async move {
                    let _guard = guard;
                    fiber::block_in_place(|| {
                        started.send(()).unwrap();
                        gate.lock().unwrap().recv().unwrap();
                    });
                    polls_ended.fetch_add(1, Ordering::SeqCst);
                    drop(inner);
                    std::future::pending::<()>().await
                }
            };
            let handles = match blocking {
                Blocking::OnAWorker => vec![rt.spawn(blocker(None))],
                Blocking::Nested => {
                    let inner_blocker = blocker(None);
                    let (spawned, spawned_handle) = mpsc::channel();
                    let outer = rt.spawn({
                        let outer = blocker(None);
                        async move {
                            // Spawned from the worker: it runs on this core, which the
                            // borrower runs once `outer` blocks, and lends again.
                            spawned.send(fiber::spawn(inner_blocker)).unwrap();
                            outer.await
                        }
                    });
                    vec![outer, spawned_handle.recv().unwrap()]
                }
            };
            for _ in &handles {
                blocked.recv().unwrap();
            }
            let others = DropCounter::new();
            let queued: Vec<_> = (0..10)
                .map(|_| {
                    let guard = others.guard();
                    rt.spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    })
                })
                .collect();

            shutdown(rt);
            assert_eq!(others.count(), 10, "{workers} workers, {blocking:?}");
            for handle in queued {
                let error = futures::executor::block_on(handle).unwrap_err();
                assert!(error.is_cancelled());
            }
            assert_eq!(polls_ended.load(Ordering::SeqCst), 0);
            assert_eq!(blockers.count(), 0);

            for _ in &handles {
                release.send(()).unwrap();
            }
            eventually(|| blockers.count() == handles.len());
            assert_eq!(polls_ended.load(Ordering::SeqCst), handles.len());
            for handle in handles {
                let error = futures::executor::block_on(handle).unwrap_err();
                assert!(error.is_cancelled(), "{workers} workers, {blocking:?}");
            }
            assert_eq!(others.count(), 10, "no future is dropped twice");
        }
    });
}

#[test]
fn shutdown_timeout_leaves_a_worker_blocked_in_place_behind() {
    a_worker_blocked_in_place_is_left_behind(
        |rt| rt.shutdown_timeout(Duration::from_millis(50)),
        Blocking::OnAWorker,
    );
}

#[test]
fn shutdown_background_leaves_a_worker_blocked_in_place_behind() {
    a_worker_blocked_in_place_is_left_behind(
        fiber::Runtime::shutdown_background,
        Blocking::OnAWorker,
    );
}

#[test]
fn shutdown_background_leaves_nested_lends_behind() {
    a_worker_blocked_in_place_is_left_behind(fiber::Runtime::shutdown_background, Blocking::Nested);
}

/// The closure blocking in place returns after a short sleep: `drop(rt)` (no timeout) and
/// a `shutdown_timeout` long enough wait for it, and for the rest of the task's poll.
#[test]
fn a_shutdown_without_a_timeout_or_with_time_left_waits_for_block_in_place() {
    watchdog(|| {
        let shutdowns: [fn(fiber::Runtime); 2] =
            [drop, |rt| rt.shutdown_timeout(Duration::from_secs(3600))];
        for shutdown in shutdowns {
            let rt = one_worker();
            let (started, blocking) = mpsc::channel();
            let poll_ended = Arc::new(AtomicUsize::new(0));
            let ended = poll_ended.clone();
            drop(rt.spawn(async move {
                fiber::block_in_place(|| {
                    started.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                });
                ended.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }));
            blocking.recv().unwrap();
            shutdown(rt);
            assert_eq!(poll_ended.load(Ordering::SeqCst), 1);
        }
    });
}
