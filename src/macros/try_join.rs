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
/// futures::executor::block_on(async {
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
        $crate::__try_join_internal!(
            @slot $biased;
            [];
            [
                (0 _0) (1 _1) (2 _2) (3 _3) (4 _4) (5 _5) (6 _6) (7 _7) (8 _8) (9 _9) (10 _10)
                (11 _11) (12 _12) (13 _13) (14 _14) (15 _15) (16 _16) (17 _17) (18 _18)
                (19 _19) (20 _20) (21 _21) (22 _22) (23 _23) (24 _24) (25 _25) (26 _26)
                (27 _27) (28 _28) (29 _29) (30 _30) (31 _31) (32 _32) (33 _33) (34 _34)
                (35 _35) (36 _36) (37 _37) (38 _38) (39 _39) (40 _40) (41 _41) (42 _42)
                (43 _43) (44 _44) (45 _45) (46 _46) (47 _47) (48 _48) (49 _49) (50 _50)
                (51 _51) (52 _52) (53 _53) (54 _54) (55 _55) (56 _56) (57 _57) (58 _58)
                (59 _59) (60 _60) (61 _61) (62 _62) (63 _63) (64 _64)
            ];
            $($future,)+
        )
    };
    (@slot $biased:tt; $done:tt; [(64 $spare:ident)]; $($rest:tt)+) => {
        ::core::compile_error!("`try_join!` accepts at most 64 futures")
    };
    (
        @slot $biased:tt;
        [$($done:tt)*];
        [($index:tt $name:ident) $($slots:tt)*];
        $future:expr, $($rest:tt)*
    ) => {
        $crate::__try_join_internal!(
            @slot $biased;
            [$($done)* ($index $name $future)];
            [$($slots)*];
            $($rest)*
        )
    };
    (
        @slot $biased:tt;
        [$(($index:tt $name:ident $future:tt))*];
        [($count:tt $spare:ident) $($slots:tt)*];
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
