//! Runs the workloads of `shared/PEERS.md` for fiber and its peers, in one process, in turn.
//!
//! ```text
//! cargo run --release --example benchmark -- [--threads N] [--rounds N] [--only W[,W..]]
//!                                            [--csv FILE] [--plot DIR] [--watchdog SECS]
//! ```
//!
//! The peers are tokio's multi-thread runtime, smol's `async-executor` (N threads each running
//! `Executor::run`, timers from `async-io`) and futures' `ThreadPool` (timers from `async-io`).
//! Every runtime gets the same number of worker threads and goes through the same code: each
//! workload is written once, generically over [`BenchRuntime`] and [`BenchSpawner`], whose
//! methods are plain generic calls (no boxing) for every runtime alike. Where a runtime's
//! users would reach for its own tool, the workload does too: `block_on_many` joins with
//! `fiber::join_all` on fiber and with `futures::future::join_all` on the peers, which have
//! no join-all of their own; a row "fiber + futures::join_all" shows fiber with the peers'
//! combinator.
//!
//! Each workload runs one discarded warm-up round and then `--rounds` measured rounds, the
//! runtimes taking turns within each round so that drift hits all of them alike, in orders
//! that give every runtime each other runtime as its predecessor equally often
//! ([`turn_orders`]). Each runtime runs its rounds on one thread of its own ([`Entrant`]).
//! The report is the median per runtime and the ratio of fiber's median to the best peer's
//! (for `timers`, of the time above the 20 ms floor). Every round runs under a watchdog: a
//! runtime that does not finish a round in time is reported as stuck and skipped from then
//! on, instead of hanging the benchmark.
//!
//! `--csv FILE` writes every measured round as `runtime,workload,threads,round,ms`; for the
//! `bytes_per_task` rows the last column holds bytes, not milliseconds. `--plot DIR` draws
//! `times.png` (median time per workload, relative to the best peer, log scale) and
//! `bytes_per_task.png`; it needs a TrueType font, looked up at `$BENCH_FONT` and then at the
//! usual DejaVu Sans paths, and skips the charts (saying so) when none is found.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::task::SpawnExt;

// ---------------------------------------------------------------------------------------------
// Counting allocator, for bytes_per_task.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

// ---------------------------------------------------------------------------------------------
// The runtimes, behind one interface.

/// A runtime under test: owns its worker threads and runs futures to completion.
trait BenchRuntime: Send + Sync + 'static {
    /// The cheap, clonable part that tasks carry around to spawn more tasks.
    type Spawner: BenchSpawner;

    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Runs every future of `futures` to completion in one `block_on`, the way this
    /// runtime's users combine many futures: `futures::future::join_all` for the peers, which
    /// have no such combinator of their own, `fiber::join_all` for fiber.
    fn block_on_all<F: Future>(&self, futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        self.block_on(futures::future::join_all(futures))
    }

    /// Why this runtime cannot run `workload`, if it cannot.
    fn unsupported(&self, _workload: Workload) -> Option<&'static str> {
        None
    }
}

/// Spawning, yielding and sleeping, the way each runtime's users write them.
trait BenchSpawner: Clone + Send + Sync + 'static {
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
struct Unwrapped<H>(H);

impl<T, E: std::fmt::Debug, H: Future<Output = Result<T, E>> + Unpin> Future for Unwrapped<H> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.expect("task failed"))
    }
}

// fiber ---------------------------------------------------------------------------------------

struct Fiber(fiber::Runtime);

