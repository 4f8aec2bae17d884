//! [`UdpSocket`]: UDP datagrams.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use super::addr;
use crate::io::evented::Evented;
use crate::io::scheduled_io::Direction;

/// A UDP socket.
///
/// Unconnected, it sends with [`send_to`](UdpSocket::send_to) and receives with
/// [`recv_from`](UdpSocket::recv_from); after [`connect`](UdpSocket::connect) it exchanges
/// datagrams with one peer through [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv).
/// All methods take `&self`: share the socket between tasks in an `Arc`.
///
/// # Examples
///
/// ```
/// use fiber::net::UdpSocket;
/// fiber::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buffer = [0; 16];
///     let (n, from) = b.recv_from(&mut buffer).await?;
///     assert_eq!((&buffer[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    io: Evented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it resolves to in turn.
    ///
    /// # Errors
    ///
    /// Returns the last address's error if none can be bound.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// assert!(socket.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let socket = addr::first_ok(addr, mio::net::UdpSocket::bind)?;
        Ok(UdpSocket {
            io: Evented::new(socket)?,
        })
    }

    /// Makes a std socket async. It is put in non-blocking mode.
    ///
    /// # Errors
    ///
    /// Returns the OS error if the socket cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let socket = fiber::net::UdpSocket::from_std(socket)?;
    /// assert!(socket.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Evented::new(mio::net::UdpSocket::from_std(socket))?,
        })
    }

    /// Sets the socket's peer: `send` goes there and `recv` takes datagrams only from it.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `connect` for each address `addr` resolves to (the last one).
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        addr::first_ok(addr, |addr| self.io.get_ref().connect(addr))
    }

    /// Sends a datagram to the connected peer; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The OS error of `send` (for example when not connected), or an error if the
    /// runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     assert_eq!(a.send(b"hi").await?, 2);
    ///     let mut buffer = [0; 8];
    ///     assert_eq!(b.recv(&mut buffer).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Write, || socket.send(buf))
            .await
    }

    /// Receives a datagram from the connected peer; returns its length (a datagram longer
    /// than `buf` is truncated).
    ///
    /// # Errors
    ///
    /// The OS error of `recv`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send_to(b"yo", b.local_addr()?).await?;
    ///     let mut buffer = [0; 8];
    ///     let n = b.recv(&mut buffer).await?;
    ///     assert_eq!(&buffer[..n], b"yo");
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Read, || socket.recv(buf))
            .await
    }

    /// Sends a datagram to `target` (the first address it resolves to).
    ///
    /// # Errors
    ///
    /// A resolution error, the OS error of `sendto`, or an error if the runtime has shut
    /// down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.send_to(b"abc", b.local_addr()?).await?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = addr::resolve(target)?[0];
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Write, || socket.send_to(buf, target))
            .await
    }

    /// Receives a datagram and the address it came from.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"abc", b.local_addr()?).await?;
    ///     let mut buffer = [0; 8];
    ///     let (n, from) = b.recv_from(&mut buffer).await?;
    ///     assert_eq!((n, from), (3, a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Read, || socket.recv_from(buf))
            .await
    }

    /// Receives a datagram and its sender's address without removing it from the queue.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"abc", b.local_addr()?).await?;
    ///     let mut buffer = [0; 8];
    ///     let peeked = b.peek_from(&mut buffer).await?;
    ///     assert_eq!(peeked, b.recv_from(&mut buffer).await?);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .async_io(Direction::Read, || socket.peek_from(buf))
            .await
    }

    /// Waits until a datagram may be waiting.
    ///
    /// # Errors
    ///
    /// Returns an error if the socket's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"x", b.local_addr()?).await?;
    ///     b.readable().await?;
    ///     assert_eq!(b.try_recv_from(&mut [0; 4])?.0, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.registration().ready(Direction::Read).await
    }

    /// Waits until the socket may accept a datagram to send.
    ///
    /// # Errors
    ///
    /// Returns an error if the socket's runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use fiber::net::UdpSocket;
    /// fiber::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.writable().await?;
    ///     a.try_send_to(b"x", a.local_addr()?)?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().ready(Direction::Write).await
    }

    /// Receives a datagram without waiting: `WouldBlock` if none is queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, the OS error of `recvfrom`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// let error = socket.try_recv_from(&mut [0; 4]).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .try_io(Direction::Read, || socket.recv_from(buf))
    }

    /// Sends a datagram to `target` without waiting: `WouldBlock` if the send buffer is
    /// full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, the OS error of `sendto`, or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// fiber::block_on(async {
    ///     let socket = fiber::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.writable().await?;
    ///     assert_eq!(socket.try_send_to(b"x", socket.local_addr()?)?, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let socket = self.io.get_ref();
        self.io
            .registration()
            .try_io(Direction::Write, || socket.send_to(buf, target))
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](UdpSocket::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// assert!(socket.peer_addr().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Enables or disables sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether sending to broadcast addresses is enabled.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = fiber::block_on(fiber::net::UdpSocket::bind("127.0.0.1:0"))?;
    /// assert!(!socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

#[cfg(unix)]
impl std::os::unix::io::AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
