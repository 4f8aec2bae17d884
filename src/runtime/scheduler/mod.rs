//! The state that all workers of one runtime share, and where a woken task goes.
//!
//! ```text
//!   remote spawn / wake ──► crossbeam channel (the injector) ──► any worker
//!                                                                   │
//!   spawn / wake on a worker ──► its LIFO slot ──► its local deque ◄─┘
//!                                                     │  ▲
//!                                  other idle workers ┘  └ yield (back of the deque)
//!                                  steal half
//! ```
//!
//! Work created on a worker stays on that worker: the next task slot (`lifo`) makes a
//! spawn-then-await or wake-then-yield hand over without touching shared memory, and the local
//! deque takes the rest. Other workers steal from the deque when they run dry. The channel
//! carries work from threads outside the runtime, and it is also where idle workers park: a
//! blocking `recv` spins briefly and then sleeps on a futex, so an idle runtime uses no CPU.
//! To wake a parked worker for local work, a worker sends it an `Unpark` message, but only
//! when no other worker is already searching for work, so a burst of spawns costs one wake.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};
use crossbeam_deque::Stealer;

use crate::io::driver::Driver;
use crate::runtime::handle::Handle;
use crate::runtime::metrics::WorkerMetrics;
use crate::runtime::task::list::OwnedTasks;
use crate::runtime::task::{Header, Notified, Schedule, Task};
use crate::runtime::{context, Hooks};

pub(crate) mod worker;

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

/// Pads a value to its own cache lines so per-worker counters do not share a line.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Shared by the runtime, its handles, its workers and its tasks.
pub(crate) struct Shared {
    pub(crate) sender: Sender<Message>,
    pub(crate) receiver: Receiver<Message>,
    pub(crate) stealers: Box<[Stealer<Notified>]>,
    pub(crate) owned: OwnedTasks,
    /// Workers blocked (or about to block) on the channel. This and `searching` change when
    /// workers park and search, so each has a line of its own, away from the fields every
    /// worker reads for every task.
    pub(crate) parked: CachePadded<AtomicUsize>,
    /// Workers looking for work (stealing), plus those woken to do so.
    pub(crate) searching: CachePadded<AtomicUsize>,
    pub(crate) shutdown: AtomicBool,
    /// Set once every worker has stopped: from then on nobody takes tasks off the channel,
    /// so whoever puts one there must take it back off.
    pub(crate) workers_stopped: AtomicBool,
    pub(crate) metrics: Box<[CachePadded<WorkerMetrics>]>,
    /// Tasks spawned from outside the workers. On a line of its own: a thread spawning
    /// remotely writes it on every spawn, and the workers read the fields around it on every
    /// task they run.
    pub(crate) remote_spawned: CachePadded<AtomicU64>,
    pub(crate) hooks: Hooks,
    /// The I/O driver: polled by one parked worker at a time, and by busy workers now and
    /// then (see `crate::io`).
    pub(crate) io: Driver,
    /// The origin of the timestamps in the metrics.
    pub(crate) epoch: std::time::Instant,
}

impl Shared {
    pub(crate) fn num_workers(&self) -> usize {
        self.stealers.len()
    }

    /// Queues a task from a thread that is not one of this runtime's workers.
    pub(crate) fn push_remote(&self, task: Notified) {
        // The receiver lives as long as `self`, so the send cannot fail.
        let _ = self.sender.send(Message::Task(task));
        self.unpark_io_poller();
        if self.workers_stopped.load(Ordering::SeqCst) {
            // Shutdown may have drained the channel before our send landed: nobody will run
            // what is there now, and the tasks in it are already cancelled. (Before the
            // workers stop, the channel must not be drained here: it carries their
            // `Shutdown` messages.)
            self.drain_injector();
        }
    }

    pub(crate) fn drain_injector(&self) {
        while let Ok(message) = self.receiver.try_recv() {
            drop(message);
        }
    }

    /// Wakes one parked worker to come and steal, unless one is already searching.
    pub(crate) fn notify_parked(&self) {
        // Orders the caller's push before the loads below, pairing with the parking worker's
        // announce-then-look: either it sees the work, or we see it parked.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.searching.load(Ordering::SeqCst) == 0
            && self.parked.load(Ordering::SeqCst) > 0
            && self
                .searching
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            let _ = self.sender.send(Message::Unpark);
            self.unpark_io_poller();
        }
    }

    /// A message was just put on the channel: if the only parked worker is the one blocked
    /// in the I/O driver's poll, nobody will take it from there, so wake that worker.
    ///
    /// The poller announces itself (`Driver::is_parked`, then `parked`) before its last look
    /// at the channel; we sent before looking for it. With both sides sequentially
    /// consistent, either it sees our message or we see it parked.
    #[inline]
    pub(crate) fn unpark_io_poller(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.io.is_parked() && self.parked.load(Ordering::SeqCst) <= 1 {
            self.io.unpark();
        }
    }

    /// Whether some queue still holds work, for a worker's last look before it parks.
    pub(crate) fn has_work(&self) -> bool {
        !self.receiver.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}

impl Schedule for Handle {
    #[inline]
    fn schedule(&self, task: Notified) {
        context::with_worker(&self.shared, |worker| match worker {
            Some(worker) => worker.push_lifo(task),
            None => self.shared.push_remote(task),
        });
    }

    #[inline]
    fn yield_now(&self, task: Notified) {
        context::with_worker(&self.shared, |worker| match worker {
            Some(worker) => worker.push_back(task),
            None => self.shared.push_remote(task),
        });
    }

    #[inline]
    unsafe fn yield_local(this: NonNull<Self>, task: Notified) -> Option<Notified> {
        // SAFETY: the task, and with it `*this`, is alive until it is queued below (the
        // caller's contract). The reference is to the runtime's `Shared`, a separate
        // allocation: a worker of this runtime, the only case that queues the task, keeps it
        // alive for as long as it runs, whatever becomes of the task.
        let shared: &Shared = unsafe { &this.as_ref().shared };
        context::with_worker(shared, |worker| match worker {
            Some(worker) => {
                worker.push_back(task);
                None
            }
            None => Some(task),
        })
    }

    #[inline]
    unsafe fn requeue_held(this: NonNull<Self>, task: NonNull<Header>) -> bool {
        // SAFETY: as in `yield_local`: the task, and `*this` in it, are alive until queued.
        let shared: &Shared = unsafe { &this.as_ref().shared };
        context::with_worker(shared, |worker| {
            worker.is_some_and(|worker| worker.requeue_held(task))
        })
    }

    #[inline]
    fn release(&self, task: NonNull<Header>) -> Option<Task> {
        self.shared.owned.remove(task)
    }
}
