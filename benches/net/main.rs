//! The network benchmark: loopback TCP on fiber's own sockets, against tokio, smol and fiber
//! with async-net's sockets.
//!
//! ```text
//! cargo bench --bench net -- [--rounds N] [--only W[,W..]] [--runtimes R[,R..]]
//! ```
//!
//! `--runtimes` keeps only the named runtimes (`fiber`, `tokio`, `smol`, `async-net` for fiber
//! with async-net's sockets), for profiling one of them alone; the ratio to tokio is printed
//! only when tokio runs.
//!
//! Workloads ([`Workload`]): `tcp_rr` (64 connections x 500 round trips of 64 bytes),
//! `tcp_connect` (2,000 connections, 16 clients opening theirs one after another, 8 bytes
//! echoed on each) and `tcp_stream` (256 MiB over one connection). Server and clients share
//! one runtime of two workers. Runtimes: fiber (`fiber::net`), tokio (`tokio::net`), smol
//! (async-executor inside `async_io::block_on` on each of two threads, async-net sockets) and
//! fiber with async-net's sockets, whose readiness events come from async-io's thread.
//!
//! Each workload runs one discarded warm-up round per runtime, then `--rounds` measured
//! rounds (default 9); within a round the runtimes take turns, the order rotating from round
//! to round so that each runtime runs first, second, ... equally often. The report gives the
//! median per runtime and its ratio to tokio's (time: below 1 is faster). A round that takes
//! longer than a minute stops the benchmark, naming the runtime and workload.
//!
//! Before any of that, with no other runtime started, the idle check opens 64 connections on a
//! fiber runtime, leaves them silent, and prints the CPU the process used over 2 s.
//!
//! Under `cargo test` (no `--bench` argument) every workload runs once per runtime at a small
//! size, and the idle window is short, as a smoke test.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

mod executors;
mod idle;
mod sockets;
mod workloads;

use executors::{Executor, Fiber, Smol, Tokio};
use sockets::{AsyncNet, FiberNet, Sockets, TokioNet};
use workloads::{Sizes, Workload};

const WORKERS: usize = 2;
const IDLE_CONNECTIONS: usize = 64;
const IDLE_WINDOW: Duration = Duration::from_secs(2);
const SMOKE_IDLE_WINDOW: Duration = Duration::from_millis(200);
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// The names `--runtimes` takes, in the order of the entrants.
const RUNTIMES: [&str; 4] = ["fiber", "tokio", "smol", "async-net"];

/// A runtime with its sockets, as the benchmark sees it.
trait Entrant {
    fn name(&self) -> &'static str;

    /// Runs one round of `workload` and returns how long it took.
    fn round(&self, workload: Workload, sizes: Sizes) -> Duration;
}

struct Pair<E, S> {
    name: &'static str,
    executor: Arc<E>,
    sockets: std::marker::PhantomData<S>,
}

impl<E: Executor, S: Sockets> Pair<E, S> {
    fn boxed(name: &'static str, executor: E) -> Box<dyn Entrant> {
        Box::new(Pair::<E, S> {
            name,
            executor: Arc::new(executor),
            sockets: std::marker::PhantomData,
        })
    }
}

impl<E: Executor, S: Sockets> Entrant for Pair<E, S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn round(&self, workload: Workload, sizes: Sizes) -> Duration {
        let round = workload.round::<E, S>(self.executor.clone(), sizes);
        let start = Instant::now();
        self.executor.run(round);
        start.elapsed()
    }
}

/// Fails the benchmark if it is dropped later than [`ROUND_LIMIT`] after it was made.
struct Watchdog(Option<mpsc::Sender<()>>);

impl Watchdog {
    fn start(runtime: &'static str, workload: Workload) -> Watchdog {
        let (done, finished) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(ROUND_LIMIT) {
                eprintln!(
                    "net: {runtime} did not finish a {} round within {ROUND_LIMIT:?}: stuck",
                    workload.name()
                );
                std::process::exit(1);
            }
        });
        Watchdog(Some(done))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropping the sender wakes the watchdog thread, which then ends.
        self.0.take();
    }
}

struct Config {
    rounds: usize,
    workloads: Vec<Workload>,
    sizes: Sizes,
    idle_window: Duration,
    /// The runtimes to run, by name; `None`: all of them.
    runtimes: Option<Vec<String>>,
}

