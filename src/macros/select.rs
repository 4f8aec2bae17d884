//! `select!`: wait for the first of several futures whose output matches its pattern.

/// Waits on several futures at once and runs the handler of the first one to complete
/// with an output that matches its pattern.
///
/// ```text
/// select! {
///     biased;                                  // optional: poll in written order
///     pattern = future => handler,
///     pattern = future, if condition => handler,
///     else => fallback,                        // optional
/// }
/// ```
///
/// `select!` awaits by itself, so it is used inside async code with no `.await` after it.
/// Its value is the value of the handler that ran. Branch futures are taken by value
/// (anything [`IntoFuture`](core::future::IntoFuture)), pinned in place, and need not be
/// `Unpin` or fused. Up to 64 branches are accepted; a handler that is a block needs no
/// comma after it.
///
/// Step by step:
///
/// 1. Every `if` condition is evaluated, in written order. A branch whose condition is
///    `false` is disabled: its future is still created but never polled.
/// 2. Every branch future is created, in written order.
/// 3. The enabled futures are polled. When one completes, its output is matched against its
///    pattern: on a match that branch wins; otherwise the output is dropped and the branch
///    is disabled, never to be polled again.
/// 4. If every branch is disabled, the `else` expression is the value of the `select!`;
///    without an `else`, `select!` panics saying so.
/// 5. Otherwise the winning pattern's bindings are in scope for the winner's handler.
///
/// The branch polled first moves one place on at every poll, and each new `select!` on a
/// thread starts one place on from the last, so that an always-ready branch cannot starve
/// the others in a loop. With `biased;` the branches are polled in written order.
///
/// The handler runs in the enclosing async code: it may `.await`, `break`, `continue`,
/// `return` or use `?`.
///
/// # When futures are dropped
///
/// Every branch future, the losers and the winner alike, is dropped **before** the handler
/// (or the `else` expression) runs. A handler may therefore use a local that a branch
/// future borrowed mutably. If the `select!` itself is dropped while it waits, all its
/// branch futures are dropped with it.
///
/// # Examples
///
/// ```
/// use fiber::select;
/// use futures::channel::mpsc;
/// use futures::StreamExt;
///
/// fiber::block_on(async {
///     let (_keep_open, mut idle) = mpsc::unbounded::<&str>();
///     let (busy_tx, mut busy) = mpsc::unbounded();
///     busy_tx.unbounded_send("job").unwrap();
///
///     let mut received = Vec::new();
///     let message = select! {
///         Some(message) = idle.next() => message,
///         // The future `busy.next()` borrows `busy` mutably...
///         Some(message) = busy.next() => {
///             // ...but both futures are already dropped here.
///             received.push(busy.try_next().is_err());
///             message
///         }
///     };
///     assert_eq!(message, "job");
///     assert_eq!(received, [true]); // `busy` is empty, yet open
/// });
/// ```
///
/// A branch whose output does not match is disabled; `else` runs when none is left:
///
/// ```
/// use fiber::select;
///
/// fiber::block_on(async {
///     let skip_cache = true;
///     let answer = select! {
///         Some(hit) = async { None::<u32> } => hit,        // no match: disabled
///         value = async { 7 }, if !skip_cache => value,     // never polled
///         else => 0,
///     };
///     assert_eq!(answer, 0);
/// });
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select_internal!(@start true; $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_internal!(@start false; $($branches)*)
    };
}

