//! [`TcpStream`]: a TCP connection.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::addr;
use super::stream_io::{self, impl_async_read, impl_async_write};
use super::tcp_split::{OwnedReadHalf, OwnedWriteHalf};
use crate::io::evented::Evented;
use crate::io::scheduled_io::Direction;
use crate::runtime::Handle;

/// A TCP connection.
///
/// Reads and writes go through futures-io's [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite) (implemented for `TcpStream` and `&TcpStream`, so
/// one task can read while another writes), or through [`try_read`](TcpStream::try_read) /
/// [`try_write`](TcpStream::try_write) after [`readable`](TcpStream::readable) /
/// [`writable`](TcpStream::writable). Closing (`poll_close`) shuts down the write direction
/// only. [`into_split`](TcpStream::into_split) gives owned halves for separate tasks.
///
/// # Examples
///
/// ```
/// use fiber::net::{TcpListener, TcpStream};
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// fiber::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let address = listener.local_addr()?;
///     let server = fiber::spawn(async move {
///         let (mut stream, _) = listener.accept().await?;
///         let mut buffer = [0; 5];
///         stream.read_exact(&mut buffer).await?;
///         stream.write_all(&buffer).await?;
///         Ok::<_, std::io::Error>(())
///     });
///     let mut client = TcpStream::connect(address).await?;
///     client.write_all(b"hello").await?;
///     let mut echoed = [0; 5];
///     client.read_exact(&mut echoed).await?;
///     assert_eq!(&echoed, b"hello");
///     server.await.unwrap()
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    pub(super) io: Evented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each address it resolves to in turn.
    ///
    /// # Errors
    ///
    /// Returns the last address's error if no connection could be made, for example
    /// `ConnectionRefused` when nothing listens there.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr::resolve(addr)? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream {
            io: Evented::new(mio::net::TcpStream::connect(addr)?)?,
        };
        // The connection is established (or failed) once the socket turns writable. A
        // spurious wake-up leaves it not yet connected: treat that as `WouldBlock`.
        let socket = stream.io.get_ref();
        stream
            .io
            .registration()
            .async_io(Direction::Write, || {
                if let Some(error) = socket.take_error()? {
                    return Err(error);
                }
                match socket.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(error) => Err(error),
                }
            })
            .await?;
        Ok(stream)
    }

    pub(super) fn from_mio(stream: mio::net::TcpStream, handle: Handle) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::with_handle(stream, handle)?,
        })
    }

    /// Makes a connected std stream async. It is put in non-blocking mode.
    ///
    /// # Errors
    ///
    /// Returns the OS error if the socket cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let stream = fiber::net::TcpStream::from_std(std_stream)?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            io: Evented::new(mio::net::TcpStream::from_std(stream))?,
        })
    }

    /// Enables or disables Nagle's algorithm (`TCP_NODELAY`).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     stream.set_nodelay(true)?;
    ///     assert!(stream.nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether Nagle's algorithm is disabled (`TCP_NODELAY` is set).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     stream.set_nodelay(false)?;
    ///     assert!(!stream.nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The address of the remote end.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getpeername` (`NotConnected` once the peer is gone).
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert!(stream.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Shuts down the read, write or both directions. After `Shutdown::Write` the peer reads
    /// end-of-file; reading here goes on.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `shutdown` (`NotConnected` if the connection is gone).
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// use futures::AsyncReadExt;
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.shutdown(std::net::Shutdown::Write)?;
    ///     let mut rest = Vec::new();
    ///     assert_eq!(server.read_to_end(&mut rest).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Splits the stream into a read half and a write half that can move to different
    /// tasks. Dropping the write half shuts down the write direction.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut reader, mut writer) = client.into_split();
    ///     writer.write_all(b"ping").await?;
    ///     let mut buffer = [0; 4];
    ///     server.read_exact(&mut buffer).await?;
    ///     server.write_all(&buffer).await?;
    ///     reader.read_exact(&mut buffer).await?;
    ///     assert_eq!(&buffer, b"ping");
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf::new(stream.clone()),
            OwnedWriteHalf::new(stream),
        )
    }

    /// Waits until the stream may be readable (data, end-of-file or an error waits).
    ///
    /// # Errors
    ///
    /// Returns an error if the stream's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// use futures::AsyncWriteExt;
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"x").await?;
    ///     server.readable().await?;
    ///     let mut byte = [0];
    ///     assert_eq!(server.try_read(&mut byte)?, 1);
    ///     Ok::<(), std::io::Error>(())
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
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.writable().await?;
    ///     assert_eq!(client.try_write(b"hi")?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().ready(Direction::Write).await
    }

    /// Reads once without waiting: `WouldBlock` if no data is ready (and the next
    /// [`readable`](TcpStream::readable) waits for new data).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, the OS error of `read`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut buffer = [0; 8];
    ///     let error = client.try_read(&mut buffer).unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
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
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.writable().await?;
    ///     assert_eq!(client.try_write(b"abc")?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
    }

    /// Reads without removing the data from the socket's queue, waiting until some is there.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fiber::net::{TcpListener, TcpStream};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"abc").await?;
    ///     let mut buffer = [0; 3];
    ///     let peeked = server.peek(&mut buffer).await?;
    ///     assert_eq!(&buffer[..peeked], &b"abc"[..peeked]);
    ///     server.read_exact(&mut buffer).await?;
    ///     assert_eq!(&buffer, b"abc");
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Read, || socket.peek(buf))
            .await
    }
}

impl_async_read!([] TcpStream, this => &this.io);
impl_async_read!(['a] &'a TcpStream, this => &this.io);
impl_async_write!([] TcpStream, this => &this.io, close(this) => this.shutdown(Shutdown::Write));
impl_async_write!(['a] &'a TcpStream, this => &this.io, close(this) => this.shutdown(Shutdown::Write));

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

#[cfg(unix)]
impl std::os::unix::io::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
