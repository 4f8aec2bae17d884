//! The worker loop: find a task, run it, and park when there is nothing to do.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crossbeam_channel::TryRecvError;
use crossbeam_deque::{Steal, Worker as Deque};

use super::current::{self, CurrentWorker};
use super::lend::{self, Lend, Returned};
use super::metrics::{self, WorkerMetrics};
use super::slot::Slot;
use super::slow_poll::SlowPoll;
use super::{Message, Scheduler};
use crate::runtime::coop;
use crate::runtime::task::{self, Header, Notified};
use crate::time;

/// The most polls a worker runs from its own queues before it looks at the injector (and
/// fires due timers), so remote spawns are served even while local work never runs out.
const MAX_INJECTOR_INTERVAL: u32 = 61;
/// The fewest polls between two such looks.
const MIN_INJECTOR_INTERVAL: u32 = 2;
/// About how long a worker busy with local work goes between two looks at the injector: the
/// interval is retuned at each look from the polls' mean duration since the previous one, so
/// that a worker running long polls (a task that yields between 10 µs computations, say)
/// does not leave remote spawns waiting for 61 of them.
const INJECTOR_LATENCY: Duration = Duration::from_micros(50);
/// The most tasks a worker moves from the injector to its own queue at once.
const MAX_INJECTOR_BATCH: usize = 128;
/// How many tasks in a row may run from the LIFO slot before the local queue gets a turn;
/// without a bound, two tasks waking each other would starve the rest.
const MAX_LIFO_STREAK: u32 = 3;
/// Rounds of stealing (with a short spin between) before a worker parks.
const SEARCH_ROUNDS: u32 = 4;

/// The polls to run before the next look at the injector, when the last `polls` took
/// `elapsed`: as many as take about [`INJECTOR_LATENCY`] at their mean duration, within
/// [`MIN_INJECTOR_INTERVAL`] and [`MAX_INJECTOR_INTERVAL`].
fn injector_interval(elapsed: Duration, polls: u32) -> u32 {
    let mean = elapsed.as_nanos() / u128::from(polls.max(1));
    let interval = INJECTOR_LATENCY.as_nanos() / mean.max(1);
    u32::try_from(interval)
        .unwrap_or(u32::MAX)
        .clamp(MIN_INJECTOR_INTERVAL, MAX_INJECTOR_INTERVAL)
}

/// The part of a worker that other code on its thread reaches through the context, to queue
/// work locally.
pub(crate) struct WorkerCore {
    scheduler: Arc<Scheduler>,
    index: usize,
    local: Deque<Notified>,
    /// The task being polled, while one is; `yield_now` compares its waker with this task's.
    current: Cell<Option<NonNull<Header>>>,
    /// The task being polled called `yield_now` with its own waker: requeue it held.
    yield_requested: Cell<bool>,
}

