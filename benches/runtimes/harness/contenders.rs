//! Contenders: each runtime behind a trait object, dispatched once per round, and the thread
//! that runs its rounds under the watchdog.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use super::config::Config;
use super::runtimes::{BenchRuntime, Fiber, FuturesPool, Smol, Tokio};
use super::workloads::{
    block_on_many, block_on_many_own_join_all, block_on_ready, block_on_unordered, blocked_slot,
    bytes_per_task, chained_spawn, idle_cpu, ping_pong, spawn_many_local, spawn_many_remote,
    spawn_many_remote_busy, timers, yield_many, Outcome, Workload, IDLE_WINDOW,
};

/// The round-level interface the driver sees.
pub(crate) trait Contender: Send + Sync {
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
            Workload::BlockOnManyFiberJoinAll => match block_on_many_own_join_all(runtime) {
                Some(value) => value,
                None => return Outcome::NotApplicable("-"),
            },
            Workload::BlockOnUnordered => block_on_unordered(runtime),
            Workload::BlockedSlot => blocked_slot(runtime),
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

/// The pause before each runtime's turn in a round.
pub(crate) const SETTLE: Duration = Duration::from_millis(5);

pub(crate) const FIBER: &str = "fiber";
pub(crate) const FIBER_GLOBAL: &str = "fiber::block_on";

/// The one workload an extra fiber contender runs, reported below the table.
pub(crate) fn extra_workload(name: &str) -> Option<Workload> {
    match name {
        FIBER_GLOBAL => Some(Workload::BlockOnReady),
        _ => None,
    }
}
pub(crate) const PEERS: [&str; 3] = ["tokio", "async-executor", "futures"];

pub(crate) fn start(name: &str, threads: usize) -> Entrant {
    let contender: Arc<dyn Contender> = match name {
        FIBER => Arc::new(Subject {
            runtime: Fiber::new(threads),
        }),
        FIBER_GLOBAL => Arc::new(FiberGlobal),
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
pub(crate) struct Entrant {
    /// Held here too, so that the runtime is dropped by the driver once the round thread
    /// has stopped, not by the round thread on its way out.
    _contender: Arc<dyn Contender>,
    pub(crate) jobs: Option<mpsc::Sender<Job>>,
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
pub(crate) fn watched_round(
    entrant: &Entrant,
    workload: Workload,
    config: &Arc<Config>,
) -> Outcome {
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
