//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::clock::{self, Clock, Timeline};
use super::driver::Registration;
use crate::runtime::coop;

/// Waits until `duration` has elapsed.
///
/// The deadline is computed now, when `sleep` is called, not when the future is first
/// polled: from [`Instant::now`], or from the runtime's paused clock (see
/// [`pause`](super::pause)) when called inside a runtime whose clock has been paused. A zero duration completes on the first poll. A duration too long to add to the
/// current instant (such as [`Duration::MAX`]) never completes in practice; see
/// [`sleep_until`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::sleep;
///
/// let start = Instant::now();
/// fiber::block_on(sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let clock = clock::current_virtual();
    let now = clock
        .as_ref()
        .map_or_else(Instant::now, |clock| clock.now());
    Sleep::new(add_or_far_future(now, duration), clock)
}

/// Waits until `deadline` is reached.
///
/// A deadline in the past completes on the first poll. The future never completes before
/// `deadline`: the timer driver counts whole milliseconds and rounds deadlines up, so it
/// fires within about a millisecond after the deadline on an idle machine.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::sleep_until;
///
/// let deadline = Instant::now() + Duration::from_millis(10);
/// fiber::block_on(sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, clock::current_virtual())
}

/// `now + duration`, or an instant decades ahead when that overflows `Instant`.
pub(super) fn add_or_far_future(now: Instant, duration: Duration) -> Instant {
    const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);
    let mut duration = duration;
    loop {
        if let Some(deadline) = now.checked_add(duration) {
            return deadline;
        }
        // Halving at most 64 times reaches a duration every platform's `Instant` can add.
        duration = (duration / 2).min(FAR_FUTURE);
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// A `Sleep` does nothing until first polled. If its deadline has not passed then, it
/// registers a timer with fiber's timer driver; dropping the `Sleep` cancels that timer and
/// frees its slot. A `Sleep` made, or first polled, inside a runtime whose clock has been
/// paused (see [`pause`](super::pause)) counts its deadline on that runtime's clock. Unlike some runtimes' sleeps, it is `Unpin`: it can be polled through
/// `&mut` without pinning.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::sleep;
///
/// fiber::block_on(async {
///     let pause = sleep(Duration::from_millis(1));
///     pause.await;
/// });
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The timer, once a poll found the deadline in the future.
    wait: Option<Wait>,
    /// Set when a poll returned `Ready`; cleared by `reset`.
    elapsed: bool,
    /// The clock of the runtime this `Sleep` was made in, if that clock has ever been
    /// paused: the deadline is then on that runtime's time.
    clock: Option<Arc<Clock>>,
}

/// Where a polled `Sleep` waits.
#[derive(Debug)]
enum Wait {
    /// On the global driver, at a real instant.
    Driver(Registration),
    /// On its runtime's paused clock, with this id.
    Paused(u64),
}

impl Sleep {
    fn new(deadline: Instant, clock: Option<Arc<Clock>>) -> Sleep {
        Sleep {
            deadline,
            wait: None,
            elapsed: false,
            clock,
        }
    }

    /// The now of this `Sleep`'s time: its runtime's, if that clock has been paused.
    pub(super) fn now(&self) -> Instant {
        self.clock
            .as_ref()
            .map_or_else(Instant::now, |clock| clock.now())
    }

