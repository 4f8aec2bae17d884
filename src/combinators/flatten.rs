//! [`Flatten`]: run a future, then (maybe) the future it produced; the one state machine
//! behind `then`, `and_then` and `or_else`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// Polls `Fut1`, whose output is `Ok(fut2)` to go on with `fut2` or `Err(output)` to
    /// finish with `output` right away; then polls `fut2` to completion.
    ///
    /// The second half of [`Then`](super::Then), [`AndThen`](super::AndThen) and
    /// [`OrElse`](super::OrElse), whose mapping functions ([`super::map_fn`]) produce that
    /// `Result`. Moving to `Second` drops the first future in place.
    #[project = FlattenProj]
    pub(crate) enum Flatten<Fut1, Fut2> {
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

impl<Fut1, Fut2> Flatten<Fut1, Fut2> {
    pub(crate) fn new(future: Fut1) -> Self {
        Self::First { future }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl<Fut1, Fut2> Flatten<Fut1, Fut2>
where
    Fut1: Future<Output = Result<Fut2, Fut2::Output>>,
    Fut2: Future,
{
    /// Polls the flatten; `name` is the public combinator's, for the panic message.
    pub(crate) fn poll_named(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        name: &'static str,
    ) -> Poll<Fut2::Output> {
        loop {
            match self.as_mut().project() {
                FlattenProj::First { future } => match ready!(future.poll(cx)) {
                    Ok(second) => self.set(Self::Second { future: second }),
                    Err(output) => {
                        self.set(Self::Empty);
                        return Poll::Ready(output);
                    }
                },
                FlattenProj::Second { future } => {
                    let output = ready!(future.poll(cx));
                    self.set(Self::Empty);
                    return Poll::Ready(output);
                }
                FlattenProj::Empty => panic!("`{name}` polled after completion"),
            }
        }
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug> fmt::Debug for Flatten<Fut1, Fut2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::First { future } => f.debug_tuple("First").field(future).finish(),
            Self::Second { future } => f.debug_tuple("Second").field(future).finish(),
            Self::Empty => f.write_str("Empty"),
        }
    }
}
