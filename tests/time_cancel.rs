//! Dropping and resetting timers frees and reuses their entries in the driver.
//!
//! One test in this file on purpose: it reads the driver's global timer count, which other
//! tests running in parallel in the same binary would disturb.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use fiber::time::{__registered_timers as registered_timers, sleep, Sleep};
use futures::executor::block_on;

/// Runs `test` on its own thread and fails if it takes longer than 20 s.
fn with_watchdog(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let body = thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => body.join().unwrap(),
        Err(RecvTimeoutError::Disconnected) => std::panic::resume_unwind(body.join().unwrap_err()),
        Err(RecvTimeoutError::Timeout) => panic!("test still running after 20 s: it hangs"),
    }
}

fn poll_once(sleep: &mut Sleep) -> Poll<()> {
    let waker = futures::task::noop_waker();
    Pin::new(sleep).poll(&mut Context::from_waker(&waker))
}

#[test]
fn dropped_reset_and_fired_timers_leave_no_entry_behind() {
    with_watchdog(|| {
        assert_eq!(registered_timers(), 0);
        let unpolled: Vec<Sleep> = (0..100).map(|_| sleep(Duration::from_secs(60))).collect();
        assert_eq!(
            registered_timers(),
            0,
            "an unpolled sleep registers nothing"
        );
        drop(unpolled);

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
    });
}
