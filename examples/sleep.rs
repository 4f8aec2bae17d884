//! Sleeping tasks overlap: a sleep parks only its own task, never a worker thread.
//!
//! Five tasks sleep 100 to 500 ms, each printing when it starts and wakes (milliseconds
//! since the start). All five start at once and the whole run takes about as long as the
//! longest sleep, not the 1.5 s sum. Then one task sleeps in a loop on an `interval`.
//!
//! Run with `cargo run --example sleep`.

use std::time::{Duration, Instant};

use fiber::time::{interval, sleep};

fiber::fiber_main! {
    let start = Instant::now();
    let stamp = move || start.elapsed().as_millis();

    let naps = [300u64, 100, 500, 200, 400];
    let sleepers: Vec<_> = naps
        .iter()
        .enumerate()
        .map(|(index, &millis)| {
            fiber::spawn(async move {
                println!("[{:>4} ms] task {index} goes to sleep for {millis} ms", stamp());
                sleep(Duration::from_millis(millis)).await;
                println!("[{:>4} ms] task {index} woke up", stamp());
                millis
            })
        })
        .collect();

    let mut slept = 0;
    for sleeper in sleepers {
        slept += sleeper.await.expect("the sleeper finished");
    }
    let elapsed = start.elapsed();
    let longest = *naps.iter().max().expect("some naps");
    println!(
        "slept {slept} ms in total across {} tasks, in {} ms of wall time (longest nap {longest} ms)",
        naps.len(),
        elapsed.as_millis()
    );
    assert!(elapsed >= Duration::from_millis(longest), "a sleep finished early");
    assert!(elapsed < Duration::from_millis(slept), "the sleeps ran one after another");

    // An interval ticks at a fixed period; its first tick completes at once.
    let mut ticker = interval(Duration::from_millis(50));
    let ticked = Instant::now();
    for tick in 0..4 {
        ticker.tick().await;
        println!("interval tick {tick} at {:>3} ms", ticked.elapsed().as_millis());
    }
}
