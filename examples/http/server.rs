//! The `http` example's server: an accept loop that serves each connection with hyper's
//! HTTP/1.1, keep-alive on, in a fiber task of its own.

use std::convert::Infallible;
use std::io;

use hyper::body::Incoming;
use hyper::rt::Executor;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;

use crate::rt::{FiberExecutor, FiberIo, FiberTimer};
use crate::service;

/// The listener the server accepts on: fiber's own, whose sockets wait in the runtime's I/O
/// driver, so a connection's readiness reaches its task without crossing threads.
pub use fiber::net::TcpListener;

/// Serves every connection `listener` accepts, for ever. Must run inside a fiber runtime.
///
/// A failed accept (a client that gave up while queued, a full file table) is printed and the
/// loop goes on: one bad connection must not stop the server.
pub async fn serve(listener: TcpListener) {
    let mut http = http1::Builder::new();
    http.keep_alive(true).timer(FiberTimer);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("http: accept failed: {error}");
                // A full file table fails every accept until a connection closes: give the
                // connections a moment instead of spinning.
                fiber::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Responses are small and written whole: send them at once instead of waiting for
        // the client's acknowledgement of the last one (Nagle).
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("http: could not set TCP_NODELAY: {error}");
        }
        let connection = http.serve_connection(FiberIo::new(stream), service_fn(handle));
        FiberExecutor.execute(async move {
            if let Err(error) = connection.await {
                // A client that closes mid-request ends only its own connection.
                if !error.is_incomplete_message() {
                    eprintln!("http: connection failed: {error}");
                }
            }
        });
    }
}

/// hyper's service: every request is answered by the shared routes.
async fn handle(
    request: Request<Incoming>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, Infallible> {
    Ok(service::respond(&request))
}

/// Binds `address` and says where the server listens; an error names the address.
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot listen on {address}: {error} (pass another address, e.g. 127.0.0.1:0)"),
        )
    })
}
