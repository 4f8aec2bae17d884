//! [`MapOk`]: change the `Ok` value of a fallible future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::map::Mapping;
use super::map_fn::OkFn;

pin_project! {
    /// Future for the [`map_ok`](super::FiberFutureExt::map_ok) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, MapOk};
    ///
    /// let future: MapOk<_, _> = async { Ok::<u32, String>(4) }.map_ok(|n| n + 1);
    /// assert_eq!(fiber::block_on(future), Ok(5));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct MapOk<Fut, F> {
        #[pin]
        inner: Mapping<Fut, OkFn<F>>,
    }
}

impl<Fut, F> MapOk<Fut, F> {
    pub(super) fn new(future: Fut, f: F) -> Self {
        Self {
            inner: Mapping::new(future, OkFn(f)),
        }
    }
}

impl<Fut, F, T, E, U> Future for MapOk<Fut, F>
where
    Fut: Future<Output = Result<T, E>>,
    F: FnOnce(T) -> U,
{
    type Output = Result<U, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<U, E>> {
        self.project().inner.poll_named(cx, "MapOk")
    }
}

impl<Fut, F, T, E, U> FusedFuture for MapOk<Fut, F>
where
    Fut: Future<Output = Result<T, E>>,
    F: FnOnce(T) -> U,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_complete()
    }
}

impl<Fut: fmt::Debug, F> fmt::Debug for MapOk<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapOk").field("inner", &self.inner).finish()
    }
}
