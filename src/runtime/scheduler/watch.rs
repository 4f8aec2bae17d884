//! Watching for long polls: how a parked worker comes to take the work that a busy worker
//! queued on itself and cannot get to, because the task it polls does not return.
//!
//! # Why
//!
//! Work a worker queues on itself is announced only when it goes to the deque
//! (`Idle::notify_parked`); the task in the next-task slot, and tasks requeued by
//! `yield_now`, are not: announcing them would wake a worker for every spawn-then-await.
//! While the owner returns to its queues soon, that is right. When its poll runs long (a task
//! that blocks its thread), that work would wait for the whole poll.
//!
//! # How
//!
//! A worker *marks* itself waiting when it queues work on itself and was not marked
//! (`Slot::mark_waiting`, counted in [`Watch::mark`]), and unmarks itself when it finds its queues empty. While some
//! worker is marked, one parked worker is the *watcher*: it parks with a timeout of
//! [`WATCH_TICK`] instead of for good, and at each tick steals from the deques, and from the
//! slot of every marked worker whose poll counter has not moved since the previous tick. When
//! no worker has been marked for [`WATCH_LINGER`] ticks, the watcher gives up its role and
//! parks for good again, so an idle runtime uses no CPU.
//!
//! The role is a token (`watching`: 0 or 1), taken with a compare-exchange. Two races must
//! not leave a marked worker without a watcher:
//!
//! - a worker parks (having looked at the marks and seen none) just as another marks itself:
//!   the parker announces itself parked (`Idle::announce_parked`, which fences) before it
//!   looks at the marks; the marker sets its mark, fences, and then looks for a parked worker
//!   and no watcher ([`Watch::mark`]), and, seeing one, sends it a `Watch` message.
//! - the watcher gives its role up just as a worker marks itself: the watcher clears the
//!   token, fences, and looks at the marks once more ([`Watch::give_up`]).
//!
//! Both are "write, full fence, read" on each side, as in [`super::idle`]; the loom models
//! below check them.

use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::idle::Idle;
use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};

/// How often the watcher looks at the busy workers.
pub(crate) const WATCH_TICK: Duration = Duration::from_millis(1);

/// How many times in a row the watcher parks with no worker marked before it gives the role
/// up: a runtime busy in short bursts (each of which marks a worker) keeps its watcher,
/// rather than wake one at the start of every burst.
pub(crate) const WATCH_LINGER: u32 = 10;

/// The watcher token, and the count of marked workers.
pub(crate) struct Watch {
    /// 1 while a worker holds the role, or was sent a `Watch` message that gives it the role.
    watching: CachePadded<AtomicUsize>,
    /// Workers marked waiting. A count rather than a look at every worker's mark, so that a
    /// parking worker reads one cache line, not one per worker.
    marked: CachePadded<AtomicUsize>,
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            watching: CachePadded::new(AtomicUsize::new(0)),
            marked: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// A worker marked itself waiting: returns true if the caller must send a `Watch`
    /// message, which gives the role to the parked worker that receives it.
    #[must_use = "a parked worker must be sent a `Watch` message when this returns true"]
    pub(crate) fn mark(&self, idle: &Idle) -> bool {
        self.marked.fetch_add(1, Ordering::SeqCst);
        // Orders the mark before the loads below; pairs with the fence in
        // `Idle::announce_parked`, in `give_up` and in `hand_on`.
        fence(Ordering::SeqCst);
        self.watching.load(Ordering::SeqCst) == 0 && idle.num_parked() > 0 && self.take()
    }

    /// A worker found its queues empty and unmarked itself.
    pub(crate) fn unmark(&self) {
        self.marked.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether some worker is marked waiting.
    pub(crate) fn any_marked(&self) -> bool {
        self.marked.load(Ordering::SeqCst) > 0
    }

    /// A worker about to park (already announced parked) takes the role if some worker is
    /// marked waiting and nobody holds it; returns true if it took it.
    pub(crate) fn claim(&self) -> bool {
        self.any_marked() && self.take()
    }

    /// The watcher gives the role up; returns true if it must keep it after all (a worker
    /// marked itself meanwhile, and nobody else took it).
    #[must_use = "the caller is still the watcher when this returns true"]
    pub(crate) fn give_up(&self) -> bool {
        self.watching.store(0, Ordering::SeqCst);
        // Pairs with the fence in `mark`: either the marker sees the token free, or we see
        // its mark.
        fence(Ordering::SeqCst);
        self.claim()
    }

    /// The watcher found work and stops watching: returns true if the caller must send a
    /// `Watch` message to hand the role on to another parked worker.
    #[must_use = "a parked worker must be sent a `Watch` message when this returns true"]
    pub(crate) fn hand_on(&self, idle: &Idle) -> bool {
        self.watching.store(0, Ordering::SeqCst);
        // As in `give_up`.
        fence(Ordering::SeqCst);
        self.any_marked() && idle.num_parked() > 0 && self.take()
    }

    fn take(&self) -> bool {
        self.watching
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::{Idle, Watch};
    use loom::sync::Arc;
    use loom::thread;

    /// A worker parks as another marks itself waiting: either the parker sees the mark and
    /// watches, or the marker sees the parker and sends it the role.
    #[test]
    fn a_marked_worker_never_goes_unwatched_by_a_parker() {
        loom::model(|| {
            let idle = Arc::new(Idle::new());
            let watch = Arc::new(Watch::new());
            idle.start_searching();

            let parker = {
                let (idle, watch) = (idle.clone(), watch.clone());
                thread::spawn(move || {
                    idle.announce_parked();
                    watch.claim()
                })
            };
            let sent = watch.mark(&idle);

            let claimed = parker.join().unwrap();
            assert!(
                claimed || sent,
                "the worker parked for good under a marked worker"
            );
            assert!(!(claimed && sent), "two watchers");
        });
    }

    /// The watcher gives up as a worker marks itself: either it keeps the role, or the
    /// marker sends it on.
    #[test]
    fn a_marked_worker_never_goes_unwatched_by_a_resigning_watcher() {
        loom::model(|| {
            let idle = Arc::new(Idle::new());
            let watch = Arc::new(Watch::new());
            idle.start_searching();
            idle.announce_parked();
            assert!(watch.take());

            let watcher = {
                let watch = watch.clone();
                thread::spawn(move || watch.give_up())
            };
            let sent = watch.mark(&idle);

            let kept = watcher.join().unwrap();
            assert!(kept || sent, "the watcher left a marked worker unwatched");
            assert!(!(kept && sent), "two watchers");
        });
    }

    /// The watcher finds work and hands the role on as a worker marks itself, with another
    /// worker parked: exactly one of the two sends that worker the role.
    #[test]
    fn a_watcher_that_finds_work_hands_the_role_on_once() {
        loom::model(|| {
            let idle = Arc::new(Idle::new());
            let watch = Arc::new(Watch::new());
            idle.start_searching();
            idle.announce_parked();
            assert!(watch.take());

            let watcher = {
                let (idle, watch) = (idle.clone(), watch.clone());
                thread::spawn(move || watch.hand_on(&idle))
            };
            let sent_here = watch.mark(&idle);

            let sent_there = watcher.join().unwrap();
            assert!(
                sent_here ^ sent_there,
                "the parked worker must get the role exactly once"
            );
        });
    }
}