impl WorkerCore {
    #[inline]
    pub(crate) fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    pub(super) fn scheduler_arc(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    /// Whether this core may be lent to another thread now (see `scheduler::lend`): only
    /// while a task is being polled, since the worker loop recalls a lent core when the poll
    /// returns; and not once that task asked to be requeued held by `yield_now`, which only
    /// this core can do.
    pub(super) fn can_lend(&self) -> bool {
        self.current.get().is_some() && !self.yield_requested.get()
    }

    /// The task being polled on this core, if one is.
    pub(super) fn polling_task(&self) -> Option<NonNull<Header>> {
        self.current.get()
    }

    /// This core's worker index.
    pub(super) fn index(&self) -> usize {
        self.index
    }

    /// The task to run next (see `push_next`).
    #[inline]
    fn slot(&self) -> &Slot {
        self.scheduler.slot(self.index)
    }

    #[inline]
    fn metrics(&self) -> &WorkerMetrics {
        self.scheduler.worker_metrics(self.index)
    }

    /// A task spawned or woken on this worker: it runs next, as the woken task is likely to
    /// use data the current one just touched.
    #[inline]
    pub(crate) fn push_next(&self, task: Notified) {
        if let Some(previous) = self.slot().put(task) {
            self.push_back(previous);
        }
    }

    /// `yield_now` was polled with `waker`: if that is the waker of the task this worker is
    /// polling, records that the task is to be requeued held when its poll returns, and
    /// returns true (the caller then returns `Pending` without waking anyone).
    #[inline]
    pub(crate) fn request_yield(&self, waker: &Waker) -> bool {
        let is_current = self
            .current
            .get()
            .is_some_and(|task| task::is_waker_of(waker, task));
        if is_current {
            self.yield_requested.set(true);
        }
        is_current
    }

    /// The poll of `task` returned `Pending`: queues it held, behind everything already
    /// queued here, if it asked for that during the poll.
    #[inline]
    pub(crate) fn requeue_yielded(&self, task: NonNull<Header>) -> bool {
        if !self.yield_requested.replace(false) {
            return false;
        }
        debug_assert_eq!(self.current.get(), Some(task));
        // No parked worker is woken here: that costs a fence on every yield, and, with a
        // worker that parks and is woken again and again, a futex wake-up each time (about
        // one yield in twenty-five in `yield_many`). Queued work that nobody was told about
        // is announced by the worker's periodic check instead (`Worker::next_task`).
        self.local.push(Notified::held(task));
        true
    }

    /// Whether this worker has queued work, besides the task it runs next, that another
    /// worker could take.
    fn has_other_work(&self) -> bool {
        self.local.len() + usize::from(self.slot().is_full()) > 1
    }

    /// Behind everything already queued here, where idle workers can steal it.
    pub(crate) fn push_back(&self, task: Notified) {
        self.local.push(task);
        self.scheduler().notify_parked();
    }

    #[inline]
    pub(crate) fn count_spawn(&self) {
        metrics::add(&self.metrics().spawned, 1);
    }
}

/// A worker thread's loop state.
///
/// It borrows the core rather than owning it: the thread's context holds a pointer to the
/// core for the whole loop (tasks reach their worker's queues through it), which a unique
/// borrow of the core (`&mut Worker` owning it) would invalidate.
struct Worker<'a> {
    core: &'a WorkerCore,
    /// Polls left before the next look at the injector.
    until_injector: u32,
    /// The polls between the last look at the injector and the next one.
    injector_interval: u32,
    lifo_streak: u32,
    searching: bool,
    /// This worker took its `Shutdown` message off the channel; it must not take another
    /// (each worker gets exactly one).
    stopping: bool,
    busy_since: Instant,
    /// Scratch space for the wakers of timers this worker fires.
    due_timers: Vec<Waker>,
    /// Polls longer than this are reported; `None` (the default) times no poll.
    slow_poll_threshold: Option<Duration>,
    /// On a thread that borrowed the core (see `scheduler::lend`): the lend, which says when
    /// to give the core back.
    lend: Option<&'a Lend>,
}

impl<'a> Worker<'a> {
    fn new(core: &'a WorkerCore, lend: Option<&'a Lend>) -> Worker<'a> {
        Worker {
            core,
            until_injector: MAX_INJECTOR_INTERVAL,
            injector_interval: MAX_INJECTOR_INTERVAL,
            lifo_streak: 0,
            searching: false,
            stopping: false,
            busy_since: Instant::now(),
            due_timers: Vec::new(),
            slow_poll_threshold: core.scheduler.slow_poll.threshold,
            lend,
        }
    }
}

/// Waits for a core that this thread lent and has not recalled, when a worker loop unwinds:
/// the core lives in the frame being unwound, so it must not go while a borrower uses it.
struct RecallOnUnwind;

impl Drop for RecallOnUnwind {
    fn drop(&mut self) {
        let _ = lend::recall_lent_core();
    }
}

/// Runs worker `index` of the runtime until it shuts down.
///
/// The caller (the runtime) has entered its context on this thread; the worker itself is
/// reachable through [`current`] for exactly the span of its loop.
pub(crate) fn run(scheduler: &Arc<Scheduler>, index: usize, local: Deque<Notified>) {
    let core = WorkerCore {
        scheduler: scheduler.clone(),
        index,
        local,
        current: Cell::new(None),
        yield_requested: Cell::new(false),
    };
    let mut worker = Worker::new(&core, None);
    {
        // Declared after `core`, so dropped before it.
        let _recall = RecallOnUnwind;
        let _current = CurrentWorker::enter(&core);
        worker.run();
    }
    // Queued tasks are cancelled by the shutdown; their queue references just go. A held
    // entry first gives its task's RUNNING flag back, so that the shutdown cancels that task
    // too, inside the runtime's context once every worker has stopped.
    drop(core.slot().take());
    while let Some(task) = core.local.pop() {
        drop(task.into_unheld());
    }
    scheduler.worker_stopped();
}