impl Fiber {
    fn new(threads: usize) -> Fiber {
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

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn block_on_all<F: Future>(&self, futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        self.0.block_on(fiber::join_all(futures))
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

struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    fn new(threads: usize) -> Tokio {
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
struct Smol {
    executor: Arc<async_executor::Executor<'static>>,
    stop: Vec<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Smol {
    fn new(threads: usize) -> Smol {
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

struct FuturesPool(futures::executor::ThreadPool);

impl FuturesPool {
    fn new(threads: usize) -> FuturesPool {
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

// ---------------------------------------------------------------------------------------------
// The workloads, each written once.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Workload {
    SpawnManyLocal,
    SpawnManyRemoteIdle,
    SpawnManyRemoteBusy,
    YieldMany,
    PingPong,
    ChainedSpawn,
    BlockOnMany,
    Timers,
    BlockOnReady,
    BytesPerTask,
    IdleCpu,
}

impl Workload {
    const ALL: [Workload; 11] = [
        Workload::SpawnManyLocal,
        Workload::SpawnManyRemoteIdle,
        Workload::SpawnManyRemoteBusy,
        Workload::YieldMany,
        Workload::PingPong,
        Workload::ChainedSpawn,
        Workload::BlockOnMany,
        Workload::Timers,
        Workload::BlockOnReady,
        Workload::BytesPerTask,
        Workload::IdleCpu,
    ];

    fn name(self) -> &'static str {
        match self {
            Workload::SpawnManyLocal => "spawn_many_local",
            Workload::SpawnManyRemoteIdle => "spawn_many_remote_idle",
            Workload::SpawnManyRemoteBusy => "spawn_many_remote_busy",
            Workload::YieldMany => "yield_many",
            Workload::PingPong => "ping_pong",
            Workload::ChainedSpawn => "chained_spawn",
            Workload::BlockOnMany => "block_on_many",
            Workload::Timers => "timers",
            Workload::BlockOnReady => "block_on_ready",
            Workload::BytesPerTask => "bytes_per_task",
            Workload::IdleCpu => "idle_cpu",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Workload::BytesPerTask => "B",
            Workload::IdleCpu => "%",
            _ => "ms",
        }
    }
}

/// Sizes of the workloads, as in PEERS.md.
const SPAWN_COUNT: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELDS_PER_TASK: usize = 1_000;
const PINGS: usize = 1_000;
const CHAIN_LENGTH: usize = 1_000;
const BLOCK_ON_MANY_FUTURES: usize = 100_000;
const TIMER_COUNT: usize = 100_000;
/// Every timer sleeps 1 to this many milliseconds: no round can be shorter.
const TIMER_FLOOR_MS: f64 = 20.0;
const BLOCK_ON_READY_CALLS: usize = 100_000;
const PENDING_TASKS: usize = 100_000;
/// More than fiber's caches of freed task memory hold: see `bytes_per_task`.
const RECYCLED_TASKS: usize = 4_096;
const IDLE_WINDOW: Duration = Duration::from_secs(1);

/// One round's result.
#[derive(Debug)]
enum Outcome {
    /// A measurement, in the workload's unit.
    Value(f64),
    NotApplicable(&'static str),
    Failed(String),
    Stuck,
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

/// A countdown that sends on a std channel when it reaches zero.
#[derive(Clone)]
struct Countdown {
    remaining: Arc<AtomicUsize>,
    done: mpsc::SyncSender<()>,
}

impl Countdown {
    fn new(count: usize) -> (Countdown, mpsc::Receiver<()>) {
        let (done, finished) = mpsc::sync_channel(1);
        let countdown = Countdown {
            remaining: Arc::new(AtomicUsize::new(count)),
            done,
        };
        (countdown, finished)
    }

    fn tick(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.send(()).unwrap();
        }
    }
}

/// From inside a task, spawn tasks that each count down once.
fn spawn_many_local<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let (countdown, finished) = Countdown::new(SPAWN_COUNT);
    let start = Instant::now();
    runtime.spawner().spawn(async move {
        for _ in 0..SPAWN_COUNT {
            let countdown = countdown.clone();
            spawner.spawn(async move { countdown.tick() });
        }
    });
    finished.recv().unwrap();
    millis(start.elapsed())
}

/// From this (non-runtime) thread, spawn empty tasks, then await every handle in `block_on`.
fn spawn_many_remote<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let start = Instant::now();
    let handles: Vec<_> = (0..SPAWN_COUNT)
        .map(|_| spawner.spawn_join(async {}))
        .collect();
    runtime.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
    millis(start.elapsed())
}

/// `spawn_many_remote` while 2 x workers tasks loop on a yield and a 10 µs busy stall.
fn spawn_many_remote_busy<R: BenchRuntime>(runtime: &R, threads: usize) -> f64 {
    fn stall() {
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(10) {
            std::hint::spin_loop();
        }
    }

    let spawner = runtime.spawner();
    let running = Arc::new(AtomicBool::new(true));
    let busy: Vec<_> = (0..threads * 2)
        .map(|_| {
            let running = running.clone();
            spawner.spawn_join(async move {
                while running.load(Ordering::Relaxed) {
                    R::Spawner::yield_now().await;
                    stall();
                }
            })
        })
        .collect();
    let elapsed = spawn_many_remote(runtime);
    running.store(false, Ordering::Relaxed);
    runtime.block_on(async {
        for handle in busy {
            handle.await;
        }
    });
    elapsed
}

/// Tasks that each yield many times, then count down.
fn yield_many<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let (countdown, finished) = Countdown::new(YIELD_TASKS);
    let start = Instant::now();
    for _ in 0..YIELD_TASKS {
        let countdown = countdown.clone();
        spawner.spawn(async move {
            for _ in 0..YIELDS_PER_TASK {
                R::Spawner::yield_now().await;
            }
            countdown.tick();
        });
    }
    finished.recv().unwrap();
    millis(start.elapsed())
}

/// One task spawns tasks that each spawn a child and exchange two oneshot messages with it.
fn ping_pong<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let (countdown, finished) = Countdown::new(PINGS);
    let start = Instant::now();
    runtime.spawner().spawn(async move {
        for _ in 0..PINGS {
            let countdown = countdown.clone();
            let inner = spawner.clone();
            spawner.spawn(async move {
                let (ping, pinged) = oneshot::channel::<()>();
                let (pong, ponged) = oneshot::channel::<()>();
                inner.spawn(async move {
                    pinged.await.unwrap();
                    pong.send(()).unwrap();
                });
                ping.send(()).unwrap();
                ponged.await.unwrap();
                countdown.tick();
            });
        }
    });
    finished.recv().unwrap();
    millis(start.elapsed())
}

/// A chain of tasks, each spawning the next; the last one signals.
fn chained_spawn<R: BenchRuntime>(runtime: &R) -> f64 {
    fn link<S: BenchSpawner>(spawner: S, done: mpsc::SyncSender<()>, remaining: usize) {
        if remaining == 0 {
            done.send(()).unwrap();
        } else {
            spawner
                .clone()
                .spawn(async move { link(spawner, done, remaining - 1) });
        }
    }

    let spawner = runtime.spawner();
    let (done, finished) = mpsc::sync_channel(1);
    let start = Instant::now();
    runtime
        .spawner()
        .spawn(async move { link(spawner, done, CHAIN_LENGTH) });
    finished.recv().unwrap();
    millis(start.elapsed())
}

/// One `block_on` joining many futures that each yield once.
fn block_on_many<R: BenchRuntime>(runtime: &R) -> f64 {
    let start = Instant::now();
    runtime.block_on_all((0..BLOCK_ON_MANY_FUTURES).map(|_| R::Spawner::yield_now()));
    millis(start.elapsed())
}

/// Sleep durations of 1 to 20 ms in a fixed pseudo-random order (xorshift64).
fn timer_durations() -> Vec<Duration> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..TIMER_COUNT)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Duration::from_millis(1 + state % TIMER_FLOOR_MS as u64)
        })
        .collect()
}

