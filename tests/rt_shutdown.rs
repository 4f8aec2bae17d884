//! Dropping the runtime: every unfinished future dropped exactly once, nothing hangs.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use common::{watchdog, DropCounter};

/// A future that parks its waker in a shared list and never completes.
fn park_waker_forever(
    wakers: Arc<Mutex<Vec<Waker>>>,
    guard: common::CountOnDrop,
) -> impl std::future::Future<Output = ()> + Send {
    let mut stored = false;
    std::future::poll_fn(move |cx| {
        let _ = &guard;
        if !stored {
            wakers.lock().unwrap().push(cx.waker().clone());
            stored = true;
        }
        Poll::Pending
    })
}

/// Rounds of the shutdown race; each starts and stops a runtime.
const ROUNDS: usize = 1000;

#[test]
fn drop_drops_every_pending_future_exactly_once_while_wakes_race_it() {
    watchdog(|| {
        for round in 0..ROUNDS {
            let workers = if round % 2 == 0 { 1 } else { 4 };
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .build()
                .unwrap();
            let counter = DropCounter::new();
            let wakers = Arc::new(Mutex::new(Vec::new()));
            let tasks = 20;
            for _ in 0..tasks {
                // Detached: after the first poll, only the stored waker keeps the task.
                drop(rt.spawn(park_waker_forever(wakers.clone(), counter.guard())));
            }
            let stop = Arc::new(AtomicBool::new(false));
            let waker_thread = {
                let (wakers, stop) = (wakers.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let batch: Vec<Waker> = wakers.lock().unwrap().clone();
                        for waker in batch {
                            waker.wake();
                        }
                    }
                })
            };
            drop(rt);
            assert_eq!(counter.count(), tasks, "round {round}");
            stop.store(true, Ordering::SeqCst);
            waker_thread.join().unwrap();
            // Waking and dropping wakers of a dead runtime is harmless.
            for waker in wakers.lock().unwrap().drain(..) {
                waker.wake_by_ref();
                waker.wake();
            }
            assert_eq!(counter.count(), tasks, "round {round}: dropped twice");
        }
    });
}

#[test]
fn tasks_reachable_only_through_a_stored_waker_are_dropped_on_shutdown() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        let counter = DropCounter::new();
        let wakers = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..100 {
            drop(rt.spawn(park_waker_forever(wakers.clone(), counter.guard())));
        }
        while wakers.lock().unwrap().len() < 100 {
            std::thread::yield_now();
        }
        assert_eq!(counter.count(), 0);
        drop(rt);
        assert_eq!(counter.count(), 100);
        // The stored wakers keep the task allocations alive until they are dropped.
        wakers.lock().unwrap().clear();
    });
}

#[test]
fn handles_of_a_dropped_runtime_resolve_to_cancelled() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let counter = DropCounter::new();
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let guard = counter.guard();
                rt.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                })
            })
            .collect();
        drop(rt);
        assert_eq!(counter.count(), 50);
        for handle in handles {
            assert!(handle.is_finished());
            let error = futures::executor::block_on(handle).unwrap_err();
            assert!(error.is_cancelled());
        }
    });
}

#[test]
fn spawning_onto_a_handle_of_a_dropped_runtime_resolves_to_cancelled_at_once() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let handle = rt.handle().clone();
        drop(rt);
        let dropped = common::DropFlag::new();
        let guard = dropped.guard();
        let task = handle.spawn(async move {
            let _guard = guard;
            unreachable!("never polled");
        });
        assert!(dropped.is_set(), "the future is dropped at once");
        assert!(task.is_finished());
        assert!(futures::executor::block_on(task)
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn futures_whose_destructors_spawn_during_shutdown_do_not_hang() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        for _ in 0..10 {
            drop(rt.spawn(async {
                let _spawner = common::SpawnOnDrop;
                std::future::pending::<()>().await
            }));
        }
        drop(rt);
    });
}

#[test]
fn a_runtime_created_and_dropped_repeatedly_stops_every_thread() {
    watchdog(|| {
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stopped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = DropCounter::new();
        for _ in 0..200 {
            let (s, t) = (started.clone(), stopped.clone());
            let rt = fiber::Builder::new()
                .worker_threads(2)
                .on_thread_start(move || {
                    s.fetch_add(1, Ordering::SeqCst);
                })
                .on_thread_stop(move || {
                    t.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap();
            for _ in 0..5 {
                let guard = counter.guard();
                drop(rt.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                }));
            }
            drop(rt);
        }
        assert_eq!(started.load(Ordering::SeqCst), 400);
        assert_eq!(stopped.load(Ordering::SeqCst), 400);
        assert_eq!(counter.count(), 1000);
    });
}

#[test]
fn dropping_a_runtime_inside_its_own_task_panics_clearly() {
    watchdog(|| {
        let rt = Arc::new(Mutex::new(Some(fiber::Runtime::new().unwrap())));
        let inner = rt.clone();
        let handle = rt.lock().unwrap().as_ref().unwrap().spawn(async move {
            let own = inner.lock().unwrap().take();
            drop(own);
        });
        let error = futures::executor::block_on(handle).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("dropped by one of its own tasks"),
            "{error}"
        );
    });
}
