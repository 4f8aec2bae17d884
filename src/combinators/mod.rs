//! Future combinators: the [`FiberFutureExt`] trait.
//!
//! Every combinator is a small future type in a file of its own. Two state machines do the
//! real work, and the rest are thin wrappers that give them a public name:
//!
//! - a *mapping* polls a future and feeds its output through a function once
//!   ([`Map`], [`Inspect`], [`MapOk`], [`MapErr`]);
//! - a *flatten* polls a future that yields a second future, then polls that one
//!   ([`Then`] is a mapping followed by a flatten; [`AndThen`] and [`OrElse`] flatten only
//!   the `Ok` or `Err` arm).
//!
//! All of them are lazy: nothing runs before the first poll.

use core::future::Future;
use core::pin::Pin;
use core::time::Duration;

use crate::time::Timeout;

mod and_then;
mod flatten;
mod fuse;
mod inspect;
mod join_all;
mod map;
mod map_err;
mod map_fn;
mod map_ok;
mod or_else;
mod then;

pub use self::and_then::AndThen;
pub use self::fuse::Fuse;
pub use self::inspect::Inspect;
pub use self::join_all::{join_all, try_join_all, JoinAll, TryJoinAll};
pub use self::map::Map;
pub use self::map_err::MapErr;
pub use self::map_ok::MapOk;
pub use self::or_else::OrElse;
pub use self::then::Then;

/// Adapters for every [`Future`]: transform, chain, fuse and box them.
///
/// Implemented for every `F: Future`, so `use fiber::prelude::*` (or this trait) is all it
/// takes. The methods whose names speak of `ok` and `err` (`and_then`, `or_else`, `map_ok`,
/// `map_err`) exist on futures whose output is a `Result`.
///
/// Every adapter is lazy: it does nothing until it is polled.
///
/// # Examples
///
/// ```
/// use fiber::combinators::FiberFutureExt;
///
/// let request = async { Ok::<_, String>("42") }
///     .map_ok(|body| body.parse::<u32>().unwrap_or(0))
///     .inspect(|result| assert!(result.is_ok()))
///     .map(|result| result.unwrap_or_default());
/// assert_eq!(fiber::block_on(request), 42);
/// ```
pub trait FiberFutureExt: Future {
    /// Maps the output of this future with `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let length = async { "fiber" }.map(str::len);
    /// assert_eq!(fiber::block_on(length), 5);
    /// ```
    fn map<U, F>(self, f: F) -> Map<Self, F>
    where
        F: FnOnce(Self::Output) -> U,
        Self: Sized,
    {
        Map::new(self, f)
    }

    /// Chains a second future, built by `f` from the output of this one.
    ///
    /// This future is dropped before `f` runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let greeting = async { "world" }.then(|name| async move { format!("hello, {name}") });
    /// assert_eq!(fiber::block_on(greeting), "hello, world");
    /// ```
    fn then<Fut, F>(self, f: F) -> Then<Self, Fut, F>
    where
        Fut: Future,
        F: FnOnce(Self::Output) -> Fut,
        Self: Sized,
    {
        Then::new(self, f)
    }

    /// Calls `f` with a reference to the output, then passes the output on unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let mut log = Vec::new();
    /// let answer = async { 42 }.inspect(|n| log.push(format!("got {n}")));
    /// assert_eq!(fiber::block_on(answer), 42);
    /// assert_eq!(log, ["got 42"]);
    /// ```
    fn inspect<F>(self, f: F) -> Inspect<Self, F>
    where
        F: FnOnce(&Self::Output),
        Self: Sized,
    {
        Inspect::new(self, f)
    }

