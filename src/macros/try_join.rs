//! `try_join!`: wait for every fallible future, or for the first error.

/// Waits for every future to return `Ok`, or for the first `Err`.
///
/// The futures must all have outputs `Result<_, E>` with the same `E`. On success
/// `try_join!` returns `Ok` of a tuple of the `Ok` values in argument order; as soon as one
/// future returns `Err(e)` it stops polling the others and returns `Err(e)`. Like
/// [`join!`](crate::join) it takes anything [`IntoFuture`](core::future::IntoFuture), awaits by
/// itself, needs no `Unpin` or fused futures, accepts up to 64 of them, rotates the future
/// polled first at each poll unless written `try_join!(biased; ...)`, and `try_join!()` is
/// `Ok(())`.
///
/// # When futures are dropped
///
/// Each future is dropped as soon as it completes. When one fails, every future that has
/// not completed is dropped before `try_join!` returns the error; none of them is polled
/// again. If the `try_join!` itself is dropped early, the unfinished futures go with it.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
///
/// use fiber::try_join;
///
/// struct Flag<'a>(&'a Cell<bool>);
/// impl Drop for Flag<'_> {
///     fn drop(&mut self) {
///         self.0.set(true);
///     }
/// }
///
/// fiber::block_on(async {
///     let never_dropped = Cell::new(false);
///     let never = async {
///         let _flag = Flag(&never_dropped);
///         std::future::pending::<Result<u32, String>>().await
///     };
///     let fails = async { Err::<u32, _>("disk full".to_string()) };
///
///     let result = try_join!(never, fails);
///     assert_eq!(result, Err("disk full".to_string()));
///     // The future that could never finish was dropped before `try_join!` returned.
///     assert!(never_dropped.get());
///
///     let sum = try_join!(async { Ok::<_, String>(1) }, async { Ok(2) }).map(|(a, b)| a + b);
///     assert_eq!(sum, Ok(3));
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    (biased; $($future:expr),* $(,)?) => {
        $crate::__try_join_internal!(@start true; $($future,)*)
    };
    ($($future:expr),* $(,)?) => {
        $crate::__try_join_internal!(@start false; $($future,)*)
    };
}

/// Implementation of [`try_join!`]; shaped like [`__join_internal!`](crate::__join_internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __try_join_internal {
    (@start $biased:tt; ) => {
        ::core::result::Result::Ok(())
    };
    (@start $biased:tt; $($future:expr,)+) => {
        $crate::__number_branches!(
            @start __try_join_internal, "`try_join!` accepts at most 64 futures", $biased; $($future,)+
        )
    };
    (
        @numbered $biased:tt;
        $count:tt;
        $(($index:tt $name:ident $future:tt))*
    ) => {{
        $(
            let mut $name = $crate::__private::pin!($crate::__private::TryMaybeDone::new(
                $crate::__private::IntoFuture::into_future($future),
            ));
        )*
        let mut rotation = $crate::__private::Rotation::new($count, 0, $biased);
        // The futures are locals of this block: returning an error ends the block, which
        // drops every unfinished future before the caller sees the error.
        let result = $crate::__private::poll_fn(|cx| {
            let mut all_done = true;
            // As in `join!`: from `start` to the end, then the branches before it, unrolled.
            let start = rotation.advance();
            $(
                if $index >= start {
                    $crate::__try_join_poll!($name, cx, all_done);
                }
            )*
            $(
                if $index < start {
                    $crate::__try_join_poll!($name, cx, all_done);
                }
            )*
            if all_done {
                $crate::__private::Poll::Ready(::core::result::Result::Ok((
                    $($crate::__private::TryMaybeDone::take_value($name.as_mut()),)*
                )))
            } else {
                $crate::__private::Poll::Pending
            }
        })
        .await;
        result
    }};
}

/// Polls one `try_join!` branch: returns the error from the enclosing `poll_fn` closure,
/// or clears `all_done` while the branch is pending.
#[doc(hidden)]
#[macro_export]
macro_rules! __try_join_poll {
    ($name:ident, $cx:ident, $all_done:ident) => {
        match $crate::__private::TryMaybeDone::poll_try($name.as_mut(), $cx) {
            $crate::__private::Poll::Ready(::core::result::Result::Ok(())) => {}
            $crate::__private::Poll::Ready(::core::result::Result::Err(error)) => {
                return $crate::__private::Poll::Ready(::core::result::Result::Err(error));
            }
            $crate::__private::Poll::Pending => $all_done = false,
        }
    };
}
