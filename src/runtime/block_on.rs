//! Driving a future to completion on the calling thread: the heart of `block_on`.
//!
//! Each thread keeps one parker and one waker for it, made on first use, so a warm
//! `block_on` allocates nothing: it polls, and between polls parks the thread (a futex wait
//! on Linux) until the waker fires. Each poll gets a fresh cooperative budget ([`coop`]).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::coop;
use super::scheduler::Scheduler;
use crate::time::{BlockerGuard, ParkedThread};

struct Parker {
    notified: AtomicBool,
    thread: Thread,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake since the last poll pays for an unpark.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

impl ParkedThread for Parker {
    fn is_woken(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }
}

struct ThreadParker {
    parker: Arc<Parker>,
    waker: Waker,
}

thread_local! {
    static PARKER: ThreadParker = {
        let parker = Arc::new(Parker {
            notified: AtomicBool::new(false),
            thread: thread::current(),
        });
        ThreadParker { waker: Waker::from(parker.clone()), parker }
    };
}

/// Polls `future` on this thread until it completes, inside `runtime` if given (and
/// counted by its clock as `blocker`). The caller has checked that blocking here is allowed.
pub(crate) fn block_on<F: Future>(
    future: F,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    let mut future = pin!(future);
    PARKER.with(|ThreadParker { parker, waker }| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return output;
            }
            match runtime {
                Some((scheduler, blocker)) if blocker.is_counted() => {
                    wait_counted(parker, scheduler)
                }
                // `park` may return spuriously; only a wake counts.
                _ => {
                    while !parker.notified.swap(false, Ordering::Acquire) {
                        thread::park();
                    }
                }
            }
        }
    })
}

/// Waits for a wake while the runtime's paused clock counts this thread: it tells the clock
/// it is idle, so that the clock may jump to its next timer once the workers are idle too.
#[cold]
fn wait_counted(parker: &Arc<Parker>, scheduler: &Scheduler) {
    if parker.notified.swap(false, Ordering::Acquire) {
        // Woken while it polled: poll again at once.
        return;
    }
    let thread: Arc<dyn ParkedThread> = parker.clone();
    if scheduler.clock().blocker_parks(thread.clone()) {
        // The workers may all be parked already, with nobody left to notice the idle
        // runtime: wake one to look.
        scheduler.notify_parked();
    }
    while !parker.notified.load(Ordering::Acquire) {
        thread::park();
    }
    // Still flagged as woken while it leaves the clock's idle list, so that the clock never
    // sees it idle from now on.
    scheduler.clock().blocker_wakes(&thread);
    parker.notified.store(false, Ordering::Release);
}
