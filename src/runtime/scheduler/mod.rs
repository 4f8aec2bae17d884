//! The multi-thread scheduler: where tasks wait to run, the worker loop that runs them, and
//! the shutdown that stops it all.
//!
//! ```text
//!   remote spawn / wake ──► crossbeam channel (the injector) ──► any worker
//!                                                                   │
//!   spawn / wake on a worker ──► its next-task slot ──► its local deque ◄─┘
//!                                                     │  ▲
//!                                  other idle workers ┘  └ yield (back of the deque)
//!                                  steal half
//! ```
//!
//! Work created on a worker stays on that worker: the next-task slot makes a spawn-then-await
//! or wake-then-yield hand over at once, with no fence and no contended cache line, and the
//! local deque takes the rest. Other workers steal from the deque when they run dry, and the
//! [`monitor`] frees the slot and the deque of a worker stuck in one long poll. The channel carries work from
//! threads outside the runtime, and it is also where idle workers park: a blocking `recv`
//! spins briefly and then sleeps on a futex, so an idle runtime uses no CPU. Waking a parked
//! worker for local work follows the protocol in [`idle`].
//!
//! The parts: [`Scheduler`] (this file) is the state all workers share, reached by the
//! runtime's `Handle` and by every task (it is the tasks' `Schedule`); [`worker`] is the loop
//! of one worker thread; [`slot`] is a worker's next task; [`current`] tells code on a worker
//! thread which worker it is; [`idle`] counts parked and searching workers; [`monitor`] is the
//! thread that watches for stuck workers; [`metrics`] holds the per-worker counters.
//! Nothing here knows about the runtime above it: the runtime starts the threads, enters its
//! context on them and calls [`worker::run`].
//!
//! # Shutdown
//!
//! [`Scheduler::close`] is the one place that stops a scheduler, in this order:
//!
//! 1. **Stop accepting.** `shutdown` is set. Workers check it before each task, so none
//!    starts another poll after finishing the current one.
//! 2. **Wake every worker.** One `Shutdown` message per worker goes on the channel; a parked
//!    worker wakes, a busy one reads the flag. Each worker takes at most one such message.
//! 3. **Wait for the workers.** The caller joins every worker thread (and the monitor). On
//!    the way out, a worker drops its queues' references (a held task gives its `RUNNING`
//!    back first, so it can be cancelled below). With a timeout (`Runtime::shutdown_timeout`),
//!    once the time is up, a worker blocked in place (its core lent by `block_in_place`) is
//!    not joined but left behind, like a running blocking job, as soon as every worker loop
//!    still running is such a worker and every borrower of their cores has stopped (see
//!    [`lent_cores`]); the caller then drops their queues' references itself, and the tasks
//!    their lenders are polling are marked cancelled below but not waited for: their threads
//!    drop those futures when the polls return. If `close` was called by a task of this very runtime (a
//!    runtime dropped from inside), it cannot wait for its own thread: it returns after step
//!    2, and the last worker to stop performs steps 4 to 6 instead.
//! 4. **Cancel every task.** The I/O driver is shut down first: sockets, which may outlive
//!    the runtime, fail from now on with an error instead of waiting. The owner list is
//!    closed (a spawn from now on is cancelled on the spot) and every task still in it is
//!    cancelled: its future is dropped here, inside the runtime's context (destructors may
//!    spawn or look up the runtime). A task whose future another thread is dropping at that
//!    moment (an `abort` from outside) is waited for, so every future is gone when `close`
//!    returns.
//! 5. **Reclaim stray queue entries.** Whatever is left in the channel, the deques and the
//!    slots is only references now; they are dropped. A remote push racing with this (a wake
//!    from another thread, or the monitor freeing a slot) checks `workers_stopped` after its
//!    send and reclaims its own entry;
//!    sequentially consistent fences on both sides make sure that one of the two sees the
//!    entry (see [`Scheduler::push_remote`]).
//! 6. **Stop the blocking pool.** Jobs not started yet are cancelled; running ones are waited
//!    for, at most `blocking_timeout` (`Runtime::shutdown_timeout`). This comes last: a job
//!    may be waiting for a task that step 4 just cancelled.

