//! Timers: [`sleep`](sleep()), [`timeout`](timeout()) and [`interval`](interval()).
//!
//! # Design
//!
//! Timers work under any executor, not only fiber's: `futures::executor::block_on(sleep(d))`
//! completes. They need no runtime context because one global driver thread, `fiber-timer`,
//! fires them. It is started lazily by the first timer that has to wait, and it sleeps until
//! the next deadline with [`std::thread::park_timeout`] (a futex wait on Linux). Registering a
//! timer earlier than the one it sleeps for unparks it; with no timer pending it parks
//! without a timeout and uses no CPU. A thread of its own keeps timer precision independent
//! of how busy or blocked the executor's workers are, and lets timers serve every executor
//! in the process.
//!
//! Timers are kept in a few shards (twice as many as the machine has cores), each a wheel
//! behind its own lock; every thread registers in the shard it was dealt on first use, so
//! workers registering timers at once do not contend. fiber's own workers help fire them:
//! whenever they look at the injector (every 61 polls, or about every 50 µs when polls are
//! long), and before they look for work elsewhere, they fire the due timers of
//! their own shard (if no other thread is firing them at that moment). A task
//! whose timer a worker fires is queued on that worker, with no hand-off from the driver
//! thread through the runtime's channel, and busy workers keep timers on time even when the
//! driver thread waits for a CPU behind them.
//!
//! The pieces:
//!
//! - `wheel.rs`: a hierarchical timing wheel, six levels of 64 one-millisecond slots,
//!   where inserting, removing and rescheduling a timer are O(1);
//! - `driver.rs`: the global driver: the shards (a wheel and a slot pool behind a mutex
//!   each), the driver thread, and the `Registration` a timer holds once it has been polled;
//! - `sleep.rs`: [`Sleep`], the one timer future; [`Timeout`] (`timeout.rs`) and [`Interval`]
//!   (`interval.rs`) are built on it, and [`Elapsed`] (`error.rs`) is the timeout's error.
//!
//! A `Sleep` costs nothing until first polled. If its deadline has not passed by then, it
//! takes a slot (a generation counter and the waker) from its shard's pool and links it
//! into the wheel: no allocation once the pool has grown to the most timers pending at
//! once. Deadlines are rounded up to the next millisecond tick, so a timer never fires
//! early. When a timer falls due, the driver bumps its slot's generation and wakes the
//! waker after releasing the wheel's lock: no waker runs under it, so a waker that drops
//! other timers cannot deadlock. Once fired, a `Sleep` completes without taking any lock.
//! Dropping a pending `Sleep` unlinks it and returns its slot; resetting one moves it in the
//! wheel, or takes a new slot if it had fired.
//!
//! Deadlines too far away to represent (`Duration::MAX`) become instants decades ahead:
//! they never fire in practice, and wait in the wheel's top level without waking the driver.

mod clock;
mod driver;
mod error;
mod interval;
mod sleep;
mod slots;
mod timeout;
mod wheel;

pub use clock::{advance, now, pause, resume};
pub(crate) use clock::{BlockerGuard, Clock, ParkedThread};
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
