//! Driving a future to completion on the calling thread: the heart of `block_on`.
//!
//! Each thread keeps one parker and one waker for it, made on first use, so a warm
//! `block_on` allocates nothing: it polls, and between polls parks the thread (a futex wait
//! on Linux) until the waker fires. Each poll gets a fresh cooperative budget ([`coop`]).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::coop;

struct Parker {
    notified: AtomicBool,
    thread: Thread,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake since the last poll pays for an unpark.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

struct ThreadParker {
    parker: Arc<Parker>,
    waker: Waker,
}

thread_local! {
    static PARKER: ThreadParker = {
        let parker = Arc::new(Parker {
            notified: AtomicBool::new(false),
            thread: thread::current(),
        });
        ThreadParker { waker: Waker::from(parker.clone()), parker }
    };
}

/// Polls `future` on this thread until it completes. The caller has checked that blocking
/// here is allowed.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    PARKER.with(|ThreadParker { parker, waker }| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return output;
            }
            // `park` may return spuriously; only a wake counts.
            while !parker.notified.swap(false, Ordering::Acquire) {
                thread::park();
            }
        }
    })
}