pub(crate) mod blocking;
pub(crate) mod current;
pub(crate) mod idle;
pub(crate) mod lend;
pub(crate) mod lent_cores;
pub(crate) mod metrics;
pub(crate) mod monitor;
pub(crate) mod slot;
pub(crate) mod slow_poll;
pub(crate) mod worker;

use std::future::Future;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle as ThreadHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossbeam_deque::{Stealer, Worker as Deque};
use crossbeam_utils::CachePadded;

use self::blocking::pool::{BlockingPool, PoolConfig};
use self::idle::Idle;
use self::lent_cores::{Abandoned, LentCores};
use self::metrics::WorkerMetrics;
use self::monitor::Monitor;
use self::slot::Slot;
use self::slow_poll::SlowPollConfig;
use crate::runtime::io::driver::Driver;
use crate::runtime::task::list::OwnedTasks;
use crate::runtime::task::{new_task, Header, JoinHandle, Notified, Schedule, Task};
use crate::time::Clock;

/// What travels on the injector channel.
pub(crate) enum Message {
    /// A task to run.
    Task(Notified),
    /// Wake up and look for work; the receiver becomes a searching worker (the sender already
    /// counted it in `searching`).
    Unpark,
    /// Stop: the runtime is shutting down.
    Shutdown,
}

/// What a scheduler is made of, from the runtime's `Builder`.
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) clock: Clock,
    pub(crate) slow_poll: SlowPollConfig,
    pub(crate) blocking: PoolConfig,
    pub(crate) io: Driver,
}

/// The state shared by a runtime's handles, its workers and its tasks.
pub(crate) struct Scheduler {
    sender: Sender<Message>,
    receiver: Receiver<Message>,
    stealers: Box<[Stealer<Notified>]>,
    /// Each worker's next task (see [`slot`]); each on a cache line of its own, as its
    /// worker writes it on most spawns and wakes.
    slots: Box<[CachePadded<Slot>]>,
    owned: OwnedTasks,
    idle: Idle,
    monitor: Monitor,
    shutdown: AtomicBool,
    /// `close` has been called (it runs once).
    closing: AtomicBool,
    /// Set once every worker has stopped: from then on nobody takes tasks off the channel,
    /// so whoever puts one there must take it back off.
    workers_stopped: AtomicBool,
    /// The cores lent by `block_in_place` right now, and the worker loops not ended yet.
    lent_cores: LentCores,
    /// `close` was called from one of this runtime's own workers and could not wait: the
    /// last worker to stop finishes the shutdown.
    close_left_to_workers: AtomicBool,
    /// The worker threads (with their index) and the monitor's (with none), for `close` to
    /// join.
    threads: Mutex<Vec<(Option<usize>, ThreadHandle<()>)>>,
    metrics: Box<[CachePadded<WorkerMetrics>]>,
    /// Tasks spawned from outside the workers. On a line of its own: a thread spawning
    /// remotely writes it on every spawn, and the workers read the fields around it on every
    /// task they run.
    remote_spawned: CachePadded<AtomicU64>,
    slow_poll: SlowPollConfig,
    /// The I/O driver: polled by one parked worker at a time, and by busy workers now and
    /// then (see `crate::io`).
    io: Driver,
    /// The origin of the timestamps in the metrics.
    epoch: Instant,
    /// The runtime's clock, which tests may pause (`fiber::time::pause`).
    clock: Arc<Clock>,
    /// The threads that run `spawn_blocking` jobs and borrow the cores that
    /// `block_in_place` lends.
    blocking: BlockingPool,
}

