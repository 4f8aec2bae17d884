//! The items most async code wants: `use fiber::prelude::*;`.
//!
//! ```
//! use fiber::prelude::*;
//! use std::time::Duration;
//!
//! fiber::block_on(async {
//!     let task = spawn(async { 20 }).map(|result| result.unwrap() + 1);
//!     let (a, b) = join!(task, async {
//!         sleep(Duration::from_millis(1)).await;
//!         yield_now().await;
//!         21
//!     });
//!     assert_eq!(a + b, 42);
//!     assert!(timeout(Duration::from_secs(5), async { 1 }).await.is_ok());
//! });
//! ```
//!
//! # Together with `futures::FutureExt`
//!
//! [`FiberFutureExt`] shares method names with futures' `FutureExt` (`map`, `then`,
//! `inspect`, `fuse`, `boxed`) and `TryFutureExt` (`and_then`, `or_else`, `map_ok`,
//! `map_err`). With both traits in scope, a call of a shared name as a method is ambiguous
//! and fails with E0034, "multiple applicable items in scope". Importing a trait `as _`
//! does not help: its methods are still in scope.
//!
//! ```compile_fail,E0034
//! use fiber::prelude::*;
//! use futures::FutureExt;
//!
//! fiber::block_on(async {
//!     let two = async { 1 }.map(|n| n + 1).await; // E0034: which `map`?
//! });
//! ```
//!
//! What works: call the shared names by path, naming the trait you mean, or keep only one
//! of the two traits in scope (import the prelude's items by name instead of the glob).
//! Methods that only one trait has (`timeout`, `now_or_never`) can still be called as
//! methods with both in scope.
//!
//! ```
//! use fiber::prelude::*;
//! use futures::FutureExt;
//! use std::time::Duration;
//!
//! fiber::block_on(async {
//!     let two = FiberFutureExt::map(async { 1 }, |n| n + 1).await;
//!     let three = FutureExt::map(async { 2 }, |n| n + 1).await;
//!     let four = async { 4 }.timeout(Duration::from_secs(5)).await.unwrap();
//!     assert_eq!(two + three + four, 9);
//! });
//! ```
//!
//! ```
//! // Only futures' trait in scope: its methods need no path.
//! use fiber::prelude::{join, spawn};
//! use futures::FutureExt;
//!
//! fiber::block_on(async {
//!     let (a, b) = join!(spawn(async { 1 }).map(Result::unwrap), async { 2 }.map(|n| n * 2));
//!     assert_eq!(a + b, 5);
//! });
//! ```

pub use crate::combinators::FiberFutureExt;
pub use crate::time::{sleep, timeout};
pub use crate::{join, select, spawn, try_join, yield_now};
