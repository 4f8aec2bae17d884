//! TCP, UDP and Unix domain sockets, driven by the I/O driver of the runtime they were
//! created in (see [`fiber::io`](crate::io) for how the driver works).
//!
//! Sockets created outside any runtime (a `bind` or `connect` polled by another executor, or
//! a `from_std` on a plain thread) register with the global runtime, the one
//! [`fiber::block_on`](crate::block_on) uses. Every socket is `Send + Sync + Unpin`, and
//! every OS error comes back as an [`std::io::Error`]. Once the runtime a socket belongs to
//! is dropped, its operations fail with an error instead of waiting.
//!
//! # Examples
//!
//! ```
//! use fiber::net::{TcpListener, TcpStream};
//! use futures::{AsyncReadExt, AsyncWriteExt};
//!
//! fiber::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let address = listener.local_addr()?;
//!     fiber::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut line = [0; 4];
//!         stream.read_exact(&mut line).await?;
//!         stream.write_all(&line).await
//!     });
//!     let mut stream = TcpStream::connect(address).await?;
//!     stream.write_all(b"ping").await?;
//!     let mut reply = [0; 4];
//!     stream.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })
//! .unwrap();
//! ```

mod addr;
mod stream_io;
mod tcp_listener;
mod tcp_split;
mod tcp_stream;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp_listener::TcpListener;
pub use tcp_split::{OwnedReadHalf, OwnedWriteHalf};
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};
