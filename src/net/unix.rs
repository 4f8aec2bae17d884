//! [`UnixListener`] and [`UnixStream`]: Unix domain stream sockets.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::stream_io::{self, impl_async_read, impl_async_write};
use crate::io::evented::Evented;
use crate::io::scheduled_io::Direction;

/// A Unix domain socket server, listening for connections on a path.
///
/// # Examples
///
/// ```
/// use fiber::net::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("fiber-doc-listener-{}", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// fiber::block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let (accepted, connected) = fiber::join!(listener.accept(), UnixStream::connect(&path));
///     let (_server, _peer) = accepted?;
///     let _client = connected?;
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: Evented<mio::net::UnixListener>,
}

/// A Unix domain stream socket: futures-io `AsyncRead` / `AsyncWrite` for `UnixStream` and
/// `&UnixStream`; closing shuts down the write direction only.
///
/// # Examples
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// fiber::block_on(async {
///     let (mut a, mut b) = fiber::net::UnixStream::pair()?;
///     a.write_all(b"hello").await?;
///     let mut buffer = [0; 5];
///     b.read_exact(&mut buffer).await?;
///     assert_eq!(&buffer, b"hello");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    io: Evented<mio::net::UnixStream>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path`, which must not exist yet.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `bind` (`AddrInUse` if the file exists).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("fiber-doc-bind-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = fiber::net::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Evented::new(mio::net::UnixListener::bind(path)?)?,
        })
    }

    /// Makes a std listener async. It is put in non-blocking mode.
    ///
    /// # Errors
    ///
    /// Returns the OS error if the socket cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("fiber-doc-from-std-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let listener = fiber::net::UnixListener::from_std(listener)?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: Evented::new(mio::net::UnixListener::from_std(listener))?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`, or an error if the listener's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("fiber-doc-accept-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// fiber::block_on(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (_stream, _peer) = listener.accept().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let listener = self.io.get_ref();
        let (stream, peer) = self
            .io
            .registration()
            .async_io(Direction::Read, || listener.accept())
            .await?;
        let handle = self.io.registration().handle().clone();
        let stream = UnixStream {
            io: Evented::with_handle(stream, handle)?,
        };
        Ok((stream, peer))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("fiber-doc-addr-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = fiber::net::UnixListener::bind(&path)?;
    /// assert!(listener.local_addr()?.as_pathname().is_some());
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS error of `connect` (`NotFound` without a socket file, `ConnectionRefused`
    /// when nobody listens on it).
    ///
    /// # Examples
    ///
    /// ```
    /// let missing = std::env::temp_dir().join("fiber-doc-no-such-socket");
    /// let error = fiber::block_on(fiber::net::UnixStream::connect(missing)).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let stream = UnixStream {
            io: Evented::new(mio::net::UnixStream::connect(path)?)?,
        };
        let socket = stream.io.get_ref();
        stream
            .io
            .registration()
            .async_io(Direction::Write, || match socket.take_error()? {
                Some(error) => Err(error),
                None => Ok(()),
            })
            .await?;
        Ok(stream)
    }

    /// A pair of connected streams.
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`, or a registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let (a, b) = fiber::net::UnixStream::pair()?;
    ///     a.writable().await?;
    ///     a.try_write(b"x")?;
    ///     b.readable().await?;
    ///     assert_eq!(b.try_read(&mut [0; 2])?, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                io: Evented::new(a)?,
            },
            UnixStream {
                io: Evented::new(b)?,
            },
        ))
    }

    /// Makes a std stream async. It is put in non-blocking mode.
    ///
    /// # Errors
    ///
    /// Returns the OS error if the socket cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = fiber::net::UnixStream::from_std(a)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: Evented::new(mio::net::UnixStream::from_std(stream))?,
        })
    }

    /// The address of this end.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = fiber::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the remote end.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getpeername`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = fiber::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both directions.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `shutdown`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    /// fiber::block_on(async {
    ///     let (a, mut b) = fiber::net::UnixStream::pair()?;
    ///     a.shutdown(std::net::Shutdown::Write)?;
    ///     assert_eq!(b.read(&mut [0; 4]).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the stream may be readable.
    ///
    /// # Errors
    ///
    /// Returns an error if the stream's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    /// fiber::block_on(async {
    ///     let (mut a, b) = fiber::net::UnixStream::pair()?;
    ///     a.write_all(b"x").await?;
    ///     b.readable().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.registration().ready(Direction::Read).await
    }

    /// Waits until the stream may be writable.
    ///
    /// # Errors
    ///
    /// Returns an error if the stream's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let (a, _b) = fiber::net::UnixStream::pair()?;
    ///     a.writable().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().ready(Direction::Write).await
    }

    /// Reads once without waiting: `WouldBlock` if no data is ready.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, the OS error of `read`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = fiber::net::UnixStream::pair()?;
    /// assert_eq!(a.try_read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.io, buf)
    }

    /// Writes once without waiting: `WouldBlock` if the send buffer is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, the OS error of `write`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let (a, _b) = fiber::net::UnixStream::pair()?;
    ///     a.writable().await?;
    ///     assert_eq!(a.try_write(b"hey")?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
    }
}

impl_async_read!([] UnixStream, this => &this.io);
impl_async_read!(['a] &'a UnixStream, this => &this.io);
impl_async_write!([] UnixStream, this => &this.io, close(this) => this.shutdown(Shutdown::Write));
impl_async_write!(['a] &'a UnixStream, this => &this.io, close(this) => this.shutdown(Shutdown::Write));

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
