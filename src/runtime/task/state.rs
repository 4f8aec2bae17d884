//! The task's state word: a handful of flags and a reference count in one atomic.
//!
//! Every transition of a task (scheduled, polled, completed, cancelled, joined) is a single
//! compare-and-swap on this word, so no lock is ever taken to poll or wake a task.
//!
//! # Flags
//!
//! - [`NOTIFIED`]: a [`Notified`](super::Notified) reference to the task sits in a run queue,
//!   or the task was woken while it was being polled and must go back to a queue when the
//!   poll returns. Set by a wake; cleared by the worker that takes the task out of a queue to
//!   run it. While it is set, further wakes are no-ops, so a task is queued at most once.
//! - [`RUNNING`]: one thread has exclusive access to the task's stage (its future or output)
//!   to poll or to cancel it. Set by the worker that pops the task, by an `abort` of an idle
//!   task, or by shutdown; cleared when the poll returns `Pending` or the task completes. A
//!   task that yields with fiber's `yield_now` on its worker keeps it through the queue (a
//!   held [`Notified`](super::Notified)): wakes meanwhile only set `NOTIFIED`, and an abort
//!   only `CANCELLED`, both seen by the held entry's next run.
//!   Nobody else touches the stage while it is set, so a task is never polled by two threads.
//! - [`COMPLETE`]: the future is gone; the stage holds the output (or nothing, once taken).
//!   Set once, together with clearing `RUNNING`; never cleared. A completed task is never
//!   polled again and waking it does nothing. From then on the stage belongs to the
//!   `JoinHandle` (if it still has [`JOIN_INTEREST`]) or to nobody.
//! - [`CANCELLED`]: an `abort` asked for the task to be cancelled. Whoever holds `RUNNING`
//!   next drops the future instead of polling it and completes the task with a cancellation
//!   error. Set by `abort`, and by a runtime's shutdown (for a task being polled, by a
//!   worker that the shutdown leaves behind blocked in place); never cleared.
//! - [`JOIN_INTEREST`]: the `JoinHandle` is alive and will read the output. Cleared by the
//!   handle's drop, but only while the task is not complete (after that, the handle drops the
//!   output itself).
//! - [`JOIN_WAKER`]: the join waker field holds the waker of whoever awaits the handle. While
//!   it is clear, the handle owns the field and may write it; while it is set, the field is
//!   read-only for both sides and the completing task wakes it. The handle sets and clears it
//!   only while the task is not complete.
//!
//! # Reference count
//!
//! The bits above [`REF_SHIFT`] count references: the owner list's (until the task
//! completes), the `JoinHandle`'s or an `AbortHandle`'s, one per `Waker`, and one per
//! `Notified` in a queue or being run. The allocation is freed when the count reaches zero.
//!
//! The word is 32 bits, so that the task's index in its owner list fits beside it in the
//! header's first 8 bytes (see [`cell`](super::cell)). That leaves 26 bits for the count:
//! a task aborts the process, as `Arc` does on overflow, when more than about 33 million
//! references to it (wakers, mostly) are alive at once, which would take at least half a
//! gigabyte of wakers stored somewhere.

use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// A `Notified` reference to the task is queued (or a re-queue is owed after the poll).
pub(crate) const NOTIFIED: u32 = 1 << 0;
/// A thread has exclusive access to the stage.
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future has finished or was dropped; never cleared.
pub(crate) const COMPLETE: u32 = 1 << 2;
/// Cancellation was requested.
pub(crate) const CANCELLED: u32 = 1 << 3;
/// The `JoinHandle` is alive.
pub(crate) const JOIN_INTEREST: u32 = 1 << 4;
/// The join waker field is set and read-only.
pub(crate) const JOIN_WAKER: u32 = 1 << 5;

/// The reference count lives in the bits from here up.
pub(crate) const REF_SHIFT: u32 = 6;
/// One reference.
pub(crate) const REF_ONE: u32 = 1 << REF_SHIFT;
/// The most references the word can count.
const MAX_REFS: usize = (u32::MAX >> REF_SHIFT) as usize;

/// A new task: queued once, joinable, and referenced by the owner list, the first
/// `Notified` and the `JoinHandle`.
const INITIAL: u32 = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// The atomic state word of one task.
pub(crate) struct State {
    value: AtomicU32,
}

/// A copy of the state word at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) u32);

