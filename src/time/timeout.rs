//! [`Timeout`]: a future with a deadline.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::{sleep, sleep_until, Elapsed, Sleep};
use crate::runtime::coop;

/// Runs `future` for at most `duration`.
///
/// Resolves to `Ok` with the future's output if it completes in time, or to
/// `Err(`[`Elapsed`]`)` once `duration` has passed; the future is then dropped with the
/// `Timeout`. The inner future is polled before the deadline is checked, so a future that is
/// ready returns `Ok` even when the deadline has passed (even with a zero `duration`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{sleep, timeout};
///
/// fiber::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
///     let slow = sleep(Duration::from_secs(60));
///     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep(duration),
    }
}

/// Runs `future` until `deadline` at most; like [`timeout`] with an instant.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::{timeout_at, Elapsed};
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// let never = std::future::pending::<()>();
/// let result = fiber::block_on(timeout_at(deadline, never));
/// assert_eq!(result, Err(Elapsed));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::{timeout, Timeout};
    ///
    /// let guarded: Timeout<_> = timeout(Duration::from_secs(1), async { "done" });
    /// assert_eq!(fiber::block_on(guarded), Ok("done"));
    /// ```
    #[must_use = "futures do nothing unless you .await or poll them"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// Returns the instant at which this timeout elapses.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use fiber::time::timeout_at;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(timeout_at(deadline, async {}).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Returns a reference to the inner future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::timeout;
    ///
    /// let guarded = timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &std::future::Ready<i32> = guarded.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Consumes the `Timeout`, returning the inner future and cancelling the timer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::time::timeout;
    ///
    /// let guarded = timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(fiber::block_on(guarded.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // The timer is looked at whatever budget the inner future left: a future that spends
        // the whole budget at every poll must still time out.
        coop::with_unconstrained(|| Pin::new(this.sleep).poll(cx)).map(|()| Err(Elapsed))
    }
}
