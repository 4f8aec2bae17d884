//! Asynchronous I/O: [`Async`], the wrapper that makes any file-descriptor-backed source
//! async, and the registration that the sockets of [`fiber::net`](crate::net) are built on.
//! The driver itself belongs to the runtime (`runtime::io`): the workers poll it.
//!
//! # Design
//!
//! **Why mio.** mio is a thin, portable layer over epoll / kqueue with edge-triggered
//! registration and a cross-thread `Waker` (an eventfd on Linux): exactly the primitives a
//! runtime-owned driver needs, with no thread or policy of its own.
//!
//! **Who polls the OS, and when.** Each runtime owns one driver (one `mio::Poll`), and it has
//! no thread of its own. A worker that runs out of work, and is about to park while sockets
//! are registered, tries to take the driver (a try-lock); the one that gets it blocks in
//! `Poll::poll` instead of on the injector channel, and the others park on the channel as
//! before. When an event arrives the wakes run on that worker, inside its worker context, so
//! the woken tasks land in its own queues and it runs them next: no thread hop between the
//! OS event and the task. Busy workers also poll the driver with a zero timeout at the
//! periodic check where they look at the injector (if no other worker holds it), so sockets
//! are served even when no worker ever goes idle. Timers keep their own thread.
//!
//! **How a wake reaches a parked worker.** The worker blocked in `Poll::poll` counts as
//! parked. A remote spawn or wake sends its task on the injector channel as always; if the
//! only parked worker is the one in the poll, nobody would take it from the channel, so the
//! sender also fires the driver's `mio::Waker` (at most once per poll cycle: an atomic flag,
//! reset when the poll returns, drops the repeats). The same holds for `notify_parked`, the
//! request that a parked worker come and steal local work. The poller and the waker follow
//! the scheduler's announce-then-look protocol: the poller announces itself before its last
//! look at the queues, the waker publishes its work before it looks for a poller, so one of
//! them always sees the other. While no source is registered no worker parks in the driver
//! (a runtime without sockets parks exactly as before); the first registration wakes a
//! parked worker so that it parks again, this time in the driver.
//!
//! **Readiness.** Sources are registered once, edge-triggered, for reading and writing. Each
//! keeps its readiness in one atomic word with a tick counter bumped per event, so a task
//! that gets `WouldBlock` clears only the readiness it observed, never a newer event (see
//! the runtime's `io::scheduled_io`); readers and writers wait in separate lists. A read that
//! empties the receive queue (a short read, or on Linux a TCP read whose `TCP_INQ` report
//! says nothing is left) clears readiness at once, so the next read waits for an event
//! instead of spending a syscall on `WouldBlock` (see `receive_queue`). Tokens carry a generation,
//! so an event for a source dropped meanwhile is ignored.
//!
//! **Shutdown.** Dropping the runtime marks every registration shut down and wakes its
//! waiters; from then on every operation on its sockets, and every new registration, fails
//! with an `io::Error` instead of hanging.

#[cfg(unix)]
mod async_fd;
pub(crate) mod evented;
#[cfg(unix)]
pub(crate) mod receive_queue;
pub(crate) mod registration;

#[cfg(unix)]
pub use async_fd::Async;
