//! A TCP echo server and clients (fiber::net sockets) on a fiber runtime: the `echo` example's
//! session, under a watchdog.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

#[path = "../examples/echo/session.rs"]
mod session;

#[test]
fn echo_server_returns_every_line_to_every_client() {
    let (done, finished) = mpsc::channel();
    let body = std::thread::spawn(move || {
        let rt = fiber::Builder::new()
            .worker_threads(2)
            .build()
            .expect("a runtime");
        let _ = done.send(rt.block_on(session::run(8, 20)));
    });
    let outcome = match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            panic!("the echo session was still running after 20 s: it hangs")
        }
        Err(RecvTimeoutError::Disconnected) => match body.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body ended without sending its outcome"),
        },
    };
    let (_server, reports) = outcome.expect("the echo session worked");
    assert_eq!(reports.len(), 8);
    for (number, report) in reports.iter().enumerate() {
        assert_eq!(report.client, number);
        assert_eq!(report.lines, 20);
        assert!(report.bytes > 20 * "client 0 line 0: \n".len());
    }
}
