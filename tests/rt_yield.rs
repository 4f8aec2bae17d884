//! `yield_now` on a worker requeues the task still holding its `RUNNING` flag ("held"): the
//! shutdown must still cancel such tasks like any other, inside the runtime's context, and
//! a held requeue must not keep runnable work from idle workers.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::watchdog;

/// Spawns `count` tasks that yield forever, each holding `guard()`, and waits until each has
/// been polled.
fn spawn_yielding_forever<G: Send + 'static>(
    rt: &fiber::Runtime,
    count: usize,
    mut guard: impl FnMut() -> G,
) -> Vec<fiber::JoinHandle<()>> {
    let started = Arc::new(AtomicUsize::new(0));
    let handles = (0..count)
        .map(|_| {
            let (guard, started) = (guard(), started.clone());
            rt.spawn(async move {
                let _guard = guard;
                started.fetch_add(1, Ordering::SeqCst);
                loop {
                    fiber::yield_now().await;
                }
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < count {
        std::thread::yield_now();
    }
    handles
}

/// Resolves every handle of a dropped runtime: each must report a cancellation.
fn assert_all_cancelled(handles: Vec<fiber::JoinHandle<()>>, round: usize) {
    for handle in handles {
        let error = futures::executor::block_on(handle).unwrap_err();
        assert!(error.is_cancelled(), "round {round}: {error}");
    }
}

/// The handles keep the tasks allocated, so the futures must be dropped by the shutdown
/// itself, not by freeing the tasks.
#[test]
fn dropping_the_runtime_drops_every_yielding_task_once() {
    watchdog(|| {
        for round in 0..200 {
            let workers = if round % 2 == 0 { 1 } else { 3 };
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .build()
                .unwrap();
            let counter = common::DropCounter::new();
            let handles = spawn_yielding_forever(&rt, 16, || counter.guard());
            drop(rt);
            assert_eq!(counter.count(), 16, "round {round}");
            assert_all_cancelled(handles, round);
        }
    });
}

#[test]
fn held_tasks_are_cancelled_inside_the_runtime_context_at_shutdown() {
    watchdog(|| {
        struct NeedsContext(Arc<AtomicUsize>);
        impl Drop for NeedsContext {
            fn drop(&mut self) {
                if fiber::Handle::try_current().is_ok() {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        for round in 0..20 {
            let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
            let in_context = Arc::new(AtomicUsize::new(0));
            let handles = spawn_yielding_forever(&rt, 4, || NeedsContext(in_context.clone()));
            drop(rt);
            assert_eq!(in_context.load(Ordering::SeqCst), 4, "round {round}");
            assert_all_cancelled(handles, round);
        }
    });
}

#[test]
fn a_yielding_task_whose_destructor_spawns_is_cancelled_not_panicked() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let handles = spawn_yielding_forever(&rt, 1, || common::SpawnOnDrop);
        drop(rt);
        assert_all_cancelled(handles, 0);
    });
}

/// Two tasks that keep yielding on one worker, the second spawned into that worker's
/// next-task slot (which wakes nobody): the held requeues must wake the idle worker, which
/// then runs one of them. Checked by the two ever running at the same time.
#[test]
fn held_requeues_do_not_keep_work_from_an_idle_worker() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        // Let both workers park.
        std::thread::sleep(Duration::from_millis(50));
        let inside = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let (inside, overlapped, stop) = (inside.clone(), overlapped.clone(), stop.clone());
            move || {
                let (inside, overlapped, stop) = (inside.clone(), overlapped.clone(), stop.clone());
                async move {
                    while !stop.load(Ordering::SeqCst) {
                        inside.fetch_add(1, Ordering::SeqCst);
                        let until = Instant::now() + Duration::from_micros(200);
                        while Instant::now() < until {
                            if inside.load(Ordering::SeqCst) == 2 {
                                overlapped.store(true, Ordering::SeqCst);
                            }
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                        fiber::yield_now().await;
                    }
                }
            }
        };
        let second = spinner.clone();
        let first = rt.spawn(async move {
            let other = fiber::spawn(second());
            spinner().await;
            other.await.unwrap();
        });
        // Generous: the two only need to be on the CPU together once.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !overlapped.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::SeqCst);
        rt.block_on(first).unwrap();
        assert!(
            overlapped.load(Ordering::SeqCst),
            "two runnable tasks never ran in parallel on two workers"
        );
    });
}