impl Scheduler {
    /// A scheduler for `workers` workers, and the local deque each one is to run with.
    pub(crate) fn new(config: Config) -> (Arc<Scheduler>, Vec<Deque<Notified>>) {
        let Config {
            workers,
            clock,
            slow_poll,
            blocking,
            io,
        } = config;
        let deques: Vec<Deque<Notified>> = (0..workers).map(|_| Deque::new_fifo()).collect();
        let (sender, receiver) = crossbeam_channel::unbounded();
        let scheduler = Scheduler {
            sender,
            receiver,
            stealers: deques.iter().map(Deque::stealer).collect(),
            slots: (0..workers)
                .map(|_| CachePadded::new(Slot::new()))
                .collect(),
            owned: OwnedTasks::new(workers * 4),
            idle: Idle::new(),
            monitor: Monitor::new(),
            shutdown: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            workers_stopped: AtomicBool::new(false),
            lent_cores: LentCores::new(workers),
            close_left_to_workers: AtomicBool::new(false),
            threads: Mutex::new(Vec::with_capacity(workers)),
            metrics: (0..workers).map(|_| CachePadded::default()).collect(),
            remote_spawned: CachePadded::new(AtomicU64::new(0)),
            epoch: Instant::now(),
            clock: Arc::new(clock),
            slow_poll,
            blocking: BlockingPool::new(blocking),
            io,
        };
        (Arc::new(scheduler), deques)
    }

