//! Charts: the median time per workload relative to the best peer, and heap bytes per task.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::config::Config;
use super::contenders::PEERS;
use super::report::Results;
use super::workloads::{Workload, TIMER_FLOOR_MS};

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

pub(crate) fn draw(
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
            .filter_map(|peer| results.median(peer, workload.baseline()).map(above_floor))
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
            .draw_series(
                bars.iter()
                    .filter(|bar| bar.1 == index)
                    .map(|&(group, index, value)| {
                        let x = group as i32 * slots + index as i32;
                        Rectangle::new([(x, low), (x + 1, value)], color.filled())
                    }),
            )?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
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
        .filter_map(|(index, name)| Some((index, results.median(name, Workload::BytesPerTask)?)))
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
        .y_desc("bytes (line: the 48 B goal)")
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
        vec![(0, 48.0), (names.len() as i32 * 4, 48.0)],
        BLACK.stroke_width(1),
    )))?;
    root.present()?;
    Ok(())
}
