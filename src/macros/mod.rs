//! The `join!`, `try_join!`, `select!` and `fiber_main!` macros, and the `#[fiber::main]` /
//! `#[fiber::test]` attributes.
//!
//! The macros are `macro_rules!` exported at the crate root. Each one first gives every
//! branch a slot (an index and a name), one branch per expansion step, then expands to a
//! block that pins the branch futures on the stack and awaits a `poll_fn` over them. The
//! helper types they need live in [`support`] and are reached through `$crate::__private`.
//!
//! The attributes are procedural macros from the `fiber-macros` crate (the `macros/` folder
//! of this repository), re-exported and documented in [`attributes`]; their expansions call
//! into [`attribute_support`], again through `::fiber::__private`.

mod attribute_support;
pub(crate) mod attributes;
mod branches;
mod fiber_main;
mod join;
mod select;
mod support;
mod try_join;

/// What the exported macros expand to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use core::future::{poll_fn, Future, IntoFuture};
    pub use core::pin::pin;
    pub use core::task::Poll;

    pub use super::attribute_support::{block_on, run_with_timeout};
    pub use super::support::{all_branches, select_start, MaybeDone, Rotation, TryMaybeDone};
}
