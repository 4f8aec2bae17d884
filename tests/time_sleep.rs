//! `sleep`, `sleep_until` and `Sleep::reset`, driven by executors other than fiber's.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{sleep, sleep_until, Sleep};
use futures::executor::block_on;

/// Polls `sleep` once with a waker that does nothing.
fn poll_once(sleep: &mut Sleep) -> Poll<()> {
    let waker = futures::task::noop_waker();
    Pin::new(sleep).poll(&mut Context::from_waker(&waker))
}

/// The latest instant this platform can represent, give or take a second.
fn nearly_the_last_instant() -> Instant {
    let mut step = Duration::MAX;
    let mut latest = Instant::now();
    while step > Duration::from_secs(1) {
        if let Some(later) = latest.checked_add(step) {
            latest = later;
        } else {
            step /= 2;
        }
    }
    latest
}

#[test]
fn block_on_a_sleep_completes_after_its_deadline() {
    watchdog(|| {
        let deadline = Instant::now() + Duration::from_millis(15);
        block_on(sleep_until(deadline));
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn sleeps_never_complete_before_their_deadline() {
    watchdog(|| {
        for millis in [1, 2, 3, 5, 8, 13] {
            let pause = sleep(Duration::from_millis(millis));
            let deadline = pause.deadline();
            block_on(pause);
            assert!(
                Instant::now() >= deadline,
                "a {millis} ms sleep completed early"
            );
        }
        for micros in [100, 999, 1001, 1500] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            block_on(sleep_until(deadline));
            assert!(
                Instant::now() >= deadline,
                "a {micros} µs sleep completed early"
            );
        }
    });
}

#[test]
fn zero_and_past_sleeps_complete_on_the_first_poll() {
    watchdog(|| {
        for _ in 0..1000 {
            let mut pause = sleep(Duration::ZERO);
            assert_eq!(poll_once(&mut pause), Poll::Ready(()));
            assert!(pause.is_elapsed());
        }
        let mut past = sleep_until(Instant::now() - Duration::from_millis(1));
        assert_eq!(poll_once(&mut past), Poll::Ready(()));
    });
}

#[test]
fn a_sleep_does_nothing_before_its_first_poll() {
    let pause = sleep(Duration::from_millis(1));
    thread::sleep(Duration::from_millis(5));
    assert!(!pause.is_elapsed(), "unpolled sleeps are not registered");
}

#[test]
fn duration_max_and_near_max_deadlines_stay_pending_without_panicking() {
    watchdog(|| {
        let mut forever = sleep(Duration::MAX);
        let a_year = Duration::from_secs(60 * 60 * 24 * 365);
        assert!(forever.deadline() > Instant::now() + a_year);
        assert_eq!(poll_once(&mut forever), Poll::Pending);

        let mut at_the_end_of_time = sleep_until(nearly_the_last_instant());
        assert_eq!(poll_once(&mut at_the_end_of_time), Poll::Pending);
        Pin::new(&mut at_the_end_of_time).reset(nearly_the_last_instant());
        assert_eq!(poll_once(&mut at_the_end_of_time), Poll::Pending);

        let mut long = sleep(Duration::from_secs(u64::MAX / 2));
        assert_eq!(poll_once(&mut long), Poll::Pending);

        // Other timers still fire while these wait.
        block_on(sleep(Duration::from_millis(2)));
        assert_eq!(poll_once(&mut forever), Poll::Pending);
        assert!(!forever.is_elapsed());
    });
}

#[test]
fn reset_after_firing_re_arms_the_sleep() {
    watchdog(|| {
        let mut pause = sleep(Duration::from_millis(2));
        block_on(&mut pause);
        assert!(pause.is_elapsed());
        let deadline = Instant::now() + Duration::from_millis(10);
        Pin::new(&mut pause).reset(deadline);
        assert!(!pause.is_elapsed());
        assert_eq!(pause.deadline(), deadline);
        block_on(&mut pause);
        assert!(Instant::now() >= deadline);
        assert!(pause.is_elapsed());
    });
}

#[test]
fn reset_of_a_pending_sleep_to_a_later_deadline_waits_longer() {
    watchdog(|| {
        let mut pause = sleep(Duration::from_millis(2));
        assert_eq!(poll_once(&mut pause), Poll::Pending);
        let later = Instant::now() + Duration::from_millis(30);
        Pin::new(&mut pause).reset(later);
        block_on(&mut pause);
        assert!(Instant::now() >= later);
    });
}

#[test]
fn reset_of_a_waiting_sleep_to_an_earlier_deadline_wakes_its_task_then() {
    watchdog(|| {
        let pause = Arc::new(Mutex::new(sleep(Duration::from_secs(3600))));
        let (deadline_sender, deadline_receiver) = mpsc::channel();
        let shared = Arc::clone(&pause);
        let resetter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            let earlier = Instant::now() + Duration::from_millis(10);
            Pin::new(&mut *shared.lock().unwrap()).reset(earlier);
            deadline_sender.send(earlier).unwrap();
        });
        // The task registers its waker on the one-hour sleep, then waits to be woken.
        block_on(std::future::poll_fn(|cx| {
            Pin::new(&mut *pause.lock().unwrap()).poll(cx)
        }));
        let earlier = deadline_receiver.recv().unwrap();
        assert!(Instant::now() >= earlier);
        resetter.join().unwrap();
    });
}

#[test]
fn reset_to_the_past_completes_a_waiting_sleep_at_once() {
    watchdog(|| {
        let pause = Arc::new(Mutex::new(sleep(Duration::from_secs(3600))));
        let shared = Arc::clone(&pause);
        let resetter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            Pin::new(&mut *shared.lock().unwrap()).reset(Instant::now());
        });
        block_on(std::future::poll_fn(|cx| {
            Pin::new(&mut *pause.lock().unwrap()).poll(cx)
        }));
        assert!(pause.lock().unwrap().is_elapsed());
        resetter.join().unwrap();
    });
}

#[test]
fn sleep_is_debug_and_reports_its_state() {
    let text = format!("{:?}", sleep(Duration::from_secs(1)));
    assert!(text.starts_with("Sleep"), "{text}");
    assert!(text.contains("is_elapsed: false"), "{text}");
}
