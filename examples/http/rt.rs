//! What hyper needs from a runtime (`hyper::rt`), given by fiber: an executor that spawns
//! fiber tasks, a timer built on `fiber::time::sleep`, and [`FiberIo`], which lets hyper read
//! and write any futures-io stream, such as fiber's `TcpStream`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};
use hyper::rt::{Executor, ReadBufCursor, Sleep, Timer};

/// How much a connection reads at once: hyper's own first read buffer is this size too.
const SCRATCH_LEN: usize = 8 * 1024;

/// A futures-io stream (fiber's `TcpStream`) as hyper's `Read` and `Write`.
///
/// hyper hands its reader an uninitialised buffer, and futures-io's `poll_read` wants an
/// initialised `&mut [u8]`. Zeroing hyper's buffer before every read would make the two
/// meet, but hyper starts every read from a fresh, uninitialised view of its 8 KiB buffer,
/// and zeroing that much per read cost about 5 % of a server's CPU. Instead each connection
/// reads into a scratch buffer of its own, zeroed once when the connection starts, and
/// copies out what arrived: a request of a few hundred bytes costs a copy of a few hundred
/// bytes, and no `unsafe` is needed.
#[derive(Debug)]
pub struct FiberIo<S> {
    stream: S,
    scratch: Box<[u8]>,
}

impl<S> FiberIo<S> {
    /// Wraps `stream` for hyper.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            scratch: vec![0; SCRATCH_LEN].into_boxed_slice(),
        }
    }
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for FiberIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let len = buf.remaining().min(this.scratch.len());
        let read = ready!(Pin::new(&mut this.stream).poll_read(cx, &mut this.scratch[..len]))?;
        // hyper reads a cursor that did not move as the end of the stream, just as
        // futures-io reads `Ok(0)`.
        buf.put_slice(&this.scratch[..read]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for FiberIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    /// futures-io cannot tell whether a stream's vectored write is a real `writev` or the
    /// default that writes only the first slice, so hyper is told to flatten each response
    /// into one buffer: for small responses that is one copy of a few hundred bytes.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}

/// Runs hyper's background futures, and the server's connections, as fiber tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct FiberExecutor;

impl<F> Executor<F> for FiberExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Detached: the future reports its own outcome, nobody awaits it.
        drop(fiber::spawn(future));
    }
}

/// hyper's timer (header read timeouts, keep-alive) on `fiber::time`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FiberTimer;

impl Timer for FiberTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(FiberSleep(fiber::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(FiberSleep(fiber::time::sleep_until(deadline)))
    }

    /// Moves the deadline of a sleep this timer made, instead of allocating a new one.
    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<FiberSleep>() {
            Some(fiber_sleep) => Pin::new(&mut fiber_sleep.get_mut().0).reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A `fiber::time::Sleep` that hyper can hold as its `Sleep`.
#[derive(Debug)]
struct FiberSleep(fiber::time::Sleep);

impl Future for FiberSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // fiber's `Sleep` is `Unpin`, so it can be polled through a plain `&mut`.
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl Sleep for FiberSleep {}
