//! [`Registration`]: a source's link to the driver of the runtime it was registered with,
//! and the "try the syscall; on `WouldBlock` clear readiness and wait" loop every socket
//! operation runs.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use mio::Token;

#[cfg(unix)]
use crate::io::receive_queue::QueueReport;
use crate::runtime::coop;
use crate::runtime::io::driver::shut_down_error;
use crate::runtime::io::scheduled_io::{Direction, ScheduledIo};
use crate::runtime::Handle;

/// A registered source's token and readiness, and the runtime whose driver polls it (kept
/// alive by this reference, so deregistering always has a driver to talk to).
pub(crate) struct Registration {
    handle: Handle,
    token: Token,
    io: Arc<ScheduledIo>,
    /// Whether the source's reads report its receive queue (stream sockets only).
    #[cfg(unix)]
    queue_report: QueueReport,
}

impl Registration {
    /// Registers `source` with the current runtime's driver or, outside any runtime, with the
    /// global runtime's (the one `fiber::block_on` uses).
    pub(crate) fn new(source: &mut impl mio::event::Source) -> io::Result<Registration> {
        Registration::with_handle(source, crate::runtime::current_or_global())
    }

    /// Registers `source` with `handle`'s driver (an accepted stream joins its listener's).
    pub(crate) fn with_handle(
        source: &mut impl mio::event::Source,
        handle: Handle,
    ) -> io::Result<Registration> {
        let driver = &handle.scheduler.io();
        let (token, io, first) = driver.register(source)?;
        if first {
            // Workers that parked while nothing was registered sleep on their channel, where
            // no readiness reaches them: wake one, to park again in the driver.
            handle.scheduler.notify_parked();
        }
        Ok(Registration {
            handle,
            token,
            io,
            #[cfg(unix)]
            queue_report: QueueReport::default(),
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Whether reads of this (stream) source report its receive queue.
    #[cfg(unix)]
    pub(crate) fn queue_report(&self) -> &QueueReport {
        &self.queue_report
    }

    /// Deregisters `source`; called once, by the owner of the source, before it closes it.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        self.handle.scheduler.io().deregister(source, self.token);
    }

    /// Ready when the source may be ready for `direction`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        self.io
            .poll_ready(cx, direction)
            .map(|ready| ready.map(drop).map_err(|()| shut_down_error()))
    }

    /// Runs `operation` until it does not return `WouldBlock`, waiting for readiness in
    /// `direction` before each try.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        operation: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_until_done(cx, direction, operation, |_| false)
    }

    /// [`poll_io`](Registration::poll_io) for a byte-stream transfer of `requested` bytes,
    /// where `operation` returns the bytes moved and whether it is known to have emptied the
    /// receive queue (see `io::receive_queue`). A stream socket that moves fewer bytes than
    /// asked has drained its receive queue (or filled its send buffer), as has one that says
    /// so, so the readiness just used is cleared at once: the next call waits for an event
    /// instead of spending a syscall to learn `WouldBlock`.
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        requested: usize,
        operation: impl FnMut() -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<usize>> {
        self.poll_until_done(cx, direction, operation, |&(moved, emptied)| {
            moved > 0 && (emptied || moved < requested)
        })
        .map(|result| result.map(|(moved, _)| moved))
    }

    /// The loop behind `poll_io` and `poll_transfer`: waits for readiness, runs `operation`,
    /// and on `WouldBlock` clears the readiness it used and waits again. An `Ok` output for
    /// which `drained` holds also clears that readiness (the source has nothing more for
    /// now). Each call that completes takes one unit of the task's budget, so a loop over an
    /// always-ready socket (a fast peer) yields to the worker's other tasks like any loop over
    /// fiber's resources.
    fn poll_until_done<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut operation: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let event =
                ready!(self.io.poll_ready(cx, direction)).map_err(|()| shut_down_error())?;
            match operation() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(event);
                }
                result => {
                    if matches!(&result, Ok(output) if drained(output)) {
                        self.io.clear_readiness(event);
                    }
                    coop.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// Runs `operation` once if the source may be ready for `direction`; returns
    /// `WouldBlock` (and forgets the stale readiness) otherwise.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        operation: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let event = self
            .io
            .ready_now(direction)
            .map_err(|()| shut_down_error())?
            .ok_or_else(|| io::Error::from(io::ErrorKind::WouldBlock))?;
        let result = operation();
        if matches!(&result, Err(error) if error.kind() == io::ErrorKind::WouldBlock) {
            self.io.clear_readiness(event);
        }
        result
    }

    /// [`poll_io`](Registration::poll_io) as a future.
    pub(crate) async fn async_io<R>(
        &self,
        direction: Direction,
        mut operation: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, direction, &mut operation)).await
    }

    /// Waits until the source may be ready for `direction`.
    pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(cx, direction)).await
    }
}
