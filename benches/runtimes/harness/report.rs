//! The report: each workload's medians as it finishes, then the table of medians and ratios.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::config::Config;
use super::contenders::{Entrant, FIBER, FIBER_GLOBAL, PEERS};
use super::workloads::{Workload, BLOCK_ON_READY_CALLS, TIMER_FLOOR_MS};

/// Every measured round, keyed by runtime and workload.
#[derive(Default)]
pub(crate) struct Results {
    pub(crate) rounds: HashMap<(&'static str, Workload), Vec<f64>>,
    pub(crate) notes: HashMap<(&'static str, Workload), String>,
    /// `idle_cpu` measured with no runtime at all: the harness's own reading of the counters.
    pub(crate) idle_floor: Option<f64>,
}

impl Results {
    pub(crate) fn median(&self, runtime: &str, workload: Workload) -> Option<f64> {
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
        if workload == Workload::IdleCpu {
            // Every runtime parks without a timer; what is left is the measuring itself
            // (printed as the floor), so a ratio would compare noise.
            return None;
        }
        let fiber = above_floor(self.median(FIBER, workload)?);
        // `blocked_slot` measures the hazard of a next-task slot, so its reference is the
        // one peer that has such a slot: the others run the child at once, slot-less.
        let peers: &[&'static str] = match workload {
            Workload::BlockedSlot => &["tokio"],
            _ => &PEERS,
        };
        let (best_name, best) = peers
            .iter()
            .filter_map(|&peer| Some((peer, above_floor(self.median(peer, workload.baseline())?))))
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

pub(crate) fn print_workload(
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

pub(crate) fn print_summary(results: &Results, names: &[&'static str], config: &Config) {
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
            Workload::IdleCpu => match results.idle_floor {
                Some(floor) => format!("idle_cpu (%; with no runtime: {floor:.3})"),
                None => "idle_cpu (%)".into(),
            },
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
}
