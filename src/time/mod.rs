//! Timers: [`sleep`](sleep()), [`timeout`](timeout()) and [`interval`](interval()), and a
//! clock that tests can pause.
//!
//! # What you get
//!
//! - **Any executor.** Timers need no runtime: `futures::executor::block_on(sleep(d))`
//!   completes, and so does a `sleep` awaited under another runtime. A global timer thread
//!   fires them, started by the first timer that has to wait.
//! - **Never early, about a millisecond late.** Time is counted in ticks of one
//!   millisecond and deadlines are rounded up to the next tick, so a timer never fires
//!   before its deadline, and fires within about a millisecond after it on an idle machine.
//!   fiber's own workers fire due timers between polls too, so a busy runtime keeps them on
//!   time.
//! - **Cheap.** A [`Sleep`] costs nothing until first polled. Registering, resetting and
//!   cancelling a timer are O(1) and, once warm, allocate nothing; a fired timer completes
//!   without taking a lock. Memory follows the most timers pending at once in the whole
//!   process, and is given back within a few seconds after a burst.
//! - **No overflow.** [`Duration::MAX`](std::time::Duration::MAX) and deadlines near it
//!   neither overflow nor panic: such timers never fire in practice.
//! - **A paused clock for tests.** [`pause`], [`advance`], [`resume`] and
//!   [`Builder::start_paused`](crate::Builder::start_paused) stop one runtime's time, so a
//!   test of an hour-long timeout runs in milliseconds: while paused, the runtime's time
//!   moves only when [`advance`] is called or when the whole runtime is idle, and then
//!   straight to the next timer. Other runtimes, and timers outside any runtime, keep real
//!   time. [`now`] tells the current runtime's time.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use fiber::time::{interval, sleep, timeout};
//!
//! fiber::block_on(async {
//!     sleep(Duration::from_millis(5)).await;
//!
//!     let slow = sleep(Duration::from_secs(60));
//!     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
//!
//!     let mut ticks = interval(Duration::from_millis(2));
//!     let first = ticks.tick().await;
//!     let second = ticks.tick().await;
//!     assert_eq!(second - first, Duration::from_millis(2));
//! });
//! ```
//!
//! Under a paused clock, an hour passes at once:
//!
//! ```
//! use std::time::Duration;
//! use fiber::time::{now, sleep};
//!
//! let rt = fiber::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let start = now();
//!     sleep(Duration::from_secs(3600)).await;
//!     assert!(now() - start >= Duration::from_secs(3600));
//! });
//! ```

// # Design
//
// One global driver thread, `fiber-timer`, fires timers; it sleeps until the next deadline
// with `park_timeout` (a futex wait on Linux), a registration earlier than the one it sleeps
// for unparks it, and with no timer pending it parks for good. A thread of its own keeps
// precision independent of how busy the executor's workers are, and lets timers serve
// every executor in the process.
//
// Timers are kept in shards (twice as many as the machine has cores), each a hierarchical
// timing wheel (six levels of 64 one-millisecond slots: inserting, removing and moving a
// timer are O(1)) behind its own lock; a thread registers in the shard it was dealt on
// first use, so workers registering timers at once do not contend. fiber's workers fire
// the due timers of their own shard whenever they look at the injector and before they
// look for work elsewhere, so a woken task is queued on the worker that fired its timer.
//
// A polled `Sleep` takes a slot (a generation counter and the waker) from its shard's free
// list, which refills from and spills to one process-wide pool; the driver frees slots the
// pool did not need for two whole seconds, beyond a reserve. When a timer falls due, the
// driver bumps its slot's generation and wakes the waker after releasing the wheel's lock:
// no waker runs under a lock, so a waker that drops other timers cannot deadlock. The slot
// goes back to a free list at once; its `Sleep` reads the generation to learn that it
// fired, and holds the slot (a count keeps it from being freed) until dropped.
//
// Each runtime owns a clock. Until it is paused it is a flag, and timers go straight to
// the driver. Once paused, the runtime's timers keep their own timeline, which the last
// worker to park (or a parking `block_on` thread) moves to the earliest deadline.

mod clock;
mod driver;
mod error;
mod interval;
mod sleep;
mod slots;
mod timeout;
mod wheel;

pub use clock::{advance, now, pause, resume};
pub(crate) use clock::{find_clocks_with, BlockerGuard, Clock, ClockFinders, ParkedThread};
pub(crate) use driver::fire_due;
pub use error::Elapsed;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout};

/// How many timers the driver currently holds. Not part of the public API: a hook for
/// fiber's own tests, which may change or disappear at any time.
#[doc(hidden)]
pub fn __registered_timers() -> usize {
    driver::registered_timers().0
}

/// How many timer slots are allocated (reused by later timers, and freed after a burst of
/// timers beyond a reserve). Not part of the public API: a hook for fiber's own tests.
#[doc(hidden)]
pub fn __timer_slots() -> usize {
    driver::registered_timers().1
}

// Compile-time check of which types are `Send` and `Sync`.
const _: fn() = || {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Sleep>();
    is_send_sync::<Timeout<Sleep>>();
    is_send_sync::<Interval>();
    is_send_sync::<Elapsed>();
    is_send_sync::<MissedTickBehavior>();
};
