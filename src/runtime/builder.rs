//! [`Builder`]: configure and start a [`Runtime`].

use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use super::context;
use super::handle::Handle;
use super::io::driver::Driver;
use super::runtime::Runtime;
use super::scheduler::blocking::pool::PoolConfig;
use super::scheduler::monitor;
use super::scheduler::slow_poll::{SlowPoll, SlowPollConfig};
use super::scheduler::{worker, Config as SchedulerConfig, Scheduler};
use crate::time::{Clock, ClockFinders};

/// A thread start or stop hook.
type Hook = Arc<dyn Fn() + Send + Sync + 'static>;

#[derive(Clone, Default)]
struct Hooks {
    on_thread_start: Option<Hook>,
    on_thread_stop: Option<Hook>,
}

impl Hooks {
    /// Runs a hook, if set. A panicking hook must not take its worker down with it (a runtime
    /// whose workers died would silently run nothing): the panic is reported by the panic
    /// hook, as any panic is, and then caught.
    fn run(hook: &Option<Hook>) {
        if let Some(hook) = hook {
            let _ = catch_unwind(AssertUnwindSafe(|| hook()));
        }
    }
}

impl Runtime {
    /// Starts a runtime with one worker per available CPU (the [`Builder`]'s defaults).
    ///
    /// # Errors
    ///
    /// Returns the operating system's error if a worker thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { "ok" }), "ok");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }
}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = fiber::Builder::new()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .on_thread_start(|| println!("worker started"))
///     .build()
///     .unwrap();
/// assert_eq!(rt.metrics().num_workers(), 2);
/// ```
pub struct Builder {
    worker_threads: Option<usize>,
    thread_name: String,
    thread_stack_size: Option<usize>,
    hooks: Hooks,
    start_paused: bool,
    slow_poll: SlowPollConfig,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
}

