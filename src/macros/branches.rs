//! Numbering the branches of `join!` and `try_join!`, shared by both.

/// Gives each future of a `join!`-like macro an index and a name of its own, one future per
/// step (so 64 futures stay far from the recursion limit), then calls
/// `$crate::$callback!(@numbered biased; count; (index name future)...)`.
///
/// The names (`_0`, `_1`, ...) are made here, so macro hygiene keeps them apart from any
/// name at the call site.
#[doc(hidden)]
#[macro_export]
macro_rules! __number_branches {
    (@start $callback:ident, $too_many:literal, $biased:tt; $($future:expr,)+) => {
        $crate::__number_branches!(
            @slot $callback, $too_many, $biased;
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
    (@slot $callback:ident, $too_many:literal, $biased:tt; $done:tt; [(64 $spare:ident)]; $($rest:tt)+) => {
        ::core::compile_error!($too_many)
    };
    (
        @slot $callback:ident, $too_many:literal, $biased:tt;
        [$($done:tt)*];
        [($index:tt $name:ident) $($slots:tt)*];
        $future:expr, $($rest:tt)*
    ) => {
        $crate::__number_branches!(
            @slot $callback, $too_many, $biased;
            [$($done)* ($index $name $future)];
            [$($slots)*];
            $($rest)*
        )
    };
    (
        @slot $callback:ident, $too_many:literal, $biased:tt;
        [$($done:tt)*];
        [($count:tt $spare:ident) $($slots:tt)*];
    ) => {
        $crate::$callback!(@numbered $biased; $count; $($done)*)
    };
}
