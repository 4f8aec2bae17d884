//! [`MapErr`]: change the `Err` value of a fallible future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::map::Mapping;
use super::map_fn::ErrFn;

pin_project! {
    /// Future for the [`map_err`](super::FiberFutureExt::map_err) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, MapErr};
    ///
    /// let future: MapErr<_, _> = async { Err::<u32, u8>(4) }.map_err(|code| format!("code {code}"));
    /// assert_eq!(fiber::block_on(future), Err("code 4".to_string()));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct MapErr<Fut, F> {
        #[pin]
        inner: Mapping<Fut, ErrFn<F>>,
    }
}

impl<Fut, F> MapErr<Fut, F> {
    pub(super) fn new(future: Fut, f: F) -> Self {
        Self {
            inner: Mapping::new(future, ErrFn(f)),
        }
    }
}

impl<Fut, F, T, E, E2> Future for MapErr<Fut, F>
where
    Fut: Future<Output = Result<T, E>>,
    F: FnOnce(E) -> E2,
{
    type Output = Result<T, E2>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E2>> {
        self.project().inner.poll_named(cx, "MapErr")
    }
}

impl<Fut, F, T, E, E2> FusedFuture for MapErr<Fut, F>
where
    Fut: Future<Output = Result<T, E>>,
    F: FnOnce(E) -> E2,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_complete()
    }
}

impl<Fut: fmt::Debug, F> fmt::Debug for MapErr<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErr")
            .field("inner", &self.inner)
            .finish()
    }
}
