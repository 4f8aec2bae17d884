//! Model tests of the readiness word and its tick protocol (`scheduled_io.rs`).
//!
//! Under `--cfg loom` each test is explored over every interleaving (scripts/loom);
//! otherwise each runs once on real threads.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::task::{Context, Poll, Wake, Waker};

use super::scheduled_io::{Direction, Ready, ScheduledIo};

#[cfg(loom)]
use loom::{sync::Arc, thread};
#[cfg(not(loom))]
use std::{sync::Arc, thread};

use crate::loom::model;

/// Counts its wakes (outside the model's view: it only records, it does not synchronise).
#[derive(Default)]
struct CountingWaker(StdAtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let counter = std::sync::Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    (counter, waker)
}

/// What the driver does for one event: store it, then wake whoever waits.
fn deliver(io: &ScheduledIo, ready: Ready) {
    let mut wake = Vec::new();
    io.set_readiness(ready, &mut wake);
    for waker in wake {
        waker.wake();
    }
}

#[test]
fn a_task_that_waits_is_woken_by_a_concurrent_event() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };
        let (counter, waker) = counting_waker();
        let polled = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
        driver.join().unwrap();
        match polled {
            Poll::Ready(Ok(event)) => assert!(event.ready.contains(Ready::READABLE)),
            Poll::Ready(Err(())) => panic!("the source was not shut down"),
            // Pending: the event came after the waker was stored, so it must have woken it.
            Poll::Pending => assert_eq!(counter.0.load(StdOrdering::SeqCst), 1),
        }
    });
}

#[test]
fn clearing_stale_readiness_never_erases_a_newer_event() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        deliver(&io, Ready::READABLE);
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };
        // The task saw readable, its read returned WouldBlock: it clears what it saw.
        let seen = io
            .ready_now(Direction::Read)
            .unwrap()
            .expect("readable before the task looked");
        io.clear_readiness(seen);
        driver.join().unwrap();
        let now = io.ready_now(Direction::Read).unwrap();
        // Either the newer event survived, or the task saw it (same tick) before clearing,
        // in which case its WouldBlock came after that event and the clear was right.
        assert!(now.is_some() || io.tick() == seen.tick());
    });
}

#[test]
fn a_wait_on_one_direction_is_not_woken_by_the_other() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let (counter, waker) = counting_waker();
        let polled = io.poll_ready(&mut Context::from_waker(&waker), Direction::Write);
        // A fresh socket is not yet known writable.
        assert!(polled.is_pending());
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };
        driver.join().unwrap();
        assert_eq!(counter.0.load(StdOrdering::SeqCst), 0);
        deliver(&io, Ready::WRITABLE);
        assert_eq!(counter.0.load(StdOrdering::SeqCst), 1);
    });
}

#[test]
fn shutdown_wakes_waiters_and_fails_later_polls() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let (counter, waker) = counting_waker();
        let shutdown = {
            let io = io.clone();
            thread::spawn(move || {
                let mut wake = Vec::new();
                io.shutdown(&mut wake);
                for waker in wake {
                    waker.wake();
                }
            })
        };
        let polled = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
        shutdown.join().unwrap();
        match polled {
            Poll::Ready(result) => assert!(result.is_err()),
            Poll::Pending => assert_eq!(counter.0.load(StdOrdering::SeqCst), 1),
        }
        assert!(io.ready_now(Direction::Write).is_err());
    });
}

#[test]
fn closed_and_error_readiness_survive_a_clear() {
    model(|| {
        let io = ScheduledIo::new();
        deliver(&io, Ready::READABLE.union(Ready::READ_CLOSED));
        let seen = io.ready_now(Direction::Read).unwrap().unwrap();
        io.clear_readiness(seen);
        let now = io.ready_now(Direction::Read).unwrap().unwrap();
        assert_eq!(now.ready, Ready::READ_CLOSED);
    });
}
