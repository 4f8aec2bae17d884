//! The socket libraries under test, behind one interface: fiber's own (`fiber::net`), tokio's
//! (`tokio::net`) and async-net's (async-io's reactor, which works under any executor).
//!
//! Every stream comes with `TCP_NODELAY` set on both ends, as a request/response server sets
//! it; failures panic, naming what failed, since a benchmark has no one to report them to.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

/// Where every listener binds: loopback, a port of the system's choosing.
const LOOPBACK: &str = "127.0.0.1:0";

/// A TCP socket library.
pub trait Sockets: Send + Sync + 'static {
    type Listener: Send + Sync + 'static;
    type Stream: Send + 'static;

    fn bind() -> impl Future<Output = Self::Listener> + Send;

    fn address(listener: &Self::Listener) -> SocketAddr;

    fn accept(listener: &Self::Listener) -> impl Future<Output = Self::Stream> + Send + '_;

    fn connect(address: SocketAddr) -> impl Future<Output = Self::Stream> + Send;

    /// Reads what is there, at least one byte; 0 at the end of the stream.
    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = usize> + Send + 'a;

    /// Fills `buf`; `false` if the stream ended first.
    fn read_exact<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = bool> + Send + 'a;

    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = ()> + Send + 'a;
}

/// `true` for a filled buffer, `false` for a stream that ended first; panics otherwise.
fn filled(result: io::Result<()>) -> bool {
    match result {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => false,
        Err(error) => panic!("read failed: {error}"),
    }
}

/// Implements [`Sockets`] for a library whose `TcpListener` and `TcpStream` have the usual
/// inherent methods and whose streams are futures-io's `AsyncRead + AsyncWrite`: fiber's and
/// async-net's, the same code for both.
macro_rules! futures_io_sockets {
    ($(#[$doc:meta])* $name:ident, $listener:ty, $stream:ty) => {
        $(#[$doc])*
        pub struct $name;

        impl Sockets for $name {
            type Listener = $listener;
            type Stream = $stream;

            async fn bind() -> Self::Listener {
                <$listener>::bind(LOOPBACK).await.expect("bind 127.0.0.1:0")
            }

            fn address(listener: &Self::Listener) -> SocketAddr {
                listener.local_addr().expect("the listener's address")
            }

            async fn accept(listener: &Self::Listener) -> Self::Stream {
                let (stream, _peer) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("TCP_NODELAY");
                stream
            }

            async fn connect(address: SocketAddr) -> Self::Stream {
                let stream = <$stream>::connect(address).await.expect("connect");
                stream.set_nodelay(true).expect("TCP_NODELAY");
                stream
            }

            async fn read(stream: &mut Self::Stream, buf: &mut [u8]) -> usize {
                futures_lite::AsyncReadExt::read(stream, buf).await.expect("read")
            }

            async fn read_exact(stream: &mut Self::Stream, buf: &mut [u8]) -> bool {
                filled(futures_lite::AsyncReadExt::read_exact(stream, buf).await)
            }

            async fn write_all(stream: &mut Self::Stream, buf: &[u8]) {
                futures_lite::AsyncWriteExt::write_all(stream, buf).await.expect("write")
            }
        }
    };
}

futures_io_sockets!(
    /// fiber's sockets, which wait in the runtime's own I/O driver.
    FiberNet,
    fiber::net::TcpListener,
    fiber::net::TcpStream
);

futures_io_sockets!(
    /// async-net's sockets, which wait in async-io's reactor.
    AsyncNet,
    async_net::TcpListener,
    async_net::TcpStream
);

/// tokio's sockets, which wait in the tokio runtime's I/O driver.
pub struct TokioNet;

impl Sockets for TokioNet {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    async fn bind() -> Self::Listener {
        tokio::net::TcpListener::bind(LOOPBACK)
            .await
            .expect("bind 127.0.0.1:0")
    }

    fn address(listener: &Self::Listener) -> SocketAddr {
        listener.local_addr().expect("the listener's address")
    }

    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _peer) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream
    }

    async fn connect(address: SocketAddr) -> Self::Stream {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream
    }

    async fn read(stream: &mut Self::Stream, buf: &mut [u8]) -> usize {
        tokio::io::AsyncReadExt::read(stream, buf)
            .await
            .expect("read")
    }

    async fn read_exact(stream: &mut Self::Stream, buf: &mut [u8]) -> bool {
        filled(
            tokio::io::AsyncReadExt::read_exact(stream, buf)
                .await
                .map(drop),
        )
    }

    async fn write_all(stream: &mut Self::Stream, buf: &[u8]) {
        tokio::io::AsyncWriteExt::write_all(stream, buf)
            .await
            .expect("write")
    }
}
