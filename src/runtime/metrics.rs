//! [`RuntimeMetrics`]: a live view of what the workers are doing.
//!
//! Every counter is written by one worker only (a relaxed load and store, no locked
//! instruction), so keeping them always on costs next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::handle::Handle;

/// One worker's counters.
#[derive(Debug, Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) busy_nanos: AtomicU64,
    /// When the current busy stretch began, in nanoseconds since the runtime's epoch plus
    /// one; zero while the worker is parked. Lets a reader add the stretch that `busy_nanos`
    /// does not hold yet, so the view stays live without a clock read per poll.
    pub(crate) busy_since: AtomicU64,
    pub(crate) spawned: AtomicU64,
}

impl WorkerMetrics {
    pub(crate) fn set_busy_since(&self, epoch: &Instant, since: Instant) {
        let nanos = u64::try_from(since.duration_since(*epoch).as_nanos()).unwrap_or(u64::MAX);
        self.busy_since
            .store(nanos.saturating_add(1), Ordering::Release);
    }

    pub(crate) fn set_parked(&self) {
        self.busy_since.store(0, Ordering::Release);
    }

    /// Busy time so far, including the stretch in progress.
    fn busy(&self, epoch: &Instant) -> Duration {
        loop {
            let since = self.busy_since.load(Ordering::Acquire);
            let recorded = self.busy_nanos.load(Ordering::Acquire);
            // The worker records and restarts its stretch together; read again if it did so
            // between our two loads.
            if self.busy_since.load(Ordering::Acquire) != since {
                continue;
            }
            let running = match since {
                0 => 0,
                since => {
                    let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    now.saturating_sub(since - 1)
                }
            };
            return Duration::from_nanos(recorded.saturating_add(running));
        }
    }
}

/// Adds to a counter that only the calling worker writes.
#[inline]
pub(crate) fn add(counter: &AtomicU64, amount: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(amount),
        Ordering::Relaxed,
    );
}

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
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    handle: Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    fn worker(&self, worker: usize) -> &WorkerMetrics {
        let workers = &self.handle.shared.metrics;
        assert!(
            worker < workers.len(),
            "worker index {worker} out of range: the runtime has {} workers",
            workers.len()
        );
        &workers[worker].0
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
        self.handle.shared.num_workers()
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
        self.handle.shared.owned.len()
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
        let shared = &self.handle.shared;
        let local: u64 = shared
            .metrics
            .iter()
            .map(|worker| worker.0.spawned.load(Ordering::Relaxed))
            .sum();
        local + shared.remote_spawned.load(Ordering::Relaxed)
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
        self.worker(worker).busy(&self.handle.shared.epoch)
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
        self.handle.shared.io.registrations()
    }
}