    /// Returns the instant at which this future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use fiber::time::sleep_until;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Returns `true` once the deadline has been observed to pass: a poll returned `Ready`,
    /// or the timer driver fired the registered timer. Resetting clears it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::sleep;
    ///
    /// let mut pause = sleep(Duration::ZERO);
    /// assert!(!pause.is_elapsed());
    /// fiber::block_on(&mut pause);
    /// assert!(pause.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        if self.elapsed {
            return true;
        }
        match (&self.clock, &self.wait) {
            (Some(clock), _) => self.deadline <= clock.now(),
            (None, Some(Wait::Driver(registration))) => registration.is_fired(),
            (None, _) => false,
        }
    }

    /// Moves the deadline to `deadline`, earlier or later, whether or not the `Sleep` has
    /// already completed; a completed `Sleep` is re-armed. A task already waiting on this
    /// `Sleep` keeps waiting, and is woken at the new deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    /// use std::time::{Duration, Instant};
    /// use fiber::time::sleep;
    ///
    /// fiber::block_on(async {
    ///     let mut pause = sleep(Duration::ZERO);
    ///     (&mut pause).await;
    ///     let deadline = Instant::now() + Duration::from_millis(5);
    ///     Pin::new(&mut pause).reset(deadline);
    ///     assert!(!pause.is_elapsed());
    ///     pause.await;
    ///     assert!(Instant::now() >= deadline);
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        match &this.clock {
            None => {
                if let Some(Wait::Driver(registration)) = &mut this.wait {
                    registration.reschedule(deadline);
                }
            }
            // On a runtime's clock the new deadline may belong on the other timeline: wake
            // the waiting task, whose next poll waits where the deadline belongs.
            Some(clock) => match this.wait.take() {
                Some(Wait::Paused(id)) => {
                    if let Some(waker) = clock.remove(this.deadline, id) {
                        waker.wake();
                    }
                }
                // A deadline in the past fires the timer, which wakes the task.
                Some(Wait::Driver(mut registration)) => registration.reschedule(Instant::now()),
                None => {}
            },
        }
        this.deadline = deadline;
        this.elapsed = false;
    }

    /// Polls on the global driver, `deadline` being a real instant: whether it has passed.
    fn poll_driver(wait: &mut Option<Wait>, deadline: Instant, waker: &Waker) -> bool {
        if let Some(Wait::Driver(registration)) = wait {
            return registration.poll_fired(waker);
        }
        // Past deadlines complete without touching the driver.
        if deadline <= Instant::now() {
            return true;
        }
        match Registration::new(deadline, waker) {
            Some(registration) => {
                *wait = Some(Wait::Driver(registration));
                false
            }
            None => true,
        }
    }

    /// Polls on the runtime's clock `clock`: whether its time has reached the deadline.
    fn poll_clock(&mut self, clock: &Clock, waker: &Waker) -> bool {
        loop {
            match clock.timeline() {
                Timeline::Paused(now) => {
                    if self.deadline <= now {
                        self.forget(clock);
                        return true;
                    }
                    if let Some(Wait::Paused(id)) = self.wait {
                        if clock.update_waker(self.deadline, id, waker) {
                            return false;
                        }
                    }
                    self.forget(clock);
                    if let Some(id) = clock.register(self.deadline, waker.clone()) {
                        self.wait = Some(Wait::Paused(id));
                        return false;
                    }
                    // Advanced or resumed meanwhile: look again.
                }
                Timeline::Running(mapping) => {
                    if let Some(Wait::Paused(_)) = self.wait {
                        self.forget(clock);
                    }
                    let real_deadline = mapping.real_instant(self.deadline);
                    if !Self::poll_driver(&mut self.wait, real_deadline, waker) {
                        return false;
                    }
                    // Waiting since before a pause may have moved the clock ahead: only the
                    // runtime's own time says whether the deadline is reached.
                    if self.deadline <= clock.now() {
                        self.wait = None;
                        return true;
                    }
                    self.wait = None;
                }
            }
        }
    }

    /// Drops the timer this `Sleep` waits on, wherever it is.
    fn forget(&mut self, clock: &Clock) {
        match self.wait.take() {
            // The waker is dropped here, after the clock's lock is released.
            Some(Wait::Paused(id)) => drop(clock.remove(self.deadline, id)),
            Some(Wait::Driver(registration)) => drop(registration),
            None => {}
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // An elapsed sleep is a ready resource: a task looping over `sleep(Duration::ZERO)`
        // must yield once its budget is spent (see `coop`).
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let this = self.get_mut();
        if this.elapsed {
            coop.made_progress();
            return Poll::Ready(());
        }
        if this.clock.is_none() && this.wait.is_none() {
            // Made outside a paused runtime (say, as the argument of its `block_on`) but
            // first polled inside one: its deadline is on that runtime's time.
            this.clock = clock::current_virtual();
        }
        let fired = match this.clock.take() {
            None => Self::poll_driver(&mut this.wait, this.deadline, cx.waker()),
            Some(clock) => {
                let fired = this.poll_clock(&clock, cx.waker());
                this.clock = Some(clock);
                fired
            }
        };
        if fired {
            this.elapsed = true;
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // A timer on the driver unregisters itself; one on a paused clock is taken off here.
        if let Some(clock) = self.clock.take() {
            self.forget(&clock);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("is_elapsed", &self.is_elapsed())
            .field("registered", &self.wait.is_some())
            .field("on_paused_clock", &self.clock.is_some())
            .finish()
    }
}
