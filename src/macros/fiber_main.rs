/// Writes `fn main()` for you: the statements run inside `block_on` on a new multi-threaded
/// [`Runtime`](crate::Runtime), so they may `.await` and [`spawn`](crate::spawn).
///
/// The runtime is dropped (every unfinished task cancelled) when the statements end. Two
/// optional lines may come first, in this order:
///
/// - `worker_threads = N;` starts exactly `N` worker threads instead of one per CPU;
/// - `-> Type;` gives `main` that return type (such as `Result<(), E>`), so the statements
///   may use `?` and must end with the value to return.
///
/// [`#[fiber::main]`](crate::main) does the same for an `async fn main` that you write
/// yourself.
///
/// # Panics
///
/// The generated `main` panics if the runtime's worker threads cannot be started, or if
/// `worker_threads` is 0.
///
/// # Examples
///
/// ```
/// async fn demo() -> u32 {
///     42
/// }
///
/// fiber::fiber_main! {
///     let universe = demo().await;
///     assert_eq!(universe, 42);
/// }
/// ```
///
/// Two workers, and a `Result` that `?` can feed:
///
/// ```
/// fiber::fiber_main! {
///     worker_threads = 2;
///     -> Result<(), std::num::ParseIntError>;
///
///     assert_eq!(fiber::Handle::current().metrics().num_workers(), 2);
///     let n: u32 = "21".parse()?;
///     assert_eq!(fiber::spawn(async move { n * 2 }).await.unwrap(), 42);
///     Ok(())
/// }
/// ```
#[macro_export]
macro_rules! fiber_main {
    // The arms starting with `@` are steps of the expansion: the optional lines are taken
    // off the front one at a time. No statement starts with `@`, `->` or
    // `worker_threads =` (there is no variable to assign to yet), so bodies written before
    // these options existed expand as they always did.
    (@return [$($workers:expr)?] -> $output:ty; $($body:tt)*) => {
        fn main() -> $output {
            let runtime = $crate::fiber_main!(@runtime [$($workers)?]);
            runtime.block_on(async { $($body)* })
        }
    };
    (@return [$($workers:expr)?] $($body:tt)*) => {
        fn main() {
            let runtime = $crate::fiber_main!(@runtime [$($workers)?]);
            runtime.block_on(async { $($body)* });
        }
    };
    (@runtime []) => {
        $crate::Runtime::new()
            .expect("fiber_main!: could not start the runtime's worker threads")
    };
    (@runtime [$workers:expr]) => {
        $crate::Builder::new()
            .worker_threads($workers)
            .build()
            .expect("fiber_main!: could not start the runtime's worker threads")
    };
    (worker_threads = $workers:expr; $($rest:tt)*) => {
        $crate::fiber_main!(@return [$workers] $($rest)*);
    };
    ($($body:tt)*) => {
        $crate::fiber_main!(@return [] $($body)*);
    };
}
