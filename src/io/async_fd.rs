//! [`Async`]: any file-descriptor-backed I/O source, made async by fiber's driver.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::evented::Evented;
use super::scheduled_io::Direction;

/// An I/O source of any kind (a socket, a pipe, a terminal, ...) registered with fiber's
/// I/O driver, so that tasks can wait for it to become readable or writable.
///
/// [`Async::new`] puts the descriptor in non-blocking mode and registers it with the
/// current runtime, or with the global runtime (the one [`fiber::block_on`](crate::block_on)
/// uses) outside any runtime. Dropping the `Async` deregisters the source and then drops it.
///
/// Do the I/O through [`read_with`](Async::read_with) and [`write_with`](Async::write_with)
/// (or the `AsyncRead` / `AsyncWrite` impls): they notice `WouldBlock` and wait for the next
/// readiness event. [`readable`](Async::readable) and [`writable`](Async::writable) only
/// wait; a `WouldBlock` from a syscall made directly on [`get_ref`](Async::get_ref) after them
/// goes unnoticed, and the next `readable()` returns at once again.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use fiber::io::Async;
///
/// fiber::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (a, b) = (Async::new(a)?, Async::new(b)?);
///     b.write_with(|mut stream| stream.write(b"ping")).await?;
///     let mut buffer = [0; 4];
///     let n = a.read_with(|mut stream| stream.read(&mut buffer)).await?;
///     assert_eq!(&buffer[..n], b"ping");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct Async<T: AsRawFd> {
    inner: Evented<Fd<T>>,
}

/// Lets mio register any `AsRawFd` source by its descriptor.
struct Fd<T>(T);

