//! [`Interval`]: a stream of evenly spaced ticks.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::sleep::add_or_far_future;
use super::{sleep_until, Sleep};

/// Creates an [`Interval`] that ticks at once and then every `period`.
///
/// Ticks that the caller is too slow to take are handled by the
/// [`MissedTickBehavior`], [`Burst`](MissedTickBehavior::Burst) by default.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::interval;
///
/// fiber::block_on(async {
///     let mut ticks = interval(Duration::from_millis(5));
///     let first = ticks.tick().await; // completes at once
///     let second = ticks.tick().await;
///     assert_eq!(second - first, Duration::from_millis(5));
///     assert!(Instant::now() >= second);
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now(), period)
}

/// Creates an [`Interval`] whose first tick is at `start` and then every `period`.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::interval_at;
///
/// let start = Instant::now() + Duration::from_millis(5);
/// let mut ticks = interval_at(start, Duration::from_millis(5));
/// assert_eq!(fiber::block_on(ticks.tick()), start);
/// assert!(Instant::now() >= start);
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "fiber::time::interval needs a non-zero period: a zero period would tick in a busy \
         loop; use a loop with `yield_now` if that is what you want"
    );
    Interval {
        sleep: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed because [`Interval::tick`] was called
/// late (at least one whole period after a tick was due).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{interval, MissedTickBehavior};
///
/// let mut ticks = interval(Duration::from_millis(10));
/// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
/// ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks one after the other without waiting, until the interval has
    /// caught up with its original schedule. The default, as in most runtimes: the number of
    /// ticks over a long run matches elapsed time.
    #[default]
    Burst,
    /// Give up the schedule: the next tick is one period after the late tick was taken.
    Delay,
    /// Drop the missed ticks: the next tick is the first one of the original schedule that
    /// is still in the future.
    Skip,
}

/// A stream of ticks, one per period, created by [`interval`] or [`interval_at`].
///
/// A tick is never delivered before its scheduled instant, which [`Interval::tick`] returns.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::interval;
///
/// fiber::block_on(async {
///     let mut ticks = interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    /// Completes at the next scheduled tick.
    sleep: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// Cancel safe: dropping the returned future before it completes loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::interval;
    ///
    /// let mut ticks = interval(Duration::from_secs(60));
    /// let first = fiber::block_on(ticks.tick());
    /// assert!(first <= std::time::Instant::now());
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready` with its scheduled instant once it is due, otherwise
    /// `Pending` with `cx`'s waker registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll};
    /// use std::time::Duration;
    /// use fiber::time::interval;
    ///
    /// let waker = futures::task::noop_waker();
    /// let mut cx = Context::from_waker(&waker);
    /// let mut ticks = interval(Duration::from_secs(60));
    /// assert!(ticks.poll_tick(&mut cx).is_ready());
    /// assert!(ticks.poll_tick(&mut cx).is_pending());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = self.sleep.now();
        let on_schedule = add_or_far_future(scheduled, self.period);
        let next = if now < on_schedule {
            on_schedule
        } else {
            match self.missed_tick_behavior {
                MissedTickBehavior::Burst => on_schedule,
                MissedTickBehavior::Delay => add_or_far_future(now, self.period),
                MissedTickBehavior::Skip => first_tick_after(scheduled, self.period, now),
            }
        };
        Pin::new(&mut self.sleep).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use fiber::time::interval;
    ///
    /// fiber::block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     let reset_at = Instant::now();
    ///     ticks.reset(); // the immediate first tick is skipped
    ///     assert!(ticks.tick().await >= reset_at + Duration::from_millis(5));
    /// });
    /// ```
    pub fn reset(&mut self) {
        let next = add_or_far_future(self.sleep.now(), self.period);
        Pin::new(&mut self.sleep).reset(next);
    }

    /// Returns the period between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::interval;
    ///
    /// assert_eq!(interval(Duration::from_millis(3)).period(), Duration::from_millis(3));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Returns how missed ticks are handled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::{interval, MissedTickBehavior};
    ///
    /// let ticks = interval(Duration::from_millis(3));
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets how missed ticks are handled from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::{interval, MissedTickBehavior};
    ///
    /// let mut ticks = interval(Duration::from_millis(3));
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

/// An interval is an endless stream of its ticks: each item is the scheduled instant that
/// [`tick`](Interval::tick) would return. It never ends (`poll_next` never returns
/// `Ready(None)`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use fiber::time::interval;
///
/// fiber::block_on(async {
///     let ticks: Vec<_> = interval(Duration::from_millis(2)).take(3).collect().await;
///     assert_eq!(ticks[2] - ticks[0], Duration::from_millis(4));
/// });
/// ```
impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// The first instant `scheduled + k * period` (k >= 1) strictly after `now`.
///
/// Counted in `u128` nanoseconds: a short period after a long stall is more periods behind
/// than a `u32` (which `Duration::checked_mul` takes) can count.
fn first_tick_after(scheduled: Instant, period: Duration, now: Instant) -> Instant {
    let period_nanos = period.as_nanos();
    let behind = now.saturating_duration_since(scheduled).as_nanos();
    let offset_nanos = (behind / period_nanos + 1) * period_nanos;
    const NANOS_PER_SECOND: u128 = 1_000_000_000;
    let offset = u64::try_from(offset_nanos / NANOS_PER_SECOND).map_or(Duration::MAX, |secs| {
        // The remainder of a division by 10^9 fits in a u32.
        Duration::new(secs, (offset_nanos % NANOS_PER_SECOND) as u32)
    });
    add_or_far_future(scheduled, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 ns interval stalled for ten seconds is 10^10 periods behind, more than fits in a
    /// `u32`: the tick after the skip must still be in the future, and on the schedule.
    #[test]
    fn skip_after_more_periods_than_fit_in_u32_lands_in_the_future() {
        let scheduled = Instant::now();
        let period = Duration::from_nanos(1);
        let now = scheduled + Duration::from_secs(10);
        let next = first_tick_after(scheduled, period, now);
        assert!(next > now, "the tick after a skip was in the past");
        assert_eq!(next - now, Duration::from_nanos(1));
    }

    #[test]
    fn skip_keeps_the_schedule_of_a_long_period() {
        let scheduled = Instant::now();
        let period = Duration::from_millis(10);
        let now = scheduled + Duration::from_millis(35);
        assert_eq!(
            first_tick_after(scheduled, period, now),
            scheduled + Duration::from_millis(40)
        );
        // Exactly on a tick: the next one is a whole period later.
        let now = scheduled + Duration::from_millis(40);
        assert_eq!(
            first_tick_after(scheduled, period, now),
            scheduled + Duration::from_millis(50)
        );
    }
}
