//! The `#[fiber::main]` and `#[fiber::test]` attributes, re-exported from the proc-macro
//! crate `fiber-macros` and documented here, where their examples can use fiber.

/// Runs an `async fn` to completion on a new fiber [`Runtime`](crate::Runtime): the way to
/// write an async `main`.
///
/// The function becomes a plain `fn` with the same name, visibility, return type and other
/// attributes, whose body builds the runtime, [`block_on`](crate::Runtime::block_on)s the
/// original body, and drops the runtime (cancelling unfinished tasks) before returning. It may
/// return anything `main` may, such as a `Result`.
///
/// # Arguments
///
/// | argument | meaning | default |
/// | --- | --- | --- |
/// | `worker_threads = N` | start exactly `N` (at least 1) workers; implies `"multi_thread"` | one per CPU |
/// | `flavor = "multi_thread"` | [`Builder::new_multi_thread`](crate::Builder::new_multi_thread) | yes |
/// | `flavor = "current_thread"` | [`Builder::new_current_thread`](crate::Builder::new_current_thread): one worker | |
/// | `start_paused = true` | calls `.start_paused(true)` on the builder | not called |
/// | `crate = "path"` | where to find fiber if it is renamed or re-exported | `"::fiber"` |
///
/// Mistakes (a function that is not `async` or takes arguments, an unknown argument, a bad
/// value, `worker_threads` with `flavor = "current_thread"`) are compile errors that point at
/// the offending token.
///
/// # Panics
///
/// The function panics if the runtime's worker threads cannot be started, and, like
/// `block_on`, if it is called from inside a runtime (a task, or another `block_on`).
///
/// # Examples
///
/// ```
/// #[fiber::main]
/// async fn main() {
///     let answer = fiber::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// A chosen number of workers, and a `Result` that `?` can feed:
///
/// ```
/// #[fiber::main(worker_threads = 2)]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     assert_eq!(fiber::Handle::current().metrics().num_workers(), 2);
///     let n: u32 = "7".parse()?;
///     assert_eq!(fiber::spawn(async move { n * 6 }).await.unwrap(), 42);
///     Ok(())
/// }
/// ```
///
/// The function need not be `main`, and stays callable like any other `fn`:
///
/// ```
/// #[fiber::main(flavor = "current_thread")]
/// async fn compute() -> u64 {
///     fiber::spawn(async { 1 + 1 }).await.unwrap()
/// }
///
/// fn main() {
///     assert_eq!(compute(), 2);
/// }
/// ```
pub use fiber_macros::main;

/// Turns an `async fn` into a `#[test]` that runs on a new fiber [`Runtime`](crate::Runtime),
/// with one worker thread unless told otherwise.
///
/// The function keeps its name, return type (a test may return a `Result`) and other
/// attributes, such as `#[ignore]`, `#[should_panic]` and doc comments, and gains
/// `#[test]`: do not add one yourself.
///
/// # Arguments
///
/// Those of [`main`], with a different default, plus `timeout_ms`:
///
/// | argument | meaning | default |
/// | --- | --- | --- |
/// | `worker_threads = N` | start exactly `N` (at least 1) workers; implies `"multi_thread"` | |
/// | `flavor = "current_thread"` | one worker | yes |
/// | `flavor = "multi_thread"` | a pool: `worker_threads` workers, or one per CPU | |
/// | `timeout_ms = N` | fail the test if it has not finished after `N` milliseconds | no limit |
/// | `start_paused = true` | calls `.start_paused(true)` on the builder | not called |
/// | `crate = "path"` | where to find fiber if it is renamed or re-exported | `"::fiber"` |
///
/// # Timeouts
///
/// With `timeout_ms = N`, the body runs (with its runtime) on a thread of its own while the
/// test's thread waits for it. If it has not finished after `N` milliseconds, the test's
/// thread panics with a message that starts with "test `name` did not finish within
/// timeout_ms = N". A thread cannot be stopped from outside, so the hung body and its
/// runtime are abandoned: they go on running, in the background, until the test binary
/// exits. Because the body's value crosses threads, with `timeout_ms` the return type must
/// be `Send` (return `Box<dyn Error + Send + Sync>` rather than `Box<dyn Error>`).
///
/// # Examples
///
/// ```
/// #[fiber::test]
/// async fn spawned_task_runs() {
///     assert_eq!(fiber::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
///
/// #[fiber::test(worker_threads = 4, timeout_ms = 10_000)]
/// async fn four_workers() -> Result<(), fiber::JoinError> {
///     assert_eq!(fiber::Handle::current().metrics().num_workers(), 4);
///     let doubled = fiber::spawn(async { 21 * 2 }).await?;
///     assert_eq!(doubled, 42);
///     Ok(())
/// }
/// ```
pub use fiber_macros::test;
