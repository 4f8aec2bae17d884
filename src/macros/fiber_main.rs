/// Writes `fn main()` for you: the statements run inside `block_on` on a new multi-threaded
/// [`Runtime`](crate::Runtime), so they may `.await` and [`spawn`](crate::spawn).
///
/// The runtime is dropped (every unfinished task cancelled) when the statements end.
///
/// # Panics
///
/// The generated `main` panics if the runtime's worker threads cannot be started.
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
#[macro_export]
macro_rules! fiber_main {
    ($($body:tt)*) => {
        fn main() {
            let runtime = $crate::Runtime::new()
                .expect("fiber_main!: could not start the runtime's worker threads");
            runtime.block_on(async { $($body)* });
        }
    };
}
