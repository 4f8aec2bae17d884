//! `interval`, `interval_at` and the missed-tick behaviours.

mod common;

use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{interval, interval_at, MissedTickBehavior};
use futures::executor::block_on;

const PERIOD: Duration = Duration::from_millis(10);

#[test]
fn the_first_tick_completes_at_once() {
    let mut ticks = interval(Duration::from_secs(3600));
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(ticks.poll_tick(&mut cx).is_ready());
    assert_eq!(ticks.poll_tick(&mut cx), Poll::Pending);
}

#[test]
fn ticks_are_spaced_no_closer_than_the_period() {
    watchdog(|| {
        let mut ticks = interval(PERIOD);
        let mut previous = block_on(ticks.tick());
        for _ in 0..5 {
            let tick = block_on(ticks.tick());
            assert!(Instant::now() >= tick, "a tick was delivered early");
            assert_eq!(tick - previous, PERIOD);
            previous = tick;
        }
    });
}

#[test]
fn interval_at_starts_at_its_instant() {
    watchdog(|| {
        let start = Instant::now() + Duration::from_millis(15);
        let mut ticks = interval_at(start, PERIOD);
        assert_eq!(block_on(ticks.tick()), start);
        assert!(Instant::now() >= start);
        assert_eq!(block_on(ticks.tick()), start + PERIOD);
    });
}

#[test]
fn burst_delivers_missed_ticks_back_to_back() {
    watchdog(|| {
        let start = Instant::now();
        let mut ticks = interval_at(start, PERIOD);
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        block_on(ticks.tick());
        thread::sleep(PERIOD * 3 + PERIOD / 2);
        for missed in 1..=3 {
            assert_eq!(block_on(ticks.tick()), start + PERIOD * missed);
        }
        let next = block_on(ticks.tick());
        assert_eq!(next, start + PERIOD * 4);
        assert!(Instant::now() >= next);
    });
}

#[test]
fn delay_restarts_the_schedule_from_the_late_tick() {
    watchdog(|| {
        let start = Instant::now();
        let mut ticks = interval_at(start, PERIOD);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        block_on(ticks.tick());
        thread::sleep(PERIOD * 3 + PERIOD / 2);
        let late_poll = Instant::now();
        assert_eq!(block_on(ticks.tick()), start + PERIOD);
        let next = block_on(ticks.tick());
        assert!(
            next >= late_poll + PERIOD,
            "Delay keeps a full period after the late tick"
        );
        assert!(Instant::now() >= next);
    });
}

#[test]
fn skip_drops_missed_ticks_and_keeps_the_schedule() {
    watchdog(|| {
        let start = Instant::now();
        let mut ticks = interval_at(start, PERIOD);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        block_on(ticks.tick());
        thread::sleep(PERIOD * 3 + PERIOD / 2);
        let late_poll = Instant::now();
        assert_eq!(block_on(ticks.tick()), start + PERIOD);
        let next = block_on(ticks.tick());
        assert!(
            next > late_poll,
            "Skip drops every tick already in the past"
        );
        let since_start = (next - start).as_nanos();
        assert_eq!(
            since_start % PERIOD.as_nanos(),
            0,
            "Skip stays on the schedule"
        );
        assert!(Instant::now() >= next);
    });
}

#[test]
fn reset_moves_the_next_tick_a_period_away() {
    watchdog(|| {
        let mut ticks = interval(PERIOD);
        let reset_at = Instant::now();
        ticks.reset();
        let tick = block_on(ticks.tick());
        assert!(tick >= reset_at + PERIOD);
        assert!(Instant::now() >= tick);
    });
}

#[test]
fn huge_periods_do_not_overflow() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut ticks = interval(Duration::MAX);
    assert!(ticks.poll_tick(&mut cx).is_ready());
    assert!(ticks.poll_tick(&mut cx).is_pending());
    ticks.reset();
    assert!(ticks.poll_tick(&mut cx).is_pending());
}

#[test]
#[should_panic(expected = "non-zero period")]
fn a_zero_period_panics_with_a_clear_message() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn an_interval_is_a_stream_of_its_scheduled_ticks() {
    use futures::StreamExt;
    watchdog(|| {
        let start = Instant::now();
        let ticks: Vec<Instant> = block_on(interval_at(start, PERIOD).take(3).collect());
        assert_eq!(ticks, [start, start + PERIOD, start + 2 * PERIOD]);
        assert!(Instant::now() >= start + 2 * PERIOD);
    });
}
