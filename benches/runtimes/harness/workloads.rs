//! The workloads, each written once, generically over the runtimes.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

use super::counting_alloc;
use super::runtimes::{BenchRuntime, BenchSpawner};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
/// A workload: one kind of round, measured in its [`unit`](Workload::unit).
pub(crate) enum Workload {
    SpawnManyLocal,
    SpawnManyRemoteIdle,
    SpawnManyRemoteBusy,
    YieldMany,
    PingPong,
    ChainedSpawn,
    BlockOnMany,
    BlockOnManyFiberJoinAll,
    BlockOnUnordered,
    Timers,
    BlockOnReady,
    BytesPerTask,
    IdleCpu,
    BlockedSlot,
}

impl Workload {
    pub(crate) const ALL: [Workload; 14] = [
        Workload::SpawnManyLocal,
        Workload::SpawnManyRemoteIdle,
        Workload::SpawnManyRemoteBusy,
        Workload::YieldMany,
        Workload::PingPong,
        Workload::ChainedSpawn,
        Workload::BlockedSlot,
        Workload::BlockOnMany,
        Workload::BlockOnManyFiberJoinAll,
        Workload::BlockOnUnordered,
        Workload::Timers,
        Workload::BlockOnReady,
        Workload::BytesPerTask,
        Workload::IdleCpu,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::SpawnManyLocal => "spawn_many_local",
            Workload::SpawnManyRemoteIdle => "spawn_many_remote_idle",
            Workload::SpawnManyRemoteBusy => "spawn_many_remote_busy",
            Workload::YieldMany => "yield_many",
            Workload::PingPong => "ping_pong",
            Workload::ChainedSpawn => "chained_spawn",
            Workload::BlockOnMany => "block_on_many",
            Workload::BlockOnManyFiberJoinAll => "block_on_many_fiber_join_all",
            Workload::BlockOnUnordered => "block_on_unordered",
            Workload::Timers => "timers",
            Workload::BlockOnReady => "block_on_ready",
            Workload::BytesPerTask => "bytes_per_task",
            Workload::IdleCpu => "idle_cpu",
            Workload::BlockedSlot => "blocked_slot",
        }
    }

    /// The workload whose peer figures this one's ratio compares against: fiber's own
    /// `join_all` against the peers' `futures::future::join_all`.
    pub(crate) fn baseline(self) -> Workload {
        match self {
            Workload::BlockOnManyFiberJoinAll => Workload::BlockOnMany,
            other => other,
        }
    }

    pub(crate) fn unit(self) -> &'static str {
        match self {
            Workload::BytesPerTask => "B",
            Workload::IdleCpu => "%",
            _ => "ms",
        }
    }
}

/// Sizes of the workloads, as BENCHMARKS.md lists them.
const SPAWN_COUNT: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELDS_PER_TASK: usize = 1_000;
const PINGS: usize = 1_000;
const CHAIN_LENGTH: usize = 1_000;
pub(crate) const BLOCK_ON_MANY_FUTURES: usize = 100_000;
const TIMER_COUNT: usize = 100_000;
/// Every timer sleeps 1 to this many milliseconds: no round can be shorter.
pub(crate) const TIMER_FLOOR_MS: f64 = 20.0;
pub(crate) const BLOCK_ON_READY_CALLS: usize = 100_000;
const PENDING_TASKS: usize = 100_000;
/// More than fiber's caches of freed task memory hold: see `bytes_per_task`.
const RECYCLED_TASKS: usize = 4_096;
/// How long the spawner in `blocked_slot` keeps its worker from coming back to its queues.
const SLOT_BLOCK: Duration = Duration::from_millis(50);
pub(crate) const IDLE_WINDOW: Duration = Duration::from_secs(1);

/// One round's result.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A measurement, in the workload's unit.
    Value(f64),
    NotApplicable(&'static str),
    Failed(String),
    Stuck,
}

