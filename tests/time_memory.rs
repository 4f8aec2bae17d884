//! Timer memory: bounded by the most timers pending at once, and given back after a burst.
//!
//! One test in this file, since the slot count is process-wide.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};

use common::watchdog_for;
use fiber::time::{__timer_slots, sleep, Sleep};

const BURST: usize = 200_000;
/// What the free lists of the shards and the shared pool's reserve may keep on top of the
/// timers pending at once.
const SLACK: usize = 50_000;

/// Registers `BURST` timers far in the future on this thread, then drops them all.
fn burst_of_pending_timers() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut sleeps: Vec<Sleep> = (0..BURST)
        .map(|_| sleep(Duration::from_secs(600)))
        .collect();
    for pause in &mut sleeps {
        assert!(Pin::new(pause).poll(&mut cx).is_pending());
    }
    drop(sleeps);
}

#[test]
fn timer_slots_follow_the_most_timers_pending_at_once_and_are_freed_after_a_burst() {
    watchdog_for(Duration::from_secs(60), || {
        for round in 1..=3 {
            // A new thread each time: each registers in a shard of its own.
            std::thread::spawn(burst_of_pending_timers).join().unwrap();
            let slots = __timer_slots();
            assert!(
                slots <= BURST + SLACK,
                "after {round} threads in turn each had {BURST} timers pending, \
                 {slots} timer slots are allocated"
            );
        }
        // Nothing pending any more: the driver gives the memory back within a few seconds.
        let deadline = Instant::now() + Duration::from_secs(30);
        while __timer_slots() > SLACK {
            assert!(
                Instant::now() < deadline,
                "{} timer slots are still allocated long after the burst",
                __timer_slots()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}
