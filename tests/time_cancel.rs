//! Dropping and resetting timers frees and reuses their slots in the driver.
//!
//! One test in this file on purpose: it reads the driver's global timer count, which other
//! tests running in parallel in the same binary would disturb.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::{
    __registered_timers as registered_timers, __timer_slots as timer_slots, sleep, Sleep,
};
use futures::executor::block_on;

fn poll_once(sleep: &mut Sleep) -> Poll<()> {
    poll_with(sleep, &futures::task::noop_waker())
}

fn poll_with(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

/// A waker that counts how often it was woken.
struct CountingWaker(AtomicUsize);

impl futures::task::ArcWake for CountingWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        this.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = futures::task::waker(counter.clone());
    (counter, waker)
}

/// Waits (polling the flag, under the test's watchdog) until `sleep` has fired.
fn wait_until_fired(sleep: &Sleep) {
    while !sleep.is_elapsed() {
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until a counting waker has been woken `times` times: a timer reads as elapsed as
/// soon as it fires, a moment before the driver calls its waker.
fn wait_until_woken(woken: &AtomicUsize, times: usize) {
    while woken.load(Ordering::SeqCst) < times {
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn dropped_reset_and_fired_timers_leave_no_entry_behind() {
    watchdog(|| {
        assert_eq!(registered_timers(), 0);
        assert_eq!(timer_slots(), 0, "no timer, no slot");
        let unpolled: Vec<Sleep> = (0..100).map(|_| sleep(Duration::from_secs(60))).collect();
        assert_eq!(
            registered_timers(),
            0,
            "an unpolled sleep registers nothing"
        );
        drop(unpolled);

        let mut slots_after_first_round = 0;
        for round in 0..50 {
            let mut pending: Vec<Sleep> = (0..1000)
                .map(|i| sleep(Duration::from_secs(60 + i)))
                .collect();
            for pause in &mut pending {
                assert_eq!(poll_once(pause), Poll::Pending);
            }
            assert_eq!(registered_timers(), 1000, "round {round}");
            // Moving a registered timer keeps its one entry.
            for pause in &mut pending {
                let later = pause.deadline() + Duration::from_secs(1);
                Pin::new(pause).reset(later);
            }
            assert_eq!(registered_timers(), 1000, "round {round}");
            drop(pending);
            assert_eq!(
                registered_timers(),
                0,
                "round {round}: dropping frees every entry"
            );
            if round == 0 {
                slots_after_first_round = timer_slots();
                assert!(slots_after_first_round >= 1000);
            }
            assert_eq!(
                timer_slots(),
                slots_after_first_round,
                "round {round}: later rounds reuse the slots of the first"
            );
        }

        let mut fired = sleep(Duration::from_millis(2));
        block_on(&mut fired);
        assert_eq!(registered_timers(), 0, "a fired timer leaves the wheel");
        Pin::new(&mut fired).reset(Instant::now() + Duration::from_secs(60));
        assert_eq!(
            registered_timers(),
            1,
            "a reset after firing registers again"
        );
        drop(fired);
        assert_eq!(registered_timers(), 0);

        // A fired `Sleep` that was not polled since must never touch its old slot, which the
        // next timer reuses: not when it is polled with a new waker, reset, or dropped.
        let (stale_woken, stale_waker) = counting_waker();
        let (fresh_woken, fresh_waker) = counting_waker();
        let mut stale = sleep(Duration::from_millis(1));
        assert_eq!(poll_with(&mut stale, &stale_waker), Poll::Pending);
        wait_until_fired(&stale);
        wait_until_woken(&stale_woken.0, 1);
        assert_eq!(stale_woken.0.load(Ordering::SeqCst), 1);
        let mut fresh = sleep(Duration::from_millis(30));
        assert_eq!(poll_with(&mut fresh, &fresh_waker), Poll::Pending);
        assert_eq!(registered_timers(), 1);
        let (_, other_waker) = counting_waker();
        assert_eq!(poll_with(&mut stale, &other_waker), Poll::Ready(()));
        drop(stale);
        assert_eq!(
            registered_timers(),
            1,
            "dropping the stale sleep kept the other timer"
        );
        let mut stale = sleep(Duration::from_millis(1));
        assert_eq!(poll_with(&mut stale, &stale_waker), Poll::Pending);
        wait_until_fired(&stale);
        Pin::new(&mut stale).reset(Instant::now() + Duration::from_secs(60));
        assert_eq!(registered_timers(), 2, "the reset took a slot of its own");
        drop(stale);
        assert_eq!(registered_timers(), 1);
        wait_until_fired(&fresh);
        wait_until_woken(&fresh_woken.0, 1);
        assert_eq!(
            fresh_woken.0.load(Ordering::SeqCst),
            1,
            "the timer that reused the slot woke its own waker"
        );
        assert_eq!(stale_woken.0.load(Ordering::SeqCst), 2);
        assert_eq!(poll_with(&mut fresh, &fresh_waker), Poll::Ready(()));
        assert_eq!(registered_timers(), 0);
    });
}
