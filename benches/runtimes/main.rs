//! `cargo bench --bench runtimes`: fiber against tokio, async-executor and futures, side by
//! side; the same harness as `cargo run --release --example benchmark`, and the same flags
//! (`cargo bench --bench runtimes -- --rounds 3`).
//!
//! Under `cargo test` (no `--bench` argument) it runs a smoke test instead: one round of a few
//! short workloads, enough to show that every runtime and the report still work.

mod harness;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let benchmarking = args.iter().any(|arg| arg == "--bench");
    if benchmarking {
        args.retain(|arg| arg != "--bench");
        harness::run(args);
    } else {
        harness::run(
            [
                "--rounds",
                "1",
                "--only",
                "spawn_many_local,ping_pong,block_on_ready",
            ]
            .map(String::from),
        );
    }
}
