//! The monitor: a thread that frees the work queued behind a worker stuck in one long poll.
//!
//! A task that blocks its worker (a synchronous lock, a long computation) delays whatever
//! waits in that worker's queues. Idle workers steal from the deque on their own, but only
//! when they are awake and looking, and nobody else may look in a worker's next-task slot
//! (see [`slot`](super::slot)), where the task just spawned or woken by the blocking one sits.
//! So while some workers are busy and some parked, the monitor looks at every worker once per
//! [`TICK`]: a worker whose poll count has not moved since the last look has been in the same
//! poll for at least a tick. The monitor then moves that worker's next task to the injector, which wakes a
//! parked worker to run it, and, if the stuck worker's deque holds tasks, wakes a parked
//! worker to steal them.
//!
//! The workers pay nothing for this on their fast paths: the poll count is the metrics
//! counter they keep anyway, and the slot's hand-off stays a plain store and a swap. Parking
//! and waking up cost a fence and a load more.
//!
//! When every worker is parked there is nothing to watch, and when none is there is nobody
//! idle to hand freed work to (it would only wait in the injector for a busy worker's next
//! look): either way the monitor *dozes*, parking without a timeout, so an idle runtime costs
//! no CPU and a fully busy one no timer wake-ups. A worker that stops being parked, or that
//! parks, wakes it. The race to rule out is the usual one, and so is the cure: the monitor
//! announces that it dozes, fences, then checks the parked count once more; a worker changes
//! its parked count, fences, then looks for a dozing monitor. One of the two sees the other
//! (checked under loom below).

use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::Duration;

use super::Scheduler;
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering};

/// How often the monitor looks at busy workers: a task waits behind a stuck worker for at
/// most about two ticks from the start of the poll that blocks it.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The part of the monitor that the workers reach, to wake it.
pub(crate) struct Monitor {
    /// The monitor parks without a timeout: every worker was parked when it last looked.
    dozing: AtomicBool,
    /// The monitor's thread, once it runs (a runtime with one worker has none).
    thread: OnceLock<Thread>,
}

impl Monitor {
    pub(crate) fn new() -> Monitor {
        Monitor {
            dozing: AtomicBool::new(false),
            thread: OnceLock::new(),
        }
    }

    /// A worker stopped being parked or is about to park (after changing its parked count):
    /// wakes the monitor if it dozes.
    #[inline]
    pub(crate) fn parked_count_changed(&self) {
        if self.must_wake() {
            self.wake();
        }
    }

    /// Wakes the monitor thread, to watch again or to see the shutdown.
    pub(crate) fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Whether the monitor dozes and this caller is the one to wake it.
    fn must_wake(&self) -> bool {
        // Orders the caller's parked-count update before the load; pairs with the fence in
        // `announce_doze`.
        fence(Ordering::SeqCst);
        self.dozing.load(Ordering::Relaxed) && self.dozing.swap(false, Ordering::Relaxed)
    }

    /// The monitor is about to doze: announce it, then the caller checks once more that
    /// every worker is parked, and dozes only if so.
    fn announce_doze(&self) {
        self.dozing.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    fn end_doze(&self) {
        self.dozing.store(false, Ordering::Relaxed);
    }
}

/// The monitor thread's loop, until the scheduler shuts down.
pub(crate) fn run(scheduler: &Scheduler) {
    let monitor = &scheduler.monitor;
    let _ = monitor.thread.set(thread::current());
    let workers = scheduler.num_workers();
    let polls = |index: usize| {
        scheduler
            .worker_metrics(index)
            .polls
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let mut last_polls: Vec<u64> = (0..workers).map(polls).collect();
    // Nothing to watch when every worker is parked, and nobody to hand freed work to when
    // none is.
    let nothing_to_do = |parked: usize| parked == 0 || parked == workers;
    while !scheduler.is_shutdown() {
        if nothing_to_do(scheduler.idle.num_parked()) {
            monitor.announce_doze();
            if nothing_to_do(scheduler.idle.num_parked()) && !scheduler.is_shutdown() {
                thread::park();
            }
            monitor.end_doze();
            for (index, last) in last_polls.iter_mut().enumerate() {
                *last = polls(index);
            }
            continue;
        }
        thread::park_timeout(TICK);
        for (index, last) in last_polls.iter_mut().enumerate() {
            let now = polls(index);
            let stuck = now == *last;
            *last = now;
            if stuck {
                scheduler.free_stuck_worker(index);
            }
        }
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::Monitor;
    use crate::runtime::scheduler::idle::Idle;
    use loom::sync::Arc;
    use loom::thread;

    /// A worker changes its parked count (`change`) while the monitor decides to doze,
    /// which it does if it still finds `doze_if_parked` parked workers: either the monitor
    /// sees the change (and watches on), or the worker sees it dozing (and wakes it).
    fn race_doze_with(parked_before: bool, change: fn(&Idle), doze_if_parked: usize) {
        loom::model(move || {
            let idle = Arc::new(Idle::new());
            let monitor = Arc::new(Monitor::new());
            idle.start_searching();
            if parked_before {
                idle.announce_parked();
            }
            let worker = {
                let (idle, monitor) = (idle.clone(), monitor.clone());
                thread::spawn(move || {
                    change(&idle);
                    monitor.must_wake()
                })
            };
            monitor.announce_doze();
            let dozes = idle.num_parked() == doze_if_parked;
            let woken = worker.join().unwrap();
            assert!(
                !dozes || woken,
                "the monitor dozes through the worker's change"
            );
        });
    }

    /// The one worker wakes up while the monitor, seeing every worker parked, dozes.
    #[test]
    fn a_waking_worker_never_leaves_the_monitor_dozing() {
        race_doze_with(true, Idle::unpark, 1);
    }

    /// Of two busy workers, one parks while the monitor, seeing none parked, dozes.
    #[test]
    fn a_parking_worker_never_leaves_the_monitor_dozing() {
        race_doze_with(false, Idle::announce_parked, 0);
    }
}
