//! What `#[fiber::main]` and `#[fiber::test]` expand to call.
//!
//! Public only so that the expansion can name these through `::fiber::__private`; not part
//! of the API, and free to change.

use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::Builder;

/// Builds the runtime that `builder` describes and blocks on `future` in it; the runtime is
/// shut down before this returns.
///
/// `attribute` names the attribute in the panic message if the runtime cannot start.
pub fn block_on<F: Future>(attribute: &'static str, builder: &mut Builder, future: F) -> F::Output {
    let runtime = builder.build().unwrap_or_else(|error| {
        panic!("{attribute}: could not start the runtime's worker threads: {error}")
    });
    runtime.block_on(future)
}

/// Runs `body` on a thread of its own and returns its value, or panics on the calling
/// thread if it has not finished within `timeout_ms` milliseconds.
///
/// A panic in `body` is passed on unchanged, so `#[should_panic(expected = ...)]` sees the
/// body's own message. On a timeout, the thread (and the runtime it blocks on) cannot be
/// stopped from outside: it is abandoned, and runs on until the process exits.
pub fn run_with_timeout<T: Send + 'static>(
    test: &'static str,
    timeout_ms: u64,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    // The harness names its thread after the test; the body's panics should say the same.
    let name = std::thread::current()
        .name()
        .map_or_else(|| test.to_owned(), str::to_owned);
    let runner = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let _ = sender.send(body());
        })
        .unwrap_or_else(|error| {
            panic!("#[fiber::test]: could not start the thread for test `{test}`: {error}")
        });
    match receiver.recv_timeout(Duration::from_millis(timeout_ms)) {
        Ok(value) => {
            // The value was sent as the thread's last act: this join does not wait long.
            let _ = runner.join();
            value
        }
        Err(RecvTimeoutError::Timeout) => panic!(
            "test `{test}` did not finish within timeout_ms = {timeout_ms}: it hangs or is \
             too slow (raise `timeout_ms` if it only needs more time); its runtime is \
             abandoned, still running"
        ),
        Err(RecvTimeoutError::Disconnected) => match runner.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test body returned without sending its value"),
        },
    }
}
