//! [`Map`], and [`Mapping`]: the state machine that every mapping combinator shares.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::map_fn::MapFn;

pin_project! {
    /// Polls a future, then feeds its output through a [`MapFn`] exactly once.
    ///
    /// This is the engine of [`Map`], [`Inspect`](super::Inspect), [`MapOk`](super::MapOk)
    /// and [`MapErr`](super::MapErr), and the first half of [`Then`](super::Then),
    /// [`AndThen`](super::AndThen) and [`OrElse`](super::OrElse).
    #[project = MappingProj]
    #[project_replace = MappingReplace]
    pub(crate) enum Mapping<Fut, F> {
        Incomplete {
            #[pin]
            future: Fut,
            f: F,
        },
        Complete,
    }
}

impl<Fut, F> Mapping<Fut, F> {
    pub(crate) fn new(future: Fut, f: F) -> Self {
        Self::Incomplete { future, f }
    }

    pub(crate) fn is_complete(&self) -> bool {
        matches!(self, Self::Complete)
    }
}

impl<Fut, F> Mapping<Fut, F>
where
    Fut: Future,
    F: MapFn<Fut::Output>,
{
    /// Polls the mapping; `name` is the public combinator's, for the panic message.
    pub(crate) fn poll_named(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        name: &'static str,
    ) -> Poll<F::Output> {
        let output = match self.as_mut().project() {
            MappingProj::Incomplete { future, .. } => ready!(future.poll(cx)),
            MappingProj::Complete => panic!("`{name}` polled after completion"),
        };
        // Replacing the state drops the inner future before the function runs, so that
        // whatever it held (a lock guard, a connection) is released by then.
        match self.project_replace(Self::Complete) {
            MappingReplace::Incomplete { f, .. } => Poll::Ready(f.call(output)),
            MappingReplace::Complete => unreachable!("the state was `Incomplete` just above"),
        }
    }
}

// Used where a mapping is the first step of a flatten; the flatten never polls it again
// once it has completed, so the name in the message is only a fallback.
impl<Fut, F> Future for Mapping<Fut, F>
where
    Fut: Future,
    F: MapFn<Fut::Output>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.poll_named(cx, "Map")
    }
}

// Closures are not `Debug`: show the future only.
impl<Fut: fmt::Debug, F> fmt::Debug for Mapping<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incomplete { future, .. } => f
                .debug_struct("Incomplete")
                .field("future", future)
                .finish_non_exhaustive(),
            Self::Complete => f.write_str("Complete"),
        }
    }
}

pin_project! {
    /// Future for the [`map`](super::FiberFutureExt::map) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, Map};
    ///
    /// let doubled: Map<_, _> = async { 21 }.map(|n| n * 2);
    /// assert_eq!(fiber::block_on(doubled), 42);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Map<Fut, F> {
        #[pin]
        inner: Mapping<Fut, F>,
    }
}

impl<Fut, F> Map<Fut, F> {
    pub(super) fn new(future: Fut, f: F) -> Self {
        Self {
            inner: Mapping::new(future, f),
        }
    }
}

impl<Fut, F, U> Future for Map<Fut, F>
where
    Fut: Future,
    F: FnOnce(Fut::Output) -> U,
{
    type Output = U;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<U> {
        self.project().inner.poll_named(cx, "Map")
    }
}

impl<Fut, F, U> FusedFuture for Map<Fut, F>
where
    Fut: Future,
    F: FnOnce(Fut::Output) -> U,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_complete()
    }
}

impl<Fut: fmt::Debug, F> fmt::Debug for Map<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map").field("inner", &self.inner).finish()
    }
}
