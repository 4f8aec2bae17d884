//! The main job: fiber against tokio, async-executor and futures, side by side, on the
//! workloads of BENCHMARKS.md.
//!
//! ```text
//! cargo run --release --example benchmark -- [--threads N] [--rounds N] [--only W[,W..]]
//!                                            [--csv FILE] [--plot DIR] [--watchdog SECS]
//! ```
//!
//! The harness lives in `benches/runtimes/harness/` (also run by `cargo bench --bench
//! runtimes`); this example is its command-line front end.

#[path = "../benches/runtimes/harness/mod.rs"]
mod harness;

fn main() {
    harness::run(std::env::args().skip(1));
}
