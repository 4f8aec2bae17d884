//! [`TryFlatten`] and [`TryFlattenErr`]: flatten one arm of a fallible future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// Polls `Fut1`; on `Ok(fut2)` goes on to poll `fut2`, on `Err(e)` finishes with it.
    ///
    /// The second half of [`AndThen`](super::AndThen).
    #[project = TryFlattenProj]
    pub(crate) enum TryFlatten<Fut1, Fut2> {
        First {
            #[pin]
            future: Fut1,
        },
        Second {
            #[pin]
            future: Fut2,
        },
        Empty,
    }
}

impl<Fut1, Fut2> TryFlatten<Fut1, Fut2> {
    pub(crate) fn new(future: Fut1) -> Self {
        Self::First { future }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl<Fut1, Fut2, T, E> TryFlatten<Fut1, Fut2>
where
    Fut1: Future<Output = Result<Fut2, E>>,
    Fut2: Future<Output = Result<T, E>>,
{
    /// Polls the flatten; `name` is the public combinator's, for the panic message.
    pub(crate) fn poll_named(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        name: &'static str,
    ) -> Poll<Result<T, E>> {
        loop {
            match self.as_mut().project() {
                TryFlattenProj::First { future } => match ready!(future.poll(cx)) {
                    Ok(second) => self.set(Self::Second { future: second }),
                    Err(error) => {
                        self.set(Self::Empty);
                        return Poll::Ready(Err(error));
                    }
                },
                TryFlattenProj::Second { future } => {
                    let output = ready!(future.poll(cx));
                    self.set(Self::Empty);
                    return Poll::Ready(output);
                }
                TryFlattenProj::Empty => panic!("`{name}` polled after completion"),
            }
        }
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug> fmt::Debug for TryFlatten<Fut1, Fut2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::First { future } => f.debug_tuple("First").field(future).finish(),
            Self::Second { future } => f.debug_tuple("Second").field(future).finish(),
            Self::Empty => f.write_str("Empty"),
        }
    }
}

pin_project! {
    /// Polls `Fut1`; on `Err(fut2)` goes on to poll `fut2`, on `Ok(v)` finishes with it.
    ///
    /// The second half of [`OrElse`](super::OrElse).
    #[project = TryFlattenErrProj]
    pub(crate) enum TryFlattenErr<Fut1, Fut2> {
        First {
            #[pin]
            future: Fut1,
        },
        Second {
            #[pin]
            future: Fut2,
        },
        Empty,
    }
}

impl<Fut1, Fut2> TryFlattenErr<Fut1, Fut2> {
    pub(crate) fn new(future: Fut1) -> Self {
        Self::First { future }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl<Fut1, Fut2, T, E> TryFlattenErr<Fut1, Fut2>
where
    Fut1: Future<Output = Result<T, Fut2>>,
    Fut2: Future<Output = Result<T, E>>,
{
    /// Polls the flatten; `name` is the public combinator's, for the panic message.
    pub(crate) fn poll_named(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        name: &'static str,
    ) -> Poll<Result<T, E>> {
        loop {
            match self.as_mut().project() {
                TryFlattenErrProj::First { future } => match ready!(future.poll(cx)) {
                    Err(second) => self.set(Self::Second { future: second }),
                    Ok(value) => {
                        self.set(Self::Empty);
                        return Poll::Ready(Ok(value));
                    }
                },
                TryFlattenErrProj::Second { future } => {
                    let output = ready!(future.poll(cx));
                    self.set(Self::Empty);
                    return Poll::Ready(output);
                }
                TryFlattenErrProj::Empty => panic!("`{name}` polled after completion"),
            }
        }
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug> fmt::Debug for TryFlattenErr<Fut1, Fut2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::First { future } => f.debug_tuple("First").field(future).finish(),
            Self::Second { future } => f.debug_tuple("Second").field(future).finish(),
            Self::Empty => f.write_str("Empty"),
        }
    }
}
