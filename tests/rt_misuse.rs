//! Misuse that must still end in a clean shutdown: a runtime dropped by its own task, an
//! abort dropping a slow destructor while the runtime shuts down, panicking thread hooks, and
//! hooks that look up their runtime.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{eventually, watchdog, DropCounter};
use fiber::{Builder, Handle};

/// Where a task drops the runtime that runs it.
#[derive(Clone, Copy)]
enum DropFrom {
    /// Its own poll, on a worker.
    Task,
    /// A `block_in_place` closure: the worker lent its core, but the shutdown still waits
    /// for this thread.
    BlockInPlace,
    /// A `block_in_place` closure of a task run by the thread that borrowed a worker's core:
    /// that thread lent the core again, and its lender waits for it.
    NestedBlockInPlace,
}

/// A runtime of 2 workers with 10 pending tasks is dropped by one of its own tasks:
/// the drop panics with a message that says so instead of waiting for itself, and the
/// shutdown still completes (both workers stop, the other tasks are cancelled once).
fn dropped_from_inside_still_shuts_down(from: DropFrom) {
    watchdog(move || {
        let workers_stopped = Arc::new(AtomicUsize::new(0));
        let counter = workers_stopped.clone();
        let rt = Builder::new()
            .worker_threads(2)
            .on_thread_stop(move || {
                if std::thread::current().name() == Some("fiber-worker") {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .unwrap();
        let drops = DropCounter::new();
        let others: Vec<_> = (0..10)
            .map(|_| {
                let guard = drops.guard();
                rt.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                })
            })
            .collect();

        let rt = Arc::new(Mutex::new(Some(rt)));
        let inner = rt.clone();
        let drop_own = move || drop(inner.lock().unwrap().take());
        let handle = {
            let rt = rt.lock().unwrap();
            let rt = rt.as_ref().unwrap();
            match from {
                DropFrom::Task => rt.spawn(async move { drop_own() }),
                DropFrom::BlockInPlace => rt.spawn(async move { fiber::block_in_place(drop_own) }),
                DropFrom::NestedBlockInPlace => {
                    let (dropping, outer_gate) = mpsc::channel::<()>();
                    let (spawned, inner) = mpsc::channel();
                    drop(rt.spawn(async move {
                        // Queued on this core, so run by its borrower once this task blocks.
                        spawned
                            .send(fiber::spawn(async move {
                                fiber::block_in_place(move || {
                                    dropping.send(()).unwrap();
                                    drop_own();
                                })
                            }))
                            .unwrap();
                        fiber::block_in_place(|| {
                            let _ = outer_gate.recv();
                        });
                    }));
                    inner.recv().unwrap()
                }
            }
        };
        let error = futures::executor::block_on(handle).unwrap_err();
        let payload = error.into_panic();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(
            message.contains("dropped by one of its own tasks"),
            "{message}"
        );
        assert!(
            !message.contains("  "),
            "stray spaces in the message: {message}"
        );

        // The shutdown went on without the dropping thread waiting for it.
        eventually(|| workers_stopped.load(Ordering::SeqCst) == 2);
        eventually(|| drops.count() == 10);
        for handle in others {
            let error = futures::executor::block_on(handle).unwrap_err();
            assert!(error.is_cancelled());
        }
        assert_eq!(
            drops.count(),
            10,
            "every other task's future is dropped exactly once"
        );
    });
}

#[test]
fn a_runtime_dropped_by_its_own_task_still_shuts_down() {
    dropped_from_inside_still_shuts_down(DropFrom::Task);
}

#[test]
fn a_runtime_dropped_inside_block_in_place_still_shuts_down() {
    dropped_from_inside_still_shuts_down(DropFrom::BlockInPlace);
}

#[test]
fn a_runtime_dropped_inside_a_nested_block_in_place_still_shuts_down() {
    dropped_from_inside_still_shuts_down(DropFrom::NestedBlockInPlace);
}

/// A future whose destructor takes a while.
struct SlowDrop(Duration, Arc<AtomicUsize>);

impl std::future::Future for SlowDrop {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(self.0);
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_runtime_waits_for_a_future_an_abort_is_dropping_elsewhere() {
    watchdog(|| {
        let rt = Builder::new().worker_threads(2).build().unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        let handle = rt.spawn(SlowDrop(Duration::from_millis(300), dropped.clone()));
        // Let a worker poll it once, so that it is idle.
        eventually(|| rt.metrics().spawned_tasks_count() == 1);
        std::thread::sleep(Duration::from_millis(20));
        let (started, aborting) = mpsc::channel();
        let aborter = std::thread::spawn(move || {
            started.send(()).unwrap();
            handle.abort();
        });
        aborting.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(rt);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "`drop(rt)` returned while the future was still being dropped"
        );
        aborter.join().unwrap();
    });
}

#[test]
fn a_panicking_thread_start_hook_leaves_a_working_runtime() {
    watchdog(|| {
        let rt = Builder::new()
            .worker_threads(2)
            .on_thread_start(|| panic!("start hook failed"))
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
        let handles: Vec<_> = (0..100).map(|i| rt.spawn(async move { i })).collect();
        let sum: i32 = rt.block_on(async {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..100).sum());
    });
}

#[test]
fn a_panicking_thread_stop_hook_does_not_stop_the_shutdown() {
    watchdog(|| {
        let rt = Builder::new()
            .worker_threads(2)
            .on_thread_stop(|| panic!("stop hook failed"))
            .build()
            .unwrap();
        let drops = DropCounter::new();
        let guard = drops.guard();
        drop(rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        drop(rt);
        assert_eq!(drops.count(), 1);
    });
}

#[test]
fn thread_hooks_run_inside_the_runtime_context() {
    watchdog(|| {
        let found = Arc::new(Mutex::new(Vec::new()));
        let (on_start, on_stop) = (found.clone(), found.clone());
        let rt = Builder::new()
            .worker_threads(2)
            .on_thread_start(move || {
                let handle = Handle::try_current().expect("on_thread_start has a runtime");
                on_start
                    .lock()
                    .unwrap()
                    .push(("start", handle.metrics().num_workers()));
            })
            .on_thread_stop(move || {
                let handle = Handle::try_current().expect("on_thread_stop has a runtime");
                on_stop
                    .lock()
                    .unwrap()
                    .push(("stop", handle.metrics().num_workers()));
            })
            .build()
            .unwrap();
        drop(rt);
        let mut found = found.lock().unwrap().clone();
        found.sort();
        assert_eq!(
            found,
            [("start", 2), ("start", 2), ("stop", 2), ("stop", 2)]
        );
    });
}
