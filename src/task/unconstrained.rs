//! [`unconstrained`]: run a future outside the cooperative budget.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::runtime::coop;

pin_project! {
    /// Future for [`unconstrained`].
    #[must_use = "futures do nothing unless you .await or poll them"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

/// Turns off the cooperative budget for `inner`: fiber's resources inside it never make it
/// yield, however often they are ready.
///
/// Normally a task that finds fiber's timers, join handles or sockets ready again and again
/// yields to its worker's other tasks after a budget of 128 of them per poll, so that it
/// cannot starve them. Inside `unconstrained`, it runs until it is really `Pending`. Use it
/// for short bursts whose latency matters more than fairness: a loop that never waits can
/// keep its worker to itself for as long as it runs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = fiber::Runtime::new().unwrap();
/// let ticks = rt.block_on(fiber::task::unconstrained(async {
///     let mut ticks = 0;
///     for _ in 0..1000 {
///         // Already elapsed: ready at once, and never a reason to yield in here.
///         fiber::time::sleep(Duration::ZERO).await;
///         ticks += 1;
///     }
///     ticks
/// }));
/// assert_eq!(ticks, 1000);
/// ```
pub fn unconstrained<F: Future>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        coop::with_unconstrained(|| inner.poll(cx))
    }
}