/// Implementation of [`select!`].
///
/// Parsing takes one branch per step, normalised to
/// `(index name pattern future condition handler)`; the state reads
/// `@parse biased; [else]; [branches]; [free slots]; tokens`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    (@start $biased:tt; $($tokens:tt)*) => {
        $crate::__select_internal!(
            @parse $biased;
            [];
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
            $($tokens)*
        )
    };

    // The `else` branch, anywhere in the list.
    (@parse $biased:tt; [$old:tt]; $done:tt; $slots:tt; else => $($rest:tt)*) => {
        ::core::compile_error!("`select!` accepts only one `else` branch")
    };
    (@parse $biased:tt; []; $done:tt; $slots:tt; else => $handler:block, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $biased; [$handler]; $done; $slots; $($rest)*)
    };
    (@parse $biased:tt; []; $done:tt; $slots:tt; else => $handler:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $biased; [$handler]; $done; $slots; $($rest)*)
    };
    (@parse $biased:tt; []; $done:tt; $slots:tt; else => $handler:expr, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $biased; [$handler]; $done; $slots; $($rest)*)
    };
    (@parse $biased:tt; []; $done:tt; $slots:tt; else => $handler:expr) => {
        $crate::__select_internal!(@parse $biased; [$handler]; $done; $slots;)
    };

    // Out of slots.
    (@parse $biased:tt; $else:tt; $done:tt; [(64 $spare:ident)]; $($rest:tt)+) => {
        ::core::compile_error!("`select!` accepts at most 64 branches")
    };

    // A branch with a condition.
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr, if $condition:expr => $handler:block, $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future $condition $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr, if $condition:expr => $handler:block $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future $condition $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr, if $condition:expr => $handler:expr, $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future $condition $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr, if $condition:expr => $handler:expr
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future $condition $handler)];
            [$($slots)*];
        )
    };

    // A branch without a condition.
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr => $handler:block, $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future true $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr => $handler:block $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future true $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr => $handler:expr, $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future true $handler)];
            [$($slots)*]; $($rest)*
        )
    };
    (
        @parse $biased:tt; $else:tt; [$($done:tt)*]; [($index:tt $name:ident) $($slots:tt)*];
        $pattern:pat = $future:expr => $handler:expr
    ) => {
        $crate::__select_internal!(
            @parse $biased; $else;
            [$($done)* ($index $name $pattern $future true $handler)];
            [$($slots)*];
        )
    };

    // Everything parsed.
    (@parse $biased:tt; []; []; $slots:tt; ) => {
        ::core::compile_error!("`select!` needs at least one branch")
    };
    (@parse $biased:tt; [$else:tt]; []; $slots:tt; ) => {
        $else
    };
    (
        @parse $biased:tt; $else:tt;
        [$(($index:tt $name:ident $pattern:tt $future:tt $condition:tt $handler:tt))+];
        [($count:tt $spare:ident) $($slots:tt)*];
    ) => {{
        // Item names are not hygienic: this one is spelled so that no caller's type is.
        #[allow(non_camel_case_types)]
        enum __FiberSelectOutput<$($name,)+> {
            $($name($name),)+
            Disabled,
        }

        // The branch futures are locals of this block, so they are all dropped when it
        // ends: before any handler runs.
        let output = {
            let mut disabled: u64 = 0;
            $(
                if !$condition {
                    disabled |= 1 << $index;
                }
            )+
            $(
                let mut $name = $crate::__private::pin!(
                    $crate::__private::IntoFuture::into_future($future)
                );
            )+
            let mut rotation = $crate::__private::Rotation::new(
                $count,
                $crate::__private::select_start(),
                $biased,
            );
            let output = $crate::__private::poll_fn(|cx| {
                for branch in rotation.next_order() {
                    if disabled & (1 << branch) != 0 {
                        continue;
                    }
                    match branch {
                        $(
                            $index => {
                                let poll = $crate::__private::Future::poll($name.as_mut(), cx);
                                if let $crate::__private::Poll::Ready(value) = poll {
                                    disabled |= 1 << $index;
                                    // Test the pattern without moving out of `value`: a
                                    // guard sees the bindings by reference, and a guard
                                    // that returns false leaves `value` whole.
                                    let mut matched = false;
                                    #[allow(unused_variables, unused_mut, unreachable_code)]
                                    match value {
                                        $pattern if {
                                            matched = true;
                                            false
                                        } => ::core::unreachable!(),
                                        _ => {}
                                    }
                                    if matched {
                                        return $crate::__private::Poll::Ready(
                                            __FiberSelectOutput::$name(value),
                                        );
                                    }
                                }
                            }
                        )+
                        _ => ::core::unreachable!(),
                    }
                }
                if disabled == $crate::__private::all_branches($count) {
                    $crate::__private::Poll::Ready(__FiberSelectOutput::Disabled)
                } else {
                    $crate::__private::Poll::Pending
                }
            })
            .await;
            output
        };

        #[allow(unreachable_patterns)]
        match output {
            $(__FiberSelectOutput::$name($pattern) => $handler,)+
            __FiberSelectOutput::Disabled => $crate::__select_internal!(@else $else),
            _ => ::core::unreachable!("the output of a `select!` branch stopped matching"),
        }
    }};

    (@else []) => {
        ::core::panic!("all branches of `select!` are disabled and there is no `else` branch")
    };
    (@else [$else:tt]) => {
        $else
    };
}
