//! The paused clock: `Builder::start_paused`, `pause`, `resume`, `advance`, `now`.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{advance, interval, now, pause, resume, sleep, timeout, Elapsed};
use fiber::{Builder, Runtime};

const HOUR: Duration = Duration::from_secs(3600);

fn paused_runtime(workers: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn an_hour_long_sleep_completes_at_once_in_a_paused_runtime() {
    watchdog(|| {
        let rt = paused_runtime(2);
        let real_start = Instant::now();
        let virtual_elapsed = rt.block_on(async {
            let start = now();
            sleep(HOUR).await;
            now() - start
        });
        assert!(virtual_elapsed >= HOUR);
        assert!(real_start.elapsed() < Duration::from_secs(60));
    });
}

#[test]
fn an_hour_long_sleep_in_a_task_completes_at_once() {
    watchdog(|| {
        let rt = paused_runtime(2);
        let task = rt.spawn(async {
            let start = now();
            sleep(HOUR).await;
            now() - start
        });
        assert!(rt.block_on(task).unwrap() >= HOUR);
    });
}

#[test]
fn sleeps_complete_in_deadline_order() {
    watchdog(|| {
        let rt = paused_runtime(2);
        let order = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = [5u64, 1, 4, 2, 3]
            .into_iter()
            .map(|minutes| {
                let order = order.clone();
                rt.spawn(async move {
                    sleep(Duration::from_secs(60 * minutes)).await;
                    order.lock().unwrap().push(minutes);
                })
            })
            .collect();
        rt.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), [1, 2, 3, 4, 5]);
    });
}

#[test]
fn the_clock_waits_for_a_woken_block_on_before_jumping_again() {
    watchdog(|| {
        let rt = paused_runtime(2);
        rt.block_on(async {
            let start = now();
            let later = fiber::spawn(async { sleep(Duration::from_secs(20)).await });
            sleep(Duration::from_secs(10)).await;
            assert_eq!(now() - start, Duration::from_secs(10));
            later.await.unwrap();
            assert_eq!(now() - start, Duration::from_secs(20));
        });
    });
}

#[test]
fn a_timeout_over_a_pending_future_elapses_in_a_paused_runtime() {
    watchdog(|| {
        let rt = paused_runtime(1);
        let result = rt.block_on(timeout(HOUR, std::future::pending::<()>()));
        assert_eq!(result, Err(Elapsed));
    });
}

#[test]
fn advance_fires_exactly_the_timers_that_fall_due() {
    watchdog(|| {
        let rt = paused_runtime(1);
        rt.block_on(async {
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            let mut ten = pin!(sleep(Duration::from_secs(10)));
            let mut fifteen = pin!(sleep(Duration::from_secs(15)));
            let mut twenty = pin!(sleep(Duration::from_secs(20)));
            assert!(ten.as_mut().poll(&mut cx).is_pending());
            assert!(fifteen.as_mut().poll(&mut cx).is_pending());
            assert!(twenty.as_mut().poll(&mut cx).is_pending());
            advance(Duration::from_secs(15)).await;
            assert!(ten.is_elapsed() && fifteen.is_elapsed());
            assert!(!twenty.is_elapsed());
            assert!(ten.as_mut().poll(&mut cx).is_ready());
            assert!(fifteen.as_mut().poll(&mut cx).is_ready());
            assert!(twenty.as_mut().poll(&mut cx).is_pending());
            advance(Duration::from_secs(5)).await;
            assert!(twenty.as_mut().poll(&mut cx).is_ready());
        });
    });
}

#[test]
fn a_paused_runtime_leaves_other_runtimes_on_real_time() {
    watchdog(|| {
        let paused = paused_runtime(1);
        let running = Builder::new().worker_threads(1).build().unwrap();
        // The paused runtime sleeps for an hour on another thread meanwhile.
        let paused_sleeper = std::thread::spawn(move || paused.block_on(sleep(HOUR)));
        let real_start = Instant::now();
        let elapsed = running.block_on(async {
            let start = now();
            sleep(Duration::from_millis(20)).await;
            now() - start
        });
        assert!(real_start.elapsed() >= Duration::from_millis(20));
        assert!(elapsed >= Duration::from_millis(20) && elapsed < HOUR);
        paused_sleeper.join().unwrap();
        // A sleep outside any runtime keeps real time too.
        let start = Instant::now();
        futures::executor::block_on(sleep(Duration::from_millis(5)));
        assert!(start.elapsed() >= Duration::from_millis(5));
    });
}

#[test]
fn pause_inside_block_on_then_resume_runs_on_from_the_paused_instant() {
    watchdog(|| {
        let rt = Builder::new().worker_threads(1).build().unwrap();
        rt.block_on(async {
            pause();
            let paused_at = now();
            sleep(HOUR).await;
            assert!(now() >= paused_at + HOUR);
            resume();
            let resumed_at = now();
            assert!(resumed_at >= paused_at + HOUR);
            sleep(Duration::from_millis(10)).await;
            assert!(now() >= resumed_at + Duration::from_millis(10));
        });
    });
}

/// A `block_on` thread that pauses the clock counts as busy from then on: while it runs
/// (here, blocks without awaiting), the idle workers must not jump the clock to a task's
/// timer, however long that takes.
#[test]
fn a_block_on_that_paused_the_clock_holds_it_while_busy() {
    watchdog(|| {
        let rt = Builder::new().worker_threads(1).build().unwrap();
        rt.block_on(async {
            pause();
            let task = fiber::spawn(async { sleep(HOUR).await });
            std::thread::sleep(Duration::from_millis(200));
            assert!(
                !task.is_finished(),
                "the clock jumped while the block_on thread was busy"
            );
            let paused_at = now();
            task.await.unwrap();
            assert!(now() >= paused_at + HOUR);
        });
    });
}

#[test]
fn intervals_tick_on_the_paused_clock() {
    watchdog(|| {
        let rt = paused_runtime(1);
        rt.block_on(async {
            let mut ticks = interval(Duration::from_secs(60));
            let first = ticks.tick().await;
            let second = ticks.tick().await;
            let third = ticks.tick().await;
            assert_eq!(second - first, Duration::from_secs(60));
            assert_eq!(third - first, Duration::from_secs(120));
            assert_eq!(now(), third);
        });
    });
}

#[test]
#[should_panic(expected = "outside a fiber runtime")]
fn pause_outside_a_runtime_panics_with_a_clear_message() {
    pause();
}

#[test]
#[should_panic(expected = "not paused")]
fn advance_on_a_running_clock_panics() {
    let rt = Builder::new().worker_threads(1).build().unwrap();
    rt.block_on(advance(Duration::from_secs(1)));
}