/// The most threads the blocking pool starts unless told otherwise, as in tokio.
const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;
/// How long an idle blocking thread waits for a job before it exits, unless told otherwise.
const DEFAULT_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(10);

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available CPU, threads named
    /// `fiber-worker`, no hooks.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn new() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: "fiber-worker".to_owned(),
            thread_stack_size: None,
            hooks: Hooks::default(),
            start_paused: false,
            slow_poll: SlowPollConfig::default(),
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            thread_keep_alive: DEFAULT_THREAD_KEEP_ALIVE,
        }
    }

    /// A builder for a runtime with one worker thread; the future given to
    /// [`block_on`](Runtime::block_on) runs on the calling thread.
    ///
    /// What `#[fiber::main(flavor = "current_thread")]` builds. Spawned tasks run on the one
    /// worker, so they never run in parallel with each other.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 1);
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })).unwrap(), 2);
    /// ```
    pub fn new_current_thread() -> Builder {
        let mut builder = Builder::new();
        builder.worker_threads = Some(1);
        builder
    }

    /// A builder for a runtime with a pool of worker threads, one per available CPU unless
    /// [`worker_threads`](Builder::worker_threads) says otherwise: the same as
    /// [`Builder::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new_multi_thread().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 3);
    /// ```
    pub fn new_multi_thread() -> Builder {
        Builder::new()
    }

    /// Sets the number of worker threads; the runtime starts exactly this many.
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0: a runtime without workers would never run a task.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(4).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 4);
    /// ```
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(
            n > 0,
            "`Builder::worker_threads(0)`: a runtime needs at least one worker thread"
        );
        self.worker_threads = Some(n);
        self
    }

    /// Names every worker thread `name`; the threads of the blocking pool are named
    /// `{name}-blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().thread_name("crunch").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().map(str::to_owned)
    /// }));
    /// assert_eq!(name.unwrap().as_deref(), Some("crunch"));
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = name.into();
        self
    }

    /// Sets the most threads the blocking pool runs at once (512 by default).
    ///
    /// The pool starts threads on demand for [`spawn_blocking`](crate::spawn_blocking) jobs;
    /// jobs beyond the cap wait, in the order they were spawned, for a thread to finish its
    /// job. (A worker handed over by [`block_in_place`](crate::block_in_place) never waits:
    /// the threads that take over workers come on top of the cap.)
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0: jobs would never run.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().max_blocking_threads(2).build().unwrap();
    /// let job = rt.spawn_blocking(|| "blocking work");
    /// assert_eq!(rt.block_on(job).unwrap(), "blocking work");
    /// ```
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(
            n > 0,
            "`Builder::max_blocking_threads(0)`: the blocking pool needs at least one thread \
             to run `spawn_blocking` jobs"
        );
        self.max_blocking_threads = n;
        self
    }

    /// Sets how long a blocking-pool thread with nothing to do waits for a job before it
    /// exits (10 seconds by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = fiber::Builder::new()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_keep_alive(&mut self, duration: Duration) -> &mut Self {
        self.thread_keep_alive = duration;
        self
    }

    /// Sets the stack size of each worker thread, in bytes (the default is std's).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().thread_stack_size(4 << 20).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each worker thread when it starts, before it runs any task, and likewise
    /// on each thread of the blocking pool, as tokio does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = started.clone();
    /// let rt = fiber::Builder::new()
    ///     .worker_threads(3)
    ///     .on_thread_start(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// drop(rt);
    /// assert_eq!(started.load(Ordering::SeqCst), 3);
    /// ```
    pub fn on_thread_start<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each worker thread (and blocking-pool thread) when it stops, after its
    /// last task. All have run by the time dropping the runtime returns (except on threads
    /// that [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) abandoned).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let counter = stopped.clone();
    /// let rt = fiber::Builder::new()
    ///     .worker_threads(2)
    ///     .on_thread_stop(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// drop(rt);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_stop<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Starts the runtime with its clock paused, as if the first thing it did were
    /// [`fiber::time::pause`](crate::time::pause): for tests that sleep for long virtual
    /// times in a few milliseconds. Off by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = fiber::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
    /// let start = Instant::now();
    /// rt.block_on(fiber::time::sleep(Duration::from_secs(3600)));
    /// assert!(start.elapsed() < Duration::from_secs(3600));
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Times every poll of a task and reports those that take longer than `threshold`: they
    /// are counted in [`RuntimeMetrics::slow_polls_count`](crate::RuntimeMetrics::slow_polls_count)
    /// and handed to the [`on_slow_poll`](Builder::on_slow_poll) hook. A slow poll holds up
    /// every other task queued on its worker; this finds the task that blocks (by where it
    /// was spawned).
    ///
    /// Off by default: without a threshold, polls are not timed at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = fiber::Builder::new()
    ///     .worker_threads(1)
    ///     .slow_poll_threshold(Duration::from_millis(10))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) })).unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// // The worker counts the slow poll just after it returns.
    /// let metrics = rt.metrics();
    /// drop(rt);
    /// assert_eq!(metrics.slow_polls_count(), 1);
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.slow_poll.threshold = Some(threshold);
        self
    }

    /// Runs `f` on the worker thread after each poll that took longer than the
    /// [`slow_poll_threshold`](Builder::slow_poll_threshold) (without a threshold, it never
    /// runs). It gets how long the poll took and where the task was spawned. A panic in `f`
    /// is caught: the worker goes on.
    ///
    /// `f` runs on the worker before it polls its next task, so it should be quick: log,
    /// count, or send the report elsewhere.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let slow = Arc::new(AtomicUsize::new(0));
    /// let counter = slow.clone();
    /// let rt = fiber::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(10))
    ///     .on_slow_poll(move |poll: &fiber::SlowPoll| {
    ///         eprintln!("{poll}");
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) })).unwrap();
    /// drop(rt);
    /// assert_eq!(slow.load(Ordering::SeqCst), 1);
    /// ```
    pub fn on_slow_poll<F: Fn(&SlowPoll) + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.slow_poll.hook = Some(Arc::new(f));
        self
    }

    /// Starts the worker threads and returns the runtime.
    ///
    /// # Errors
    ///
    /// Returns the operating system's error if a worker thread cannot be started; the
    /// workers started so far are shut down first.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Builder::new().worker_threads(1).build()?;
    /// assert_eq!(rt.block_on(async { 7 }), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let workers = match self.worker_threads {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        crate::time::find_clocks_with(ClockFinders {
            current: || context::try_current().map(|scheduler| scheduler.clock().clone()),
            block_on: context::block_on_clock,
        });
        let hooks = self.hooks.clone();
        let (scheduler, deques) = Scheduler::new(SchedulerConfig {
            workers,
            clock: Clock::new(self.start_paused),
            slow_poll: self.slow_poll.clone(),
            io: Driver::new()?,
            blocking: PoolConfig {
                max_threads: self.max_blocking_threads,
                keep_alive: self.thread_keep_alive,
                thread_name: format!("{}-blocking", self.thread_name),
                stack_size: self.thread_stack_size,
                // Blocking threads run inside the runtime's context (not entered: they may
                // block, and call `block_on`), between the thread hooks, as workers do.
                thread_main: Arc::new(move |scheduler: &Arc<Scheduler>, body: &mut dyn FnMut()| {
                    let _context = context::enter(scheduler);
                    Hooks::run(&hooks.on_thread_start);
                    body();
                    Hooks::run(&hooks.on_thread_stop);
                }),
            },
        });
        // From here on, an early return drops `runtime`, which stops the workers started.
        let runtime = Runtime::from_handle(Handle {
            scheduler: scheduler.clone(),
        });
        for (index, deque) in deques.into_iter().enumerate() {
            let mut thread = std::thread::Builder::new().name(self.thread_name.clone());
            if let Some(bytes) = self.thread_stack_size {
                thread = thread.stack_size(bytes);
            }
            let worker_scheduler = scheduler.clone();
            let hooks = self.hooks.clone();
            let thread = thread.spawn(move || {
                let scheduler = worker_scheduler;
                // The hooks run inside the context, so they can reach the runtime
                // (`Handle::current`).
                let _context = context::enter_worker(&scheduler);
                Hooks::run(&hooks.on_thread_start);
                worker::run(&scheduler, index, deque);
                Hooks::run(&hooks.on_thread_stop);
            })?;
            scheduler.add_thread(Some(index), thread);
        }
        if workers > 1 {
            // Runs no user code, so no hooks and no context.
            let monitor_scheduler = scheduler.clone();
            let thread = std::thread::Builder::new()
                .name(format!("{}-monitor", self.thread_name))
                .spawn(move || monitor::run(&monitor_scheduler))?;
            scheduler.add_thread(None, thread);
        }
        Ok(runtime)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("on_thread_start", &self.hooks.on_thread_start.is_some())
            .field("on_thread_stop", &self.hooks.on_thread_stop.is_some())
            .field("start_paused", &self.start_paused)
            .field("slow_poll_threshold", &self.slow_poll.threshold)
            .field("on_slow_poll", &self.slow_poll.hook.is_some())
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .finish()
    }
}