/// Tasks that each sleep 1 to 20 ms, then count down.
fn timers<R: BenchRuntime>(runtime: &R, durations: &[Duration]) -> f64 {
    let spawner = runtime.spawner();
    let (countdown, finished) = Countdown::new(durations.len());
    let start = Instant::now();
    for &duration in durations {
        let countdown = countdown.clone();
        spawner.spawn(async move {
            R::Spawner::sleep(duration).await;
            countdown.tick();
        });
    }
    finished.recv().unwrap();
    millis(start.elapsed())
}

/// Sequential `block_on` calls of a ready future, through `block_on`.
fn block_on_ready(block_on: impl Fn(std::future::Ready<u64>) -> u64) -> f64 {
    let start = Instant::now();
    for call in 0..BLOCK_ON_READY_CALLS as u64 {
        black_box(block_on(std::future::ready(black_box(call))));
    }
    millis(start.elapsed())
}

/// A task that stays pending until its sender is dropped.
async fn pending_task(released: oneshot::Receiver<()>, polled: Arc<AtomicUsize>) {
    polled.fetch_add(1, Ordering::SeqCst);
    let _ = released.await;
    polled.fetch_sub(1, Ordering::SeqCst);
}

/// Live heap bytes per spawned, still pending task, less the size of its future.
fn bytes_per_task<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let polled = Arc::new(AtomicUsize::new(0));
    let future_size = {
        let (_keep, released) = oneshot::channel();
        std::mem::size_of_val(&pending_task(released, polled.clone()))
    };
    // First, uncounted, enough pending tasks of the same type to take every block a runtime
    // may keep from earlier tasks for reuse (fiber keeps up to 1,024 per size, plus 64 per
    // thread): the counted tasks then get fresh memory, whoever recycles.
    let warm_polled = Arc::new(AtomicUsize::new(0));
    let (warm_senders, warm_receivers): (Vec<_>, Vec<_>) = (0..RECYCLED_TASKS)
        .map(|_| oneshot::channel::<()>())
        .unzip();
    for released in warm_receivers {
        spawner.spawn(pending_task(released, warm_polled.clone()));
    }
    while warm_polled.load(Ordering::SeqCst) < RECYCLED_TASKS {
        thread::sleep(Duration::from_millis(1));
    }
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..PENDING_TASKS).map(|_| oneshot::channel::<()>()).unzip();
    // Keep the receivers' buffer alive across the measurement so that its release does not
    // count against the tasks.
    let mut receivers = receivers.into_iter();

    counting_alloc::set_counting(true);
    let before = counting_alloc::live_bytes();
    for released in &mut receivers {
        spawner.spawn(pending_task(released, polled.clone()));
    }
    while polled.load(Ordering::SeqCst) < PENDING_TASKS {
        thread::sleep(Duration::from_millis(1));
    }
    let after = counting_alloc::live_bytes();
    counting_alloc::set_counting(false);

    drop(senders);
    drop(warm_senders);
    while polled.load(Ordering::SeqCst) + warm_polled.load(Ordering::SeqCst) > 0 {
        thread::sleep(Duration::from_millis(1));
    }
    drop(receivers);
    (after - before) as f64 / PENDING_TASKS as f64 - future_size as f64
}

/// CPU time the whole process spends over a window while this runtime is idle, in percent
/// of one core.
fn idle_cpu<R: BenchRuntime>(runtime: &R) -> Option<f64> {
    // Wake the workers once, so the window sees them going idle from a busy state.
    runtime.block_on(runtime.spawner().spawn_join(async {}));
    thread::sleep(Duration::from_millis(50));
    let before = process_cpu_time()?;
    thread::sleep(IDLE_WINDOW);
    let after = process_cpu_time()?;
    Some((after - before).as_secs_f64() / IDLE_WINDOW.as_secs_f64() * 100.0)
}

/// The CPU time of every thread of this process, summed from `/proc/self/task/*/schedstat`.
fn process_cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let schedstat = std::fs::read_to_string(entry.ok()?.path().join("schedstat")).ok()?;
        total += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

// ---------------------------------------------------------------------------------------------
// Contenders: each runtime behind a trait object, dispatched once per round.

