//! The `#[fiber::main]` and `#[fiber::test]` attributes of the
//! [fiber](https://docs.rs/fiber-runtime) async runtime.
//!
//! Use them through fiber, which re-exports them and documents them with examples: the
//! expansion names fiber's items as `::fiber::...` (or the path given with
//! `crate = "..."`), so this crate is of no use on its own.

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

use proc_macro::TokenStream;

mod args;
mod expand;

use args::Kind;

/// Runs an `async fn` (usually `main`) to completion on a new fiber runtime.
///
/// Arguments: `worker_threads = N`, `flavor = "multi_thread" | "current_thread"`,
/// `start_paused = bool`, `crate = "path::to::fiber"`. See `fiber::main` for the details.
#[proc_macro_attribute]
pub fn main(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, arguments.into(), item.into()).into()
}

/// Turns an `async fn` into a `#[test]` that runs on a new fiber runtime (one worker unless
/// told otherwise).
///
/// Arguments: those of `main`, plus `timeout_ms = N`. See `fiber::test` for the details.
#[proc_macro_attribute]
pub fn test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, arguments.into(), item.into()).into()
}
