//! The timer driver under load and under hostile wakers and executors.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{sleep, Sleep};
use futures::executor::{block_on, ThreadPool};

/// Durations of 1 to 20 ms in a fixed pseudo-random order.
fn one_to_twenty_millis(count: usize) -> impl Iterator<Item = Duration> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    (0..count).map(move |_| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_millis(1 + (seed >> 33) % 20)
    })
}

/// Polls `sleep` once with `waker`.
fn poll_with(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

#[test]
fn ten_thousand_concurrent_sleeps_all_complete_none_early() {
    watchdog(|| {
        let sleeps = one_to_twenty_millis(10_000).map(|duration| async move {
            let pause = sleep(duration);
            let deadline = pause.deadline();
            pause.await;
            Instant::now() >= deadline
        });
        let on_time = block_on(futures::future::join_all(sleeps));
        assert_eq!(on_time.len(), 10_000);
        assert!(
            on_time.iter().all(|&on_time| on_time),
            "a sleep completed early"
        );
    });
}

#[test]
fn ten_thousand_sleeps_on_a_thread_pool_all_complete_none_early() {
    watchdog(|| {
        let pool = ThreadPool::builder().pool_size(2).create().unwrap();
        let (report, reports) = mpsc::channel();
        for duration in one_to_twenty_millis(10_000) {
            let report = report.clone();
            pool.spawn_ok(async move {
                let pause = sleep(duration);
                let deadline = pause.deadline();
                pause.await;
                report.send(Instant::now() >= deadline).unwrap();
            });
        }
        drop(report);
        let on_time: Vec<bool> = reports.iter().collect();
        assert_eq!(on_time.len(), 10_000);
        assert!(
            on_time.iter().all(|&on_time| on_time),
            "a sleep completed early"
        );
    });
}

/// A waker that, when woken or dropped, drops the timers it holds.
struct DropsTimers {
    victims: Mutex<Vec<Sleep>>,
    woken: Mutex<mpsc::Sender<()>>,
}

impl DropsTimers {
    fn new(victims: Vec<Sleep>, woken: mpsc::Sender<()>) -> Arc<Self> {
        Arc::new(DropsTimers {
            victims: Mutex::new(victims),
            woken: Mutex::new(woken),
        })
    }
}

impl Wake for DropsTimers {
    fn wake(self: Arc<Self>) {
        self.victims.lock().unwrap().clear();
        let _ = self.woken.lock().unwrap().send(());
    }
}

impl Drop for DropsTimers {
    fn drop(&mut self) {
        self.victims.lock().unwrap().clear();
    }
}

/// Timers registered (polled once) with a do-nothing waker, waiting an hour.
fn registered_victims(count: usize) -> Vec<Sleep> {
    let noop = futures::task::noop_waker();
    (0..count)
        .map(|_| {
            let mut victim = sleep(Duration::from_secs(3600));
            assert!(poll_with(&mut victim, &noop).is_pending());
            victim
        })
        .collect()
}

#[test]
fn a_waker_that_drops_timers_when_woken_does_not_deadlock() {
    watchdog(|| {
        let (woken, wakes) = mpsc::channel();
        let waker = Waker::from(DropsTimers::new(registered_victims(100), woken));
        let mut trigger = sleep(Duration::from_millis(5));
        assert!(poll_with(&mut trigger, &waker).is_pending());
        drop(waker);
        wakes.recv().unwrap();
        // The driver survived: other timers still fire.
        block_on(sleep(Duration::from_millis(2)));
    });
}

#[test]
fn a_waker_that_drops_timers_when_dropped_does_not_deadlock() {
    watchdog(|| {
        // Fired by the driver: the driver holds the last reference to the waker.
        let (woken, _wakes) = mpsc::channel();
        let waker = Waker::from(DropsTimers::new(registered_victims(100), woken));
        let mut fired = sleep(Duration::from_millis(2));
        assert!(poll_with(&mut fired, &waker).is_pending());
        drop(waker);
        block_on(sleep(Duration::from_millis(10)));

        // Cancelled: dropping the `Sleep` drops the last reference to its waker.
        let (woken, _wakes) = mpsc::channel();
        let waker = Waker::from(DropsTimers::new(registered_victims(100), woken));
        let mut cancelled = sleep(Duration::from_secs(3600));
        assert!(poll_with(&mut cancelled, &waker).is_pending());
        drop(waker);
        drop(cancelled);

        // Replaced: a later poll with another waker drops the old one.
        let (woken, _wakes) = mpsc::channel();
        let waker = Waker::from(DropsTimers::new(registered_victims(100), woken));
        let mut replaced = sleep(Duration::from_secs(3600));
        assert!(poll_with(&mut replaced, &waker).is_pending());
        drop(waker);
        assert!(poll_with(&mut replaced, &futures::task::noop_waker()).is_pending());

        block_on(sleep(Duration::from_millis(2)));
    });
}

/// A future that wakes itself on every poll until `stop` is set.
struct Busy {
    stop: Arc<AtomicBool>,
}

impl Future for Busy {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_busy_self_waking_future_on_another_executor_does_not_stop_timers() {
    watchdog(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let busy_stop = Arc::clone(&stop);
        let busy = thread::spawn(move || block_on(Busy { stop: busy_stop }));
        let pool = ThreadPool::builder().pool_size(1).create().unwrap();
        pool.spawn_ok(Busy {
            stop: Arc::clone(&stop),
        });
        for _ in 0..5 {
            let pause = sleep(Duration::from_millis(5));
            let deadline = pause.deadline();
            block_on(pause);
            assert!(Instant::now() >= deadline);
        }
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
    });
}

#[test]
fn many_drop_before_fire_cycles_complete() {
    watchdog(|| {
        let noop = futures::task::noop_waker();
        for _ in 0..100 {
            let mut pending: Vec<Sleep> = one_to_twenty_millis(1000).map(sleep).collect();
            for pause in &mut pending {
                let _ = poll_with(pause, &noop);
            }
            drop(pending);
        }
        block_on(sleep(Duration::from_millis(2)));
    });
}

#[test]
fn sleeps_registered_from_many_threads_while_the_driver_parks_all_complete() {
    // Each thread registers one short sleep at a time, so registrations keep landing while
    // the driver thread scans its shards or parks with nothing pending; a registration the
    // driver missed would leave its sleep waiting for a wake-up that never comes.
    watchdog(|| {
        let threads: Vec<_> = (0..8u64)
            .map(|thread| {
                std::thread::spawn(move || {
                    for round in 0..150u64 {
                        let duration =
                            Duration::from_micros(300 + (thread * 37 + round * 11) % 900);
                        let start = Instant::now();
                        block_on(sleep(duration));
                        assert!(start.elapsed() >= duration);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}
