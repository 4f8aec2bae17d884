//! [`yield_now`]: give other tasks a turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once to the executor: the first poll returns `Pending` and arranges for the task to
/// be polled again, the second returns `Ready`.
///
/// On fiber's workers the task goes to the back of its worker's queue, behind every task
/// already waiting there (when `yield_now` is awaited directly by a task, the worker requeues
/// it without a wake-up at all, which makes a yield cost about 18 ns). Inside a combinator
/// that gives its futures wakers of their own, and under other executors, the first poll
/// wakes the task's waker, so the executor polls it again as soon as it allows.
///
/// # Examples
///
/// ```
/// # fiber::block_on(async {
/// for _ in 0..3 {
///     // A long loop that lets other tasks run between its steps.
///     fiber::yield_now().await;
/// }
/// # });
/// ```
#[inline]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future for [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // On a worker polling this task with the task's own waker, the worker requeues the
        // task behind the others when the poll returns, without the wake's atomics;
        // anywhere else (another executor, or inside a combinator that hands its futures
        // wakers of its own), waking is what makes the caller poll again.
        if !crate::runtime::scheduler::current::request_yield(cx.waker()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
