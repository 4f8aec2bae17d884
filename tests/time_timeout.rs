//! `timeout` and `timeout_at`.

mod common;

use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{sleep, timeout, timeout_at, Elapsed};
use futures::executor::block_on;

#[test]
fn a_ready_future_wins_even_with_a_zero_duration() {
    watchdog(|| {
        assert_eq!(block_on(timeout(Duration::ZERO, async { 5 })), Ok(5));
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(block_on(timeout_at(past, std::future::ready("x"))), Ok("x"));
    });
}

#[test]
fn a_pending_future_gives_elapsed_no_earlier_than_the_deadline() {
    watchdog(|| {
        let guarded = timeout(Duration::from_millis(10), std::future::pending::<()>());
        let deadline = guarded.deadline();
        assert_eq!(block_on(guarded), Err(Elapsed));
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn timeout_at_gives_elapsed_at_its_instant() {
    watchdog(|| {
        let deadline = Instant::now() + Duration::from_millis(10);
        let result = block_on(timeout_at(deadline, sleep(Duration::from_secs(3600))));
        assert_eq!(result, Err(Elapsed));
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn a_future_finishing_before_the_deadline_gives_ok() {
    watchdog(|| {
        let result = block_on(timeout(Duration::from_secs(10), async {
            sleep(Duration::from_millis(5)).await;
            "finished"
        }));
        assert_eq!(result, Ok("finished"));
    });
}

#[test]
fn timeout_accepts_into_future_values_and_huge_durations() {
    watchdog(|| {
        let ready = std::future::ready(1);
        assert_eq!(block_on(timeout(Duration::MAX, ready)), Ok(1));
    });
}

#[test]
fn into_inner_gives_back_the_future() {
    let guarded = timeout(Duration::from_secs(1), async { 9 });
    assert_eq!(block_on(guarded.into_inner()), 9);
}

#[test]
fn elapsed_is_a_send_sync_error_with_a_message() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    is_error(&Elapsed);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Elapsed);
    assert!(!boxed.to_string().is_empty());
    assert_eq!(format!("{Elapsed:?}"), "Elapsed");
}
