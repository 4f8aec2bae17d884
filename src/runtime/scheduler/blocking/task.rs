//! A blocking job as a task: the closure wrapped in a future that runs it on its first poll,
//! so that a job gets the ordinary [`JoinHandle`](crate::JoinHandle), abort and panic
//! handling of fiber's task machinery.

use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::runtime::task::{Header, Notified, Schedule, Task};

/// Runs `f` when polled, which happens once, on a blocking thread.
pub(crate) struct BlockingTask<F> {
    f: Option<F>,
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(f: F) -> BlockingTask<F> {
        BlockingTask { f: Some(f) }
    }
}

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .f
            .take()
            .expect("a blocking task is polled once: it completes on its first poll");
        Poll::Ready(f())
    }
}

/// The scheduler of blocking tasks. They are queued by the pool itself (see
/// [`BlockingPool::spawn`](super::pool::BlockingPool::spawn)) and complete on their first
/// poll, so nothing ever wakes or requeues them; and they are in no owner list: the pool
/// holds the owner's reference of each queued job.
#[derive(Debug)]
pub(crate) struct BlockingSchedule;

impl Schedule for BlockingSchedule {
    fn schedule(&self, _task: Notified) {
        unreachable!("a blocking task never returns `Pending`, so it is never woken")
    }

    fn yield_now(&self, _task: Notified) {
        unreachable!("a blocking task never returns `Pending`, so it never yields")
    }

    fn release(&self, _task: NonNull<Header>) -> Option<Task> {
        None
    }
}
