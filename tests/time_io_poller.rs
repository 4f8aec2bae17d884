//! Timers driven by a runtime's I/O poller: a worker blocked in the OS poll wakes for the
//! next timer itself, so the timer thread stays parked; timers of other threads still fire
//! on time. The tests share the process-wide timer role, so they run one at a time.

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::net::UdpSocket;
use fiber::time::{__timer_poller_wakes, __timer_thread_wakeups, sleep};

/// The timer role and the hooks' counters are process-wide: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A runtime with one worker and a bound socket, so that its worker parks in the OS poll.
fn runtime_with_a_socket() -> (fiber::Runtime, UdpSocket) {
    let runtime = fiber::Builder::new().worker_threads(1).build().unwrap();
    let socket = runtime
        .block_on(UdpSocket::bind("127.0.0.1:0"))
        .expect("a UDP socket binds to localhost");
    (runtime, socket)
}

/// Sleeps `duration` on the runtime's worker (not the `block_on` thread) and returns how
/// long the sleep took.
fn sleep_on_worker(runtime: &fiber::Runtime, duration: Duration) -> Duration {
    runtime
        .block_on(runtime.spawn(async move {
            let start = Instant::now();
            sleep(duration).await;
            start.elapsed()
        }))
        .unwrap()
}

#[test]
fn a_worker_polling_for_io_fires_its_timers_without_the_timer_thread() {
    let _serial = one_at_a_time();
    watchdog(|| {
        let (runtime, _socket) = runtime_with_a_socket();
        // The first sleeps may reach the timer thread, before the worker parked in the
        // poll; any plan it made for them is over once they have fired.
        for _ in 0..3 {
            sleep_on_worker(&runtime, Duration::from_millis(20));
        }
        let wakeups_before = __timer_thread_wakeups();
        for _ in 0..5 {
            let took = sleep_on_worker(&runtime, Duration::from_millis(20));
            assert!(took >= Duration::from_millis(20), "fired early: {took:?}");
            assert!(
                took < Duration::from_secs(2),
                "fired far too late: {took:?}"
            );
        }
        assert_eq!(
            __timer_thread_wakeups(),
            wakeups_before,
            "the timer thread woke up for timers the poller drives"
        );
    });
}

#[test]
fn a_timer_registered_elsewhere_earlier_than_the_poll_timeout_wakes_the_poller() {
    let _serial = one_at_a_time();
    watchdog(|| {
        let (runtime, _socket) = runtime_with_a_socket();
        sleep_on_worker(&runtime, Duration::from_millis(5));
        // The worker now blocks in the poll until this long timer.
        let long = runtime.spawn(sleep(Duration::from_secs(3600)));
        // Let the worker plan its poll for the long timer.
        thread::sleep(Duration::from_millis(50));
        let wakes_before = __timer_poller_wakes();
        let start = Instant::now();
        futures::executor::block_on(sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(
            __timer_poller_wakes() > wakes_before,
            "the poller was not told of the earlier timer"
        );
        long.abort();
    });
}

#[test]
fn timers_of_other_threads_fire_while_the_polling_worker_is_busy() {
    let _serial = one_at_a_time();
    watchdog(|| {
        let (runtime, _socket) = runtime_with_a_socket();
        sleep_on_worker(&runtime, Duration::from_millis(5));
        // The worker holds the timer role but is stuck in a long poll.
        let (started, is_started) = std::sync::mpsc::channel();
        let busy = runtime.spawn(async move {
            started.send(()).unwrap();
            thread::sleep(Duration::from_secs(3));
        });
        is_started.recv().unwrap();
        let start = Instant::now();
        futures::executor::block_on(sleep(Duration::from_millis(20)));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(20));
        assert!(
            took < Duration::from_millis(2500),
            "waited for the busy worker: {took:?}"
        );
        runtime.block_on(busy).unwrap();
    });
}

#[test]
fn timers_keep_working_after_the_polling_runtime_is_gone() {
    let _serial = one_at_a_time();
    watchdog(|| {
        let (runtime, socket) = runtime_with_a_socket();
        sleep_on_worker(&runtime, Duration::from_millis(5));
        drop(socket);
        drop(runtime);
        let start = Instant::now();
        futures::executor::block_on(sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        // And a runtime without sockets, whose workers never poll.
        let plain = fiber::Builder::new().worker_threads(1).build().unwrap();
        let took = sleep_on_worker(&plain, Duration::from_millis(20));
        assert!(took >= Duration::from_millis(20));
    });
}

#[test]
fn a_runtime_that_closes_its_last_socket_hands_timers_back() {
    let _serial = one_at_a_time();
    watchdog(|| {
        let (runtime, socket) = runtime_with_a_socket();
        sleep_on_worker(&runtime, Duration::from_millis(5));
        drop(socket);
        // With no socket left the worker parks on its channel: its timers go to the timer
        // thread again.
        for _ in 0..3 {
            let took = sleep_on_worker(&runtime, Duration::from_millis(20));
            assert!(took >= Duration::from_millis(20));
        }
    });
}
