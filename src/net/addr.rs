//! Resolving `ToSocketAddrs` and trying each address in turn, as std's sockets do.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// The addresses `addr` resolves to, or an error naming the problem if there are none.
///
/// Name resolution blocks (std's resolver); addresses given as IP literals, the common case
/// for servers and tests, resolve without a lookup.
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Runs `attempt` on each address until one succeeds; returns the last error otherwise.
pub(crate) fn first_ok<T>(
    addrs: impl ToSocketAddrs,
    mut attempt: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in resolve(addrs)? {
        match attempt(addr) {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("resolve returns at least one address"))
}