    /// Makes this future safe to poll after it has completed.
    ///
    /// After completion the inner future is dropped, and every later poll returns
    /// `Pending` without touching the waker. [`Fuse`] implements
    /// [`FusedFuture`](futures_core::FusedFuture).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll};
    ///
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let mut future = pin!(async { 1 }.fuse());
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(1));
    /// assert_eq!(future.as_mut().poll(&mut cx), Poll::Pending);
    /// ```
    fn fuse(self) -> Fuse<Self>
    where
        Self: Sized,
    {
        Fuse::new(self)
    }

    /// Boxes and pins this future, erasing its type.
    ///
    /// Handy for returning different futures from the branches of an `if` or a `match`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    ///
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// fn pick(fast: bool) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    ///     if fast {
    ///         async { 1 }.boxed()
    ///     } else {
    ///         async { 1 }.map(|n| n + 1).boxed()
    ///     }
    /// }
    /// assert_eq!(fiber::block_on(pick(false)), 2);
    /// ```
    fn boxed<'a>(self) -> Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }

    /// Limits how long this future may take: the result is `Err(Elapsed)` if it is still
    /// pending once `duration` has passed, and the future is then dropped. The future is
    /// polled before the deadline is checked, so one that is ready wins even when the
    /// deadline has already passed. See [`fiber::time::timeout`](crate::time::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fiber::prelude::*;
    ///
    /// # fiber::block_on(async {
    /// let quick = async { 1 }.timeout(Duration::from_secs(1)).await;
    /// assert_eq!(quick, Ok(1));
    ///
    /// let slow = std::future::pending::<()>().timeout(Duration::from_millis(10)).await;
    /// assert!(slow.is_err());
    /// # });
    /// ```
    fn timeout(self, duration: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        crate::time::timeout(duration, self)
    }

    /// Chains a second fallible future, built by `f` from the `Ok` value of this one.
    ///
    /// An `Err` from this future is returned as is and `f` never runs. This future is
    /// dropped before `f` runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let parsed = async { Ok::<_, String>("17") }
    ///     .and_then(|text| async move { text.parse::<u32>().map_err(|e| e.to_string()) });
    /// assert_eq!(fiber::block_on(parsed), Ok(17));
    /// ```
    fn and_then<T, E, U, Fut, F>(self, f: F) -> AndThen<Self, Fut, F>
    where
        Self: Future<Output = Result<T, E>> + Sized,
        Fut: Future<Output = Result<U, E>>,
        F: FnOnce(T) -> Fut,
    {
        AndThen::new(self, f)
    }

    /// Chains a second fallible future, built by `f` from the `Err` value of this one.
    ///
    /// An `Ok` from this future is returned as is and `f` never runs. This future is
    /// dropped before `f` runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let recovered = async { Err::<u32, _>("primary down") }
    ///     .or_else(|_| async { Ok::<_, String>(3) });
    /// assert_eq!(fiber::block_on(recovered), Ok(3));
    /// ```
    fn or_else<T, E, E2, Fut, F>(self, f: F) -> OrElse<Self, Fut, F>
    where
        Self: Future<Output = Result<T, E>> + Sized,
        Fut: Future<Output = Result<T, E2>>,
        F: FnOnce(E) -> Fut,
    {
        OrElse::new(self, f)
    }

    /// Maps the `Ok` value of this future with `f`, passing an `Err` through.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let doubled = async { Ok::<u32, String>(21) }.map_ok(|n| n * 2);
    /// assert_eq!(fiber::block_on(doubled), Ok(42));
    /// ```
    fn map_ok<T, E, U, F>(self, f: F) -> MapOk<Self, F>
    where
        Self: Future<Output = Result<T, E>> + Sized,
        F: FnOnce(T) -> U,
    {
        MapOk::new(self, f)
    }

    /// Maps the `Err` value of this future with `f`, passing an `Ok` through.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::combinators::FiberFutureExt;
    ///
    /// let described = async { Err::<u32, u16>(404) }.map_err(|code| format!("status {code}"));
    /// assert_eq!(fiber::block_on(described), Err("status 404".to_string()));
    /// ```
    fn map_err<T, E, E2, F>(self, f: F) -> MapErr<Self, F>
    where
        Self: Future<Output = Result<T, E>> + Sized,
        F: FnOnce(E) -> E2,
    {
        MapErr::new(self, f)
    }
}

impl<F: Future + ?Sized> FiberFutureExt for F {}
