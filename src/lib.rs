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
//! Sockets live in [`net`] (TCP, UDP, Unix) and any other descriptor can be wrapped in
//! [`io::Async`]; they are driven by the runtime's own I/O driver, polled by an idle worker
//! (see [`io`] for the design):
//!
//! ```
//! use fiber::net::{TcpListener, TcpStream};
//!
//! fiber::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _) = listener.accept().await?;
//!     assert_eq!(server.peer_addr()?, client.local_addr()?);
//!     Ok::<(), std::io::Error>(())
//! })
//! .unwrap();
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
//! An async `main`, or an async test, is one attribute away: [`#[fiber::main]`](main) and
//! [`#[fiber::test]`](test) build the runtime and block on the function's body:
//!
//! ```
//! #[fiber::main(worker_threads = 2)]
//! async fn main() {
//!     let answer = fiber::spawn(async { 6 * 7 }).await.unwrap();
//!     assert_eq!(answer, 42);
//! }
//! ```
//!
//! Blocking work goes to a pool of threads of its own, so that it does not stall the
//! workers: [`spawn_blocking`] runs a closure there and returns an ordinary [`JoinHandle`];
//! [`block_in_place`] blocks right in a task, handing the worker's other tasks to another
//! thread meanwhile:
//!
//! ```
//! let rt = fiber::Runtime::new().unwrap();
//! let length = rt.block_on(async {
//!     let listing = fiber::spawn_blocking(|| std::fs::read_dir(".").map(|dir| dir.count()));
//!     listing.await.unwrap().unwrap()
//! });
//! assert!(length > 0);
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
pub mod task;
#[cfg(test)]
mod test_support;
pub mod time;

pub use combinators::{join_all, try_join_all, FiberFutureExt};
pub use macros::attributes::{main, test};
pub use runtime::{
    block_in_place, block_on, spawn, spawn_blocking, yield_now, AbortHandle, Builder, EnterGuard,
    Handle, JoinError, JoinHandle, Runtime, RuntimeMetrics, SlowPoll, TryCurrentError, YieldNow,
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
    send_sync::<task::JoinSet<String>>();
    send_sync::<task::AccessError>();
    send_sync::<SlowPoll>();
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

/// The code of docs/ecosystem.md, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../docs/ecosystem.md")]
pub struct EcosystemDoctests;
