//! Helpers shared by the integration tests: a watchdog, drop flags, a yield, a waker that
//! must not be touched, and a future that records when it is polled.

#![allow(dead_code)] // each test file uses a different subset

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

/// How long a test body may run before the watchdog calls it hung.
const WATCHDOG_LIMIT: Duration = Duration::from_secs(10);

/// Runs `body` on its own thread and fails the test if it takes longer than ten seconds.
///
/// A panic in `body` is passed on unchanged, so `#[should_panic(expected = ...)]` works.
pub fn watchdog<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    watchdog_for(WATCHDOG_LIMIT, body)
}

/// [`watchdog`] with a limit of its own, for the stress tests.
pub fn watchdog_for<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = sender.send(body());
    });
    match receiver.recv_timeout(limit) {
        Ok(value) => {
            thread.join().expect("the test thread finished");
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("the test body was still running after {limit:?}: it hangs")
        }
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body returned without sending its value"),
        },
    }
}

/// Drives `make()`'s future to completion with `futures::executor::block_on`, under the
/// watchdog. The future is built on the test thread, so it need not be `Send`.
pub fn run<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    watchdog(move || futures::executor::block_on(make()))
}

/// A flag that a [`SetOnDrop`] raises when it is dropped.
#[derive(Clone, Default)]
pub struct DropFlag(Arc<AtomicBool>);

impl DropFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// A guard that raises this flag when dropped.
    pub fn guard(&self) -> SetOnDrop {
        SetOnDrop(self.0.clone())
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Raises its [`DropFlag`] when dropped.
pub struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Returns `Pending` once (waking its waker at once), then `Ready`.
pub fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// Pushes `id` to `log` at each of its polls; completes with `id` at poll number
/// `pending_polls + 1`.
pub async fn recorded(id: usize, log: Rc<RefCell<Vec<usize>>>, pending_polls: usize) -> usize {
    for _ in 0..pending_polls {
        log.borrow_mut().push(id);
        yield_now().await;
    }
    log.borrow_mut().push(id);
    id
}

/// A future that fails the test if it is ever polled.
pub fn must_not_be_polled<T>(what: &'static str) -> impl Future<Output = T> {
    std::future::poll_fn(move |_| panic!("{what} was polled"))
}

/// A waker that panics if it is cloned or woken: for checking that a future leaves the
/// waker alone.
pub fn untouchable_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        panic!("the waker was cloned")
    }
    fn wake(_: *const ()) {
        panic!("the waker was woken")
    }
    fn wake_by_ref(_: *const ()) {
        panic!("the waker was woken by reference")
    }
    fn drop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);
    // SAFETY: none of the vtable functions reads the data pointer, so a null pointer is
    // as good as any; the functions are plain `fn`s, safe to call from any thread, any
    // number of times, as the `RawWaker` contract asks.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// Polls `future` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

/// Runs `test` on a runtime with one worker, then on one with four, under the watchdog.
pub fn on_each_runtime(test: impl Fn(fiber::Runtime) + Send + Sync + 'static) {
    let test = Arc::new(test);
    for workers in [1, 4] {
        let test = test.clone();
        watchdog(move || {
            let rt = fiber::Builder::new()
                .worker_threads(workers)
                .build()
                .expect("the runtime starts");
            test(rt);
        });
    }
}

/// Waits (polling, under the caller's watchdog) until `done` holds.
pub fn eventually(mut done: impl FnMut() -> bool) {
    while !done() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Counts how many times its guards were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(Arc<std::sync::atomic::AtomicUsize>);

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn guard(&self) -> CountOnDrop {
        CountOnDrop(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Adds one to its [`DropCounter`] when dropped.
pub struct CountOnDrop(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A guard whose destructor spawns a task: run by the shutdown inside the runtime's context,
/// the spawn must be cancelled at once (not panic, not hang).
pub struct SpawnOnDrop;

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let late = fiber::spawn(async { unreachable!("spawned during shutdown") });
        assert!(late.is_finished());
    }
}
