//! The pieces that `join!`, `try_join!` and `select!` expand to.
//!
//! Public only so that the macros can name them through `$crate::__private`; not part of
//! the API, and free to change.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// One `join!` branch: its future while it runs, then its output until `join!` takes it.
    ///
    /// Storing the output drops the future in place, so a finished branch releases what it
    /// held while its siblings keep running.
    pub struct MaybeDone<Fut: Future> {
        #[pin]
        state: MaybeDoneState<Fut>,
    }
}

pin_project! {
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    enum MaybeDoneState<Fut: Future> {
        Running {
            #[pin]
            future: Fut,
        },
        Done {
            output: Fut::Output,
        },
        Taken,
    }
}

impl<Fut: Future> MaybeDone<Fut> {
    /// Wraps a future that has not run yet.
    pub fn new(future: Fut) -> Self {
        Self {
            state: MaybeDoneState::Running { future },
        }
    }

    /// Polls the future if it is still running; `Ready` once its output is stored.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.project().state;
        match state.as_mut().project() {
            MaybeDoneProj::Running { future } => {
                let output = ready!(future.poll(cx));
                state.set(MaybeDoneState::Done { output });
                Poll::Ready(())
            }
            MaybeDoneProj::Done { .. } => Poll::Ready(()),
            MaybeDoneProj::Taken => panic!("`join!` branch polled after its output was taken"),
        }
    }

    /// Takes the stored output. Panics unless `poll_done` has returned `Ready`.
    pub fn take_output(self: Pin<&mut Self>) -> Fut::Output {
        match self.project().state.project_replace(MaybeDoneState::Taken) {
            MaybeDoneReplace::Done { output } => output,
            _ => panic!("`join!` took the output of a branch that had not finished"),
        }
    }
}

impl<Fut: Future> fmt::Debug for MaybeDone<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            MaybeDoneState::Running { .. } => "MaybeDone::Running",
            MaybeDoneState::Done { .. } => "MaybeDone::Done",
            MaybeDoneState::Taken => "MaybeDone::Taken",
        })
    }
}

pin_project! {
    /// One `try_join!` branch: its future while it runs, then its `Ok` value until
    /// `try_join!` takes it.
    pub struct TryMaybeDone<Fut, T> {
        #[pin]
        state: TryMaybeDoneState<Fut, T>,
    }
}

pin_project! {
    #[project = TryMaybeDoneProj]
    #[project_replace = TryMaybeDoneReplace]
    enum TryMaybeDoneState<Fut, T> {
        Running {
            #[pin]
            future: Fut,
        },
        Done {
            value: T,
        },
        Taken,
    }
}

impl<Fut, T, E> TryMaybeDone<Fut, T>
where
    Fut: Future<Output = Result<T, E>>,
{
    /// Wraps a future that has not run yet.
    pub fn new(future: Fut) -> Self {
        Self {
            state: TryMaybeDoneState::Running { future },
        }
    }

    /// Polls the future if it is still running: `Ready(Ok(()))` once its value is stored,
    /// `Ready(Err(e))` when it failed.
    pub fn poll_try(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let mut state = self.project().state;
        match state.as_mut().project() {
            TryMaybeDoneProj::Running { future } => match ready!(future.poll(cx)) {
                Ok(value) => {
                    state.set(TryMaybeDoneState::Done { value });
                    Poll::Ready(Ok(()))
                }
                Err(error) => {
                    state.set(TryMaybeDoneState::Taken);
                    Poll::Ready(Err(error))
                }
            },
            TryMaybeDoneProj::Done { .. } => Poll::Ready(Ok(())),
            TryMaybeDoneProj::Taken => {
                panic!("`try_join!` branch polled after its output was taken")
            }
        }
    }
}

impl<Fut, T> TryMaybeDone<Fut, T> {
    /// Takes the stored value. Panics unless `poll_try` has returned `Ready(Ok(()))`.
    pub fn take_value(self: Pin<&mut Self>) -> T {
        match self
            .project()
            .state
            .project_replace(TryMaybeDoneState::Taken)
        {
            TryMaybeDoneReplace::Done { value } => value,
            _ => panic!("`try_join!` took the value of a branch that had not finished"),
        }
    }
}

impl<Fut, T> fmt::Debug for TryMaybeDone<Fut, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            TryMaybeDoneState::Running { .. } => "TryMaybeDone::Running",
            TryMaybeDoneState::Done { .. } => "TryMaybeDone::Done",
            TryMaybeDoneState::Taken => "TryMaybeDone::Taken",
        })
    }
}

/// The order in which a macro polls its branches.
///
/// Unbiased, the branch polled first moves one place on at every poll, so that a branch
/// that is always ready cannot starve the ones written after it. Biased, branches are
/// polled in the order they are written.
#[derive(Debug)]
pub struct Rotation {
    count: usize,
    start: usize,
    biased: bool,
}

impl Rotation {
    /// A rotation over `count` branches (at least one) that polls `start` first.
    pub fn new(count: usize, start: usize, biased: bool) -> Self {
        let start = if biased { 0 } else { start % count };
        Self {
            count,
            start,
            biased,
        }
    }

    /// The branch to poll first this time; moves the start on unless biased.
    pub fn advance(&mut self) -> usize {
        let start = self.start;
        if !self.biased {
            self.start = if start + 1 == self.count {
                0
            } else {
                start + 1
            };
        }
        start
    }

    /// The branch indices to poll this time, in order; moves the start on unless biased.
    pub fn next_order(&mut self) -> impl Iterator<Item = usize> {
        let (start, count) = (self.start, self.count);
        if !self.biased {
            self.start = if start + 1 == count { 0 } else { start + 1 };
        }
        // Two plain ranges rather than `(start + offset) % count`: no division per branch.
        (start..count).chain(0..start)
    }
}

/// Where a `select!` on this thread starts polling: one place on from the previous one.
///
/// A `select!` in a loop is a new `select!` every time round; starting each one where the
/// last left off keeps an always-ready branch from winning every round.
pub fn select_start() -> usize {
    std::thread_local! {
        static NEXT_START: Cell<usize> = const { Cell::new(0) };
    }
    NEXT_START.with(|next| {
        let start = next.get();
        next.set(start.wrapping_add(1));
        start
    })
}

/// The bit mask with one bit set for each of `count` branches (at most 64).
pub const fn all_branches(count: usize) -> u64 {
    if count >= 64 {
        u64::MAX
    } else {
        (1 << count) - 1
    }
}