pub(crate) fn millis(elapsed: Duration) -> f64 {
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
pub(crate) fn spawn_many_local<R: BenchRuntime>(runtime: &R) -> f64 {
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
pub(crate) fn spawn_many_remote<R: BenchRuntime>(runtime: &R) -> f64 {
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
pub(crate) fn spawn_many_remote_busy<R: BenchRuntime>(runtime: &R, threads: usize) -> f64 {
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
pub(crate) fn yield_many<R: BenchRuntime>(runtime: &R) -> f64 {
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
pub(crate) fn ping_pong<R: BenchRuntime>(runtime: &R) -> f64 {
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
pub(crate) fn chained_spawn<R: BenchRuntime>(runtime: &R) -> f64 {
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

/// A task spawns a child and then blocks its worker for [`SLOT_BLOCK`] without yielding: the
/// time from the spawn until the child runs. A runtime that keeps the child where only the
/// blocked worker looks (a next-task slot nobody may steal from) takes the whole block.
pub(crate) fn blocked_slot<R: BenchRuntime>(runtime: &R) -> f64 {
    let spawner = runtime.spawner();
    let (ran, child_ran) = mpsc::sync_channel(1);
    let (spawned, spawned_at) = mpsc::sync_channel(1);
    runtime.spawner().spawn(async move {
        spawned.send(Instant::now()).unwrap();
        spawner.spawn(async move { ran.send(Instant::now()).unwrap() });
        thread::sleep(SLOT_BLOCK);
    });
    let start = spawned_at.recv().unwrap();
    let end = child_ran.recv().unwrap();
    // Let the blocked worker finish before the next round starts.
    thread::sleep(SLOT_BLOCK.saturating_sub(start.elapsed()));
    millis(end.saturating_duration_since(start))
}

/// One `block_on` joining many futures that each yield once, with
/// `futures::future::join_all`, the combinator users bring to every runtime.
pub(crate) fn block_on_many<R: BenchRuntime>(runtime: &R) -> f64 {
    let start = Instant::now();
    let outputs = runtime.block_on(futures::future::join_all(
        (0..BLOCK_ON_MANY_FUTURES).map(|_| R::Spawner::yield_now()),
    ));
    assert_eq!(outputs.len(), BLOCK_ON_MANY_FUTURES);
    millis(start.elapsed())
}

/// [`block_on_many`] with the runtime's own join-all, if it has one (`None` if not).
pub(crate) fn block_on_many_own_join_all<R: BenchRuntime>(runtime: &R) -> Option<f64> {
    let start = Instant::now();
    let outputs = runtime
        .block_on_own_join_all((0..BLOCK_ON_MANY_FUTURES).map(|_| R::Spawner::yield_now()))?;
    assert_eq!(outputs.len(), BLOCK_ON_MANY_FUTURES);
    Some(millis(start.elapsed()))
}

/// One `block_on` draining a `futures::stream::FuturesUnordered` of many futures that each
/// yield once.
pub(crate) fn block_on_unordered<R: BenchRuntime>(runtime: &R) -> f64 {
    use futures::stream::{FuturesUnordered, StreamExt};

    let start = Instant::now();
    let drained = runtime.block_on(async {
        let mut unordered: FuturesUnordered<_> = (0..BLOCK_ON_MANY_FUTURES)
            .map(|_| R::Spawner::yield_now())
            .collect();
        let mut drained = 0;
        while unordered.next().await.is_some() {
            drained += 1;
        }
        drained
    });
    assert_eq!(drained, BLOCK_ON_MANY_FUTURES);
    millis(start.elapsed())
}

/// Sleep durations of 1 to 20 ms in a fixed pseudo-random order (xorshift64).
pub(crate) fn timer_durations() -> Vec<Duration> {
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
pub(crate) fn timers<R: BenchRuntime>(runtime: &R, durations: &[Duration]) -> f64 {
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
pub(crate) fn block_on_ready(block_on: impl Fn(std::future::Ready<u64>) -> u64) -> f64 {
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
pub(crate) fn bytes_per_task<R: BenchRuntime>(runtime: &R) -> f64 {
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
pub(crate) fn idle_cpu<R: BenchRuntime>(runtime: &R) -> Option<f64> {
    // Wake the workers once, so the window sees them going idle from a busy state.
    runtime.block_on(runtime.spawner().spawn_join(async {}));
    thread::sleep(Duration::from_millis(50));
    idle_window_cpu()
}

/// [`idle_cpu`]'s window with no runtime running: what the measuring costs by itself.
pub(crate) fn idle_floor() -> Option<f64> {
    // The first reading of `/proc` costs more than the later ones: leave it out.
    process_cpu_time()?;
    thread::sleep(Duration::from_millis(50));
    idle_window_cpu()
}

/// The CPU the process uses over [`IDLE_WINDOW`], in percent of one core.
fn idle_window_cpu() -> Option<f64> {
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
