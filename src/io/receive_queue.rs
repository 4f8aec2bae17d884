//! Reads that tell whether they emptied the socket's receive queue.
//!
//! Sources are registered edge-triggered, so a stream keeps its "readable" readiness until a
//! read proves it stale. A read that returns fewer bytes than asked has emptied the queue
//! (the registration clears readiness at once), but one that fills the buffer exactly cannot
//! tell: more may be waiting, so the next read must try, and in a request/response exchange
//! of fixed-size messages it gets `WouldBlock` every time, one wasted syscall per message.
//!
//! On Linux a TCP socket can report the bytes left in its queue after every `recvmsg` (the
//! `TCP_INQ` option, a control message per read): a read that left nothing lets the
//! registration clear readiness just as a short read does, and the next read waits for the
//! driver's next event instead of spending a syscall to learn `WouldBlock`. The option costs
//! one `setsockopt`, so it is switched on only for a stream that has shown the pattern once
//! (a read that filled its buffer, then one that got `WouldBlock`): a short-lived connection
//! that reads one message and closes pays nothing. Elsewhere, and for Unix streams, reads
//! are plain `read(2)` calls.
//!
//! Clearing readiness on this report is as safe as after a short read: data that arrives
//! after the read raises a new edge, which the driver stores with a new tick after (or, if
//! it came first, instead of) the clear (see the runtime's `io::scheduled_io`).

use std::io;
use std::mem::MaybeUninit;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether a stream reports its receive queue after each read: off until a read that filled
/// its buffer is followed by one that gets `WouldBlock`, then on (or unsupported, if the OS
/// refused the option). Readers sharing a stream may race on it; the worst outcome is a
/// second `setsockopt`, as switching the option on twice does no harm.
#[derive(Debug, Default)]
pub(crate) struct QueueReport(AtomicU8);

const OFF: u8 = 0;
/// A read filled its buffer: if the next one gets `WouldBlock`, switch the report on.
const ARMED: u8 = 1;
const ON: u8 = 2;
const UNSUPPORTED: u8 = 3;

/// A stream socket whose reads may say that they left its receive queue empty.
pub(crate) trait ReportingRead: AsRawFd {
    /// Whether the socket can report its receive queue (TCP on Linux).
    const CAN_REPORT: bool;

    /// Reads into `buf`; returns the bytes read and whether the receive queue is known to be
    /// empty after the read (`false` when unknown).
    fn read_reporting(
        &self,
        buf: &mut [MaybeUninit<u8>],
        report: &QueueReport,
    ) -> io::Result<(usize, bool)> {
        let fd = self.as_raw_fd();
        if !Self::CAN_REPORT {
            return read(fd, buf).map(|read| (read, false));
        }
        match report.0.load(Ordering::Relaxed) {
            ON => recv_reporting(fd, buf),
            state => {
                let result = read(fd, buf);
                match (&result, state) {
                    (Ok(read), OFF) if *read == buf.len() && *read > 0 => {
                        report.0.store(ARMED, Ordering::Relaxed);
                    }
                    (Err(error), ARMED) if error.kind() == io::ErrorKind::WouldBlock => {
                        // A full read was followed by a read in vain: the pattern the
                        // report saves a syscall on, so from now on, ask.
                        let next = if enable_report(fd).is_ok() {
                            ON
                        } else {
                            UNSUPPORTED
                        };
                        report.0.store(next, Ordering::Relaxed);
                    }
                    _ => {}
                }
                result.map(|read| (read, false))
            }
        }
    }
}

impl ReportingRead for mio::net::TcpStream {
    const CAN_REPORT: bool = cfg!(any(target_os = "linux", target_os = "android"));
}

impl ReportingRead for mio::net::UnixStream {
    const CAN_REPORT: bool = false;
}