impl<T: AsRawFd> mio::event::Source for Fd<T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fcntl` with F_GETFL only reads the flags of `fd`; an invalid descriptor makes
    // it fail with EBADF, which is returned, never undefined behaviour.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; F_SETFL changes only the status flags of the descriptor the
        // caller owns (it is borrowed from the `T` that `Async::new` took by value).
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl<T: AsRawFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the current runtime's I/O
    /// driver (outside any runtime: the global runtime's).
    ///
    /// # Errors
    ///
    /// Returns the OS error if the descriptor cannot be made non-blocking or registered
    /// (for example a regular file, which epoll refuses), or an error if the runtime has
    /// shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = fiber::io::Async::new(listener)?;
    /// assert!(listener.get_ref().local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        set_nonblocking(io.as_raw_fd())?;
        Ok(Async {
            inner: Evented::new(Fd(io))?,
        })
    }

    /// The source.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let address = socket.local_addr()?;
    /// let socket = fiber::io::Async::new(socket)?;
    /// assert_eq!(socket.get_ref().local_addr()?, address);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner.get_ref().0
    }

    /// The source, mutably. Replacing it with another descriptor breaks its registration.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut a = fiber::io::Async::new(a)?;
    /// a.get_mut().write_all(b"hi")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner.get_mut().0
    }

    /// Deregisters the source and returns it (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None today; the `Result` matches other runtimes' `Async::into_inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::io::Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// let socket: std::net::UdpSocket = socket.into_inner()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> io::Result<T> {
        Ok(self.inner.into_inner().0)
    }

    /// Waits until the source may be readable.
    ///
    /// # Errors
    ///
    /// Returns an error if the runtime that drives the source has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// fiber::block_on(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = fiber::io::Async::new(a)?;
    ///     b.write_all(b"x")?;
    ///     a.readable().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.registration().ready(Direction::Read).await
    }

    /// Waits until the source may be writable.
    ///
    /// # Errors
    ///
    /// Returns an error if the runtime that drives the source has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     fiber::io::Async::new(a)?.writable().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.registration().ready(Direction::Write).await
    }

    /// Polls for readability: `Ready` when the source may be readable; otherwise the task
    /// is woken at the next readiness event.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// fiber::block_on(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = fiber::io::Async::new(a)?;
    ///     b.write_all(b"x")?;
    ///     std::future::poll_fn(|cx| a.poll_readable(cx)).await
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.registration().poll_ready(cx, Direction::Read)
    }

    /// Polls for writability, like [`poll_readable`](Async::poll_readable).
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = fiber::io::Async::new(a)?;
    ///     std::future::poll_fn(|cx| a.poll_writable(cx)).await
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.registration().poll_ready(cx, Direction::Write)
    }

    /// Runs `operation` until it does not fail with `WouldBlock`, waiting for readability
    /// before each try.
    ///
    /// # Errors
    ///
    /// Returns `operation`'s error, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = fiber::io::Async::new(std::net::TcpListener::bind("127.0.0.1:0")?)?;
    /// let address = listener.get_ref().local_addr()?;
    /// let client = std::thread::spawn(move || std::net::TcpStream::connect(address));
    /// let (_stream, _peer) = fiber::block_on(listener.read_with(|listener| listener.accept()))?;
    /// client.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with<R>(
        &self,
        mut operation: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get_ref();
        self.inner
            .registration()
            .async_io(Direction::Read, || operation(io))
            .await
    }

    /// [`read_with`](Async::read_with) with mutable access to the source.
    ///
    /// # Errors
    ///
    /// Returns `operation`'s error, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// fiber::block_on(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    ///     let mut a = fiber::io::Async::new(a)?;
    ///     b.write_all(b"x")?;
    ///     let mut byte = [0];
    ///     a.read_with_mut(|stream| stream.read(&mut byte)).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_with_mut<R>(
        &mut self,
        mut operation: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_with_mut(cx, Direction::Read, &mut operation)).await
    }

    fn poll_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        direction: Direction,
        operation: &mut impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let (io, registration) = self.inner.split_mut();
        registration.poll_io(cx, direction, || operation(&mut io.0))
    }

    /// Runs `operation` until it does not fail with `WouldBlock`, waiting for writability
    /// before each try.
    ///
    /// # Errors
    ///
    /// Returns `operation`'s error, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::io::Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// let address = socket.get_ref().local_addr()?;
    /// let sent = fiber::block_on(socket.write_with(|socket| socket.send_to(b"hi", address)))?;
    /// assert_eq!(sent, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with<R>(
        &self,
        mut operation: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get_ref();
        self.inner
            .registration()
            .async_io(Direction::Write, || operation(io))
            .await
    }

    /// [`write_with`](Async::write_with) with mutable access to the source.
    ///
    /// # Errors
    ///
    /// Returns `operation`'s error, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// fiber::block_on(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     let mut a = fiber::io::Async::new(a)?;
    ///     a.write_with_mut(|stream| stream.write(b"x")).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn write_with_mut<R>(
        &mut self,
        mut operation: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_with_mut(cx, Direction::Write, &mut operation)).await
    }
}

impl<T: AsRawFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Async").field(self.get_ref()).finish()
    }
}

impl<T: AsRawFd + Read + Unpin> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_with_mut(cx, Direction::Read, &mut |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_with_mut(cx, Direction::Read, &mut |io| io.read_vectored(bufs))
    }
}

impl<T: AsRawFd + Write + Unpin> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_with_mut(cx, Direction::Write, &mut |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_with_mut(cx, Direction::Write, &mut |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_with_mut(cx, Direction::Write, &mut |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::io::AsRawFd;

    use super::set_nonblocking;

    #[test]
    fn set_nonblocking_makes_an_empty_read_would_block() {
        let (mut a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        set_nonblocking(a.as_raw_fd()).unwrap();
        // Twice: the second call finds the flag set already.
        set_nonblocking(a.as_raw_fd()).unwrap();
        let error = a.read(&mut [0; 1]).unwrap_err();
        // Miri's emulated sockets report EAGAIN with a kind of their own.
        if !cfg!(miri) {
            assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
        }
    }

    #[test]
    fn set_nonblocking_reports_a_bad_descriptor() {
        assert!(set_nonblocking(-1).is_err());
    }
}
