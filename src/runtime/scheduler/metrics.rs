//! Each worker's counters, read by the runtime's `RuntimeMetrics`.
//!
//! Every counter is written by one worker only (a relaxed load and store, no locked
//! instruction), so keeping them always on costs next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    pub(crate) slow_polls: AtomicU64,
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
    pub(crate) fn busy(&self, epoch: &Instant) -> Duration {
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
