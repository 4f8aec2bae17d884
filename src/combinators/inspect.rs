//! [`Inspect`]: a look at the output on its way out.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

use super::map::Mapping;
use super::map_fn::InspectFn;

pin_project! {
    /// Future for the [`inspect`](super::FiberFutureExt::inspect) method.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::{FiberFutureExt, Inspect};
    ///
    /// let mut seen = None;
    /// let future: Inspect<_, _> = async { 7 }.inspect(|n| seen = Some(*n));
    /// assert_eq!(fiber::block_on(future), 7);
    /// assert_eq!(seen, Some(7));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Inspect<Fut, F> {
        #[pin]
        inner: Mapping<Fut, InspectFn<F>>,
    }
}

impl<Fut, F> Inspect<Fut, F> {
    pub(super) fn new(future: Fut, f: F) -> Self {
        Self {
            inner: Mapping::new(future, InspectFn(f)),
        }
    }
}

impl<Fut, F> Future for Inspect<Fut, F>
where
    Fut: Future,
    F: FnOnce(&Fut::Output),
{
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        self.project().inner.poll_named(cx, "Inspect")
    }
}

impl<Fut, F> FusedFuture for Inspect<Fut, F>
where
    Fut: Future,
    F: FnOnce(&Fut::Output),
{
    fn is_terminated(&self) -> bool {
        self.inner.is_complete()
    }
}

impl<Fut: fmt::Debug, F> fmt::Debug for Inspect<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspect")
            .field("inner", &self.inner)
            .finish()
    }
}
