//! Who is idle: the counts of parked and searching workers, and the protocol that keeps a
//! wake-up from being lost between a worker that parks and a thread that queues work.
//!
//! # Park/notify
//!
//! A worker with nothing to do first *searches* (steals, looks at the injector) and then
//! *parks* (blocks on the injector channel). A thread that queues work where a parked worker
//! would not look for it (a worker's own deque) calls [`Idle::notify_parked`], which sends
//! one `Unpark` message when some worker is parked and none is searching (a searching worker
//! will find the work anyway, so a burst of pushes costs one wake-up).
//!
//! The race to rule out: the worker decides to park just as the work arrives. Both sides do
//! "write, full fence, read" in opposite orders:
//!
//! - the parking worker announces itself ([`Idle::announce_parked`]: `parked += 1`, gives up
//!   its search count), fences, then looks at every queue once more;
//! - the notifier has pushed its work, fences, then reads `searching` and `parked`.
//!
//! With sequentially consistent fences on both sides, one of the two reads sees the other
//! side's write: either the worker sees the work (and does not park), or the notifier sees a
//! parked worker and no searcher (and wakes one). `scheduler::tests::park_notify` checks this
//! under loom.

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;

/// The counts behind the park/notify protocol.
pub(crate) struct Idle {
    /// Workers blocked (or about to block) waiting for a message. This and `searching`
    /// change whenever workers park and search, so each has a cache line of its own, away
    /// from the fields every worker reads for every task.
    parked: CachePadded<AtomicUsize>,
    /// Workers looking for work, plus those woken to do so (their `Unpark` message counts
    /// them before they run).
    searching: CachePadded<AtomicUsize>,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            parked: CachePadded::new(AtomicUsize::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// How many workers are parked (or about to park).
    pub(crate) fn num_parked(&self) -> usize {
        self.parked.load(Ordering::SeqCst)
    }

    /// Whether some worker is parked (a cheap, possibly stale look for the periodic check).
    #[inline]
    pub(crate) fn any_parked(&self) -> bool {
        self.parked.load(Ordering::Relaxed) > 0
    }

    /// Called after queueing work that parked workers would not see: returns true if the
    /// caller must wake one parked worker (send it an `Unpark`), which is then already
    /// counted as searching.
    #[inline]
    #[must_use = "a parked worker must be woken when this returns true"]
    pub(crate) fn notify_parked(&self) -> bool {
        // Orders the caller's push before the loads below; pairs with the fence in
        // `announce_parked`.
        fence(Ordering::SeqCst);
        self.searching.load(Ordering::SeqCst) == 0
            && self.parked.load(Ordering::SeqCst) > 0
            && self
                .searching
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
    }

    pub(crate) fn start_searching(&self) {
        self.searching.fetch_add(1, Ordering::SeqCst);
    }

    /// A worker stops searching; returns true if it was the last searcher (it should then
    /// notify another, as where there was work there may be more).
    pub(crate) fn stop_searching(&self) -> bool {
        self.searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// A searching worker is about to park. The caller must look at every queue once more
    /// afterwards, and park only if they are all empty (see the module docs).
    pub(crate) fn announce_parked(&self) {
        self.parked.fetch_add(1, Ordering::SeqCst);
        self.searching.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The worker found work after announcing itself, or woke up.
    pub(crate) fn unpark(&self) {
        self.parked.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::Idle;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// A worker that searched in vain parks while another thread queues work and notifies:
    /// the worker either sees the work on its last look, or the notifier wakes it.
    #[test]
    fn park_notify_loses_no_wake_up() {
        loom::model(|| {
            let idle = Arc::new(Idle::new());
            let queued = Arc::new(AtomicBool::new(false));
            idle.start_searching();

            let worker = {
                let (idle, queued) = (idle.clone(), queued.clone());
                thread::spawn(move || {
                    idle.announce_parked();
                    // The last look: a queue's emptiness check is a relaxed-enough load.
                    let saw_work = queued.load(Ordering::Relaxed);
                    if saw_work {
                        idle.unpark();
                    }
                    saw_work
                })
            };
            queued.store(true, Ordering::Relaxed);
            let woke = idle.notify_parked();

            let saw_work = worker.join().unwrap();
            assert!(saw_work || woke, "the worker parked and nobody woke it");
        });
    }

    /// Two notifiers racing for one parked worker send one wake-up between them.
    #[test]
    fn one_wake_up_per_search() {
        loom::model(|| {
            let idle = Arc::new(Idle::new());
            idle.start_searching();
            idle.announce_parked();
            let other = {
                let idle = idle.clone();
                thread::spawn(move || idle.notify_parked())
            };
            let here = idle.notify_parked();
            let there = other.join().unwrap();
            assert!(here ^ there, "exactly one notifier wakes the parked worker");
        });
    }
}
