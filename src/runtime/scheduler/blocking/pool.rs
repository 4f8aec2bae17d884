//! The blocking pool: threads started on demand, up to a cap, that run blocking jobs in the
//! order they were spawned.
//!
//! All of the pool's state sits behind one mutex: the FIFO queue of jobs not yet started and
//! the counts of threads. A spawn hands its job to an idle thread if there is one (waking it
//! through the condition variable), else starts a new thread if the cap allows, else leaves
//! it queued until a thread finishes its job. A thread that finds nothing to do waits up to
//! the keep-alive for a job, then exits, so an idle pool shrinks back to no threads.
//!
//! A worker that `block_in_place` hands over must not wait behind blocking jobs: it is an
//! [`Admission::Immediate`] job, which gets an idle thread or a new one at once. Threads
//! running such jobs do not count against the cap (else enough tasks blocking in place, each
//! waiting for a blocking job, would leave no thread for those jobs), and a thread that
//! finds the pool over the cap once its immediate job is done exits instead of taking
//! queued jobs, so the cap still bounds the ordinary jobs that run at once.
//!
//! # Shutdown
//!
//! [`BlockingPool::shutdown`] marks the pool shut, takes the queued jobs out and cancels
//! them (their handles resolve to cancelled), wakes every idle thread so that it exits, and
//! waits for the threads still running a job, up to an optional timeout. Threads still
//! blocked when it runs out are abandoned: they finish their job whenever it returns and
//! then exit on their own. Jobs spawned after the shutdown are cancelled at once.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::runtime::scheduler::Scheduler;
use crate::runtime::task::{Notified, Task};

/// A job of the pool: a blocking task's run-queue entry, and the owner's reference that
/// shutdown uses to cancel it if it never starts.
pub(crate) struct Job {
    notified: Notified,
    task: Task,
}

impl Job {
    pub(crate) fn new(task: Task, notified: Notified) -> Job {
        Job { notified, task }
    }

    fn run(self) {
        let _ = self.notified.run();
        // The task is complete now; this drops the owner's reference.
        drop(self.task);
    }

    /// Completes the task as cancelled without running it.
    fn cancel(self) {
        // A job that never ran is idle (its abort may have cancelled it already), so no
        // other thread holds it: this drops its closure here.
        let _ = self.task.shutdown();
    }
}

thread_local! {
    /// The pool whose thread this is, if any: compared, never followed.
    static CURRENT_POOL: Cell<*const BlockingPool> = const { Cell::new(std::ptr::null()) };
}

/// How the pool's threads are made; fixed when the runtime is built.
pub(crate) struct PoolConfig {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    /// The body of every pool thread, wrapped around `serve`: the runtime enters its
    /// context there and runs its thread hooks (the pool knows nothing of either).
    pub(crate) thread_main: ThreadMain,
}

/// See [`PoolConfig::thread_main`].
pub(crate) type ThreadMain = Arc<dyn Fn(&Arc<Scheduler>, &mut dyn FnMut()) + Send + Sync>;

struct State {
    /// Jobs waiting for a thread, oldest first.
    queue: VecDeque<Job>,
    /// [`Admission::Immediate`] jobs handed to an idle thread, which takes them before any
    /// other. The shutdown never cancels them: someone waits for each to run.
    urgent: VecDeque<Job>,
    /// Threads serving the pool: busy, idle, or running an immediate job.
    threads: usize,
    /// Threads running an immediate job. The cap limits the others (`threads - immediate`),
    /// so that however many workers are handed over, queued jobs still get their threads.
    immediate: usize,
    /// Threads not yet finished, counting those that left `threads` and are still running
    /// their stop hook: what the shutdown waits for.
    live: usize,
    /// Threads waiting for a job and not yet claimed by a spawn.
    idle: usize,
    /// Wake-ups sent to idle threads and not yet taken: each stands for a thread that was
    /// idle, is no longer counted in `idle`, and will look at the queue.
    notified: usize,
    shutdown: bool,
}

impl State {
    /// Threads that count against the cap: all but those running an immediate job.
    fn capped_threads(&self) -> usize {
        self.threads - self.immediate
    }

