//! `spawn_blocking`: the pool's cap, FIFO order, keep-alive, panics, cancellation and the
//! shutdown's wait for running jobs.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{watchdog, watchdog_for, DropFlag};

/// Polls `condition` until it holds, failing the test after `limit`.
fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_job_returns_its_value_through_the_join_handle() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let job = rt.spawn_blocking(|| 6 * 7);
        assert_eq!(rt.block_on(job).unwrap(), 42);
    });
}

#[test]
fn thousand_jobs_never_run_more_than_the_cap_at_once_and_all_complete() {
    watchdog_for(Duration::from_secs(60), || {
        const CAP: usize = 8;
        const JOBS: usize = 1000;
        let rt = fiber::Builder::new()
            .worker_threads(2)
            .max_blocking_threads(CAP)
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..JOBS)
            .map(|index| {
                let (running, most) = (running.clone(), most.clone());
                rt.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                    running.fetch_sub(1, Ordering::SeqCst);
                    index
                })
            })
            .collect();
        let results = rt.block_on(async {
            let mut results = Vec::new();
            for job in jobs {
                results.push(job.await.unwrap());
            }
            results
        });
        assert_eq!(results, (0..JOBS).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(most <= CAP, "{most} jobs ran at once with a cap of {CAP}");
        assert!(rt.metrics().num_blocking_threads() <= CAP);
    });
}

#[test]
fn queued_jobs_start_in_the_order_they_were_spawned() {
    watchdog(|| {
        const CAP: usize = 8;
        let rt = fiber::Builder::new()
            .max_blocking_threads(CAP)
            .build()
            .unwrap();
        // Occupy every thread the cap allows, so that the next jobs queue up.
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (started, all_started) = mpsc::channel();
        let blockers: Vec<_> = (0..CAP)
            .map(|_| {
                let (gate, started) = (gate.clone(), started.clone());
                rt.spawn_blocking(move || {
                    started.send(()).unwrap();
                    gate.lock().unwrap().recv().unwrap();
                })
            })
            .collect();
        for _ in 0..CAP {
            all_started.recv().unwrap();
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let queued: Vec<_> = (0..100)
            .map(|index| {
                let order = order.clone();
                rt.spawn_blocking(move || order.lock().unwrap().push(index))
            })
            .collect();
        assert_eq!(rt.metrics().blocking_queue_depth(), 100);
        // Let one blocker go: its thread alone then runs the queue, one job at a time.
        release.send(()).unwrap();
        rt.block_on(async {
            for job in queued {
                job.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..100).collect::<Vec<_>>());
        for _ in 1..CAP {
            release.send(()).unwrap();
        }
        rt.block_on(async {
            for blocker in blockers {
                blocker.await.unwrap();
            }
        });
    });
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .thread_keep_alive(Duration::from_millis(50))
            .build()
            .unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let gate = gate.clone();
                rt.spawn_blocking(move || gate.lock().unwrap().recv().unwrap())
            })
            .collect();
        assert_eq!(rt.metrics().num_blocking_threads(), 4);
        for _ in 0..4 {
            release.send(()).unwrap();
        }
        rt.block_on(async {
            for job in jobs {
                job.await.unwrap();
            }
        });
        eventually(Duration::from_secs(5), "the idle threads exit", || {
            rt.metrics().num_blocking_threads() == 0
        });
        assert_eq!(rt.metrics().num_idle_blocking_threads(), 0);
        // The pool grows again on demand.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
    });
}

#[test]
fn an_idle_thread_is_reused_for_the_next_job() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let first = rt.block_on(rt.spawn_blocking(|| std::thread::current().id()));
        eventually(Duration::from_secs(5), "the thread goes idle", || {
            rt.metrics().num_idle_blocking_threads() == 1
        });
        let second = rt.block_on(rt.spawn_blocking(|| std::thread::current().id()));
        assert_eq!(first.unwrap(), second.unwrap());
        assert_eq!(rt.metrics().num_blocking_threads(), 1);
    });
}

#[test]
fn a_panicking_job_resolves_to_a_panic_join_error() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let error = rt
            .block_on(rt.spawn_blocking(|| -> u32 { panic!("disk on fire") }))
            .unwrap_err();
        assert!(error.is_panic());
        assert!(error.to_string().contains("disk on fire"), "{error}");
        // The pool lives on.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 5)).unwrap(), 5);
    });
}

#[test]
fn aborting_a_queued_job_cancels_it_without_running_it() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let blocker = rt.spawn_blocking(move || gate.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let dropped = DropFlag::new();
        let closure_guard = dropped.guard();
        let job_ran = ran.clone();
        let queued = rt.spawn_blocking(move || {
            let _closure_guard = closure_guard;
            job_ran.store(true, Ordering::SeqCst);
        });
        queued.abort();
        release.send(()).unwrap();
        let error = rt.block_on(queued).unwrap_err();
        assert!(error.is_cancelled());
        assert!(dropped.is_set(), "the closure is dropped");
        assert!(!ran.load(Ordering::SeqCst), "the closure never ran");
        rt.block_on(blocker).unwrap();
    });
}

