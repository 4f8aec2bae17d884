//! The runtimes under test, behind one interface whose methods are plain generic calls (no
//! boxing) for every runtime alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::channel::oneshot;
use futures::task::SpawnExt;

use super::workloads::Workload;

/// A runtime under test: owns its worker threads and runs futures to completion.
pub(crate) trait BenchRuntime: Send + Sync + 'static {
    /// The cheap, clonable part that tasks carry around to spawn more tasks.
    type Spawner: BenchSpawner;

    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Runs every future of `futures` to completion in one `block_on` with this runtime's
    /// own join-all combinator; `None` for a runtime without one (all but fiber).
    fn block_on_own_join_all<F: Future>(
        &self,
        _futures: impl IntoIterator<Item = F>,
    ) -> Option<Vec<F::Output>> {
        None
    }

    /// Why this runtime cannot run `workload`, if it cannot.
    fn unsupported(&self, _workload: Workload) -> Option<&'static str> {
        None
    }
}

/// Spawning, yielding and sleeping, the way each runtime's users write them.
pub(crate) trait BenchSpawner: Clone + Send + Sync + 'static {
    /// A handle that resolves to the task's output (a panic in the task panics here).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Spawns a detached task.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F);

    /// Spawns a task whose output is awaited through the returned handle.
    fn spawn_join<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    fn yield_now() -> impl Future<Output = ()> + Send;

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Resolves a `Result`-returning join handle to its output, panicking on a join error.
pub(crate) struct Unwrapped<H>(H);

impl<T, E: std::fmt::Debug, H: Future<Output = Result<T, E>> + Unpin> Future for Unwrapped<H> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.expect("task failed"))
    }
}

// fiber ---------------------------------------------------------------------------------------

pub(crate) struct Fiber(fiber::Runtime);

impl Fiber {
    pub(crate) fn new(threads: usize) -> Fiber {
        let runtime = fiber::Builder::new()
            .worker_threads(threads)
            .build()
            .expect("failed to start fiber");
        Fiber(runtime)
    }
}

impl BenchRuntime for Fiber {
    type Spawner = fiber::Handle;

    fn spawner(&self) -> fiber::Handle {
        self.0.handle().clone()
    }

    #[inline] // every runtime alike: `block_on_ready` times the call, not the wrapper
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn block_on_own_join_all<F: Future>(
        &self,
        futures: impl IntoIterator<Item = F>,
    ) -> Option<Vec<F::Output>> {
        Some(self.0.block_on(fiber::join_all(futures)))
    }
}

impl BenchSpawner for fiber::Handle {
    type Join<T: Send + 'static> = Unwrapped<fiber::JoinHandle<T>>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(fiber::Handle::spawn(self, future));
    }

    fn spawn_join<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(fiber::Handle::spawn(self, future))
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        fiber::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        fiber::time::sleep(duration)
    }
}

// tokio ---------------------------------------------------------------------------------------

pub(crate) struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    pub(crate) fn new(threads: usize) -> Tokio {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_time()
            .build()
            .expect("failed to start tokio");
        Tokio(runtime)
    }
}

impl BenchRuntime for Tokio {
    type Spawner = tokio::runtime::Handle;

    fn spawner(&self) -> tokio::runtime::Handle {
        self.0.handle().clone()
    }

    #[inline] // every runtime alike: `block_on_ready` times the call, not the wrapper
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

impl BenchSpawner for tokio::runtime::Handle {
    type Join<T: Send + 'static> = Unwrapped<tokio::task::JoinHandle<T>>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(tokio::runtime::Handle::spawn(self, future));
    }

    fn spawn_join<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tokio::runtime::Handle::spawn(self, future))
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

// async-executor ------------------------------------------------------------------------------

/// smol's executor, run by `threads` threads each calling `Executor::run` until shutdown.
pub(crate) struct Smol {
    executor: Arc<async_executor::Executor<'static>>,
    stop: Vec<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Smol {
    pub(crate) fn new(threads: usize) -> Smol {
        let executor = Arc::new(async_executor::Executor::new());
        let (stop, threads) = (0..threads)
            .map(|index| {
                let (stop, stopped) = oneshot::channel::<()>();
                let executor = executor.clone();
                let thread = thread::Builder::new()
                    .name(format!("smol-worker-{index}"))
                    .spawn(move || {
                        futures_lite::future::block_on(executor.run(async {
                            let _ = stopped.await;
                        }))
                    })
                    .expect("failed to start an async-executor thread");
                (stop, thread)
            })
            .unzip();
        Smol {
            executor,
            stop,
            threads,
        }
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        self.stop.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl BenchRuntime for Smol {
    type Spawner = Arc<async_executor::Executor<'static>>;

    fn spawner(&self) -> Self::Spawner {
        self.executor.clone()
    }

    #[inline] // every runtime alike: `block_on_ready` times the call, not the wrapper
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures_lite::future::block_on(future)
    }
}

impl BenchSpawner for Arc<async_executor::Executor<'static>> {
    type Join<T: Send + 'static> = async_executor::Task<T>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        async_executor::Executor::spawn(self, future).detach();
    }

    fn spawn_join<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_executor::Executor::spawn(self, future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

// futures ThreadPool --------------------------------------------------------------------------

pub(crate) struct FuturesPool(futures::executor::ThreadPool);

impl FuturesPool {
    pub(crate) fn new(threads: usize) -> FuturesPool {
        let pool = futures::executor::ThreadPool::builder()
            .pool_size(threads)
            .name_prefix("futures-worker-")
            .create()
            .expect("failed to start the futures ThreadPool");
        FuturesPool(pool)
    }
}

impl BenchRuntime for FuturesPool {
    type Spawner = futures::executor::ThreadPool;

    fn spawner(&self) -> Self::Spawner {
        self.0.clone()
    }

    #[inline] // every runtime alike: `block_on_ready` times the call, not the wrapper
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }

    fn unsupported(&self, workload: Workload) -> Option<&'static str> {
        // A task that wakes itself while being polled is polled again at once, forever, so
        // the busy background tasks never let the measured tasks run.
        (workload == Workload::SpawnManyRemoteBusy).then_some("n/a (never finishes)")
    }
}

impl BenchSpawner for futures::executor::ThreadPool {
    type Join<T: Send + 'static> = futures::future::RemoteHandle<T>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.spawn_ok(future);
    }

    fn spawn_join<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_handle(future)
            .expect("the ThreadPool refused a task")
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}