    /// Records a started thread, for `close` to join: worker `index`'s, or the monitor's
    /// (`None`).
    pub(crate) fn add_thread(&self, index: Option<usize>, thread: ThreadHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((index, thread));
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Whether the calling thread is one this scheduler's shutdown waits for: a worker thread,
    /// running the worker loop or lending its core (`block_in_place`), or a thread that
    /// borrows a worker's core, running it or lending it again.
    pub(crate) fn is_own_thread(&self) -> bool {
        if self.is_current_worker() || lend::is_lending_for(self) {
            return true;
        }
        let me = std::thread::current().id();
        self.threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .any(|(_, thread)| thread.thread().id() == me)
    }

    /// The record of the cores lent right now.
    pub(crate) fn lent_cores(&self) -> &LentCores {
        &self.lent_cores
    }

    /// Whether the calling thread is one of this scheduler's workers.
    pub(crate) fn is_current_worker(&self) -> bool {
        current::with_worker(self, |worker| worker.is_some())
    }

    /// Spawns `future`; `this` becomes the task's reference to its scheduler.
    #[track_caller]
    pub(crate) fn spawn<F>(this: Arc<Scheduler>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let scheduler: *const Scheduler = Arc::as_ptr(&this);
        let (task, notified, join) = new_task(future, this);
        // SAFETY: `this` now lives inside the task, and `join` (ours until we return it)
        // keeps the task alive, so the scheduler outlives this function. This saves cloning
        // the `Arc` on every spawn.
        let scheduler = unsafe { &*scheduler };
        match scheduler.owned.bind(task) {
            Ok(()) => current::with_worker(scheduler, |worker| match worker {
                Some(worker) => {
                    worker.count_spawn();
                    worker.push_next(notified);
                }
                None => {
                    scheduler.remote_spawned.fetch_add(1, Ordering::Relaxed);
                    scheduler.push_remote(notified);
                }
            }),
            Err(task) => {
                // The scheduler is closed: cancel right here.
                drop(notified);
                let _ = task.shutdown();
            }
        }
        join
    }

    /// Queues a task from a thread that is not one of this scheduler's workers.
    pub(crate) fn push_remote(&self, task: Notified) {
        // The receiver lives as long as `self`, so the send cannot fail.
        let _ = self.sender.send(Message::Task(task));
        // Pairs with the fence in `reclaim_stray_entries` (either that drain sees our entry,
        // or we see `workers_stopped` and drain it ourselves) and with the I/O poller's
        // announce-then-look (see `wake_io_poller_if_alone`).
        fence(Ordering::SeqCst);
        self.wake_io_poller_if_alone();
        if self.workers_stopped.load(Ordering::Relaxed) {
            // Nobody will run what is in the channel now, and its tasks are already
            // cancelled. (Before the workers stop, the channel must not be drained here: it
            // carries their `Shutdown` messages.)
            self.drain_injector();
        }
    }

    fn drain_injector(&self) {
        while let Ok(message) = self.receiver.try_recv() {
            drop(message);
        }
    }

    /// Worker `index`'s next-task slot.
    #[inline]
    pub(super) fn slot(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    /// A searching worker is about to park: it must look at every queue once more afterwards
    /// (see [`idle`]), and the monitor may have a worker to watch for now.
    pub(crate) fn worker_parks(&self) {
        self.idle.announce_parked();
        self.monitor.parked_count_changed();
    }

    /// A worker that was counted parked (or about to park) runs again.
    pub(crate) fn worker_unparked(&self) {
        self.idle.unpark();
        self.monitor.parked_count_changed();
    }

    /// Worker `index` has been in one poll for at least a monitor tick: moves its next task
    /// to the injector, and wakes a parked worker for the rest of its queue (see
    /// [`monitor`]).
    fn free_stuck_worker(&self, index: usize) {
        if let Some(task) = self.slots[index].steal() {
            self.push_remote(task);
        }
        if !self.stealers[index].is_empty() {
            self.notify_parked();
        }
    }

    /// Wakes one parked worker to come and steal, unless one is already searching.
    pub(crate) fn notify_parked(&self) {
        if self.idle.notify_parked() {
            let _ = self.sender.send(Message::Unpark);
            fence(Ordering::SeqCst);
            self.wake_io_poller_if_alone();
        }
    }

    /// A message was just put on the channel (and fenced): if the only parked worker is the
    /// one blocked in the I/O driver's poll, nobody will take it from there, so wake that
    /// worker.
    ///
    /// The poller counts itself parked and announces itself in the driver
    /// (`Driver::is_parked`) before its last look at the channel; we sent before looking for
    /// it. With both sides sequentially consistent, either it sees our message or we see it
    /// parked.
    #[inline]
    fn wake_io_poller_if_alone(&self) {
        if self.io.is_parked() && self.idle.num_parked() <= 1 {
            self.io.unpark();
        }
    }

    /// The runtime's blocking pool.
    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    /// The runtime's I/O driver, where sockets register.
    pub(crate) fn io(&self) -> &Driver {
        &self.io
    }

    /// Whether some queue still holds work, for a worker's last look before it parks.
    fn has_work(&self) -> bool {
        !self.receiver.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }

    /// Worker `index`'s counters.
    pub(crate) fn worker_metrics(&self, index: usize) -> &WorkerMetrics {
        &self.metrics[index]
    }

    pub(crate) fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Tasks waiting in the injector (remote spawns and wakes), plus its control messages.
    pub(crate) fn global_queue_depth(&self) -> usize {
        self.receiver.len()
    }

    /// Tasks in worker `index`'s deque (its next-task slot is its own, and not counted).
    pub(crate) fn worker_local_queue_depth(&self, index: usize) -> usize {
        self.stealers[index].len()
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.owned.len()
    }

    pub(crate) fn spawned_tasks_count(&self) -> u64 {
        let local: u64 = self
            .metrics
            .iter()
            .map(|worker| worker.spawned.load(Ordering::Relaxed))
            .sum();
        local + self.remote_spawned.load(Ordering::Relaxed)
    }

    /// Shuts the scheduler down; see the module docs ("Shutdown") for the protocol.
    /// `timeout` bounds the wait for workers blocked in place and for running blocking jobs
    /// (`None`: until they return). Returns at once when the scheduler is already closing.
    pub(crate) fn close(&self, timeout: Option<Duration>) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Not only a worker running a task: also one that lent its core (`block_in_place`),
        // whose end step 3 would wait for.
        let from_own_worker = self.is_own_thread();
        // Stored before `shutdown`, which the workers read (with acquire) before they stop.
        self.close_left_to_workers
            .store(from_own_worker, Ordering::Relaxed);
        self.shutdown.store(true, Ordering::SeqCst);
        for _ in 0..self.num_workers() {
            let _ = self.sender.send(Message::Shutdown);
        }
        // A worker blocked in the I/O driver's poll does not read the channel.
        self.io.unpark();
        self.monitor.wake();
        if from_own_worker {
            return;
        }
        // A timeout too far out to be an instant is no timeout at all.
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let abandoned = match deadline {
            Some(deadline) => self.lent_cores.wait_for_workers(deadline),
            None => Abandoned::default(),
        };
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for (index, thread) in threads {
            if index.is_some_and(|index| abandoned.workers.contains(&index)) {
                // Blocked in place: it leaves its loop, on its own, once its closure and the
                // rest of its poll return.
                drop(thread);
                continue;
            }
            let _ = thread.join();
        }
        for &index in &abandoned.workers {
            self.release_queue_of_abandoned(index);
        }
        self.cancel_all_tasks(&abandoned.tasks);
        self.blocking
            .shutdown(deadline.map(|deadline| deadline.saturating_duration_since(Instant::now())));
    }

    /// Does for worker `index`, left behind blocked in place, what it does to its queues on
    /// its way out (it may yet, racing with this: each entry is taken once): a held entry
    /// gives its task's `RUNNING` back, so that the shutdown can cancel that task.
    fn release_queue_of_abandoned(&self, index: usize) {
        if let Some(task) = self.slots[index].steal() {
            drop(task.into_unheld());
        }
        loop {
            match self.stealers[index].steal() {
                crossbeam_deque::Steal::Success(task) => drop(task.into_unheld()),
                crossbeam_deque::Steal::Retry => {}
                crossbeam_deque::Steal::Empty => break,
            }
        }
    }

    /// Called by each worker when its loop has ended and its queues are empty: the last one
    /// finishes a shutdown that `close` left to the workers.
    pub(crate) fn worker_stopped(&self) {
        if self.lent_cores.worker_loop_ended()
            && self.shutdown.load(Ordering::Acquire)
            && self.close_left_to_workers.load(Ordering::Relaxed)
        {
            self.cancel_all_tasks(&[]);
            // Nobody waits for this shutdown to end: the blocking jobs still running are
            // left to finish on their own.
            self.blocking.shutdown(Some(Duration::ZERO));
        }
    }

    /// Steps 4 and 5 of the shutdown, once no worker runs (but those left behind blocked in
    /// place, polling the tasks at the addresses `abandoned`, which are not waited for).
    fn cancel_all_tasks(&self, abandoned: &[usize]) {
        self.workers_stopped.store(true, Ordering::SeqCst);
        // Sockets outlive their runtime: fail their waits and later operations with an error
        // rather than leave them waiting for a driver nobody polls.
        self.io.shutdown();
        self.owned.close_and_cancel_all(abandoned);
        self.reclaim_stray_entries();
    }

    fn reclaim_stray_entries(&self) {
        // Pairs with the fence in `push_remote`.
        fence(Ordering::SeqCst);
        self.drain_injector();
        for stealer in self.stealers.iter() {
            while let Some(task) = stealer.steal().success() {
                drop(task);
            }
        }
        for slot in self.slots.iter() {
            drop(slot.steal());
        }
    }
}

impl Schedule for Arc<Scheduler> {
    #[inline]
    fn schedule(&self, task: Notified) {
        current::with_worker(self, |worker| match worker {
            Some(worker) => worker.push_next(task),
            None => self.push_remote(task),
        });
    }

