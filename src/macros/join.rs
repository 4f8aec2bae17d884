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
/// fiber::block_on(async {
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
///
/// # Limits
///
/// 64 futures compile; a 65th is a compile error saying "`join!` accepts at most 64
/// futures":
///
/// ```
/// # use std::future::ready;
/// # fiber::block_on(async {
/// let outputs = fiber::join!(
///     // 64 futures here (hidden)
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8),
/// );
/// # assert_eq!(outputs.63, 0);
/// # });
/// ```
///
/// ```compile_fail
/// # use std::future::ready;
/// # fiber::block_on(async {
/// let outputs = fiber::join!(
///     // 65 futures here (hidden)
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8), ready(0u8),
/// #     ready(0u8), ready(0u8),
/// );
/// # });
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

/// Implementation of [`join!`]: has [`__number_branches!`](crate::__number_branches) give
/// each future an index and a name, then expands to the polling loop.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_internal {
    (@start $biased:tt; ) => {
        ()
    };
    (@start $biased:tt; $($future:expr,)+) => {
        $crate::__number_branches!(
            @start __join_internal, "`join!` accepts at most 64 futures", $biased; $($future,)+
        )
    };
    (
        @numbered $biased:tt;
        $count:tt;
        $(($index:tt $name:ident $future:tt))*
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
