//! [`OwnedReadHalf`] and [`OwnedWriteHalf`]: a [`TcpStream`] split for two tasks.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use super::stream_io::{self, impl_async_read, impl_async_write};
use super::tcp_stream::TcpStream;

/// The read half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// # Examples
///
/// ```
/// use fiber::net::{TcpListener, TcpStream};
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// fiber::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (mut reader, _writer) = client.into_split();
///     server.write_all(b"hi").await?;
///     let mut buffer = [0; 2];
///     reader.read_exact(&mut buffer).await?;
///     assert_eq!(&buffer, b"hi");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The write half of a [`TcpStream`], from [`TcpStream::into_split`]. Dropping it (or
/// closing it) shuts down the write direction; the read half reads on.
///
/// # Examples
///
/// ```
/// use fiber::net::{TcpListener, TcpStream};
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// fiber::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (_reader, mut writer) = client.into_split();
///     writer.write_all(b"bye").await?;
///     drop(writer);
///     let mut received = Vec::new();
///     server.read_to_end(&mut received).await?;
///     assert_eq!(received, b"bye");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
    /// Cleared once the write direction is shut down, so that it is done once.
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    pub(super) fn new(stream: Arc<TcpStream>) -> OwnedReadHalf {
        OwnedReadHalf { stream }
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
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let (reader, _) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     assert_eq!(reader.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
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
    ///     let (reader, _) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     assert!(reader.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Waits until the stream may be readable; see [`TcpStream::readable`].
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
    ///     let (reader, _writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     let (mut server, _) = listener.accept().await?;
    ///     server.write_all(b"x").await?;
    ///     reader.readable().await?;
    ///     assert_eq!(reader.try_read(&mut [0; 4])?, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Reads once without waiting; see [`TcpStream::try_read`].
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
    ///     let (reader, _writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     assert!(reader.try_read(&mut [0; 4]).is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.stream.io, buf)
    }
}

impl OwnedWriteHalf {
    pub(super) fn new(stream: Arc<TcpStream>) -> OwnedWriteHalf {
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.shutdown_on_drop, false) {
            return Ok(());
        }
        self.stream.shutdown(Shutdown::Write)
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
    /// # use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let (_, writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     assert_eq!(writer.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
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
    ///     let (_, writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     assert!(writer.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Waits until the stream may be writable; see [`TcpStream::writable`].
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
    ///     let (_, writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     writer.writable().await?;
    ///     assert_eq!(writer.try_write(b"ok")?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Writes once without waiting; see [`TcpStream::try_write`].
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
    ///     let (_, writer) = TcpStream::connect(listener.local_addr()?).await?.into_split();
    ///     writer.writable().await?;
    ///     writer.try_write(b"ok")?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.stream.io, buf)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // The peer may be gone already; there is nobody to report that to.
        let _ = self.shutdown_write();
    }
}

impl_async_read!([] OwnedReadHalf, this => &this.stream.io);
impl_async_write!([] OwnedWriteHalf, this => &this.stream.io, close(this) => this.shutdown_write());

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&self.stream).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&self.stream).finish()
    }
}
