//! Timers driven by a runtime's I/O poller instead of the timer thread.
//!
//! A worker that blocks in its runtime's OS poll (`mio::Poll`) bounds the wait by the
//! earliest timer deadline of all shards and, when it wakes, fires the timers that fell due
//! itself, so their tasks land in its own queues. One poller at a time holds this role,
//! process-wide: the first runtime whose worker asks while no other holds it. The runtime
//! hands in a [`WakePoller`] (its `mio::Waker`), so that this module, which knows nothing of
//! runtimes, can pull the poller out of its poll when an earlier timer is registered.
//!
//! # Who covers which timer
//!
//! The holder keeps the role while its worker runs tasks after waking ([`AWAKE`], see
//! `handoff.rs`): every worker of its runtime scans all shards before it blocks in the poll
//! again, and fires its own shard's due timers between polls. So a timer registered by one
//! of the holder's workers ("covered") wakes nobody: the holder plans for it, and if it
//! sleeps for a later tick, the registration wakes it. That leaves a covered timer late only
//! while every worker of the holding runtime is busy in long polls, which is also when none
//! of them could run the timer's task.
//!
//! Any other thread's timer ("outside": another runtime's worker, a `block_on` thread,
//! another executor) is also given to the timer thread, exactly as when no poller exists,
//! since nothing bounds how long the holder's workers stay busy. The timer thread plans
//! normally while any outside timer is pending, and parks for good while a poller holds the
//! role and none is, so a process whose timers all come from a runtime with sockets never
//! wakes it (nor starts it, if the holder claimed the role before the first timer).
//!
//! # Giving the role back
//!
//! The holder releases it when its runtime stops polling: no socket is registered any more,
//! or the runtime shuts down (and, as a last resort, when its I/O driver is dropped). The
//! release clears the role first and then, if any timer is pending, wakes (or starts) the
//! timer thread, which plans for every timer from then on; a registration racing the
//! release either finds the role cleared and goes to the timer thread itself, or finished
//! under its shard's lock before the release looks (the model tests in `handoff.rs`).
//!
//! [`AWAKE`]: super::handoff

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::driver::{self, Core};

/// Pulls a runtime's I/O poller out of its OS poll.
pub(crate) trait WakePoller: Send + Sync {
    /// Makes the poller's current or next poll return soon.
    fn wake(&self);
}

/// The poller that holds the timer role.
pub(super) struct Holder {
    /// The address of the poller's `WakePoller`, never 0: tells its workers apart.
    id: usize,
    poller: Arc<dyn WakePoller>,
}

/// How many times a registration woke the holder; a test hook.
static HOLDER_WAKES: AtomicU64 = AtomicU64::new(0);

/// How many times a timer registration has woken the poller that drives timers.
pub(super) fn holder_wakes() -> u64 {
    HOLDER_WAKES.load(Ordering::Relaxed)
}

thread_local! {
    /// The id of the poller whose runtime this thread is a worker of; 0 if none.
    static POLLER_OF_THIS_THREAD: Cell<usize> = const { Cell::new(0) };
}

/// What the poller should do after [`plan_poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollPlan {
    /// Due timers were fired: their tasks may be in this thread's queues, do not block.
    Fired,
    /// Block in the OS poll for at most this long (`None`: until an event or a wake).
    Sleep(Option<Duration>),
}

/// A runtime's I/O poller, as the timers know it: its waker, and the id that marks its
/// workers.
#[derive(Clone)]
pub(crate) struct TimerPoller {
    poller: Arc<dyn WakePoller>,
}

impl fmt::Debug for TimerPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerPoller")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

/// Marks the current thread as a worker of a poller's runtime while it lives.
#[must_use = "the thread is a poller's worker only while the guard lives"]
#[derive(Debug)]
pub(crate) struct PollerWorkerGuard {
    previous: usize,
}

impl Drop for PollerWorkerGuard {
    fn drop(&mut self) {
        POLLER_OF_THIS_THREAD.with(|poller| poller.set(self.previous));
    }
}

