//! [`RuntimeMetrics`]: a live view of what the workers are doing.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::scheduler::metrics::WorkerMetrics;
use super::scheduler::Scheduler;

/// A live view of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics).
///
/// Each call reads the current values; the view stays valid (and keeps reporting the last
/// values) after the runtime is dropped.
///
/// # Examples
///
/// ```
/// let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
/// rt.block_on(rt.spawn(async {})).unwrap();
/// let metrics = rt.metrics();
/// assert_eq!(metrics.num_workers(), 2);
/// assert_eq!(metrics.spawned_tasks_count(), 1);
/// let polls: u64 = (0..2).map(|worker| metrics.worker_poll_count(worker)).sum();
/// assert!(polls >= 1);
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    scheduler: Arc<Scheduler>,
}

impl std::fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("workers", &self.num_workers())
            .field("alive_tasks", &self.num_alive_tasks())
            .finish_non_exhaustive()
    }
}

impl RuntimeMetrics {
    pub(crate) fn new(scheduler: Arc<Scheduler>) -> RuntimeMetrics {
        RuntimeMetrics { scheduler }
    }

    fn worker(&self, worker: usize) -> &WorkerMetrics {
        let workers = self.scheduler.num_workers();
        assert!(
            worker < workers,
            "worker index {worker} out of range: the runtime has {workers} workers"
        );
        self.scheduler.worker_metrics(worker)
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 3);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.scheduler.num_workers()
    }

    /// The number of tasks spawned and not yet finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.metrics().num_alive_tasks(), 1);
    /// handle.abort();
    /// let _ = rt.block_on(handle);
    /// assert_eq!(rt.metrics().num_alive_tasks(), 0);
    /// ```
    pub fn num_alive_tasks(&self) -> usize {
        self.scheduler.num_alive_tasks()
    }

    /// The number of tasks spawned since the runtime started.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// for _ in 0..3 {
    ///     drop(rt.spawn(async {}));
    /// }
    /// assert_eq!(rt.metrics().spawned_tasks_count(), 3);
    /// ```
    pub fn spawned_tasks_count(&self) -> u64 {
        self.scheduler.spawned_tasks_count()
    }

    /// How many times `worker` has polled a task (cancellations included).
    ///
    /// # Panics
    ///
    /// Panics if `worker >= num_workers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.metrics().worker_poll_count(0) >= 1);
    /// ```
    pub fn worker_poll_count(&self, worker: usize) -> u64 {
        self.worker(worker).polls.load(Ordering::Relaxed)
    }

    /// How many times `worker` has parked (gone to sleep for lack of work).
    ///
    /// # Panics
    ///
    /// Panics if `worker >= num_workers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    /// std::thread::sleep(std::time::Duration::from_millis(50));
    /// assert!(rt.metrics().worker_park_count(0) >= 1);
    /// ```
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.worker(worker).parks.load(Ordering::Relaxed)
    }

    /// The total time `worker` has spent running or looking for tasks rather than parked,
    /// up to now (a stretch still in progress counts).
    ///
    /// # Panics
    ///
    /// Panics if `worker >= num_workers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {
    ///     std::thread::sleep(std::time::Duration::from_millis(20));
    /// }))
    /// .unwrap();
    /// assert!(rt.metrics().worker_busy_duration(0) >= std::time::Duration::from_millis(20));
    /// ```
    pub fn worker_busy_duration(&self, worker: usize) -> Duration {
        self.worker(worker).busy(&self.scheduler.epoch())
    }

    /// How many polls took longer than the
    /// [`slow_poll_threshold`](crate::Builder::slow_poll_threshold), on all workers; always
    /// 0 without a threshold. A worker counts a slow poll right after it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = fiber::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(10))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let metrics = rt.metrics();
    /// drop(rt);
    /// assert_eq!(metrics.slow_polls_count(), 0);
    /// ```
    pub fn slow_polls_count(&self) -> u64 {
        (0..self.scheduler.num_workers())
            .map(|worker| self.worker(worker).slow_polls.load(Ordering::Relaxed))
            .sum()
    }

    /// The number of threads in the blocking pool: running a job, borrowing a worker for
    /// [`block_in_place`](crate::block_in_place), or idle.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// assert_eq!(rt.metrics().num_blocking_threads(), 0);
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// assert_eq!(rt.metrics().num_blocking_threads(), 1);
    /// ```
    pub fn num_blocking_threads(&self) -> usize {
        self.scheduler.blocking().num_threads()
    }

    /// The number of blocking-pool threads waiting for a job.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// // The thread goes idle just after the job's handle resolves.
    /// while rt.metrics().num_idle_blocking_threads() == 0 {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(rt.metrics().num_idle_blocking_threads(), 1);
    /// ```
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.scheduler.blocking().num_idle_threads()
    }

    /// The number of blocking jobs waiting for a thread: spawned while every thread that
    /// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads) allows was
    /// busy.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().max_blocking_threads(1).build().unwrap();
    /// let (release, blocked) = std::sync::mpsc::channel::<()>();
    /// let first = rt.spawn_blocking(move || blocked.recv().unwrap());
    /// let second = rt.spawn_blocking(|| ());
    /// assert_eq!(rt.metrics().blocking_queue_depth(), 1);
    /// release.send(()).unwrap();
    /// rt.block_on(async { (first.await.unwrap(), second.await.unwrap()) });
    /// assert_eq!(rt.metrics().blocking_queue_depth(), 0);
    /// ```
    pub fn blocking_queue_depth(&self) -> usize {
        self.scheduler.blocking().queue_depth()
    }

    /// The number of entries in the injector, the queue through which tasks spawned or woken
    /// outside the workers reach them (it also carries the workers' wake-up messages).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let (started, busy) = std::sync::mpsc::channel();
    /// // Keeps the only worker busy (a task should not block like this: it is for the
    /// // example), so that the next spawn waits in the injector.
    /// let blocker = rt.spawn(async move {
    ///     started.send(()).unwrap();
    ///     gate.recv().unwrap();
    /// });
    /// busy.recv().unwrap();
    /// let waiting = rt.spawn(async {});
    /// assert_eq!(rt.metrics().global_queue_depth(), 1);
    /// release.send(()).unwrap();
    /// rt.block_on(async { (blocker.await.unwrap(), waiting.await.unwrap()) });
    /// ```
    pub fn global_queue_depth(&self) -> usize {
        self.scheduler.global_queue_depth()
    }

    /// The number of tasks in `worker`'s local queue, where other workers can steal them
    /// (the task it runs next, in a slot of its own, is not counted).
    ///
    /// # Panics
    ///
    /// Panics if `worker >= num_workers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().worker_local_queue_depth(0), 0);
    /// ```
    pub fn worker_local_queue_depth(&self, worker: usize) -> usize {
        let workers = self.scheduler.num_workers();
        assert!(
            worker < workers,
            "worker index {worker} out of range: the runtime has {workers} workers"
        );
        self.scheduler.worker_local_queue_depth(worker)
    }

    /// The number of I/O sources (sockets, [`Async`](crate::io::Async) wrappers) registered
    /// with the runtime's I/O driver now. Each socket registers when it is created and
    /// deregisters when it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let socket = rt.block_on(fiber::net::UdpSocket::bind("127.0.0.1:0")).unwrap();
    /// assert_eq!(rt.metrics().io_registrations(), 1);
    /// drop(socket);
    /// assert_eq!(rt.metrics().io_registrations(), 0);
    /// ```
    pub fn io_registrations(&self) -> usize {
        self.scheduler.io().registrations()
    }
}