    /// Counts a thread about to run a job of this admission; a new thread is counted in
    /// `threads` separately.
    fn start(&mut self, admission: Admission) {
        if admission == Admission::Immediate {
            self.immediate += 1;
        }
    }

    /// Undoes [`start`](State::start) once the job is done.
    fn finish(&mut self, admission: Admission) {
        if admission == Admission::Immediate {
            self.immediate -= 1;
        }
    }
}

/// One runtime's blocking pool; see the module docs.
pub(crate) struct BlockingPool {
    state: Mutex<State>,
    /// Idle threads wait here for a job (or the shutdown).
    job_ready: Condvar,
    /// The shutdown waits here for the last thread to exit.
    thread_exited: Condvar,
    config: PoolConfig,
}

/// Whether a job may start a thread beyond the cap.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Admission {
    /// An ordinary job: it waits in the queue while every thread the cap allows is busy.
    Capped,
    /// A job that others wait on to make progress (a worker handed over by
    /// `block_in_place`): it runs at once, on a new thread if need be.
    Immediate,
}

/// Why [`BlockingPool::spawn`] did not take a job; the job has been cancelled.
#[derive(Debug)]
pub(crate) enum SpawnError {
    /// The runtime is shutting down.
    Shutdown,
    /// No thread runs the pool and a new one could not be started.
    NoThread(io::Error),
}

impl BlockingPool {
    pub(crate) fn new(config: PoolConfig) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                urgent: VecDeque::new(),
                threads: 0,
                immediate: 0,
                live: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
            }),
            job_ready: Condvar::new(),
            thread_exited: Condvar::new(),
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, and nothing under it panics, so a poisoned lock still
        // guards consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `job` on a thread of the pool of `scheduler` (whose pool `self` is).
    pub(crate) fn spawn(
        &self,
        scheduler: &Arc<Scheduler>,
        job: Job,
        admission: Admission,
    ) -> Result<(), SpawnError> {
        let mut state = self.lock();
        if state.shutdown {
            drop(state);
            job.cancel();
            return Err(SpawnError::Shutdown);
        }
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            match admission {
                Admission::Capped => state.queue.push_back(job),
                Admission::Immediate => state.urgent.push_back(job),
            }
            drop(state);
            self.job_ready.notify_one();
            return Ok(());
        }
        if admission == Admission::Capped && state.capped_threads() >= self.config.max_threads {
            state.queue.push_back(job);
            return Ok(());
        }
        state.threads += 1;
        state.live += 1;
        state.start(admission);
        drop(state);
        match self.start_thread(scheduler, job, admission) {
            Ok(()) => Ok(()),
            Err((job, error)) => {
                let mut state = self.lock();
                state.finish(admission);
                state.threads -= 1;
                state.live -= 1;
                if state.capped_threads() > 0 && admission == Admission::Capped {
                    // A running thread will get to it.
                    state.queue.push_back(job);
                    return Ok(());
                }
                drop(state);
                self.thread_exited.notify_all();
                job.cancel();
                Err(SpawnError::NoThread(error))
            }
        }
    }

    fn start_thread(
        &self,
        scheduler: &Arc<Scheduler>,
        first: Job,
        admission: Admission,
    ) -> Result<(), (Job, io::Error)> {
        let mut builder = std::thread::Builder::new().name(self.config.thread_name.clone());
        if let Some(bytes) = self.config.stack_size {
            builder = builder.stack_size(bytes);
        }
        // The job travels in a slot we can take back if the thread does not start.
        let slot = Arc::new(Mutex::new(Some(first)));
        let thread_slot = slot.clone();
        let thread_scheduler = scheduler.clone();
        let started = builder.spawn(move || {
            let first = thread_slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            drop(thread_slot);
            run_thread(thread_scheduler, first.map(|job| (job, admission)));
        });
        match started {
            Ok(_detached) => Ok(()),
            Err(error) => {
                let job = slot
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take()
                    .expect("a thread that did not start took no job");
                Err((job, error))
            }
        }
    }

    /// The loop of one pool thread, counted in `threads` (and in `immediate` for an
    /// immediate `first` job) by whoever started it: run jobs, wait up to the keep-alive for
    /// more, and return when the thread is to exit (no longer counted as serving).
    fn serve(&self, first: Option<(Job, Admission)>) {
        if let Some((job, admission)) = first {
            job.run();
            self.lock().finish(admission);
        }
        let mut state = self.lock();
        'serve: loop {
            if let Some(job) = state.urgent.pop_front() {
                state.start(Admission::Immediate);
                drop(state);
                job.run();
                state = self.lock();
                state.finish(Admission::Immediate);
                continue;
            }
            if state.capped_threads() > self.config.max_threads {
                // An immediate job took this thread beyond the cap: leave the queue to the
                // others, so that no more than the cap run queued jobs at once. (So an idle
                // thread is always within the cap, and a spawn may wake any.)
                break;
            }
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job.run();
                state = self.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let deadline = deadline_after(self.config.keep_alive);
            loop {
                state = wait_until(&self.job_ready, state, deadline);
                if state.notified > 0 {
                    // A spawn (or the shutdown) counted us out of `idle` already.
                    state.notified -= 1;
                    continue 'serve;
                }
                if state.shutdown || deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    state.idle -= 1;
                    break 'serve;
                }
                // A spurious wake-up: keep waiting until the keep-alive runs out.
            }
        }
        state.threads -= 1;
    }

    /// The last act of a pool thread, after its stop hook.
    fn thread_finished(&self) {
        let mut state = self.lock();
        state.live -= 1;
        drop(state);
        // Not only for the last one: a shutdown run by a job of this pool waits for all
        // threads but its own.
        self.thread_exited.notify_all();
    }

    /// Stops the pool; see the module docs. With `timeout` of `None`, waits for every
    /// running job to return.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        // A timeout too far out to be an instant is no timeout at all.
        let deadline = timeout.and_then(deadline_after);
        let mut state = self.lock();
        if state.shutdown {
            return;
        }
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        // Every idle thread is woken and will exit; they count as notified so that none
        // waits out its keep-alive.
        state.notified += state.idle;
        state.idle = 0;
        drop(state);
        self.job_ready.notify_all();
        // Outside the lock: cancelling drops the closures, whose destructors are user code.
        for job in queued {
            job.cancel();
        }

        // A job of this pool that drops the runtime must not wait for itself.
        let own = usize::from(std::ptr::eq(CURRENT_POOL.with(Cell::get), self));
        let mut state = self.lock();
        while state.live > own {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                // The threads still blocked are abandoned; they exit when their job returns.
                return;
            }
            state = wait_until(&self.thread_exited, state, deadline);
        }
    }

    /// Threads serving the pool, busy or idle.
    pub(crate) fn num_threads(&self) -> usize {
        self.lock().threads
    }

    /// Threads waiting for a job.
    pub(crate) fn num_idle_threads(&self) -> usize {
        self.lock().idle
    }

    /// Jobs waiting for a thread.
    pub(crate) fn queue_depth(&self) -> usize {
        let state = self.lock();
        state.queue.len() + state.urgent.len()
    }
}