impl TimerPoller {
    pub(crate) fn new(poller: Arc<dyn WakePoller>) -> TimerPoller {
        TimerPoller { poller }
    }

    fn id(&self) -> usize {
        Arc::as_ptr(&self.poller).cast::<()>() as usize
    }

    /// Marks the calling thread as one of this poller's workers: the timers it registers
    /// are covered by the poller while it holds the role.
    pub(crate) fn enter_worker(&self) -> PollerWorkerGuard {
        let previous = POLLER_OF_THIS_THREAD.with(|poller| poller.replace(self.id()));
        PollerWorkerGuard { previous }
    }

    /// Called by the poller, holding its runtime's poll, before it blocks in it: takes the
    /// timer role if no other poller holds it, fires the timers that are due, and says how
    /// long to block. A poller that does not hold the role blocks without a timeout, as the
    /// timers are someone else's to drive.
    pub(crate) fn plan_poll(&self, scratch: &mut Vec<Waker>) -> PollPlan {
        let core = driver::core();
        if !self.hold(core) {
            return PollPlan::Sleep(None);
        }
        loop {
            core.handoff.begin_scan();
            let now = Instant::now();
            let scan = core.scan_due(core.tick_at_or_before(now), scratch);
            if scan.woke {
                // Stays awake: it scans again before it blocks.
                return PollPlan::Fired;
            }
            if core.handoff.try_sleep(scan.next_tick) {
                let timeout = scan
                    .next_tick
                    .and_then(|tick| core.instant_of(tick))
                    .map(|at| at.saturating_duration_since(now));
                return PollPlan::Sleep(timeout);
            }
        }
    }

    /// Called by the poller once its poll returned: fires the timers that fell due, if it
    /// holds the role. Returns whether it woke any.
    pub(crate) fn poll_returned(&self, scratch: &mut Vec<Waker>) -> bool {
        let core = driver::core();
        if core.holder_id.load(Ordering::Relaxed) != self.id() {
            return false;
        }
        core.handoff.begin_scan();
        core.scan_due(core.tick_at_or_before(Instant::now()), scratch)
            .woke
    }

    /// Gives the timer role back to the timer thread if this poller holds it (see the
    /// module docs).
    pub(crate) fn release(&self) {
        let Some(core) = driver::core_if_made() else {
            return;
        };
        if core.holder_id.load(Ordering::Relaxed) != self.id() {
            return;
        }
        let released = {
            let mut holder = driver::lock(&core.holder);
            if holder.as_ref().is_some_and(|holder| holder.id == self.id()) {
                core.handoff.release();
                core.holder_id.store(0, Ordering::SeqCst);
                holder.take()
            } else {
                None
            }
        };
        if released.is_some() && core.any_pending() {
            driver::hand_to_timer_thread();
        }
        // The holder's waker is dropped here, after the lock.
        drop(released);
    }

    /// Whether this poller holds the role now, taking it if nobody does.
    fn hold(&self, core: &Core) -> bool {
        let id = self.id();
        if core.holder_id.load(Ordering::Relaxed) == id {
            return true;
        }
        let mut holder = driver::lock(&core.holder);
        if holder.is_some() || !core.handoff.claim() {
            return false;
        }
        *holder = Some(Holder {
            id,
            poller: self.poller.clone(),
        });
        core.holder_id.store(id, Ordering::SeqCst);
        true
    }
}

impl Core {
    /// Whether a timer registered on this thread now is covered by the holder.
    pub(super) fn covers_this_thread(&self) -> bool {
        let this = POLLER_OF_THIS_THREAD.with(Cell::get);
        this != 0 && self.holder_id.load(Ordering::SeqCst) == this
    }

    /// Wakes the holder, if a poller still holds the role.
    pub(super) fn wake_holder(&self) {
        if let Some(holder) = &*driver::lock(&self.holder) {
            HOLDER_WAKES.fetch_add(1, Ordering::Relaxed);
            holder.poller.wake();
        }
    }
}
