//! Micro-benchmark: the cost of fiber's `join!` and combinator chains against futures-util's
//! equivalents, polled directly (no runtime), in one process.
//!
//! ```text
//! cargo bench --bench combinators
//! ```
//!
//! Under `cargo test` (no `--bench` argument) each case runs once, as a smoke test.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Polls a future that is expected to finish on its first poll.
fn poll_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future should be ready at once"),
    }
}

fn fiber_join_8() -> u64 {
    poll_ready(async {
        let (a, b, c, d, e, f, g, h) = fiber::join!(
            async { black_box(1u64) },
            async { black_box(2u64) },
            async { black_box(3u64) },
            async { black_box(4u64) },
            async { black_box(5u64) },
            async { black_box(6u64) },
            async { black_box(7u64) },
            async { black_box(8u64) },
        );
        a + b + c + d + e + f + g + h
    })
}

fn futures_join_8() -> u64 {
    poll_ready(async {
        let (a, b, c, d, e, f, g, h) = futures::join!(
            async { black_box(1u64) },
            async { black_box(2u64) },
            async { black_box(3u64) },
            async { black_box(4u64) },
            async { black_box(5u64) },
            async { black_box(6u64) },
            async { black_box(7u64) },
            async { black_box(8u64) },
        );
        a + b + c + d + e + f + g + h
    })
}

mod fiber_chain {
    use super::{black_box, poll_ready};
    use fiber::prelude::*;

    pub(super) fn chain_8() -> u64 {
        poll_ready(
            async { black_box(1u64) }
                .map(|x| x + 1)
                .then(|x| async move { x * 2 })
                .map(|x| x + 3)
                .then(|x| async move { x * 4 })
                .map(|x| x + 5)
                .then(|x| async move { x * 6 })
                .map(|x| x + 7)
                .then(|x| async move { x * 8 }),
        )
    }
}

mod futures_chain {
    use super::{black_box, poll_ready};
    use futures::FutureExt;

    pub(super) fn chain_8() -> u64 {
        poll_ready(
            async { black_box(1u64) }
                .map(|x| x + 1)
                .then(|x| async move { x * 2 })
                .map(|x| x + 3)
                .then(|x| async move { x * 4 })
                .map(|x| x + 5)
                .then(|x| async move { x * 6 })
                .map(|x| x + 7)
                .then(|x| async move { x * 8 }),
        )
    }
}

/// A case's name, fiber's version and futures-util's.
type Pair = (&'static str, fn() -> u64, fn() -> u64);

/// Median nanoseconds per call over `rounds` rounds of `iterations` calls.
fn measure(case: fn() -> u64, rounds: usize, iterations: usize) -> f64 {
    let mut per_call: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                black_box(case());
            }
            start.elapsed().as_nanos() as f64 / iterations as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[rounds / 2]
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let (rounds, iterations) = if benchmarking {
        (15, 1_000_000)
    } else {
        (1, 1)
    };
    assert_eq!(fiber_join_8(), futures_join_8());
    assert_eq!(fiber_chain::chain_8(), futures_chain::chain_8());

    let pairs: [Pair; 2] = [
        ("join! of 8 ready futures", fiber_join_8, futures_join_8),
        (
            "then/map chain of 8",
            fiber_chain::chain_8,
            futures_chain::chain_8,
        ),
    ];
    println!("| case | fiber (ns) | futures-util (ns) | fiber / futures |");
    println!("|---|---|---|---|");
    for (name, fiber, futures) in pairs {
        // Alternate the two so that drift hits both alike.
        let fiber_ns = measure(fiber, rounds, iterations);
        let futures_ns = measure(futures, rounds, iterations);
        println!(
            "| {name} | {fiber_ns:.2} | {futures_ns:.2} | {:.2} |",
            fiber_ns / futures_ns
        );
    }
}
