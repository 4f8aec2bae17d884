//! Driving a future to completion on the calling thread: the heart of `block_on`.
//!
//! Each thread keeps one parker ([`parker`]), taken on first use, so a warm `block_on`
//! allocates nothing: it polls, and between polls parks the thread until the waker fires.
//! Each poll gets a fresh cooperative budget ([`coop`]).
//!
//! A future that wakes itself while it is being polled (`yield_now`, or a combinator such as
//! `FuturesUnordered` that hands back control after a few of its futures yielded) is the
//! common case, and needs no atomic read-modify-write at all: the waker sees from a
//! thread-local that it runs on the thread polling its own `block_on`, and only sets a flag
//! with a plain store, which the loop reads once the poll returns. Wakes from anywhere else
//! go through the parker's atomic state.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use super::coop;
use super::scheduler::Scheduler;
use crate::time::{BlockerGuard, ParkedThread};

mod parker;

use parker::Parker;

/// Polls `future` on this thread until it completes, inside `runtime` if given (and
/// counted by its clock as `blocker`). The caller has checked that blocking here is allowed.
#[inline]
pub(crate) fn block_on<F: Future>(
    future: F,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    let borrowed;
    let parker = match parker::current() {
        Some(parker) => parker,
        None => {
            // The thread's locals are being destroyed: a parker for this call alone.
            borrowed = parker::Borrowed::take();
            borrowed.0
        }
    };
    run(parker, future, runtime)
}

/// Polls once in line, so that a future that is ready at once (the common case for a
/// `block_on` in a loop) costs no more than its poll and the marks around it; only a future
/// that returns `Pending` goes on to the loop, out of line.
#[inline]
fn run<F: Future>(
    parker: &'static Parker,
    future: F,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    let mut future = pin!(future);
    // Dropping this waker does nothing, but through an indirect call that the compiler
    // cannot see through: leaving it undropped saves that call on every `block_on`.
    let waker = ManuallyDrop::new(parker.waker());
    let mut cx = Context::from_waker(&waker);
    if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
        return output;
    }
    wait_and_poll(parker, future, &mut cx, runtime)
}

/// The rest of [`run`] once the first poll returned `Pending`: waits for a wake, polls
/// again, until the future completes.
#[inline(never)]
fn wait_and_poll<F: Future>(
    parker: &'static Parker,
    mut future: Pin<&mut F>,
    cx: &mut Context<'_>,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    loop {
        if !parker.take_woken_in_poll() {
            match runtime {
                Some((scheduler, blocker)) if blocker.is_counted() => {
                    wait_counted(parker, scheduler)
                }
                _ => {
                    while !parker.take_notified() {
                        parker.park();
                    }
                }
            }
        }
        if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(cx)) {
            return output;
        }
    }
}

/// Waits for a wake while the runtime's paused clock counts this thread: it tells the clock
/// it is idle, so that the clock may jump to its next timer once the workers are idle too.
#[cold]
fn wait_counted(parker: &'static Parker, scheduler: &Scheduler) {
    if parker.take_notified() {
        // Woken while it polled: poll again at once.
        return;
    }
    let thread: &'static dyn ParkedThread = parker;
    if scheduler.clock().blocker_parks(thread) {
        // The workers may all be parked already, with nobody left to notice the idle
        // runtime: wake one to look.
        scheduler.notify_parked();
    }
    while !thread.is_woken() {
        parker.park();
    }
    // Still flagged as woken while it leaves the clock's idle list, so that the clock never
    // sees it idle from now on.
    scheduler.clock().blocker_wakes(thread);
    parker.take_notified();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::mpsc;
    use std::task::Poll;
    use std::thread;
    use std::time::Duration;

    use crate::Runtime;

    /// A guard of another runtime, made before a `block_on` and dropped inside it, puts back
    /// the runtime current before it, but not the permission to block: a `block_on` inside
    /// still panics (it would share the thread's parker with the outer one and could take
    /// the outer future's wake), and the outer one goes on, its wake from another thread
    /// intact.
    #[test]
    fn an_out_of_order_guard_never_lets_a_nested_block_on_in() {
        let (finished, outcome) = mpsc::channel();
        thread::spawn(move || {
            let rt = Runtime::new().unwrap();
            let outside = Runtime::new().unwrap();
            let mut guard = Some(outside.enter());
            let mut step = 0;
            let rt_ref = &rt;
            let result = rt.block_on(std::future::poll_fn(move |cx| {
                step += 1;
                if step > 1 {
                    return Poll::Ready(step);
                }
                drop(guard.take());
                let waker = cx.waker().clone();
                thread::spawn(move || waker.wake());
                let nested = panic::catch_unwind(AssertUnwindSafe(|| rt_ref.block_on(async {})));
                let message = nested.expect_err("a nested block_on ran");
                let message = message.downcast_ref::<&str>().copied().unwrap_or_default();
                assert!(message.contains("cannot call `block_on`"), "{message}");
                Poll::Pending
            }));
            let _ = finished.send(result);
        });
        let result = outcome.recv_timeout(Duration::from_secs(10));
        assert_eq!(
            result,
            Ok(2),
            "the outer block_on lost its wake, or panicked"
        );
    }
}