/// The round-level interface the driver sees.
trait Contender: Send + Sync {
    fn round(&self, workload: Workload, config: &Config) -> Outcome;
}

struct Subject<R> {
    runtime: R,
}

impl<R: BenchRuntime> Contender for Subject<R> {
    fn round(&self, workload: Workload, config: &Config) -> Outcome {
        if let Some(reason) = self.runtime.unsupported(workload) {
            return Outcome::NotApplicable(reason);
        }
        let runtime = &self.runtime;
        let value = match workload {
            Workload::SpawnManyLocal => spawn_many_local(runtime),
            Workload::SpawnManyRemoteIdle => spawn_many_remote(runtime),
            Workload::SpawnManyRemoteBusy => spawn_many_remote_busy(runtime, config.threads),
            Workload::YieldMany => yield_many(runtime),
            Workload::PingPong => ping_pong(runtime),
            Workload::ChainedSpawn => chained_spawn(runtime),
            Workload::BlockOnMany => block_on_many(runtime),
            Workload::Timers => timers(runtime, &config.timer_durations),
            Workload::BlockOnReady => block_on_ready(|ready| runtime.block_on(ready)),
            Workload::BytesPerTask => bytes_per_task(runtime),
            Workload::IdleCpu => match idle_cpu(runtime) {
                Some(percent) => percent,
                None => return Outcome::NotApplicable("n/a (no /proc/self/task)"),
            },
        };
        Outcome::Value(value)
    }
}

/// `fiber::block_on`, on the global runtime: only for `block_on_ready`.
struct FiberGlobal;

impl Contender for FiberGlobal {
    fn round(&self, workload: Workload, _config: &Config) -> Outcome {
        match workload {
            Workload::BlockOnReady => Outcome::Value(block_on_ready(fiber::block_on)),
            _ => Outcome::NotApplicable("-"),
        }
    }
}

/// fiber's runtime with `futures::future::join_all`, as the peers run it: only for
/// `block_on_many`, to tell `fiber::join_all`'s share from `block_on`'s.
struct FiberFuturesJoinAll(Fiber);

impl Contender for FiberFuturesJoinAll {
    fn round(&self, workload: Workload, _config: &Config) -> Outcome {
        match workload {
            Workload::BlockOnMany => {
                let start = Instant::now();
                self.0.block_on(futures::future::join_all(
                    (0..BLOCK_ON_MANY_FUTURES).map(|_| fiber::yield_now()),
                ));
                Outcome::Value(millis(start.elapsed()))
            }
            _ => Outcome::NotApplicable("-"),
        }
    }
}

/// The orders in which `n` runtimes take their turns, one per round, used in a cycle: `n - 1`
/// permutations whose concatenation, read as a cycle (the last turn of a round is followed
/// by the first of the next), has every runtime directly after every other runtime exactly
/// once. Whatever a turn leaves behind (caches, the allocator's state) then falls on each
/// runtime alike. Turning one fixed order (round `r` starting with runtime `r mod n`) would
/// not do that: each runtime would nearly always follow the same one.
fn turn_orders(n: usize) -> Vec<Vec<usize>> {
    if n < 2 {
        return vec![(0..n).collect()];
    }
    let mut sequence = vec![0];
    let mut followed = vec![vec![false; n]; n];
    assert!(
        extend_turns(n, &mut sequence, &mut followed),
        "no balanced turn order for {n} runtimes"
    );
    sequence.chunks(n).map(<[usize]>::to_vec).collect()
}

/// Depth-first search for [`turn_orders`]: extends `sequence` by one turn at a time, never
/// repeating a runtime within a round nor a pair (`followed[a][b]`: `b` has come right after
/// `a`). Finds an answer at once for the handful of runtimes compared here.
fn extend_turns(n: usize, sequence: &mut Vec<usize>, followed: &mut [Vec<bool>]) -> bool {
    let len = sequence.len();
    let last = sequence[len - 1];
    if len == n * (n - 1) {
        return last != sequence[0] && !followed[last][sequence[0]];
    }
    for next in 0..n {
        if next == last || followed[last][next] || sequence[len / n * n..].contains(&next) {
            continue;
        }
        followed[last][next] = true;
        sequence.push(next);
        if extend_turns(n, sequence, followed) {
            return true;
        }
        sequence.pop();
        followed[last][next] = false;
    }
    false
}

/// The pause before each runtime's turn in a round.
const SETTLE: Duration = Duration::from_millis(5);

const FIBER: &str = "fiber";
const FIBER_GLOBAL: &str = "fiber::block_on";
const FIBER_FUTURES_JOIN_ALL: &str = "fiber + futures::join_all";

/// The one workload an extra fiber contender runs, reported below the table.
fn extra_workload(name: &str) -> Option<Workload> {
    match name {
        FIBER_GLOBAL => Some(Workload::BlockOnReady),
        FIBER_FUTURES_JOIN_ALL => Some(Workload::BlockOnMany),
        _ => None,
    }
}
const PEERS: [&str; 3] = ["tokio", "async-executor", "futures"];

