//! A hyper 1.x HTTP/1.1 server on fiber: `GET /` says hello, `GET /json` says it in JSON.
//!
//! ```text
//! cargo run --release --example http -- [ADDRESS] [--workers N]
//! curl http://127.0.0.1:3000/json
//! ```
//!
//! Connections are kept alive and each is served by a fiber task of its own. `rt.rs` is what
//! hyper needs from a runtime (executor, timer, I/O traits) built on fiber; `server.rs` the
//! accept loop; `service.rs` the routes, shared with `http_tokio`, the same server on tokio,
//! so that `scripts/http-bench` compares the runtimes and nothing else.

mod args;
mod rt;
mod server;
mod service;

fn main() {
    let args = args::parse("http");
    let rt = fiber::Builder::new()
        .worker_threads(args.workers)
        .thread_name("http-worker")
        .build()
        .unwrap_or_else(|error| {
            eprintln!("http: cannot start the runtime: {error}");
            std::process::exit(1)
        });
    let listener = match rt.block_on(server::bind(&args.address)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("http: {error}");
            std::process::exit(1)
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("http: fiber, {} workers, on http://{address}", args.workers),
        Err(error) => eprintln!("http: listening, but the address is unknown: {error}"),
    }
    // The accept loop runs on a worker, like the connections, so that the server uses the
    // workers it was given and no more; it only ends when the process is killed.
    if let Err(error) = rt.block_on(rt.spawn(server::serve(listener))) {
        eprintln!("http: the accept loop failed: {error}");
        std::process::exit(1)
    }
}
