//! The executors under test, behind one interface: fiber, tokio's multi-thread runtime, and
//! smol (async-executor run inside `async_io::block_on` on each of its threads, so that idle
//! threads drive async-io's reactor, as smol recommends).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::thread;

use futures::channel::oneshot;

/// Waits for a spawned task to finish; a panic inside the task panics here.
pub type Join = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An executor with its own worker threads.
pub trait Executor: Send + Sync + 'static {
    /// Spawns `future` onto the workers.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Join;

    /// Runs `future` as a task on the workers and waits for it on the calling thread, which
    /// does nothing else meanwhile: every runtime does its work on its own workers alone.
    fn run<F: Future<Output = ()> + Send + 'static>(&self, future: F);
}

/// fiber's runtime.
pub struct Fiber(fiber::Runtime);

impl Fiber {
    pub fn new(workers: usize) -> Fiber {
        let rt = fiber::Builder::new()
            .worker_threads(workers)
            .thread_name("bench-fiber")
            .build()
            .expect("fiber's runtime starts");
        Fiber(rt)
    }
}

impl Executor for Fiber {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Join {
        let task = self.0.spawn(future);
        Box::pin(async move { task.await.expect("a fiber task failed") })
    }

    fn run<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        let task = self.0.spawn(future);
        self.0.block_on(task).expect("a fiber task failed");
    }
}

/// tokio's multi-thread runtime, with its I/O and time drivers.
pub struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    pub fn new(workers: usize) -> Tokio {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-tokio")
            .enable_all()
            .build()
            .expect("tokio's runtime starts");
        Tokio(rt)
    }
}

impl Executor for Tokio {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Join {
        let task = self.0.spawn(future);
        Box::pin(async move { task.await.expect("a tokio task failed") })
    }

    fn run<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        let task = self.0.spawn(future);
        self.0.block_on(task).expect("a tokio task failed");
    }
}

/// smol: one `async_executor::Executor` run by `workers` threads, each inside
/// `async_io::block_on`, so that a thread with nothing to run polls the reactor itself.
pub struct Smol {
    executor: Arc<async_executor::Executor<'static>>,
    /// One per thread: dropping a sender ends its thread's `run`.
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Smol {
    pub fn new(workers: usize) -> Smol {
        let executor = Arc::new(async_executor::Executor::new());
        let mut stops = Vec::with_capacity(workers);
        let threads = (0..workers)
            .map(|_| {
                let executor = executor.clone();
                let (stop, stopped) = oneshot::channel::<()>();
                stops.push(stop);
                thread::Builder::new()
                    .name("bench-smol".into())
                    .spawn(move || {
                        let _ = async_io::block_on(executor.run(stopped));
                    })
                    .expect("a smol thread starts")
            })
            .collect();
        Smol {
            executor,
            stops,
            threads,
        }
    }
}

impl Executor for Smol {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Join {
        Box::pin(self.executor.spawn(future))
    }

    fn run<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        // futures-lite's block_on leaves the reactor to the workers and async-io's thread.
        futures_lite::future::block_on(self.executor.spawn(future));
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        self.stops.clear();
        for thread in self.threads.drain(..) {
            thread.join().expect("a smol thread panicked");
        }
    }
}
