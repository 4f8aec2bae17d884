//! The benchmark's flags.

use std::path::PathBuf;
use std::time::Duration;

use super::workloads::{timer_durations, Workload};

/// What to run and where to write the results, from the command line.
#[derive(Debug)]
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

// Runs with the example's tests (`cargo test --example benchmark`). A `harness = false` bench
// builds this module with `cfg(test)` but without its tests, so nothing here may be used by
// the tests alone (an import or a helper would be dead code there).
#[cfg(test)]
mod tests {
    #[test]
    fn no_flags_run_every_workload_for_nine_rounds_on_two_threads() {
        let config = super::Config::parse([]).unwrap();
        assert_eq!((config.threads, config.rounds), (2, 9));
        assert_eq!(config.only, super::Workload::ALL);
        assert!(config.csv.is_none() && config.plot.is_none());
    }

    #[test]
    fn flags_set_threads_rounds_workloads_and_outputs() {
        let args = [
            "--threads",
            "4",
            "--rounds",
            "1",
            "--only",
            "timers, yield_many",
            "--csv",
            "a.csv",
            "--plot",
            "out",
            "--watchdog",
            "3",
        ];
        let config = super::Config::parse(args.map(String::from)).unwrap();
        assert_eq!((config.threads, config.rounds), (4, 1));
        let only = [super::Workload::Timers, super::Workload::YieldMany];
        assert_eq!(config.only, only);
        assert_eq!(config.csv.unwrap().to_str(), Some("a.csv"));
        assert_eq!(config.plot.unwrap().to_str(), Some("out"));
        assert_eq!(config.watchdog, std::time::Duration::from_secs(3));
    }

    #[test]
    fn bad_flags_are_refused_with_the_usage() {
        for args in [
            &["--rounds", "0"][..],
            &["--threads", "two"],
            &["--only", "sprint"],
            &["--rounds"],
            &["--fast", "1"],
        ] {
            let refused = super::Config::parse(args.iter().map(|arg| arg.to_string()));
            let message = refused
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(message.contains(args[0]), "{args:?}: {message}");
        }
        let help = super::Config::parse(["--help".to_string()]).err();
        assert!(help.is_some_and(|usage| usage.contains("workloads: spawn_many_local")));
    }
}
