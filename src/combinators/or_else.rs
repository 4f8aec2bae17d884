//! [`OrElse`]: a map of the `Err` value followed by a try-flatten of the error arm.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::flatten::Flatten;
use super::map::Mapping;
use super::map_fn::OrElseFn;

pin_project! {
    /// Future for the [`or_else`](super::FiberFutureExt::or_else) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, OrElse};
    ///
    /// let future: OrElse<_, _, _> =
    ///     async { Err::<u32, &str>("cache miss") }.or_else(|_| async { Ok::<u32, ()>(7) });
    /// assert_eq!(fiber::block_on(future), Ok(7));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct OrElse<Fut1, Fut2, F> {
        #[pin]
        inner: Flatten<Mapping<Fut1, OrElseFn<F>>, Fut2>,
    }
}

impl<Fut1, Fut2, F> OrElse<Fut1, Fut2, F> {
    pub(super) fn new(future: Fut1, f: F) -> Self {
        Self {
            inner: Flatten::new(Mapping::new(future, OrElseFn(f))),
        }
    }
}

impl<Fut1, Fut2, F, T, E, E2> Future for OrElse<Fut1, Fut2, F>
where
    Fut1: Future<Output = Result<T, E>>,
    Fut2: Future<Output = Result<T, E2>>,
    F: FnOnce(E) -> Fut2,
{
    type Output = Result<T, E2>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E2>> {
        self.project().inner.poll_named(cx, "OrElse")
    }
}

impl<Fut1, Fut2, F, T, E, E2> FusedFuture for OrElse<Fut1, Fut2, F>
where
    Fut1: Future<Output = Result<T, E>>,
    Fut2: Future<Output = Result<T, E2>>,
    F: FnOnce(E) -> Fut2,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug, F> fmt::Debug for OrElse<Fut1, Fut2, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrElse")
            .field("inner", &self.inner)
            .finish()
    }
}
