//! The byte-stream operations shared by TCP and Unix streams and their halves, and the
//! macros that turn them into futures-io (and, with the `tokio-io` feature, tokio)
//! `AsyncRead` / `AsyncWrite` impls.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::task::{Context, Poll};

use mio::event::Source;

use crate::io::evented::Evented;
#[cfg(unix)]
use crate::io::receive_queue::ReportingRead;
use crate::runtime::io::scheduled_io::Direction;

#[cfg(unix)]
pub(crate) fn poll_read<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    E: Source + ReportingRead,
{
    // SAFETY: the reads below only ever write initialised bytes (what the OS received) into
    // the buffer, never uninitialised ones, so `buf` stays initialised.
    let buf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
    poll_read_uninit(io, cx, buf)
}

#[cfg(not(unix))]
pub(crate) fn poll_read<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    E: Source,
    for<'a> &'a E: Read,
{
    let mut source = io.get_ref();
    let requested = buf.len();
    io.registration()
        .poll_transfer(cx, Direction::Read, requested, || {
            source.read(buf).map(|read| (read, false))
        })
}

pub(crate) fn poll_read_vectored<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>>
where
    E: Source,
    for<'a> &'a E: Read,
{
    let mut source = io.get_ref();
    io.registration()
        .poll_io(cx, Direction::Read, || source.read_vectored(bufs))
}

pub(crate) fn poll_write<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>>
where
    E: Source,
    for<'a> &'a E: Write,
{
    let mut source = io.get_ref();
    io.registration()
        .poll_transfer(cx, Direction::Write, buf.len(), || {
            source.write(buf).map(|written| (written, false))
        })
}

pub(crate) fn poll_write_vectored<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    E: Source,
    for<'a> &'a E: Write,
{
    let mut source = io.get_ref();
    io.registration()
        .poll_io(cx, Direction::Write, || source.write_vectored(bufs))
}

/// Reads into memory that may be uninitialised (tokio's `ReadBuf`), so that a caller handing
/// a fresh buffer on every read (hyper does) does not pay for zeroing it each time.
#[cfg(unix)]
pub(crate) fn poll_read_uninit<E>(
    io: &Evented<E>,
    cx: &mut Context<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> Poll<io::Result<usize>>
where
    E: Source + ReportingRead,
{
    let source = io.get_ref();
    let registration = io.registration();
    let requested = buf.len();
    registration.poll_transfer(cx, Direction::Read, requested, || {
        source.read_reporting(buf, registration.queue_report())
    })
}

/// `try_read`: one read if the stream may be readable, `WouldBlock` otherwise.
pub(crate) fn try_read<E>(io: &Evented<E>, buf: &mut [u8]) -> io::Result<usize>
where
    E: Source,
    for<'a> &'a E: Read,
{
    let mut source = io.get_ref();
    io.registration()
        .try_io(Direction::Read, || source.read(buf))
}

/// `try_write`: one write if the stream may be writable, `WouldBlock` otherwise.
pub(crate) fn try_write<E>(io: &Evented<E>, buf: &[u8]) -> io::Result<usize>
where
    E: Source,
    for<'a> &'a E: Write,
{
    let mut source = io.get_ref();
    io.registration()
        .try_io(Direction::Write, || source.write(buf))
}

/// Implements the read side: `impl_async_read!([generics] Type, this => &this.evented)`,
/// where `this: &Type` and the expression is the `Evented` to read from.
macro_rules! impl_async_read {
    ([$($generics:tt)*] $ty:ty, $this:ident => $io:expr) => {
        impl<$($generics)*> futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_read($io, cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_read_vectored($io, cx, bufs)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl<$($generics)*> tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                // SAFETY: `poll_read_uninit` only writes to the unfilled part (never
                // de-initialises it), and reports how many bytes it wrote.
                let unfilled = unsafe { buf.unfilled_mut() };
                let read = std::task::ready!(crate::net::stream_io::poll_read_uninit(
                    $io, cx, unfilled
                ))?;
                // SAFETY: the OS initialised the first `read` bytes of the unfilled part.
                unsafe { buf.assume_init(read) };
                buf.advance(read);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// Implements the write side: `impl_async_write!([generics] Type, this => &this.evented,
/// close(this) => shutdown_expression)`, where the close expression gets `this: &mut Type`
/// and shuts down the write direction.
macro_rules! impl_async_write {
    ([$($generics:tt)*] $ty:ty, $this:ident => $io:expr, close($closing:ident) => $close:expr) => {
        impl<$($generics)*> futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_write($io, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_write_vectored($io, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets buffer nothing in user space.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $closing = self.get_mut();
                std::task::Poll::Ready($close)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl<$($generics)*> tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_write($io, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                crate::net::stream_io::poll_write_vectored($io, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $closing = self.get_mut();
                std::task::Poll::Ready($close)
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write};
