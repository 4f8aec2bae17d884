//! The watcher's side of the watch for long polls (see `scheduler::watch`): taking the role
//! and giving it up, and the tick that steals from a worker stuck in one poll.

use std::sync::atomic::Ordering;

use super::Worker;
use crate::runtime::scheduler::watch::WATCH_LINGER;
use crate::runtime::task::Notified;

impl Worker<'_> {
    /// Called when about to park (counted parked, every queue found empty): takes the
    /// watcher's role if some worker has work waiting and nobody watches, or gives it up
    /// once no worker has had any for [`WATCH_LINGER`] parks.
    pub(super) fn take_or_leave_watch(&mut self) {
        let scheduler = self.core.scheduler();
        if !self.watching {
            if scheduler.watch.claim() {
                self.start_watching();
            }
        } else if scheduler.watch.any_marked() {
            self.quiet_parks = 0;
        } else {
            self.quiet_parks += 1;
            if self.quiet_parks >= WATCH_LINGER {
                self.quiet_parks = 0;
                self.watching = scheduler.watch.give_up();
            }
        }
    }

    /// This worker has just become the watcher: the poll counts it has seen are stale.
    pub(super) fn start_watching(&mut self) {
        self.watching = true;
        self.quiet_parks = 0;
        let scheduler = self.core.scheduler();
        self.seen_polls.resize(scheduler.num_workers(), 0);
        for (worker, seen) in self.seen_polls.iter_mut().enumerate() {
            *seen = scheduler
                .worker_metrics(worker)
                .polls
                .load(Ordering::Relaxed);
        }
    }

    /// The watcher is to run a task: it can no longer watch, so it hands the role on to
    /// another parked worker if some worker still has work waiting.
    pub(super) fn stop_watching(&mut self) {
        self.watching = false;
        let scheduler = self.core.scheduler();
        if scheduler.watch.hand_on(&scheduler.idle) {
            scheduler.send_watch();
        }
    }

    /// The watcher's tick: takes the task in the slot of a worker that has work waiting and
    /// has been in the same poll since the previous tick. (The deques were searched
    /// already, or are searched next.)
    pub(super) fn steal_stalled(&mut self) -> Option<Notified> {
        let core = self.core;
        let scheduler = core.scheduler();
        let mut stolen = None;
        for (worker, seen) in self.seen_polls.iter_mut().enumerate() {
            let polls = scheduler
                .worker_metrics(worker)
                .polls
                .load(Ordering::Relaxed);
            let stalled = polls == *seen;
            *seen = polls;
            let slot = &scheduler.slots[worker];
            if stolen.is_none() && stalled && worker != core.index && slot.is_waiting() {
                stolen = slot.steal();
            }
        }
        stolen
    }
}
