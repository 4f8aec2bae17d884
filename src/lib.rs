//! fiber: a small, fast multi-threaded async runtime.
//!
//! fiber runs futures on a pool of worker threads. It is small enough to read in an
//! afternoon: tasks reach the workers through a [crossbeam channel](crossbeam_channel) and
//! per-worker queues, each task is a single allocation with an atomic state word, and idle
//! workers sleep on a futex, so an idle runtime costs no CPU.
//!
//! # A short tour
//!
//! [`block_on`] runs a future on the calling thread, inside a global runtime.
//! [`spawn`] sends a task to the workers and returns a typed [`JoinHandle`]:
//!
//! ```
//! let total = fiber::block_on(async {
//!     let tasks: Vec<_> = (1..=4u64).map(|n| fiber::spawn(async move { n * n })).collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await.unwrap();
//!     }
//!     total
//! });
//! assert_eq!(total, 1 + 4 + 9 + 16);
//! ```
//!
//! [`join_all`] runs a whole collection of futures on the calling task and polls only those
//! that were woken:
//!
//! ```
//! let lengths = fiber::block_on(fiber::join_all(["a", "bb", "ccc"].map(|word| async move {
//!     fiber::yield_now().await;
//!     word.len()
//! })));
//! assert_eq!(lengths, [1, 2, 3]);
//! ```
//!
//! For control over the threads, build a [`Runtime`] with a [`Builder`]; dropping it shuts
//! it down, cancelling unfinished tasks:
//!
//! ```
//! let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
//! let handle = rt.spawn(async { "done" });
//! assert_eq!(rt.block_on(handle).unwrap(), "done");
//! ```
//!
//! A panicking task does not take its worker down; its handle reports the panic:
//!
//! ```
//! let rt = fiber::Runtime::new().unwrap();
//! let error = rt.block_on(rt.spawn(async { panic!("bad input") })).unwrap_err();
//! assert!(error.is_panic());
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod combinators;
pub mod io;
mod loom;
#[macro_use]
mod macros;
pub mod net;
pub mod prelude;
mod runtime;
#[cfg(test)]
mod test_support;
pub mod time;

pub use combinators::{join_all, try_join_all};
pub use runtime::{
    block_on, spawn, yield_now, AbortHandle, Builder, EnterGuard, Handle, JoinError, JoinHandle,
    Runtime, RuntimeMetrics, TryCurrentError, YieldNow,
};

#[doc(hidden)]
pub use macros::__private;

// Compile-time check of which types may cross and be shared between threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Runtime>();
    send_sync::<Handle>();
    send_sync::<Builder>();
    send_sync::<JoinHandle<String>>();
    send_sync::<AbortHandle>();
    send_sync::<JoinError>();
    send_sync::<RuntimeMetrics>();
    send_sync::<TryCurrentError>();
    fn socket<T: Send + Sync + Unpin + 'static>() {}
    socket::<net::TcpListener>();
    socket::<net::TcpStream>();
    socket::<net::OwnedReadHalf>();
    socket::<net::OwnedWriteHalf>();
    socket::<net::UdpSocket>();
    #[cfg(unix)]
    socket::<net::UnixListener>();
    #[cfg(unix)]
    socket::<net::UnixStream>();
    #[cfg(unix)]
    socket::<io::Async<std::net::TcpStream>>();
};

/// The README's code, compiled and run as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