impl Snapshot {
    #[inline]
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    #[inline]
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    #[inline]
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    #[inline]
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    #[inline]
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    #[inline]
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    #[inline]
    pub(crate) fn ref_count(self) -> usize {
        (self.0 >> REF_SHIFT) as usize
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("notified", &self.is_notified())
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What a worker holding a `Notified` may do with it.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the transition's outcome says what the caller must do next"]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Poll,
    /// Cancellation was requested: drop the future instead.
    Cancel,
    /// The task is complete or already held by another thread: just drop the reference.
    Failed,
}

/// What a worker must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the transition's outcome says what the caller must do next"]
pub(crate) enum TransitionToIdle {
    /// Done; the worker's reference was released in the same step.
    Idle,
    /// The task was woken during the poll: queue it again. The worker's reference now
    /// belongs to the queued task. Once queued, the task may be stolen, run to completion
    /// and freed at once, so the worker must not touch it after queueing it; where the
    /// scheduler call needs the task alive, the worker takes a reference of its own first
    /// (see `harness::poll`).
    Requeue,
    /// Cancellation was requested during the poll: the worker still holds `RUNNING` and must
    /// drop the future.
    Cancel,
}

/// What a waker must do.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the transition's outcome says what the caller must do next"]
pub(crate) enum TransitionToNotified {
    /// Nothing: the task is complete, already queued, or running (and will re-queue itself).
    DoNothing,
    /// Hand a `Notified` (holding a reference of its own, taken by the transition) to the
    /// scheduler; a consuming wake releases the waker's reference afterwards.
    Submit,
    /// The waker's reference was the last one: free the task.
    Dealloc,
}

/// What an abort (or shutdown) must do.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the transition's outcome says what the caller must do next"]
pub(crate) enum TransitionToCancelled {
    /// Nothing more: the task is complete, or whoever runs it next will cancel it.
    Deferred,
    /// The caller now holds `RUNNING` and must drop the future itself.
    CancelNow,
}

impl State {
    #[inline]
    pub(crate) fn new() -> State {
        State {
            value: AtomicU32::new(INITIAL),
        }
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.value.load(Ordering::Acquire))
    }

    /// Runs `f` on the current value until the compare-and-swap of its new value succeeds;
    /// `f` returns `None` to leave the word unchanged.
    #[inline]
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (Option<u32>, T)) -> T {
        let mut current = self.value.load(Ordering::Acquire);
        loop {
            let (next, result) = f(Snapshot(current));
            let Some(next) = next else { return result };
            match self.value.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return result,
                Err(actual) => current = actual,
            }
        }
    }

    /// A worker took a `Notified` out of a queue.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|s| {
            if s.is_complete() || s.is_running() {
                return (None, TransitionToRunning::Failed);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            let action = if s.is_cancelled() {
                TransitionToRunning::Cancel
            } else {
                TransitionToRunning::Poll
            };
            (Some(next), action)
        })
    }

    /// A poll returned `Pending`. In the [`Idle`](TransitionToIdle::Idle) case the worker's
    /// reference is released by the same step: the owner list still holds one (shutdown only
    /// takes it once no worker runs), so the count cannot reach zero here. In the
    /// [`Requeue`](TransitionToIdle::Requeue) case it passes to the queued task.
    #[inline]
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|s| {
            debug_assert!(s.is_running() && !s.is_complete());
            if s.is_cancelled() {
                return (None, TransitionToIdle::Cancel);
            }
            let cleared = s.0 & !RUNNING;
            if s.is_notified() {
                (Some(cleared), TransitionToIdle::Requeue)
            } else {
                debug_assert!(s.ref_count() >= 2);
                (Some(cleared - REF_ONE), TransitionToIdle::Idle)
            }
        })
    }

    /// A held `Notified` gives its `RUNNING` flag back without a poll, leaving the task
    /// queued (`NOTIFIED`) as if it had been woken: one step, so no wake in between can
    /// queue it a second time.
    #[inline]
    pub(crate) fn release_held(&self) {
        self.update(|s| {
            debug_assert!(s.is_running() && !s.is_complete());
            (Some((s.0 & !RUNNING) | NOTIFIED), ())
        });
    }

    /// The future finished or was dropped. Returns the state just before.
    #[inline]
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let previous = Snapshot(self.value.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(previous.is_running() && !previous.is_complete());
        previous
    }

    /// A waker is consumed by `wake`. Its reference is released here when there is nothing
    /// to do; on [`Submit`](TransitionToNotified::Submit) a new one is taken for the
    /// `Notified` and the waker's is released only after the task is queued (the task must
    /// outlive the scheduler call, whose `&self` lives inside it).
    #[inline]
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_notified() || s.is_running() {
                // A running task only needs the flag: the worker re-queues it after the poll.
                let flagged = if s.is_running() { s.0 | NOTIFIED } else { s.0 };
                let next = flagged - REF_ONE;
                let action = if Snapshot(next).ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                };
                (Some(next), action)
            } else {
                assert_ref_count_fits(s);
                (
                    Some((s.0 | NOTIFIED) + REF_ONE),
                    TransitionToNotified::Submit,
                )
            }
        })
    }

    /// `wake_by_ref`: a new reference is taken for the `Notified` when one is submitted.
    #[inline]
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (None, TransitionToNotified::DoNothing)
            } else if s.is_running() {
                (Some(s.0 | NOTIFIED), TransitionToNotified::DoNothing)
            } else {
                assert_ref_count_fits(s);
                (
                    Some((s.0 | NOTIFIED) + REF_ONE),
                    TransitionToNotified::Submit,
                )
            }
        })
    }

    /// `JoinHandle::abort`: cancel an idle task on the spot, otherwise leave a flag for
    /// whoever runs it next.
    #[inline]
    pub(crate) fn transition_to_cancelled(&self) -> TransitionToCancelled {
        self.update(|s| {
            if s.is_complete() || s.is_cancelled() {
                (None, TransitionToCancelled::Deferred)
            } else if s.is_running() || s.is_notified() {
                (Some(s.0 | CANCELLED), TransitionToCancelled::Deferred)
            } else {
                (
                    Some(s.0 | CANCELLED | RUNNING),
                    TransitionToCancelled::CancelNow,
                )
            }
        })
    }

    /// Runtime shutdown: no worker is left, so a queued task is taken too. A running task
    /// (a poll that the shutdown left behind, blocked in place) is marked cancelled, so that
    /// its poller drops the future when the poll returns instead of making it idle.
    #[inline]
    pub(crate) fn transition_to_shutdown(&self) -> TransitionToCancelled {
        self.update(|s| {
            if s.is_complete() || s.is_cancelled() && s.is_running() {
                (None, TransitionToCancelled::Deferred)
            } else if s.is_running() {
                (Some(s.0 | CANCELLED), TransitionToCancelled::Deferred)
            } else {
                (
                    Some(s.0 | CANCELLED | RUNNING),
                    TransitionToCancelled::CancelNow,
                )
            }
        })
    }

    /// The `JoinHandle` is dropped before completion: clears `JOIN_INTEREST` and
    /// `JOIN_WAKER` together. Fails once the task is complete.
    #[inline]
    pub(crate) fn unset_join_interested(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)), Ok(s))
            }
        })
    }

    /// Publishes the join waker that the handle just wrote. Fails once complete.
    #[inline]
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(s))
            }
        })
    }

    /// Takes the join waker field back so the handle may replace it. Fails once complete.
    #[inline]
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(s))
            }
        })
    }

    #[inline]
    pub(crate) fn ref_inc(&self) {
        let previous = Snapshot(self.value.fetch_add(REF_ONE, Ordering::Relaxed));
        assert_ref_count_fits(previous);
    }

    /// Releases `count` references; returns true if they were the last.
    #[inline]
    pub(crate) fn ref_dec(&self, count: u32) -> bool {
        let previous = Snapshot(self.value.fetch_sub(count * REF_ONE, Ordering::AcqRel));
        debug_assert!(previous.ref_count() >= count as usize);
        previous.ref_count() == count as usize
    }
}

