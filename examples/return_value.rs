//! Futures that return values other than `()`.
//!
//! `block_on` hands back whatever its future returns, and a spawned task's `JoinHandle<T>`
//! resolves to `Ok(T)`: here a `String`, a struct and a `Result`. A task that panics does not
//! take its worker down; its handle resolves to `Err(JoinError)` whose `is_panic()` is true.
//! (The default panic hook still prints that panic to stderr, as it would for a thread.)
//!
//! Run with `cargo run --example return_value`.

use std::num::ParseIntError;

#[derive(Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

async fn greeting(name: &str) -> String {
    format!("hello, {name}")
}

async fn parse_sum(a: &str, b: &str) -> Result<i64, ParseIntError> {
    Ok(a.parse::<i64>()? + b.parse::<i64>()?)
}

fn main() {
    let rt = fiber::Runtime::new().expect("a runtime");

    // `block_on` returns the future's output directly.
    let text: String = rt.block_on(greeting("fiber"));
    println!("block_on returned a String: {text:?}");

    rt.block_on(async {
        // A `JoinHandle<T>` is a future of `Result<T, JoinError>`.
        let point = fiber::spawn(async { Point { x: 3, y: -4 } });
        let point: Point = point.await.expect("the task ran to completion");
        println!("a task returned a struct: {point:?}");
        assert_eq!(point, Point { x: 3, y: -4 });

        let good = fiber::spawn(parse_sum("40", "2"));
        let bad = fiber::spawn(parse_sum("40", "two"));
        let good: Result<i64, ParseIntError> = good.await.expect("the task ran to completion");
        let bad: Result<i64, ParseIntError> = bad.await.expect("the task ran to completion");
        println!("a task returned Ok: {good:?}");
        println!("a task returned Err (its own error, not a JoinError): {bad:?}");
        assert_eq!(good, Ok(42));
        assert!(bad.is_err());

        // A panic is caught and reported through the handle.
        let panicking = fiber::spawn(async move {
            if point.x > 0 {
                panic!("x must not be positive");
            }
            point.x
        });
        let error = panicking.await.expect_err("the task panicked");
        println!("a panicking task's handle gave JoinError: {error}");
        assert!(error.is_panic());
        let message = error.into_panic();
        let message = message
            .downcast_ref::<&str>()
            .expect("a &str panic message");
        println!("  is_panic() = true, payload = {message:?}");

        // The worker that ran the panicking task is still serving tasks.
        let after: Vec<u64> =
            futures::future::join_all((1..=4u64).map(|n| fiber::spawn(async move { n * 10 })))
                .await
                .into_iter()
                .map(|result| result.expect("the task ran to completion"))
                .collect();
        println!("tasks spawned after the panic still return values: {after:?}");
    });
}