fn start(name: &str, threads: usize) -> Entrant {
    let contender: Arc<dyn Contender> = match name {
        FIBER => Arc::new(Subject {
            runtime: Fiber::new(threads),
        }),
        FIBER_GLOBAL => Arc::new(FiberGlobal),
        FIBER_FUTURES_JOIN_ALL => Arc::new(FiberFuturesJoinAll(Fiber::new(threads))),
        "tokio" => Arc::new(Subject {
            runtime: Tokio::new(threads),
        }),
        "async-executor" => Arc::new(Subject {
            runtime: Smol::new(threads),
        }),
        "futures" => Arc::new(Subject {
            runtime: FuturesPool::new(threads),
        }),
        _ => unreachable!("unknown runtime {name}"),
    };
    Entrant::new(name, contender)
}

/// What a round thread is asked to do: run one round and report its outcome.
type Job = (Workload, Arc<Config>, mpsc::Sender<Outcome>);

/// A contender and the thread that runs all its rounds, one after another.
///
/// Each runtime keeps one spawning thread for the whole benchmark, as a program keeps the
/// threads that spawn its tasks. A fresh thread per round would take over the malloc arena
/// that the previous round's thread left, with whatever another runtime's round left in it:
/// with glibc, a timers round after futures' took 25 to 50 ms longer, for every runtime.
struct Entrant {
    /// Held here too, so that the runtime is dropped by the driver once the round thread
    /// has stopped, not by the round thread on its way out.
    _contender: Arc<dyn Contender>,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Entrant {
    fn new(name: &str, contender: Arc<dyn Contender>) -> Entrant {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let runner = contender.clone();
        let thread = thread::Builder::new()
            .name(format!("round-{name}"))
            .spawn(move || {
                for (workload, config, report) in inbox {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        runner.round(workload, &config)
                    }));
                    let _ = report.send(result.unwrap_or_else(|panic| {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|text| text.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "panicked".into());
                        Outcome::Failed(message)
                    }));
                }
            })
            .expect("failed to start a round thread");
        Entrant {
            _contender: contender,
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }
}