    #[inline]
    fn yield_now(&self, task: Notified) {
        current::with_worker(self, |worker| match worker {
            Some(worker) => worker.push_back(task),
            None => self.push_remote(task),
        });
    }

    #[inline]
    unsafe fn requeue_woken(this: NonNull<Self>, task: Notified) -> Option<Notified> {
        // SAFETY: the task, and with it `*this`, is alive until it is queued below (the
        // caller's contract). The reference is to the `Scheduler`, a separate allocation: a
        // worker of this scheduler, the only case that queues the task, keeps it alive for as
        // long as it runs, whatever becomes of the task.
        let scheduler: &Scheduler = unsafe { this.as_ref() };
        current::with_worker(scheduler, |worker| match worker {
            Some(worker) => {
                worker.push_back(task);
                None
            }
            None => Some(task),
        })
    }

    #[inline]
    unsafe fn requeue_yielded(this: NonNull<Self>, task: NonNull<Header>) -> bool {
        // SAFETY: as in `requeue_woken`: the task, and `*this` in it, are alive until queued.
        let scheduler: &Scheduler = unsafe { this.as_ref() };
        current::with_worker(scheduler, |worker| {
            worker.is_some_and(|worker| worker.requeue_yielded(task))
        })
    }

    #[inline]
    fn release(&self, task: NonNull<Header>) -> Option<Task> {
        self.owned.remove(task)
    }
}