/// `read(2)` into memory that may be uninitialised.
fn read(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `read(2)` writes at most `buf.len()` bytes into the memory `buf` points to,
    // which we borrow mutably for the call; it never reads it, so the memory need not be
    // initialised.
    let read = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if read < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(read as usize)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn enable_report(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from `&on`, a live `c_int`.
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_TCP,
            libc::TCP_INQ,
            std::ptr::addr_of!(on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn enable_report(_fd: RawFd) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// `recvmsg(2)` into `buf`, with the `TCP_INQ` report: the bytes read and whether the queue
/// was empty after them (`false` when the report is missing).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn recv_reporting(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, bool)> {
    // Room for one control message carrying a `c_int`, aligned for `cmsghdr`.
    let mut control = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: `msghdr` is plain integers and pointers, for which all zeroes is a valid
    // value (null pointers, zero lengths); the fields that matter are set below.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `message` points to one iovec over `buf` (borrowed mutably for the call; the
    // kernel writes at most `iov_len` bytes there and reads none) and to `control`, whose
    // length it states; both outlive the call.
    let read = unsafe { libc::recvmsg(fd, &mut message, 0) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut emptied = false;
    // SAFETY: `message` is the header `recvmsg` filled in: its control pointer and length
    // describe `control`, which the kernel wrote whole control messages into.
    let mut header = unsafe { libc::CMSG_FIRSTHDR(&message) };
    while !header.is_null() {
        // SAFETY: `CMSG_FIRSTHDR`/`CMSG_NXTHDR` return null or a pointer to a whole header
        // inside `control`, which is aligned for `cmsghdr`.
        let cmsg = unsafe { &*header };
        if cmsg.cmsg_level == libc::SOL_TCP && cmsg.cmsg_type == libc::TCP_CM_INQ {
            // SAFETY: a `TCP_CM_INQ` message carries one `c_int` after its header, inside
            // `control`; it is read unaligned, as the data need not be aligned for `c_int`.
            let queued =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>()) };
            emptied = queued == 0;
        }
        // SAFETY: as for `CMSG_FIRSTHDR`; `header` is a header inside `message`'s control.
        header = unsafe { libc::CMSG_NXTHDR(&message, header) };
    }
    Ok((read as usize, emptied))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn recv_reporting(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, bool)> {
    read(fd, buf).map(|read| (read, false))
}

#[cfg(all(
    test,
    not(loom),
    not(miri),
    any(target_os = "linux", target_os = "android")
))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    use super::*;

    fn read_into(stream: &mio::net::TcpStream, report: &QueueReport, len: usize) -> (usize, bool) {
        let mut buf = vec![MaybeUninit::uninit(); len];
        stream.read_reporting(&mut buf, report).unwrap()
    }

    #[test]
    fn a_read_in_vain_after_a_full_one_turns_the_report_on_and_later_reads_say_when_the_queue_empties(
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        stream.set_nonblocking(true).unwrap();
        let stream = mio::net::TcpStream::from_std(stream);
        peer.write_all(&[7; 128]).unwrap();
        // Loopback delivers at once, but give the kernel a moment to queue all of it.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let report = QueueReport::default();
        // A full buffer: whether more is queued is unknown.
        assert_eq!(read_into(&stream, &report, 64), (64, false));
        assert_eq!(read_into(&stream, &report, 64), (64, false));
        // The read in vain after a full one switches the report on.
        let mut buf = [MaybeUninit::uninit(); 64];
        let error = stream.read_reporting(&mut buf, &report).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(report.0.load(Ordering::Relaxed), ON);
        peer.write_all(&[8; 64]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        // 64 bytes queued: the first read leaves 32 of them, the second none.
        assert_eq!(read_into(&stream, &report, 32), (32, false));
        assert_eq!(read_into(&stream, &report, 32), (32, true));
    }

    #[test]
    fn unix_streams_never_report() {
        let (mut peer, stream) = std::os::unix::net::UnixStream::pair().unwrap();
        let stream = mio::net::UnixStream::from_std(stream);
        peer.write_all(&[1; 16]).unwrap();
        let report = QueueReport::default();
        let mut buf = [MaybeUninit::uninit(); 16];
        assert_eq!(
            stream.read_reporting(&mut buf, &report).unwrap(),
            (16, false)
        );
        assert_eq!(report.0.load(Ordering::Relaxed), OFF);
    }
}
