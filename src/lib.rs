//! fiber: a small, fast multi-threaded async runtime.
//!
//! (Crate tour written once the runtime lands.)

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod combinators;
#[macro_use]
mod macros;
pub mod prelude;
mod runtime;

pub use runtime::time;

#[doc(hidden)]
pub use macros::__private;
