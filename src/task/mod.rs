//! Tasks: spawning them, grouping them, running `!Send` ones, and giving them local values.
//!
//! - [`spawn`], [`JoinHandle`], [`AbortHandle`], [`JoinError`] and [`yield_now`]: the basics,
//!   also at the crate root.
//! - [`JoinSet`]: a group of tasks whose outputs come in the order they finish; dropping the
//!   set aborts them.
//! - [`LocalSet`] and [`spawn_local`]: tasks whose futures are not `Send` (they hold an `Rc`,
//!   a `RefCell`...), run on the thread that owns the set.
//! - [`unconstrained`]: opts a future out of the cooperative budget that makes a task yield
//!   after finding fiber's resources (timers, join handles, sockets) ready many times in a row.
//! - [`task_local!`](crate::task_local) and [`LocalKey`]: values scoped to a task, that
//!   follow it from worker to worker.
//!
//! # Examples
//!
//! ```
//! use fiber::task::JoinSet;
//!
//! fiber::task_local! {
//!     static WORKER_NAME: &'static str;
//! }
//!
//! let rt = fiber::Runtime::new().unwrap();
//! let names = rt.block_on(async {
//!     let mut set = JoinSet::new();
//!     for name in ["a", "b"] {
//!         set.spawn(WORKER_NAME.scope(name, async {
//!             fiber::task::yield_now().await;
//!             WORKER_NAME.get()
//!         }));
//!     }
//!     let mut names = set.join_all().await;
//!     names.sort();
//!     names
//! });
//! assert_eq!(names, ["a", "b"]);
//! ```

mod join_set;
mod local;
mod task_local;
mod unconstrained;

pub use crate::runtime::{
    block_in_place, spawn, spawn_blocking, yield_now, AbortHandle, JoinError, JoinHandle, YieldNow,
};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalSet, RunUntil};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
pub use unconstrained::{unconstrained, Unconstrained};
