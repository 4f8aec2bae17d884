//! Slow polls: a task's poll that kept its worker longer than a threshold, and the hook that
//! hears about it.
//!
//! A poll that blocks (a synchronous lock, file I/O, a long computation) stalls every other
//! task queued on its worker. With [`Builder::slow_poll_threshold`] set, each worker times
//! its polls, counts those over the threshold in
//! [`RuntimeMetrics::slow_polls_count`](crate::RuntimeMetrics::slow_polls_count), and hands
//! each one to [`Builder::on_slow_poll`]'s hook, which learns how long the poll took and
//! where the task was spawned. Without a threshold, polls are not timed at all.
//!
//! [`Builder::slow_poll_threshold`]: crate::Builder::slow_poll_threshold
//! [`Builder::on_slow_poll`]: crate::Builder::on_slow_poll

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::Arc;
use std::time::Duration;

/// A task's poll that took longer than the runtime's
/// [`slow_poll_threshold`](crate::Builder::slow_poll_threshold); given to the
/// [`on_slow_poll`](crate::Builder::on_slow_poll) hook on the worker thread, right after the
/// poll returned.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// let reports = Arc::new(Mutex::new(Vec::new()));
/// let sink = reports.clone();
/// let rt = fiber::Builder::new()
///     .slow_poll_threshold(Duration::from_millis(10))
///     .on_slow_poll(move |slow: &fiber::SlowPoll| {
///         sink.lock().unwrap().push((slow.duration(), slow.spawned_at().line()));
///     })
///     .build()
///     .unwrap();
/// let line = line!() + 1;
/// let task = rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) });
/// rt.block_on(task).unwrap();
/// drop(rt); // the hook has run by the time the worker stops
/// let reports = reports.lock().unwrap();
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].0 >= Duration::from_millis(20));
/// assert_eq!(reports[0].1, line);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SlowPoll {
    duration: Duration,
    spawned_at: &'static Location<'static>,
}

impl SlowPoll {
    pub(crate) fn new(duration: Duration, spawned_at: &'static Location<'static>) -> SlowPoll {
        SlowPoll {
            duration,
            spawned_at,
        }
    }

    /// How long the poll took.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let last = Arc::new(Mutex::new(None));
    /// let sink = last.clone();
    /// let rt = fiber::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(5))
    ///     .on_slow_poll(move |slow| *sink.lock().unwrap() = Some(*slow))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(10)) })).unwrap();
    /// drop(rt);
    /// let slow = last.lock().unwrap().expect("a slow poll");
    /// assert!(slow.duration() >= Duration::from_millis(10));
    /// ```
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Where the task was spawned: the caller of [`spawn`](crate::spawn),
    /// [`Handle::spawn`](crate::Handle::spawn) or [`Runtime::spawn`](crate::Runtime::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let last = Arc::new(Mutex::new(None));
    /// let sink = last.clone();
    /// let rt = fiber::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(5))
    ///     .on_slow_poll(move |slow| *sink.lock().unwrap() = Some(*slow))
    ///     .build()
    ///     .unwrap();
    /// let handle = rt.handle().clone();
    /// let line = line!() + 1;
    /// let task = handle.spawn(async { std::thread::sleep(Duration::from_millis(10)) });
    /// rt.block_on(task).unwrap();
    /// drop(rt);
    /// let slow = last.lock().unwrap().expect("a slow poll");
    /// assert_eq!((slow.spawned_at().file(), slow.spawned_at().line()), (file!(), line));
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a poll of the task spawned at {} took {:?}",
            self.spawned_at, self.duration
        )
    }
}

/// The hook of [`Builder::on_slow_poll`](crate::Builder::on_slow_poll).
pub(crate) type SlowPollHook = Arc<dyn Fn(&SlowPoll) + Send + Sync + 'static>;

/// What a runtime does about slow polls; `threshold` is `None` when polls are not timed.
#[derive(Clone, Default)]
pub(crate) struct SlowPollConfig {
    pub(crate) threshold: Option<Duration>,
    pub(crate) hook: Option<SlowPollHook>,
}

impl SlowPollConfig {
    /// Tells the hook about `slow`, on this worker thread. A panicking hook must not take
    /// the worker down: its panic has been reported by the panic hook already, so it goes
    /// no further.
    pub(crate) fn report(&self, slow: &SlowPoll) {
        if let Some(hook) = &self.hook {
            let _ = catch_unwind(AssertUnwindSafe(|| hook(slow)));
        }
    }
}

impl fmt::Debug for SlowPollConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlowPollConfig")
            .field("threshold", &self.threshold)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}
