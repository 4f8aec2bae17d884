//! `join!`: wait for every future, outputs in argument order.

/// Waits for every future and returns their outputs as a tuple, in argument order.
///
/// `join!` takes futures by value (anything [`IntoFuture`](core::future::IntoFuture)), pins
/// them in place and polls them concurrently on the current task; it awaits by itself, so it
/// must be used inside async code and needs no `.await` after it. The futures need not be
/// `Unpin` or fused. Up to 64 futures are accepted; `join!()` is `()`.
///
/// At each poll the future polled first moves one place on, so that a future that is always
/// ready cannot keep the others waiting on a busy executor. Write `join!(biased; ...)` to
/// poll them in the order written instead.
///
/// # When futures are dropped
///
/// Each future is dropped as soon as it completes; its output is kept until the last one
/// completes. If the `join!` itself is dropped before then (its task is cancelled, or it
/// lost a `select!`), the futures that have not completed are dropped with it.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
///
/// use fiber::join;
///
/// struct Flag<'a>(&'a Cell<bool>);
/// impl Drop for Flag<'_> {
///     fn drop(&mut self) {
///         self.0.set(true);
///     }
/// }
///
/// futures::executor::block_on(async {
///     let quick_dropped = Cell::new(false);
///     let quick = async {
///         let _flag = Flag(&quick_dropped);
///         1
///     };
///     let slow = async {
///         // `biased;` polled `quick` first: it completed, so it is gone already.
///         assert!(quick_dropped.get());
///         "two"
///     };
///     let (one, two) = join!(biased; quick, slow);
///     assert_eq!((one, two), (1, "two"));
/// });
/// ```
#[macro_export]
macro_rules! join {
    (biased; $($future:expr),* $(,)?) => {
        $crate::__join_internal!(@start true; $($future,)*)
    };
    ($($future:expr),* $(,)?) => {
        $crate::__join_internal!(@start false; $($future,)*)
    };
}

/// Implementation of [`join!`]: gives each future a slot (an index and a name), then
/// expands to the polling loop. One step per future keeps 64 futures far from the
/// recursion limit.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_internal {
    (@start $biased:tt; ) => {
        ()
    };
    (@start $biased:tt; $($future:expr,)+) => {
        $crate::__join_internal!(
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
        ::core::compile_error!("`join!` accepts at most 64 futures")
    };
    (
        @slot $biased:tt;
        [$($done:tt)*];
        [($index:tt $name:ident) $($slots:tt)*];
        $future:expr, $($rest:tt)*
    ) => {
        $crate::__join_internal!(
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
            let mut $name = $crate::__private::pin!($crate::__private::MaybeDone::new(
                $crate::__private::IntoFuture::into_future($future),
            ));
        )*
        let mut rotation = $crate::__private::Rotation::new($count, 0, $biased);
        let outputs = $crate::__private::poll_fn(|cx| {
            let mut all_done = true;
            // The branches from `start` to the end, then those before it: unrolled, so each
            // poll is a direct call rather than a jump through a table.
            let start = rotation.advance();
            $(
                if $index >= start {
                    all_done &= $crate::__private::MaybeDone::poll_done($name.as_mut(), cx)
                        .is_ready();
                }
            )*
            $(
                if $index < start {
                    all_done &= $crate::__private::MaybeDone::poll_done($name.as_mut(), cx)
                        .is_ready();
                }
            )*
            if all_done {
                $crate::__private::Poll::Ready((
                    $($crate::__private::MaybeDone::take_output($name.as_mut()),)*
                ))
            } else {
                $crate::__private::Poll::Pending
            }
        })
        .await;
        outputs
    }};
}