/// Wakers can be cloned without bound; stop before the count would overflow into nonsense,
/// as `Arc` does.
fn assert_ref_count_fits(s: Snapshot) {
    if s.ref_count() > MAX_REFS / 2 {
        std::process::abort();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn new_task_is_queued_joinable_and_has_three_references() {
        let s = State::new().load();
        assert!(s.is_notified() && s.is_join_interested());
        assert!(!s.is_running() && !s.is_complete() && !s.is_cancelled());
        assert_eq!(s.ref_count(), 3);
    }

    #[test]
    fn wake_while_running_requeues_once_after_the_poll() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Poll);
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Requeue);
        // The worker's reference passed to the queue.
        assert_eq!(state.load().ref_count(), 3);
        assert!(state.load().is_notified());
    }

    #[test]
    fn idle_wake_takes_a_reference_and_a_second_wake_does_nothing() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Poll);
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Idle);
        assert_eq!(state.load().ref_count(), 2);
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::Submit
        );
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(state.load().ref_count(), 3);
    }

    #[test]
    fn completed_task_cannot_run_again_or_be_woken() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Poll);
        state.transition_to_complete();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Failed);
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(
            state.transition_to_cancelled(),
            TransitionToCancelled::Deferred
        );
    }

    #[test]
    fn abort_of_idle_task_takes_running_and_of_queued_task_defers() {
        let state = State::new();
        assert_eq!(
            state.transition_to_cancelled(),
            TransitionToCancelled::Deferred
        );
        assert_eq!(state.transition_to_running(), TransitionToRunning::Cancel);

        let idle = State::new();
        assert_eq!(idle.transition_to_running(), TransitionToRunning::Poll);
        assert_eq!(idle.transition_to_idle(), TransitionToIdle::Idle);
        assert_eq!(
            idle.transition_to_cancelled(),
            TransitionToCancelled::CancelNow
        );
        assert!(idle.load().is_running());
    }

    #[test]
    fn join_interest_cannot_be_dropped_after_completion() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Poll);
        state.transition_to_complete();
        assert!(state.unset_join_interested().is_err());
        assert!(state.load().is_join_interested());
    }

    #[test]
    fn last_wake_by_val_deallocates() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Poll);
        state.transition_to_complete();
        assert!(!state.ref_dec(2));
        assert_eq!(
            state.transition_to_notified_by_val(),
            TransitionToNotified::Dealloc
        );
    }
}