/// Runs the worker loop on a core lent by another thread until the lender recalls it or the
/// runtime shuts down, then gives it back (see `scheduler::lend`).
pub(super) fn run_lent(lend: &Lend) {
    /// Gives the core back even if the loop unwinds, so the lender never waits forever.
    struct GiveBack<'a> {
        lend: &'a Lend,
        returned: Returned,
    }
    impl Drop for GiveBack<'_> {
        fn drop(&mut self) {
            self.lend.give_back(self.returned);
        }
    }

    if !lend.claim() {
        // The lender took its core back before this thread started.
        return;
    }
    let mut give_back = GiveBack {
        lend,
        returned: Returned { stopping: true },
    };
    // SAFETY: this is the borrower, its claim succeeded, and it stops using the core before
    // `give_back` drops.
    let core = unsafe { lend.core() };
    let mut worker = Worker::new(core, Some(lend));
    {
        let _recall = RecallOnUnwind;
        let _current = CurrentWorker::enter(core);
        worker.run();
    }
    if worker.searching {
        // The lender resumes as a worker that is not searching.
        worker.searching = false;
        let _ = core.scheduler().idle.stop_searching();
    }
    give_back.returned = Returned {
        stopping: worker.stopping,
    };
}

impl Worker<'_> {
    fn scheduler(&self) -> &Scheduler {
        self.core.scheduler()
    }

    fn run(&mut self) {
        self.core
            .metrics()
            .set_busy_since(&self.core.scheduler().epoch, self.busy_since);
        let polls = &self.core.metrics().polls;
        while let Some(task) = self.next_task() {
            if self.searching {
                self.stop_searching();
            }
            metrics::add(polls, 1);
            self.core.current.set(Some(task.header_ptr()));
            self.core.yield_requested.set(false);
            coop::reset_budget();
            match self.slow_poll_threshold {
                None => {
                    let _ = self.poll(task);
                }
                Some(threshold) => self.run_timed(task, threshold),
            }
            self.core.current.set(None);
        }
        coop::remove_budget();
        self.record_busy_time();
        self.core.metrics().set_parked();
    }

    /// Runs `task` (the caller has reset the budget), then takes back this worker's core if
    /// the task lent it (`block_in_place`); returns the task's spawn site if its future was
    /// polled.
    #[inline]
    fn poll(&mut self, task: Notified) -> Option<&'static std::panic::Location<'static>> {
        let spawned_at = task.run();
        if lend::has_lend() {
            self.recall_core();
        }
        spawned_at
    }

    /// Runs `task`, timing the poll, and reports it if it took longer than `threshold`.
    fn run_timed(&mut self, task: Notified, threshold: Duration) {
        let start = Instant::now();
        let spawned_at = self.poll(task);
        let duration = start.elapsed();
        // Only a poll of the future counts: not a cancellation, nor a task found finished.
        if let (true, Some(spawned_at)) = (duration > threshold, spawned_at) {
            // The hook is user code, which may poll fiber's resources under an executor of
            // its own: it runs without the spent budget of the task, and outside the task's
            // poll, so that a `block_in_place` in it does not lend the core (nobody would
            // recall the lend before the next task ran on the same core).
            self.core.current.set(None);
            coop::remove_budget();
            metrics::add(&self.core.metrics().slow_polls, 1);
            let slow = SlowPoll::new(duration, spawned_at);
            self.scheduler().slow_poll.report(&slow);
        }
    }

    /// The task just polled lent this worker's core to another thread (`block_in_place`):
    /// take it back, now that the poll is over.
    #[cold]
    fn recall_core(&mut self) {
        if let Some(returned) = lend::recall_lent_core() {
            current::attach(self.core);
            self.stopping |= returned.stopping;
            // The borrower counted its own busy time; ours starts again now.
            self.busy_since = Instant::now();
            self.core
                .metrics()
                .set_busy_since(&self.scheduler().epoch, self.busy_since);
        }
    }

    /// Whether to leave the loop: the runtime shuts down, or the lender of this core wants
    /// it back.
    #[inline]
    fn should_stop(&self) -> bool {
        self.stopping || self.scheduler().is_shutdown() || self.lend.is_some_and(Lend::is_recalled)
    }

    /// The next task to run, or `None` when the runtime shuts down (or a borrowed core is
    /// recalled).
    fn next_task(&mut self) -> Option<Notified> {
        if self.should_stop() {
            return None;
        }
        self.until_injector -= 1;
        if self.until_injector == 0 {
            let (now, busy) = self.record_busy_time();
            self.retune_injector_interval(busy);
            // Timers woken here queue their tasks on this worker, in the slot and deque
            // that `next_local` looks at below.
            time::fire_due(|| now, &mut self.due_timers);
            // Likewise sockets that became ready, for a runtime whose workers never idle.
            self.scheduler().io.poll_now();
            // Some queued work is never announced when it is queued (held requeues, the
            // slot's task moved to the deque, a stolen batch): if a worker is parked while
            // work waits here, wake one, so that such work waits at most this interval.
            if self.scheduler().idle.any_parked() && self.core.has_other_work() {
                self.scheduler().notify_parked();
            }
            if let Some(task) = self.next_remote_batch() {
                return Some(task);
            }
        }
        if let Some(task) = self.next_local() {
            return Some(task);
        }
        if let Some(task) = self.next_remote() {
            return Some(task);
        }
        if self.stopping {
            return None;
        }
        self.search_or_park()
    }

    /// Sets the polls until the next look at the injector so that, at the mean poll duration
    /// since the last look, they take about [`INJECTOR_LATENCY`]. `busy` is the time since
    /// that look, or since the worker last woke up if it parked in between (the busy time
    /// that `record_busy_time` measures): time parked is not polling time.
    fn retune_injector_interval(&mut self, busy: Duration) {
        self.injector_interval = injector_interval(busy, self.injector_interval);
        self.until_injector = self.injector_interval;
    }

    fn next_local(&mut self) -> Option<Notified> {
        if let Some(task) = self.core.slot().take() {
            if self.lifo_streak < MAX_LIFO_STREAK {
                self.lifo_streak += 1;
                return Some(task);
            }
            self.core.local.push(task);
        }
        self.lifo_streak = 0;
        self.core.local.pop()
    }

    fn next_remote(&mut self) -> Option<Notified> {
        while !self.stopping {
            match self.scheduler().receiver.try_recv() {
                Ok(Message::Task(task)) => return Some(task),
                Ok(Message::Unpark) => self.adopt_search_token(),
                Ok(Message::Shutdown) => self.stopping = true,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
            }
        }
        None
    }

    /// Takes this worker's share of the injector (at most [`MAX_INJECTOR_BATCH`]): the first
    /// task to run now, the rest onto the local queue. Taking one task per interval would
    /// leave remote spawns waiting for a whole interval each while local work keeps the
    /// worker busy.
    fn next_remote_batch(&mut self) -> Option<Notified> {
        let first = self.next_remote()?;
        let share = self.scheduler().receiver.len() / self.scheduler().num_workers() + 1;
        let mut moved = false;
        for _ in 1..share.min(MAX_INJECTOR_BATCH) {
            match self.next_remote() {
                Some(task) => self.core.local.push(task),
                None => break,
            }
            moved = true;
        }
        if moved {
            self.scheduler().notify_parked();
        }
        Some(first)
    }

    /// An `Unpark` message counted this worker as searching on its behalf.
    fn adopt_search_token(&mut self) {
        if self.searching {
            // Already counted once: give the extra count back.
            let _ = self.scheduler().idle.stop_searching();
        } else {
            self.searching = true;
        }
    }

    fn start_searching(&mut self) {
        if !self.searching {
            self.searching = true;
            self.scheduler().idle.start_searching();
        }
    }

    /// Found work while searching. If this was the last searcher, wake another worker: where
    /// there was work to steal there may be more.
    fn stop_searching(&mut self) {
        self.searching = false;
        if self.scheduler().idle.stop_searching() {
            self.scheduler().notify_parked();
        }
    }

    fn steal(&self) -> Option<Notified> {
        let stealers = &self.scheduler().stealers;
        let count = stealers.len();
        let mut retry = true;
        while retry {
            retry = false;
            for offset in 1..count {
                let victim = (self.core.index + offset) % count;
                match stealers[victim].steal_batch_and_pop(&self.core.local) {
                    Steal::Success(task) => return Some(task),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
        }
        None
    }

    fn search_or_park(&mut self) -> Option<Notified> {
        loop {
            if self.should_stop() {
                return None;
            }
            // Due timers are work too: fire them here rather than wait for the timer thread.
            if time::fire_due(Instant::now, &mut self.due_timers) {
                if let Some(task) = self.next_local() {
                    return Some(task);
                }
            }
            self.start_searching();
            for round in 0..SEARCH_ROUNDS {
                if let Some(task) = self.steal().or_else(|| self.next_remote()) {
                    return Some(task);
                }
                if self.stopping {
                    return None;
                }
                for _ in 0..(1 << round) {
                    std::hint::spin_loop();
                }
            }

            // Park. Announce it first, then look once more, so that a worker pushing work
            // now either sees us parked (and wakes us) or we see its work.
            let core = self.core;
            let scheduler = core.scheduler();
            self.searching = false;
            scheduler.worker_parks();
            if scheduler.has_work() {
                scheduler.worker_unparked();
                continue;
            }
            // Tests only: a paused clock jumps to its next timer when the whole runtime is
            // idle, and the tasks that timer wakes come here, to this worker's queue.
            let idle =
                || scheduler.idle.num_parked() == scheduler.num_workers() && !scheduler.has_work();
            if scheduler.clock.auto_advance(idle) {
                scheduler.worker_unparked();
                if let Some(task) = self.next_local() {
                    return Some(task);
                }
                continue;
            }
            self.record_busy_time();
            self.core.metrics().set_parked();
            metrics::add(&self.core.metrics().parks, 1);
            if self.park_in_io_driver(scheduler) {
                if let Some(task) = self.next_local() {
                    return Some(task);
                }
                continue;
            }
            let message = self.wait_for_message(scheduler);
            scheduler.worker_unparked();
            self.busy_since = Instant::now();
            core.metrics()
                .set_busy_since(&scheduler.epoch, self.busy_since);
            match message {
                Some(Message::Task(task)) => return Some(task),
                Some(Message::Unpark) => self.adopt_search_token(),
                Some(Message::Shutdown) => {
                    self.stopping = true;
                    return None;
                }
                None => return None,
            }
        }
    }

    /// Parks until a message arrives, or, on a borrowed core, until the lender recalls it
    /// (`None`, as when the channel is gone).
    fn wait_for_message(&self, scheduler: &Scheduler) -> Option<Message> {
        match self.lend {
            None => scheduler.receiver.recv().ok(),
            Some(lend) => crossbeam_channel::select! {
                recv(scheduler.receiver) -> message => message.ok(),
                recv(lend.recall_receiver()) -> _ => None,
            },
        }
    }

    /// Parks in the I/O driver's poll instead of on the channel, if sockets are registered,
    /// no other worker polls the driver, and this is a worker's own core (a borrowed one
    /// must hear its lender's recall, which goes through a channel). Returns false (having
    /// done nothing) otherwise. The caller has counted this worker parked; this gives the
    /// count back when the worker wakes, whatever woke it: an I/O event (whose tasks are now
    /// in this worker's queues), a message on the channel, or shutdown (see
    /// `Scheduler::wake_io_poller_if_alone`).
    fn park_in_io_driver(&mut self, scheduler: &Scheduler) -> bool {
        if self.lend.is_some() || scheduler.io.registrations() == 0 {
            return false;
        }
        let parked_here = scheduler.io.park(
            // The last look at the queues, now that wakers can see this worker in the poll.
            || !scheduler.has_work() && !scheduler.is_shutdown(),
            || scheduler.worker_unparked(),
        );
        if parked_here {
            self.busy_since = Instant::now();
            self.core
                .metrics()
                .set_busy_since(&scheduler.epoch, self.busy_since);
        }
        parked_here
    }

    /// Adds the time since the last call (or since the worker woke up) to this worker's busy
    /// time; returns the current instant and that time.
    fn record_busy_time(&mut self) -> (Instant, Duration) {
        let now = Instant::now();
        let busy = now.duration_since(self.busy_since);
        self.busy_since = now;
        let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        let metrics = self.core.metrics();
        metrics::add(&metrics.busy_nanos, nanos);
        metrics.set_busy_since(&self.core.scheduler().epoch, now);
        (now, busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injector_interval_follows_the_mean_poll_duration() {
        // Short polls: the most polls between looks.
        assert_eq!(injector_interval(Duration::from_micros(2), 61), 61);
        assert_eq!(injector_interval(Duration::ZERO, 61), 61);
        // 10 µs polls: about 50 µs of them.
        assert_eq!(injector_interval(Duration::from_micros(610), 61), 5);
        assert_eq!(injector_interval(Duration::from_micros(50), 5), 5);
        // 1 ms polls: the fewest.
        assert_eq!(injector_interval(Duration::from_millis(5), 5), 2);
        assert_eq!(injector_interval(Duration::from_secs(3600), 2), 2);
        // The worker never passes a zero count (the interval is at least 2), but it must
        // not divide by zero.
        assert_eq!(injector_interval(Duration::from_micros(20), 0), 2);
    }
}
