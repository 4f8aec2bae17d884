//! The cooperative budget: how many times a task may find fiber's resources ready in one poll
//! before they make it yield.
//!
//! A task that loops over futures which are always ready (an elapsed [`Sleep`], a finished
//! [`JoinHandle`], a socket with data waiting) never returns `Pending` by itself, so without
//! a budget it would keep its worker forever and starve every other task queued there. So
//! each poll of a task by a worker, and each poll of a `block_on` future, runs with a budget
//! of [`BUDGET`] units, and each of fiber's resources takes one unit whenever it is ready.
//! Once the budget is spent, resources return `Pending` after waking the task, which then
//! goes to the back of its worker's queue and finds a fresh budget on its next poll.
//!
//! Anywhere else (a future polled by another executor, or by user code outside fiber's
//! workers) the budget is unlimited, so fiber's resources behave as if it did not exist.
//! [`unconstrained`](crate::task::unconstrained) lifts the budget for one future.
//!
//! # For resources
//!
//! A resource calls [`poll_proceed`] at the top of its `poll` and, if it turns out ready,
//! calls [`RestoreOnPending::made_progress`]; if it returns `Pending` anyway, dropping the
//! guard gives the unit back, as a resource that made no progress has used nothing:
//!
//! ```ignore
//! fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
//!     let coop = ready!(crate::runtime::coop::poll_proceed(cx));
//!     let read = ready!(self.poll_read_ready_and_read(cx, buf));
//!     coop.made_progress();
//!     Poll::Ready(read)
//! }
//! ```
//!
//! The budget is one byte in a thread-local `Cell`; taking a unit is a load, two compares
//! and a store, and a worker's reset before each poll one store.
//!
//! [`Sleep`]: crate::time::Sleep
//! [`JoinHandle`]: crate::JoinHandle

use std::cell::Cell;
use std::task::{Context, Poll};

/// The units a task gets for one poll, as in tokio.
const BUDGET: u8 = 128;
/// The value of [`REMAINING`] that means "no budget": outside fiber's polls, or inside
/// `unconstrained`.
const UNCONSTRAINED: u8 = u8::MAX;

thread_local! {
    /// The units left to the poll running on this thread, or [`UNCONSTRAINED`].
    static REMAINING: Cell<u8> = const { Cell::new(UNCONSTRAINED) };
}

/// Gives the thread a fresh budget: a worker calls this before each poll of a task. It
/// saves a load and a store on every poll over [`budget`], which puts the previous budget
/// back; the worker calls [`remove_budget`] instead when its loop ends, so that what runs on
/// its thread afterwards (hooks, destructors) is not constrained.
#[inline]
pub(crate) fn reset_budget() {
    REMAINING.set(BUDGET);
}

/// Makes the thread's budget unlimited again; see [`reset_budget`].
#[inline]
pub(crate) fn remove_budget() {
    REMAINING.set(UNCONSTRAINED);
}

/// Runs `f` (one poll of a `block_on` future) with a fresh budget, and puts the thread's
/// previous budget back afterwards.
#[inline]
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(BUDGET, f)
}

/// Runs `f` with an unlimited budget, and puts the thread's previous budget back afterwards.
#[inline]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(UNCONSTRAINED, f)
}

#[inline]
fn with_budget<R>(budget: u8, f: impl FnOnce() -> R) -> R {
    /// Puts the previous budget back even if `f` panics (a `block_on` future may).
    struct Restore(u8);

    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            REMAINING.set(self.0);
        }
    }

    let _restore = Restore(REMAINING.replace(budget));
    f()
}

/// Takes one unit of the budget for a resource about to be polled.
///
/// Returns `Pending`, after arranging for the task to be polled again, when the budget is
/// spent: the caller returns `Pending` straight away. Otherwise returns a guard that gives
/// the unit back when dropped, unless the resource calls
/// [`made_progress`](RestoreOnPending::made_progress) on it.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let refund = match REMAINING.get() {
        UNCONSTRAINED => Some(false),
        0 => None,
        units => {
            REMAINING.set(units - 1);
            Some(true)
        }
    };
    match refund {
        Some(refund) => Poll::Ready(RestoreOnPending { refund }),
        None => {
            // The wake gets the task polled again, behind the work already queued. (Rare
            // enough, once per budget, not to need `yield_now`'s held requeue.)
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A unit of budget taken by [`poll_proceed`]; dropping it gives the unit back unless
/// [`made_progress`](RestoreOnPending::made_progress) was called.
#[must_use = "dropping the guard at once gives the unit back: keep it until the resource's poll returns"]
#[derive(Debug)]
pub(crate) struct RestoreOnPending {
    /// Whether dropping this gives a unit back: the budget was limited and the resource
    /// has not made progress.
    refund: bool,
}

impl RestoreOnPending {
    /// The resource was ready: the unit stays spent.
    #[inline]
    pub(crate) fn made_progress(mut self) {
        self.refund = false;
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if self.refund {
            let units = REMAINING.get();
            if units < BUDGET {
                REMAINING.set(units + 1);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    use crate::test_support::CountWakes;

    fn noop_waker() -> Waker {
        Waker::from(CountWakes::new())
    }

    fn remaining() -> Option<u8> {
        Some(REMAINING.get()).filter(|&units| units != UNCONSTRAINED)
    }

    #[test]
    fn outside_a_budget_every_poll_proceeds() {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..1000 {
            let Poll::Ready(coop) = poll_proceed(&mut cx) else {
                panic!("an unlimited budget ran out");
            };
            coop.made_progress();
        }
        assert_eq!(remaining(), None);
    }

    #[test]
    fn a_budget_runs_out_after_its_units_and_is_restored_afterwards() {
        let wakes = CountWakes::new();
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let proceeded = budget(|| {
            let mut proceeded = 0;
            while let Poll::Ready(coop) = poll_proceed(&mut cx) {
                coop.made_progress();
                proceeded += 1;
            }
            proceeded
        });
        assert_eq!(proceeded, usize::from(BUDGET));
        assert_eq!(
            wakes.count(),
            1,
            "a spent budget wakes the task to poll it again"
        );
        assert_eq!(remaining(), None);
    }

    #[test]
    fn a_resource_that_stays_pending_gives_its_unit_back() {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            let Poll::Ready(coop) = poll_proceed(&mut cx) else {
                panic!("a fresh budget ran out");
            };
            assert_eq!(remaining(), Some(BUDGET - 1));
            drop(coop);
            assert_eq!(remaining(), Some(BUDGET));
        });
    }

    #[test]
    fn a_reset_budget_stays_until_removed() {
        reset_budget();
        assert_eq!(remaining(), Some(BUDGET));
        remove_budget();
        assert_eq!(remaining(), None);
    }

    #[test]
    fn unconstrained_lifts_the_budget_and_puts_it_back() {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            with_unconstrained(|| {
                for _ in 0..usize::from(BUDGET) * 2 {
                    let Poll::Ready(coop) = poll_proceed(&mut cx) else {
                        panic!("an unconstrained poll ran out of budget");
                    };
                    coop.made_progress();
                }
            });
            assert_eq!(remaining(), Some(BUDGET));
        });
    }
}
