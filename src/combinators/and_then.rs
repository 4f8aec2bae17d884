//! [`AndThen`]: a map of the `Ok` value followed by a try-flatten.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::flatten::Flatten;
use super::map::Mapping;
use super::map_fn::AndThenFn;

pin_project! {
    /// Future for the [`and_then`](super::FiberFutureExt::and_then) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{AndThen, FiberFutureExt};
    ///
    /// let future: AndThen<_, _, _> =
    ///     async { Ok::<u32, String>(2) }.and_then(|n| async move { Ok(n * 10) });
    /// assert_eq!(fiber::block_on(future), Ok(20));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct AndThen<Fut1, Fut2, F> {
        #[pin]
        inner: Flatten<Mapping<Fut1, AndThenFn<F>>, Fut2>,
    }
}

impl<Fut1, Fut2, F> AndThen<Fut1, Fut2, F> {
    pub(super) fn new(future: Fut1, f: F) -> Self {
        Self {
            inner: Flatten::new(Mapping::new(future, AndThenFn(f))),
        }
    }
}

impl<Fut1, Fut2, F, T, E, U> Future for AndThen<Fut1, Fut2, F>
where
    Fut1: Future<Output = Result<T, E>>,
    Fut2: Future<Output = Result<U, E>>,
    F: FnOnce(T) -> Fut2,
{
    type Output = Result<U, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<U, E>> {
        self.project().inner.poll_named(cx, "AndThen")
    }
}

impl<Fut1, Fut2, F, T, E, U> FusedFuture for AndThen<Fut1, Fut2, F>
where
    Fut1: Future<Output = Result<T, E>>,
    Fut2: Future<Output = Result<U, E>>,
    F: FnOnce(T) -> Fut2,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug, F> fmt::Debug for AndThen<Fut1, Fut2, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AndThen")
            .field("inner", &self.inner)
            .finish()
    }
}
