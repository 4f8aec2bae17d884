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

pub use crate::combinators::FiberFutureExt;
pub use crate::time::{sleep, timeout};
pub use crate::{join, select, spawn, try_join, yield_now};
