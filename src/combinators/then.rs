//! [`Then`]: a map followed by a flatten.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::flatten::Flatten;
use super::map::Mapping;
use super::map_fn::ThenFn;

pin_project! {
    /// Future for the [`then`](super::FiberFutureExt::then) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, Then};
    ///
    /// let future: Then<_, _, _> = async { 2 }.then(|n| async move { n + 40 });
    /// assert_eq!(fiber::block_on(future), 42);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Then<Fut1, Fut2, F> {
        #[pin]
        inner: Flatten<Mapping<Fut1, ThenFn<F>>, Fut2>,
    }
}

impl<Fut1, Fut2, F> Then<Fut1, Fut2, F> {
    pub(super) fn new(future: Fut1, f: F) -> Self {
        Self {
            inner: Flatten::new(Mapping::new(future, ThenFn(f))),
        }
    }
}

impl<Fut1, Fut2, F> Future for Then<Fut1, Fut2, F>
where
    Fut1: Future,
    Fut2: Future,
    F: FnOnce(Fut1::Output) -> Fut2,
{
    type Output = Fut2::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut2::Output> {
        self.project().inner.poll_named(cx, "Then")
    }
}

impl<Fut1, Fut2, F> FusedFuture for Then<Fut1, Fut2, F>
where
    Fut1: Future,
    Fut2: Future,
    F: FnOnce(Fut1::Output) -> Fut2,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<Fut1: fmt::Debug, Fut2: fmt::Debug, F> fmt::Debug for Then<Fut1, Fut2, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Then").field("inner", &self.inner).finish()
    }
}
