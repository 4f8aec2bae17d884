//! [`TcpListener`]: accepts TCP connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

use super::addr;
use super::tcp_stream::TcpStream;
use crate::io::evented::Evented;
use crate::io::scheduled_io::Direction;

/// A TCP socket server, listening for connections.
///
/// Created inside a runtime, it registers with that runtime's I/O driver; outside any
/// runtime, with the global runtime's (the one [`fiber::block_on`](crate::block_on) uses).
/// Accepted streams register with the listener's runtime.
///
/// # Examples
///
/// ```
/// use fiber::net::{TcpListener, TcpStream};
///
/// fiber::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let address = listener.local_addr()?;
///     let client = fiber::spawn(async move { TcpStream::connect(address).await });
///     let (_stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.await.unwrap()?.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: Evented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` (trying each address it resolves to, in turn).
    ///
    /// # Errors
    ///
    /// Returns the last address's error if none can be bound, for example
    /// `AddrInUse`.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = fiber::block_on(fiber::net::TcpListener::bind("127.0.0.1:0"))?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let listener = addr::first_ok(addr, mio::net::TcpListener::bind)?;
        Ok(TcpListener {
            io: Evented::new(listener)?,
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
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = fiber::net::TcpListener::from_std(listener)?;
    /// assert!(listener.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: Evented::new(mio::net::TcpListener::from_std(listener))?,
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `accept` (for example `EMFILE` when out of descriptors), or
    /// an error if the listener's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let address = listener.local_addr()?;
    ///     let (accepted, connected) =
    ///         fiber::join!(listener.accept(), TcpStream::connect(address));
    ///     assert_eq!(accepted?.0.peer_addr()?, connected?.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection: `Ready` with it, or `Pending` with the task woken when one
    /// may be waiting.
    ///
    /// # Errors
    ///
    /// As [`accept`](TcpListener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::{TcpListener, TcpStream};
    /// fiber::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let _client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_stream, _peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let listener = self.io.get_ref();
        let (stream, peer) =
            std::task::ready!(self
                .io
                .registration()
                .poll_io(cx, Direction::Read, || listener.accept()))?;
        let handle = self.io.registration().handle().clone();
        Poll::Ready(Ok((TcpStream::from_mio(stream, handle)?, peer)))
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
    /// let listener = fiber::block_on(fiber::net::TcpListener::bind("127.0.0.1:0"))?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The IP time-to-live of accepted connections.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = fiber::block_on(fiber::net::TcpListener::bind("127.0.0.1:0"))?;
    /// listener.set_ttl(64)?;
    /// assert_eq!(listener.ttl()?, 64);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live of accepted connections.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = fiber::block_on(fiber::net::TcpListener::bind("127.0.0.1:0"))?;
    /// listener.set_ttl(100)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

#[cfg(unix)]
impl std::os::unix::io::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
