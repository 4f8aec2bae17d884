//! The benchmark harness: runs the workloads of BENCHMARKS.md for fiber and its peers, in one
//! process, in turn.
//!
//! ```text
//! cargo run --release --example benchmark -- [--threads N] [--rounds N] [--only W[,W..]]
//!                                            [--csv FILE] [--plot DIR] [--watchdog SECS]
//! cargo bench --bench runtimes -- [the same flags]
//! ```
//!
//! The peers are tokio's multi-thread runtime, smol's `async-executor` (N threads each running
//! `Executor::run`, timers from `async-io`) and futures' `ThreadPool` (timers from `async-io`).
//! Every runtime gets the same number of worker threads and goes through the same code: each
//! workload is written once, generically over [`BenchRuntime`](runtimes::BenchRuntime) and
//! [`BenchSpawner`](runtimes::BenchSpawner), whose methods are plain generic calls (no
//! boxing) for every runtime alike. Where a runtime's users would reach for its own tool, the
//! workload does too, in a row of its own: `block_on_many` joins with
//! `futures::future::join_all` on every runtime, `block_on_many_fiber_join_all` with
//! `fiber::join_all` on fiber (the peers have no join-all of their own; its ratio is over the
//! peers' `block_on_many`).
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
//!
//! The parts: [`runtimes`] puts each runtime behind one interface; [`workloads`] holds the workloads; [`contenders`] runs each runtime's rounds on its own
//! thread under the watchdog; [`turns`] orders the turns; [`config`] reads the flags;
//! [`report`] prints the medians and ratios and [`plot`] draws the charts. [`run`] drives them.
//! Both `examples/benchmark.rs` and `benches/runtimes/main.rs` include this folder as a module
//! and call [`run`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

mod config;
mod contenders;
mod plot;
mod report;
mod runtimes;
mod turns;
mod workloads;

use config::Config;
use contenders::{
    extra_workload, start, watched_round, Entrant, FIBER, FIBER_GLOBAL, PEERS, SETTLE,
};
use report::{print_summary, print_workload, Results};
use turns::turn_orders;
use workloads::{Outcome, Workload};

#[path = "../../../examples/support/counting_alloc.rs"]
mod counting_alloc;

// Counts live heap bytes, for `bytes_per_task`.
#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// Runs the benchmark with the command-line flags `args` (program name left out) and prints
/// its report; exits the process with status 2 on bad flags and 1 if a round failed or got
/// stuck.
pub(crate) fn run(args: impl IntoIterator<Item = String>) {
    let config = match Config::parse(args) {
        Ok(config) => Arc::new(config),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let run_start = Instant::now();
    let mut names: Vec<&'static str> = vec![FIBER];
    names.extend(PEERS);
    // Before any runtime starts, and so before any thread that could exit in the window.
    let idle_floor = config
        .only
        .contains(&Workload::IdleCpu)
        .then(workloads::idle_floor)
        .flatten();
    let mut contenders: Vec<(&'static str, Option<Entrant>)> = names
        .iter()
        .map(|&name| (name, Some(start(name, config.threads))))
        .collect();
    for extra in [FIBER_GLOBAL] {
        if extra_workload(extra).is_some_and(|workload| config.only.contains(&workload)) {
            contenders.push((extra, Some(start(extra, config.threads))));
        }
    }
    let mut results = Results {
        idle_floor,
        ..Results::default()
    };
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
