//! `join!`, `try_join!`, `select!` and the `FiberFutureExt` combinators, and exactly when
//! each drops the futures it did not finish.
//!
//! Every future here is wrapped in a `Noisy` guard that prints when it becomes ready and
//! when it is dropped, saying whether it had finished. Read the output top to bottom: a
//! `DROPPED UNFINISHED` line shows where a macro or combinator cancelled a future.
//!
//! Run with `cargo run --release --example macros`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use fiber::prelude::*;

/// A future that reports its completion and its drop.
struct Noisy<T> {
    name: &'static str,
    inner: Pin<Box<dyn Future<Output = T> + Send>>,
    polls: u32,
    finished: bool,
}

impl<T> Future for Noisy<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.polls += 1;
        let output = self.inner.as_mut().poll(cx);
        if output.is_ready() {
            self.finished = true;
            println!("    `{}` is ready", self.name);
        }
        output
    }
}

impl<T> Drop for Noisy<T> {
    fn drop(&mut self) {
        if self.finished {
            println!("    `{}` dropped (finished)", self.name);
        } else {
            println!(
                "    `{}` DROPPED UNFINISHED (polled {} times)",
                self.name, self.polls
            );
        }
    }
}

/// A future named `name` that sleeps `millis` ms, then returns `value`.
fn noisy<T: Send + 'static>(name: &'static str, millis: u64, value: T) -> Noisy<T> {
    Noisy {
        name,
        inner: Box::pin(async move {
            if millis > 0 {
                sleep(Duration::from_millis(millis)).await;
            }
            value
        }),
        polls: 0,
        finished: false,
    }
}

fiber::fiber_main! {
    println!("join!: waits for all three; outputs come back in argument order");
    let (a, b, c) = join!(noisy("a", 30, 1), noisy("b", 10, "two"), noisy("c", 20, 3.0));
    println!("  join! returned ({a}, {b:?}, {c})\n");

    println!("try_join!: the first Err wins and the unfinished futures are dropped at once");
    let result = try_join!(
        noisy("slow_ok", 200, Ok::<u32, String>(1)),
        noisy("fails", 20, Err::<u32, String>("boom".into())),
        noisy("fast_ok", 10, Ok::<u32, String>(3)),
    );
    println!("  try_join! returned {result:?}\n");

    println!("select!: the losing branch `slow` is dropped before the handler runs");
    let winner = select! {
        value = noisy("fast", 10, "fast won") => {
            println!("  handler runs with {value:?}");
            value
        }
        value = noisy("slow", 500, "slow won") => value,
    };
    println!("  select! returned {winner:?}\n");

    println!("select! with biased;: both are ready at once, the first written wins");
    let winner = select! {
        biased;
        _ = noisy("first", 0, ()) => "first",
        _ = noisy("second", 0, ()) => "second",
    };
    println!("  select! returned {winner:?} (`second` was never polled)\n");

    println!("select! with else: one branch fails its pattern, one its `if`, so else runs");
    let gate_open = false;
    let fallback = select! {
        Some(n) = noisy("returns_none", 0, None::<u32>) => n,
        n = noisy("gated", 0, 7u32), if gate_open => n,
        else => {
            println!("  else runs: every branch is disabled");
            0
        }
    };
    println!("  select! returned {fallback}\n");

    println!("map / inspect: transform the output once it is ready");
    let doubled = noisy("number", 10, 21)
        .inspect(|n| println!("  inspect sees {n}"))
        .map(|n| n * 2)
        .await;
    println!("  map gave {doubled}\n");

    println!("then: the first future is dropped before the closure builds the second");
    let chained = noisy("stage_one", 10, 5)
        .then(|n| {
            println!("  then's closure runs with {n}");
            noisy("stage_two", 10, n + 1)
        })
        .await;
    println!("  then gave {chained}\n");

    println!("and_then / map_ok: an Err skips the closure; map_err rewrites it");
    let skipped = noisy("lookup", 10, Err::<u32, u16>(404))
        .and_then(|id| {
            println!("  (never printed) and_then's closure runs with {id}");
            noisy("fetch", 10, Ok(id))
        })
        .map_ok(|id| id + 1)
        .map_err(|code| format!("status {code}"))
        .await;
    println!("  the chain gave {skipped:?}");
    let recovered = noisy("primary", 10, Err::<u32, String>("down".into()))
        .or_else(|reason| {
            println!("  or_else's closure runs because primary is {reason}");
            noisy("replica", 10, Ok::<u32, String>(9))
        })
        .await;
    println!("  or_else gave {recovered:?}\n");

    println!("timeout: a future that is too slow is dropped when the time is up");
    let late = noisy("too_slow", 500, ()).timeout(Duration::from_millis(30)).await;
    println!("  timeout gave {late:?}");
    let early = noisy("quick", 5, "in time").timeout(Duration::from_millis(500)).await;
    println!("  timeout gave {early:?}\n");

    println!("a spawned task inside join!: a JoinHandle is a future like any other");
    let (task, local) = join!(fiber::spawn(noisy("on_a_worker", 20, 40)), noisy("local", 10, 2));
    println!("  join! returned ({:?}, {local})", task.map(|n| n + local));
}