fn parse_args() -> Result<Config, String> {
    // `cargo bench` passes --bench; `cargo test` runs the benchmark without it, as a test.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let mut config = if benchmarking {
        Config {
            rounds: 9,
            workloads: Workload::ALL.to_vec(),
            sizes: Sizes::FULL,
            idle_window: IDLE_WINDOW,
            runtimes: None,
        }
    } else {
        Config {
            rounds: 1,
            workloads: Workload::ALL.to_vec(),
            sizes: Sizes::SMOKE,
            idle_window: SMOKE_IDLE_WINDOW,
            runtimes: None,
        }
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                let value = args.next().ok_or("--rounds needs a number")?;
                config.rounds =
                    value
                        .parse()
                        .ok()
                        .filter(|&rounds| rounds > 0)
                        .ok_or_else(|| {
                            format!("--rounds takes a number of at least 1, not {value:?}")
                        })?;
            }
            "--only" => {
                let value = args.next().ok_or("--only needs workload names")?;
                config.workloads = value
                    .split(',')
                    .map(|name| {
                        Workload::ALL
                            .into_iter()
                            .find(|workload| workload.name() == name)
                            .ok_or_else(|| format!("no workload named {name:?}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--runtimes" => {
                let value = args.next().ok_or("--runtimes needs runtime names")?;
                let names: Vec<String> = value.split(',').map(str::to_owned).collect();
                if let Some(name) = names.iter().find(|name| !RUNTIMES.contains(&name.as_str())) {
                    return Err(format!(
                        "no runtime named {name:?}; the runtimes are {}",
                        RUNTIMES.join(", ")
                    ));
                }
                config.runtimes = Some(names);
            }
            "--bench" => {}
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(config)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    let middle = times.len() / 2;
    if times.len() % 2 == 1 {
        times[middle]
    } else {
        (times[middle - 1] + times[middle]) / 2
    }
}

fn main() {
    let config = parse_args().unwrap_or_else(|problem| {
        eprintln!("net: {problem}");
        eprintln!(
            "usage: cargo bench --bench net -- [--rounds N] [--only tcp_rr,tcp_connect,tcp_stream] [--runtimes fiber,tokio,smol,async-net]"
        );
        std::process::exit(2)
    });

    let wanted = |name: &str| {
        config
            .runtimes
            .as_ref()
            .map_or(true, |names| names.iter().any(|wanted| wanted == name))
    };
    if wanted("fiber") {
        let idle = idle::idle_cpu(WORKERS, IDLE_CONNECTIONS, config.idle_window);
        println!(
            "idle: fiber (fiber::net), {WORKERS} workers, {IDLE_CONNECTIONS} open silent connections: {:.3} % of a core over {:?} (goal: under 0.1 %)",
            idle * 100.0,
            config.idle_window
        );
    }

    let mut entrants: Vec<Box<dyn Entrant>> = Vec::new();
    if wanted("fiber") {
        entrants.push(Pair::<Fiber, FiberNet>::boxed("fiber", Fiber::new(WORKERS)));
    }
    if wanted("tokio") {
        entrants.push(Pair::<Tokio, TokioNet>::boxed("tokio", Tokio::new(WORKERS)));
    }
    if wanted("smol") {
        entrants.push(Pair::<Smol, AsyncNet>::boxed("smol", Smol::new(WORKERS)));
    }
    if wanted("async-net") {
        entrants.push(Pair::<Fiber, AsyncNet>::boxed(
            "fiber + async-net",
            Fiber::new(WORKERS),
        ));
    }
    let tokio = entrants
        .iter()
        .position(|entrant| entrant.name() == "tokio");

    println!(
        "{WORKERS} workers per runtime, median of {} rounds, runtimes taking turns",
        config.rounds
    );
    for workload in config.workloads {
        let mut times = vec![Vec::with_capacity(config.rounds); entrants.len()];
        // Round 0 warms up and is not counted.
        for round in 0..=config.rounds {
            for turn in 0..entrants.len() {
                let index = (round + turn) % entrants.len();
                let entrant = &entrants[index];
                let watchdog = Watchdog::start(entrant.name(), workload);
                let time = entrant.round(workload, config.sizes);
                drop(watchdog);
                if round > 0 {
                    times[index].push(time);
                }
            }
        }
        let medians: Vec<Duration> = times.iter_mut().map(|times| median(times)).collect();
        let tokio_median = tokio.map(|tokio| medians[tokio]);
        println!("\n{}", workload.name());
        for (entrant, (median, times)) in entrants.iter().zip(medians.iter().zip(&times)) {
            let (fastest, slowest) = (times[0], times[times.len() - 1]);
            let mut line = format!(
                "  {:<18} {:>9.2} ms  ({:.2} to {:.2})",
                entrant.name(),
                median.as_secs_f64() * 1e3,
                fastest.as_secs_f64() * 1e3,
                slowest.as_secs_f64() * 1e3,
            );
            if let Some(tokio_median) = tokio_median {
                line += &format!(
                    "  {:.2} x tokio",
                    median.as_secs_f64() / tokio_median.as_secs_f64()
                );
            }
            if workload == Workload::Stream {
                let megabytes = config.sizes.stream_bytes as f64 / 1e6;
                line += &format!("  {:.0} MB/s", megabytes / median.as_secs_f64());
            }
            println!("{line}");
        }
    }
}
