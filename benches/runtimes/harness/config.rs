//! The benchmark's flags.

use std::path::PathBuf;
use std::time::Duration;

use super::workloads::{timer_durations, Workload};

/// What to run and where to write the results, from the command line.
pub(crate) struct Config {
    /// Worker threads of every runtime.
    pub(crate) threads: usize,
    /// Measured rounds per workload (after one warm-up round).
    pub(crate) rounds: usize,
    /// The workloads to run, in this order.
    pub(crate) only: Vec<Workload>,
    pub(crate) csv: Option<PathBuf>,
    pub(crate) plot: Option<PathBuf>,
    /// How long a round may take before its runtime is reported as stuck.
    pub(crate) watchdog: Duration,
    /// The `timers` workload's sleeps, drawn once so every runtime sleeps the same ones.
    pub(crate) timer_durations: Vec<Duration>,
}

const USAGE: &str = "usage: benchmark [--threads N] [--rounds N] [--only WORKLOAD[,WORKLOAD..]] \
                     [--csv FILE] [--plot DIR] [--watchdog SECS]";

impl Config {
    /// Reads the flags in `args` (program name left out); the error is the message to print.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut config = Config {
            threads: 2,
            rounds: 9,
            only: Workload::ALL.to_vec(),
            csv: None,
            plot: None,
            watchdog: Duration::from_secs(20),
            timer_durations: timer_durations(),
        };
        let mut args = args.into_iter();
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
}