#[test]
fn jobs_run_inside_the_runtime_context_on_named_threads() {
    watchdog(|| {
        let rt = fiber::Builder::new().thread_name("io").build().unwrap();
        let (name, spawned) = rt
            .block_on(rt.spawn_blocking(|| {
                let name = std::thread::current().name().map(str::to_owned);
                let handle = fiber::Handle::current();
                // `block_on` is allowed on a blocking thread, as in tokio.
                let spawned = handle.block_on(fiber::spawn(async { 3 })).unwrap();
                (name, spawned)
            }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("io-blocking"));
        assert_eq!(spawned, 3);
    });
}

#[test]
fn spawn_blocking_inside_block_on_uses_that_runtimes_pool() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let other = fiber::Runtime::new().unwrap();
        rt.block_on(async {
            fiber::spawn_blocking(|| ()).await.unwrap();
        });
        assert_eq!(rt.metrics().num_blocking_threads(), 1);
        assert_eq!(other.metrics().num_blocking_threads(), 0);
        // From a task on a worker too.
        rt.block_on(rt.spawn(async { fiber::spawn_blocking(|| 2).await.unwrap() }))
            .unwrap();
        assert_eq!(other.metrics().num_blocking_threads(), 0);
    });
}

#[test]
#[should_panic(expected = "`fiber::spawn_blocking` called outside a fiber runtime")]
fn spawn_blocking_outside_a_runtime_panics_with_a_clear_message() {
    watchdog(|| drop(fiber::spawn_blocking(|| ())));
}

#[test]
#[should_panic(expected = "max_blocking_threads(0)")]
fn a_cap_of_zero_threads_panics_with_a_clear_message() {
    fiber::Builder::new().max_blocking_threads(0);
}

#[test]
fn dropping_the_runtime_waits_for_a_running_job() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let (started, job_started) = mpsc::channel();
        let finished = DropFlag::new();
        let guard = finished.guard();
        let job = rt.spawn_blocking(move || {
            started.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            drop(guard);
            "done"
        });
        job_started.recv().unwrap();
        drop(rt);
        assert!(finished.is_set(), "drop returned before the job finished");
        // Its handle still resolves with the job's value.
        assert_eq!(fiber::block_on(job).unwrap(), "done");
    });
}

#[test]
fn dropping_the_runtime_cancels_queued_jobs() {
    watchdog(|| {
        let rt = fiber::Builder::new()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (started, job_started) = mpsc::channel();
        let running = rt.spawn_blocking(move || {
            started.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        });
        let ran = Arc::new(AtomicBool::new(false));
        let job_ran = ran.clone();
        let queued = rt.spawn_blocking(move || job_ran.store(true, Ordering::SeqCst));
        job_started.recv().unwrap();
        drop(rt);
        assert!(
            !ran.load(Ordering::SeqCst),
            "a queued job ran during the shutdown"
        );
        assert!(fiber::block_on(queued).unwrap_err().is_cancelled());
        fiber::block_on(running).unwrap();
    });
}

#[test]
fn shutdown_timeout_returns_about_the_timeout_with_a_job_that_never_returns() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let (started, job_started) = mpsc::channel();
        // Never returns: the sender is leaked, so `recv` waits forever.
        let (never, forever) = mpsc::channel::<()>();
        std::mem::forget(never);
        drop(rt.spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = forever.recv();
        }));
        job_started.recv().unwrap();
        let timeout = Duration::from_millis(100);
        let begin = Instant::now();
        rt.shutdown_timeout(timeout);
        let took = begin.elapsed();
        assert!(
            took >= timeout,
            "returned after {took:?}, before the timeout"
        );
        assert!(took < Duration::from_secs(5), "took {took:?}");
    });
}

#[test]
fn shutdown_background_does_not_wait_for_running_jobs() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let (started, job_started) = mpsc::channel();
        let (release, gate) = mpsc::channel::<()>();
        let job = rt.spawn_blocking(move || {
            started.send(()).unwrap();
            gate.recv().unwrap();
            "finished in the background"
        });
        job_started.recv().unwrap();
        rt.shutdown_background();
        // Still blocked: shutdown did not wait for it. Now let it finish.
        assert!(!job.is_finished());
        release.send(()).unwrap();
        assert_eq!(fiber::block_on(job).unwrap(), "finished in the background");
    });
}

#[test]
fn spawn_blocking_after_shutdown_resolves_cancelled() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let handle = rt.handle().clone();
        drop(rt);
        let dropped = DropFlag::new();
        let guard = dropped.guard();
        let ran = Arc::new(AtomicBool::new(false));
        let job_ran = ran.clone();
        let job = handle.spawn_blocking(move || {
            let _guard = guard;
            job_ran.store(true, Ordering::SeqCst);
        });
        assert!(job.is_finished());
        assert!(fiber::block_on(job).unwrap_err().is_cancelled());
        assert!(dropped.is_set(), "the closure was dropped");
        assert!(!ran.load(Ordering::SeqCst), "the closure ran");
    });
}

#[test]
fn a_job_may_drop_its_own_runtime() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let handle = rt.handle().clone();
        let (dropped, was_dropped) = mpsc::channel();
        let job = handle.spawn_blocking(move || {
            drop(rt);
            dropped.send(()).unwrap();
            "dropped"
        });
        was_dropped.recv().unwrap();
        assert_eq!(fiber::block_on(job).unwrap(), "dropped");
    });
}

#[test]
fn thread_hooks_run_on_blocking_threads_and_have_all_run_when_drop_returns() {
    watchdog(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let (on_start, on_stop) = (started.clone(), stopped.clone());
        let rt = fiber::Builder::new()
            .worker_threads(1)
            .on_thread_start(move || {
                on_start.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                on_stop.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
        drop(rt);
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
    });
}
