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

/// The attribute comes from the `fiber-macros` crate and is meant to be used through fiber,
/// as `#[fiber::main]`, whose documentation tells its arguments and shows examples.
#[proc_macro_attribute]
pub fn main(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, arguments.into(), item.into()).into()
}

/// The attribute comes from the `fiber-macros` crate and is meant to be used through fiber,
/// as `#[fiber::test]`, whose documentation tells its arguments and shows examples.
#[proc_macro_attribute]
pub fn test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, arguments.into(), item.into()).into()
}

#[cfg(test)]
mod tests;
