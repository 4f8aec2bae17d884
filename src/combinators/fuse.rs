//! [`Fuse`]: a future that may be polled after it has completed.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

pin_project! {
    /// Future for the [`fuse`](super::FiberFutureExt::fuse) method.
    ///
    /// Once the inner future has completed it is dropped, and every later poll returns
    /// [`Poll::Pending`] without touching the waker.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, Fuse};
    /// use futures::future::FusedFuture;
    ///
    /// let mut future: Fuse<_> = std::future::ready(1).fuse();
    /// fiber::block_on(async {
    ///     assert_eq!((&mut future).await, 1);
    /// });
    /// assert!(future.is_terminated());
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Fuse<Fut> {
        #[pin]
        inner: Option<Fut>,
    }
}

impl<Fut> Fuse<Fut> {
    pub(super) fn new(future: Fut) -> Self {
        Self {
            inner: Some(future),
        }
    }
}

impl<Fut: Future> Future for Fuse<Fut> {
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let mut inner = self.project().inner;
        match inner.as_mut().as_pin_mut() {
            Some(future) => {
                let output = ready!(future.poll(cx));
                inner.set(None);
                Poll::Ready(output)
            }
            None => Poll::Pending,
        }
    }
}

impl<Fut: Future> FusedFuture for Fuse<Fut> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<Fut: fmt::Debug> fmt::Debug for Fuse<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fuse").field("inner", &self.inner).finish()
    }
}
