//! Future combinators: the [`FiberFutureExt`] trait.
