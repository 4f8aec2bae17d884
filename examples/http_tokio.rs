//! The `http` example's server on tokio, for comparison: the same hyper 1.x HTTP/1.1
//! configuration and routes, with hyper-util's tokio adapters instead of fiber's.
//!
//! ```text
//! cargo run --release --example http_tokio -- [ADDRESS] [--workers N]
//! ```

use std::convert::Infallible;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

#[path = "http/args.rs"]
mod args;
#[path = "http/service.rs"]
mod service;

fn main() {
    let args = args::parse("http_tokio");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .thread_name("http-worker")
        .enable_all()
        .build()
        .unwrap_or_else(|error| {
            eprintln!("http_tokio: cannot start the runtime: {error}");
            std::process::exit(1)
        });
    let listener = match rt.block_on(tokio::net::TcpListener::bind(&args.address)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("http_tokio: cannot listen on {}: {error}", args.address);
            std::process::exit(1)
        }
    };
    match listener.local_addr() {
        Ok(address) => println!(
            "http_tokio: tokio, {} workers, on http://{address}",
            args.workers
        ),
        Err(error) => eprintln!("http_tokio: listening, but the address is unknown: {error}"),
    }
    if let Err(error) = rt.block_on(rt.spawn(serve(listener))) {
        eprintln!("http_tokio: the accept loop failed: {error}");
        std::process::exit(1)
    }
}

/// Serves every connection `listener` accepts, each in a tokio task of its own.
async fn serve(listener: tokio::net::TcpListener) {
    let mut http = http1::Builder::new();
    http.keep_alive(true).timer(TokioTimer::new());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("http_tokio: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("http_tokio: could not set TCP_NODELAY: {error}");
        }
        let connection = http.serve_connection(
            TokioIo::new(stream),
            service_fn(|request| async move { Ok::<_, Infallible>(service::respond(&request)) }),
        );
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                if !error.is_incomplete_message() {
                    eprintln!("http_tokio: connection failed: {error}");
                }
            }
        });
    }
}