impl Drop for Entrant {
    /// Stops the round thread and waits for it, so that the runtime is dropped here, by its
    /// last owner. (A stuck entrant is forgotten instead, never dropped.)
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs one round on the entrant's round thread, giving up on it after the watchdog's limit.
fn watched_round(entrant: &Entrant, workload: Workload, config: &Arc<Config>) -> Outcome {
    let (report, outcome) = mpsc::channel();
    let jobs = entrant
        .jobs
        .as_ref()
        .expect("the round thread runs until dropped");
    if jobs.send((workload, config.clone(), report)).is_err() {
        return Outcome::Failed("the round thread is gone".into());
    }
    // The idle window alone takes a second: never count that as stuck.
    let limit = match workload {
        Workload::IdleCpu => config.watchdog.max(IDLE_WINDOW * 5),
        _ => config.watchdog,
    };
    match outcome.recv_timeout(limit) {
        Ok(outcome) => outcome,
        // The round thread is left behind: it may never return.
        Err(_) => Outcome::Stuck,
    }
}

// ---------------------------------------------------------------------------------------------
// The driver.

struct Config {
    threads: usize,
    rounds: usize,
    only: Vec<Workload>,
    csv: Option<PathBuf>,
    plot: Option<PathBuf>,
    watchdog: Duration,
    timer_durations: Vec<Duration>,
}

const USAGE: &str = "usage: benchmark [--threads N] [--rounds N] [--only WORKLOAD[,WORKLOAD..]] \
                     [--csv FILE] [--plot DIR] [--watchdog SECS]";

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        threads: 2,
        rounds: 9,
        only: Workload::ALL.to_vec(),
        csv: None,
        plot: None,
        watchdog: Duration::from_secs(20),
        timer_durations: timer_durations(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
            return Err(format!("{USAGE}\nworkloads: {}", names.join(", ")));
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag} needs a positive number, not {value:?}"))
        };
        match flag.as_str() {
            "--threads" => config.threads = number()?,
            "--rounds" => config.rounds = number()?,
            "--watchdog" => config.watchdog = Duration::from_secs(number()? as u64),
            "--csv" => config.csv = Some(value.into()),
            "--plot" => config.plot = Some(value.into()),
            "--only" => {
                config.only = value
                    .split(',')
                    .map(|name| {
                        Workload::ALL
                            .into_iter()
                            .find(|w| w.name() == name.trim())
                            .ok_or_else(|| format!("unknown workload {name:?}\n{USAGE}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok(config)
}

/// Every measured round, keyed by runtime and workload.
#[derive(Default)]
struct Results {
    rounds: HashMap<(&'static str, Workload), Vec<f64>>,
    notes: HashMap<(&'static str, Workload), String>,
}

impl Results {
    fn median(&self, runtime: &str, workload: Workload) -> Option<f64> {
        let (_, values) = self
            .rounds
            .iter()
            .find(|((name, w), _)| *name == runtime && *w == workload)?;
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        match sorted.len() {
            0 => None,
            n if n % 2 == 1 => Some(sorted[middle]),
            _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
        }
    }

    fn cell(&self, runtime: &'static str, workload: Workload) -> String {
        match (
            self.median(runtime, workload),
            self.notes.get(&(runtime, workload)),
        ) {
            (_, Some(note)) => note.clone(),
            (Some(median), None) => format_value(median),
            (None, None) => "-".into(),
        }
    }

    /// fiber's median over the best peer's (for timers, of the time above the floor).
    fn ratio(&self, workload: Workload) -> Option<(f64, &'static str)> {
        let above_floor = |value: f64| match workload {
            Workload::Timers => value - TIMER_FLOOR_MS,
            _ => value,
        };
        let fiber = above_floor(self.median(FIBER, workload)?);
        let (best_name, best) = PEERS
            .iter()
            .filter_map(|&peer| Some((peer, above_floor(self.median(peer, workload)?))))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        (best > 0.0).then(|| (fiber / best, best_name))
    }
}

fn format_value(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        v if v >= 1.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

fn main() {
    let config = match parse_args() {
        Ok(config) => Arc::new(config),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let run_start = Instant::now();
    let mut names: Vec<&'static str> = vec![FIBER];
    names.extend(PEERS);
    let mut contenders: Vec<(&'static str, Option<Entrant>)> = names
        .iter()
        .map(|&name| (name, Some(start(name, config.threads))))
        .collect();
    for extra in [FIBER_GLOBAL, FIBER_FUTURES_JOIN_ALL] {
        if extra_workload(extra).is_some_and(|workload| config.only.contains(&workload)) {
            contenders.push((extra, Some(start(extra, config.threads))));
        }
    }
    let mut results = Results::default();
    let mut csv = String::from("runtime,workload,threads,round,ms\n");
    println!(
        "fiber benchmark: {} worker threads, {} rounds (+1 warm-up), watchdog {:?} per round",
        config.threads, config.rounds, config.watchdog
    );

    for &workload in &config.only {
        if workload == Workload::IdleCpu {
            continue;
        }
        let workload_start = Instant::now();
        // The contenders that run this workload (the extra fiber rows run only theirs).
        let entrants: Vec<usize> = (0..contenders.len())
            .filter(|&index| {
                extra_workload(contenders[index].0).map_or(true, |only| only == workload)
            })
            .collect();
        // Round 0 is the warm-up; runtimes take turns within each round, in an order that
        // changes from round to round (see `turn_orders`).
        let orders = turn_orders(entrants.len());
        for round in 0..=config.rounds {
            for &position in &orders[round % orders.len()] {
                let (name, slot) = &mut contenders[entrants[position]];
                let Some(contender) = slot else {
                    results
                        .notes
                        .entry((name, workload))
                        .or_insert_with(|| "skipped (stuck earlier)".into());
                    continue;
                };
                // Let the previous runtime's workers finish spinning and park, so that no
                // runtime's turn starts on cores still busy with another's idle threads.
                thread::sleep(SETTLE);
                match watched_round(contender, workload, &config) {
                    Outcome::Value(value) if round > 0 => {
                        results
                            .rounds
                            .entry((name, workload))
                            .or_default()
                            .push(value);
                        let _ = writeln!(
                            csv,
                            "{name},{},{},{round},{value:.6}",
                            workload.name(),
                            config.threads
                        );
                    }
                    Outcome::Value(_) => {}
                    Outcome::NotApplicable(reason) => {
                        results.notes.insert((name, workload), reason.into());
                    }
                    Outcome::Failed(message) => {
                        println!(
                            "  {name} FAILED {} round {round}: {message}",
                            workload.name()
                        );
                        results.notes.insert((name, workload), "FAILED".into());
                    }
                    Outcome::Stuck => {
                        println!(
                            "  {name} STUCK in {} round {round}: no result after {:?}; \
                             skipping it from here on (later figures may be disturbed)",
                            workload.name(),
                            config.watchdog
                        );
                        results.notes.insert((name, workload), "STUCK".into());
                        // It may never come back: neither use nor drop it again.
                        std::mem::forget(slot.take());
                    }
                }
            }
        }
        print_workload(&results, &contenders, workload, workload_start.elapsed());
    }

    // Idle CPU last, one runtime at a time, with every other runtime shut down.
    let survivors: Vec<&'static str> = contenders
        .iter()
        .filter(|(name, slot)| slot.is_some() && extra_workload(name).is_none())
        .map(|(name, _)| *name)
        .collect();
    for (_, slot) in contenders.iter_mut() {
        if let Some(contender) = slot.take() {
            drop(contender);
        }
    }
    if config.only.contains(&Workload::IdleCpu) {
        for &name in &names {
            if !survivors.contains(&name) {
                results
                    .notes
                    .insert((name, Workload::IdleCpu), "skipped (stuck earlier)".into());
                continue;
            }
            let contender = start(name, config.threads);
            match watched_round(&contender, Workload::IdleCpu, &config) {
                Outcome::Value(percent) => {
                    results
                        .rounds
                        .insert((name, Workload::IdleCpu), vec![percent]);
                    let _ = writeln!(csv, "{name},idle_cpu,{},1,{percent:.6}", config.threads);
                }
                Outcome::NotApplicable(reason) => {
                    results
                        .notes
                        .insert((name, Workload::IdleCpu), reason.into());
                }
                Outcome::Failed(message) => {
                    println!("  {name} FAILED idle_cpu: {message}");
                    results
                        .notes
                        .insert((name, Workload::IdleCpu), "FAILED".into());
                }
                Outcome::Stuck => {
                    println!("  {name} STUCK in idle_cpu");
                    results
                        .notes
                        .insert((name, Workload::IdleCpu), "STUCK".into());
                    std::mem::forget(contender);
                }
            }
        }
    }

    print_summary(&results, &names, &config);
    println!("total run time: {:.1} s", run_start.elapsed().as_secs_f64());

    if let Some(path) = &config.csv {
        match std::fs::write(path, &csv) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(error) => eprintln!("could not write {}: {error}", path.display()),
        }
    }
    if let Some(dir) = &config.plot {
        if let Err(error) = plot::draw(dir, &results, &names, &config) {
            eprintln!("no charts drawn: {error}");
        }
    }
    let troubles: Vec<String> = results
        .notes
        .iter()
        .filter(|(_, note)| *note == "STUCK" || *note == "FAILED")
        .map(|((name, workload), note)| format!("{name} {note} in {}", workload.name()))
        .collect();
    if !troubles.is_empty() {
        eprintln!("some rounds did not complete: {}", troubles.join("; "));
        std::process::exit(1);
    }
}

fn print_workload(
    results: &Results,
    contenders: &[(&'static str, Option<Entrant>)],
    workload: Workload,
    elapsed: Duration,
) {
    println!(
        "\n{} (median {}, {:.1} s for all rounds)",
        workload.name(),
        workload.unit(),
        elapsed.as_secs_f64()
    );
    for (name, _) in contenders {
        let Some(values) = results.rounds.get(&(name, workload)) else {
            if let Some(note) = results.notes.get(&(name, workload)) {
                println!("  {name:<25} {note}");
            }
            continue;
        };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let median = results.median(name, workload).unwrap_or(f64::NAN);
        let mut line = format!(
            "  {name:<25} {:>9}   (min {}, max {})",
            format_value(median),
            format_value(min),
            format_value(max)
        );
        match workload {
            Workload::Timers => {
                let _ = write!(
                    line,
                    "   above the {TIMER_FLOOR_MS} ms floor: {}",
                    format_value(median - TIMER_FLOOR_MS)
                );
            }
            Workload::BlockOnReady => {
                let nanos_per_call = median * 1e6 / BLOCK_ON_READY_CALLS as f64;
                let _ = write!(line, "   {nanos_per_call:.1} ns per call");
            }
            _ => {}
        }
        if let Some(note) = results.notes.get(&(name, workload)) {
            let _ = write!(line, "   [{note}]");
        }
        println!("{line}");
    }
    if let Some((ratio, best)) = results.ratio(workload) {
        println!("  fiber / best peer ({best}): {ratio:.2}");
    }
}

fn print_summary(results: &Results, names: &[&'static str], config: &Config) {
    println!(
        "\n## Medians, {} worker threads, {} rounds",
        config.threads, config.rounds
    );
    println!("\n| workload | {} | fiber / best peer |", names.join(" | "));
    println!("|---|{}---|", "---|".repeat(names.len()));
    for &workload in &config.only {
        let cells: Vec<String> = names
            .iter()
            .map(|&name| results.cell(name, workload))
            .collect();
        let ratio = match results.ratio(workload) {
            Some((ratio, best)) => format!("{ratio:.2} ({best})"),
            None => "-".into(),
        };
        let label = match workload {
            Workload::Timers => "timers (ms; ratio above the 20 ms floor)".into(),
            _ => format!("{} ({})", workload.name(), workload.unit()),
        };
        println!("| {label} | {} | {ratio} |", cells.join(" | "));
    }
    if let Some(global) = results.median(FIBER_GLOBAL, Workload::BlockOnReady) {
        println!(
            "\nfiber::block_on (global runtime), block_on_ready: {} ms ({:.1} ns per call)",
            format_value(global),
            global * 1e6 / BLOCK_ON_READY_CALLS as f64
        );
    }
    if let Some(joined) = results.median(FIBER_FUTURES_JOIN_ALL, Workload::BlockOnMany) {
        println!(
            "fiber's block_on with futures::future::join_all, block_on_many: {} ms",
            format_value(joined)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Charts.

mod plot {
    use super::*;
    use plotters::prelude::*;

    const FONT_PATHS: [&str; 3] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ];

    const COLORS: [RGBColor; 4] = [
        RGBColor(214, 39, 40),
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
    ];

    /// Registers a TrueType font as "sans-serif"; plotters' ab_glyph text needs one.
    fn register_font() -> Result<(), String> {
        let candidates: Vec<PathBuf> = std::env::var_os("BENCH_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from))
            .collect();
        let path = candidates
            .iter()
            .find(|path| path.is_file())
            .ok_or_else(|| {
                format!(
                    "no TrueType font found (tried {}); set BENCH_FONT to a .ttf file \
                 or install fonts-dejavu-core",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // plotters keeps registered fonts for the rest of the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{} is not a usable TrueType font", path.display()))
    }

    pub(super) fn draw(
        dir: &Path,
        results: &Results,
        names: &[&'static str],
        config: &Config,
    ) -> Result<(), String> {
        register_font()?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let times = dir.join("times.png");
        draw_times(&times, results, names, config).map_err(|e| e.to_string())?;
        println!("wrote {}", times.display());
        if config.only.contains(&Workload::BytesPerTask) {
            let bytes = dir.join("bytes_per_task.png");
            draw_bytes(&bytes, results, names, config).map_err(|e| e.to_string())?;
            println!("wrote {}", bytes.display());
        }
        Ok(())
    }

    type DrawResult = Result<(), Box<dyn std::error::Error>>;

    /// Grouped bars: per timed workload, each runtime's median over the best peer's.
    fn draw_times(
        path: &Path,
        results: &Results,
        names: &[&'static str],
        config: &Config,
    ) -> DrawResult {
        let workloads: Vec<Workload> = config
            .only
            .iter()
            .copied()
            .filter(|w| w.unit() == "ms")
            .collect();
        // Per workload: (runtime index, value relative to the best peer).
        let mut bars = Vec::new();
        for (group, &workload) in workloads.iter().enumerate() {
            let above_floor = |value: f64| match workload {
                Workload::Timers => (value - TIMER_FLOOR_MS).max(0.01),
                _ => value,
            };
            let best = PEERS
                .iter()
                .filter_map(|peer| results.median(peer, workload).map(above_floor))
                .fold(f64::INFINITY, f64::min);
            if !best.is_finite() {
                continue;
            }
            for (index, name) in names.iter().enumerate() {
                if let Some(median) = results.median(name, workload) {
                    bars.push((group, index, above_floor(median) / best));
                }
            }
        }
        let high = bars.iter().map(|b| b.2).fold(1.0, f64::max) * 1.5;
        let low = bars.iter().map(|b| b.2).fold(1.0, f64::min) / 1.5;
        let slots = (names.len() + 1) as i32;

        let root = BitMapBackend::new(path, (1800, 800)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "median time relative to the best peer (= 1.0), {} threads, {} rounds; \
                     timers: time above the 20 ms floor",
                    config.threads, config.rounds
                ),
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0..workloads.len() as i32 * slots, (low..high).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(workloads.len() * slots as usize)
            .x_label_formatter(&|x| {
                let (group, slot) = (x / slots, x % slots);
                match workloads.get(group as usize) {
                    // Under the middle of the group's bars.
                    Some(workload) if slot == names.len() as i32 / 2 => workload.name().to_string(),
                    _ => String::new(),
                }
            })
            .x_label_style(("sans-serif", 14))
            .y_desc("time / best peer's time (log scale)")
            .y_label_formatter(&|y| format!("{y:.2}"))
            .y_label_style(("sans-serif", 14))
            .draw()?;
        for (index, name) in names.iter().enumerate() {
            let color = COLORS[index % COLORS.len()];
            chart
                .draw_series(bars.iter().filter(|bar| bar.1 == index).map(
                    |&(group, index, value)| {
                        let x = group as i32 * slots + index as i32;
                        Rectangle::new([(x, low), (x + 1, value)], color.filled())
                    },
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled())
                });
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0, 1.0), (workloads.len() as i32 * slots, 1.0)],
            BLACK,
        )))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
        root.present()?;
        Ok(())
    }

    /// One bar per runtime: heap bytes per pending task.
    fn draw_bytes(
        path: &Path,
        results: &Results,
        names: &[&'static str],
        config: &Config,
    ) -> DrawResult {
        let bars: Vec<(usize, f64)> = names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                Some((index, results.median(name, Workload::BytesPerTask)?))
            })
            .collect();
        let high = bars.iter().map(|b| b.1).fold(64.0, f64::max) * 1.2;
        let low = bars.iter().map(|b| b.1).fold(0.0, f64::min);

        let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "heap bytes per pending task, beyond its future ({} threads)",
                    config.threads
                ),
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0..names.len() as i32 * 4, low..high)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(names.len() * 4)
            // Under the middle of each bar.
            .x_label_formatter(&|x| match (x % 4, names.get((x / 4) as usize)) {
                (1, Some(name)) => name.to_string(),
                _ => String::new(),
            })
            .x_label_style(("sans-serif", 16))
            .y_desc("bytes (line: the 64 B goal)")
            .y_label_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(bars.iter().map(|&(index, value)| {
            let x = index as i32 * 4;
            Rectangle::new(
                [(x, 0.0), (x + 2, value)],
                COLORS[index % COLORS.len()].filled(),
            )
        }))?;
        chart.draw_series(bars.iter().map(|&(index, value)| {
            Text::new(
                format!("{value:.0} B"),
                (index as i32 * 4, value + high * 0.04),
                ("sans-serif", 16),
            )
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0, 64.0), (names.len() as i32 * 4, 64.0)],
            BLACK.stroke_width(1),
        )))?;
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::turn_orders;

    #[test]
    fn every_runtime_follows_every_other_once_per_cycle() {
        for n in 1..=7 {
            let orders = turn_orders(n);
            let mut follows = vec![vec![0; n]; n];
            for order in &orders {
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "n={n}: {orders:?}");
            }
            let turns: Vec<usize> = orders.concat();
            for (index, &runtime) in turns.iter().enumerate() {
                let next = turns[(index + 1) % turns.len()];
                if turns.len() > 1 {
                    follows[next][runtime] += 1;
                }
            }
            for a in 0..n {
                for b in 0..n {
                    let expected = usize::from(a != b);
                    assert_eq!(
                        follows[a][b], expected,
                        "n={n}: {a} after {b} in {orders:?}"
                    );
                }
            }
        }
    }
}
