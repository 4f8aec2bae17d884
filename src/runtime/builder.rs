//! [`Builder`]: configure and start a [`Runtime`].

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use crossbeam_deque::Worker as Deque;

use super::handle::Handle;
use super::runtime::Runtime;
use super::scheduler::worker;
use super::scheduler::{CachePadded, Shared};
use super::task::list::OwnedTasks;
use super::Hooks;
use std::sync::Arc;

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
}

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
        }
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

    /// Names every worker thread `name`.
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

    /// Runs `f` on each worker thread when it starts, before it runs any task.
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

    /// Runs `f` on each worker thread when it stops, after its last task. All have run by
    /// the time dropping the runtime returns.
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
        let deques: Vec<Deque<_>> = (0..workers).map(|_| Deque::new_fifo()).collect();
        let (sender, receiver) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            sender,
            receiver,
            stealers: deques.iter().map(Deque::stealer).collect(),
            owned: OwnedTasks::new(workers * 4),
            parked: CachePadded(AtomicUsize::new(0)),
            searching: CachePadded(AtomicUsize::new(0)),
            shutdown: AtomicBool::new(false),
            workers_stopped: AtomicBool::new(false),
            metrics: (0..workers).map(|_| CachePadded::default()).collect(),
            remote_spawned: CachePadded(AtomicU64::new(0)),
            hooks: self.hooks.clone(),
            io: crate::io::driver::Driver::new()?,
            epoch: std::time::Instant::now(),
        });
        let mut runtime = Runtime::new_with(Handle { shared });
        for (index, deque) in deques.into_iter().enumerate() {
            let mut thread = std::thread::Builder::new().name(self.thread_name.clone());
            if let Some(bytes) = self.thread_stack_size {
                thread = thread.stack_size(bytes);
            }
            let handle = runtime.handle().clone();
            // On error `runtime` is dropped, which stops the workers already started.
            let thread = thread.spawn(move || worker::run(handle, index, deque))?;
            runtime.add_thread(thread);
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
            .finish()
    }
}
