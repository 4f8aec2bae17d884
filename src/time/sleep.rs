//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::driver::Registration;
use crate::runtime::coop;

/// Waits until `duration` has elapsed.
///
/// The deadline is computed now, when `sleep` is called, not when the future is first
/// polled. A zero duration completes on the first poll. A duration too long to add to the
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
/// futures::executor::block_on(sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    sleep_until(add_or_far_future(now, duration))
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
/// futures::executor::block_on(sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registration: None,
        elapsed: false,
    }
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
/// frees its slot. Unlike some runtimes' sleeps, it is `Unpin`: it can be polled through
/// `&mut` without pinning.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::sleep;
///
/// futures::executor::block_on(async {
///     let pause = sleep(Duration::from_millis(1));
///     pause.await;
/// });
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The timer, once a poll found the deadline in the future.
    registration: Option<Registration>,
    /// Set when a poll returned `Ready`; cleared by `reset`.
    elapsed: bool,
}

impl Sleep {
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
    /// futures::executor::block_on(&mut pause);
    /// assert!(pause.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
            || self
                .registration
                .as_ref()
                .is_some_and(Registration::is_fired)
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
    /// futures::executor::block_on(async {
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
        this.deadline = deadline;
        this.elapsed = false;
        if let Some(registration) = &mut this.registration {
            registration.reschedule(deadline);
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
        let fired = match &this.registration {
            Some(registration) => registration.poll_fired(cx.waker()),
            // Past deadlines complete without touching the driver.
            None if this.deadline <= Instant::now() => true,
            None => match Registration::new(this.deadline, cx.waker()) {
                Some(registration) => {
                    this.registration = Some(registration);
                    false
                }
                None => true,
            },
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

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("is_elapsed", &self.is_elapsed())
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