/// `duration` from now, or `None` if that is too far out to be an `Instant`.
fn deadline_after(duration: Duration) -> Option<Instant> {
    Instant::now().checked_add(duration)
}

/// Waits on `condvar` until woken or `deadline` (if any) passes.
fn wait_until<'a>(
    condvar: &Condvar,
    state: MutexGuard<'a, State>,
    deadline: Option<Instant>,
) -> MutexGuard<'a, State> {
    let result = match deadline {
        None => condvar.wait(state),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            condvar
                .wait_timeout(state, left)
                .map(|(state, _)| state)
                .map_err(|poisoned| std::sync::PoisonError::new(poisoned.into_inner().0))
        }
    };
    result.unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The body of a pool thread: `serve`, inside the runtime's thread wrapper (its context,
/// so `Handle::current`, `fiber::spawn` and `Handle::block_on` work in jobs, and its thread
/// hooks).
fn run_thread(scheduler: Arc<Scheduler>, first: Option<(Job, Admission)>) {
    let pool = &scheduler.blocking;
    CURRENT_POOL.with(|current| current.set(pool));
    let mut first = Some(first);
    (pool.config.thread_main)(&scheduler, &mut || {
        if let Some(first) = first.take() {
            pool.serve(first);
        }
    });
    CURRENT_POOL.with(|current| current.set(std::ptr::null()));
    pool.thread_finished();
}
