//! A TCP echo server and its clients on fiber, using `fiber::net` for the sockets.
//!
//! The sockets register with the runtime's own I/O driver: a worker with nothing to do
//! waits in the OS poll, and the tasks a readiness event wakes run on that worker. The
//! server's accept loop is a fiber task and spawns one task per connection, which splits
//! its stream into halves to read lines and write them back; four client tasks each send
//! ten lines and check that every line comes back unchanged. The server is stopped (its task aborted) when the
//! clients are done, and the whole run is bounded by a timeout.
//!
//! Run with `cargo run --example echo`.

use std::time::{Duration, Instant};

use fiber::prelude::*;

mod session;

fiber::fiber_main! {
    let start = Instant::now();
    let (server, reports) = session::run(4, 10)
        .timeout(Duration::from_secs(10))
        .await
        .expect("the echo session finished within 10 s")
        .expect("the echo session worked");
    println!("echo server listened on {server}");
    for report in &reports {
        println!(
            "client {}: {} lines ({} bytes) echoed back unchanged",
            report.client, report.lines, report.bytes
        );
    }
    let lines: usize = reports.iter().map(|report| report.lines).sum();
    println!("{} clients, {lines} lines, all echoed, in {:?}", reports.len(), start.elapsed());
}
