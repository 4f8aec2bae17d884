//! [`JoinSet`]: a group of spawned tasks whose outputs are taken in the order they finish.
//!
//! The set keeps each task's [`JoinHandle`] in a slab. Each entry polls its handle with a
//! waker of its own, which, when the task completes, pushes the entry's slot onto a ready
//! list shared with the set and wakes whoever awaits [`JoinSet::join_next`]. So taking a
//! finished task costs the same whatever the size of the set: nothing scans the entries.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::runtime::{AbortHandle, Handle, JoinError, JoinHandle};

/// A collection of tasks spawned on a runtime, awaited in the order they complete.
///
/// Every task of a set has the same output type `T`. [`join_next`](JoinSet::join_next)
/// returns the output of whichever task finishes first. Dropping the set aborts every task
/// still in it; [`detach_all`](JoinSet::detach_all) lets them run on instead.
///
/// # Examples
///
/// ```
/// use fiber::task::JoinSet;
///
/// let rt = fiber::Runtime::new().unwrap();
/// let total = rt.block_on(async {
///     let mut set = JoinSet::new();
///     for n in 1..=10u32 {
///         set.spawn(async move { n * n });
///     }
///     let mut total = 0;
///     while let Some(result) = set.join_next().await {
///         total += result.unwrap();
///     }
///     total
/// });
/// assert_eq!(total, 385);
/// ```
pub struct JoinSet<T> {
    /// The slab: a slot per task not yet joined, `None` for a free slot.
    entries: Vec<Option<Entry<T>>>,
    /// Free slots of `entries`, reused before the slab grows.
    free: Vec<usize>,
    /// Tasks not yet joined.
    len: usize,
    /// Tells every new entry apart from an earlier one in the same slot, so that a late wake
    /// of a removed entry is ignored.
    next_generation: u64,
    ready: Arc<ReadyList>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker_state: Arc<EntryWaker>,
    /// `waker_state` as a `Waker`, made once per entry rather than once per poll.
    waker: Waker,
}

/// The slots whose task may have finished, and the waker of the set's owner.
#[derive(Default)]
struct ReadyList {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    /// `(slot, generation)` of the entries to poll.
    slots: Vec<(usize, u64)>,
    /// Who awaits `join_next`; taken by the first wake.
    waker: Option<Waker>,
}

impl ReadyList {
    fn lock(&self) -> MutexGuard<'_, ReadyInner> {
        // Nothing panics while the lock is held (pushes and a waker swap), so a poisoned
        // lock still holds a consistent list.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waker of one entry: its task's completion (or any wake of its join waker) lists the
/// entry as ready.
struct EntryWaker {
    slot: usize,
    generation: u64,
    /// Set while the entry is on the ready list, so that it is listed at most once.
    queued: AtomicBool,
    ready: Arc<ReadyList>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let owner = {
            let mut ready = self.ready.lock();
            ready.slots.push((self.slot, self.generation));
            ready.waker.take()
        };
        // Woken outside the lock: the owner's waker may run arbitrary code.
        if let Some(owner) = owner {
            owner.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// Creates an empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let set = fiber::task::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            next_generation: 0,
            ready: Arc::default(),
        }
    }

    /// The number of tasks in the set that have not been joined yet, finished ones included.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async { 1 });
    /// set.spawn(async { 2 });
    /// assert_eq!(set.len(), 2);
    /// set.join_next().await;
    /// assert_eq!(set.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns true when every task of the set has been joined (or there never was one).
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async {});
    /// assert!(!set.is_empty());
    /// set.join_next().await;
    /// assert!(set.is_empty());
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an already spawned task to the set. Every way of spawning into the set ends
    /// here, `spawn_blocking` included once the runtime has a blocking pool.
    pub(crate) fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.free.pop().unwrap_or(self.entries.len());
        let generation = self.next_generation;
        self.next_generation += 1;
        // A new entry starts on the ready list: its first poll registers its waker with the
        // task.
        let waker_state = Arc::new(EntryWaker {
            slot,
            generation,
            queued: AtomicBool::new(true),
            ready: Arc::clone(&self.ready),
        });
        let entry = Entry {
            handle,
            waker: Waker::from(Arc::clone(&waker_state)),
            waker_state,
        };
        if slot == self.entries.len() {
            self.entries.push(Some(entry));
        } else {
            self.entries[slot] = Some(entry);
        }
        self.len += 1;
        let owner = {
            let mut ready = self.ready.lock();
            ready.slots.push((slot, generation));
            ready.waker.take()
        };
        if let Some(owner) = owner {
            owner.wake();
        }
        abort
    }

    /// Waits for the next task to finish and returns its output, or `None` when the set is
    /// empty.
    ///
    /// Tasks are returned in the order they complete, not the order they were spawned. A task
    /// that panicked or was aborted gives an `Err` ([`JoinError`]). The future is
    /// cancel-safe: dropping it before it completes loses no output, which stays in the set
    /// for the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async {
    ///     fiber::time::sleep(Duration::from_millis(50)).await;
    ///     "slow"
    /// });
    /// set.spawn(async { "fast" });
    /// assert_eq!(set.join_next().await.unwrap().unwrap(), "fast");
    /// assert_eq!(set.join_next().await.unwrap().unwrap(), "slow");
    /// assert!(set.join_next().await.is_none());
    /// # });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Returns the output of a task that has already finished, if there is one, without
    /// waiting. Returns `None` when no task has finished yet or the set is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async { 7 });
    /// let output = loop {
    ///     if let Some(result) = set.try_join_next() {
    ///         break result.unwrap();
    ///     }
    ///     fiber::yield_now().await;
    /// };
    /// assert_eq!(output, 7);
    /// # });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        match self.poll_ready_entries(None) {
            Poll::Ready(output) => output,
            Poll::Pending => None,
        }
    }

    /// Polls for the next finished task: [`join_next`](JoinSet::join_next) for code that
    /// implements `Future` or `Stream` by hand.
    ///
    /// Returns `Ready(None)` when the set is empty, `Ready(Some(output))` for a finished task
    /// (removing it from the set), or `Pending`, after which the waker of `cx` is woken when
    /// a task finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async { "polled by hand" });
    /// let output = poll_fn(|cx| set.poll_join_next(cx)).await;
    /// assert_eq!(output.unwrap().unwrap(), "polled by hand");
    /// # });
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        // One unit of the task's budget per output, taken here: the members' handles are
        // polled outside the budget (`poll_ready_entries`), since a handle refused by a spent
        // budget wakes its entry at once, which would list it again and again in one call.
        let coop = std::task::ready!(crate::runtime::coop::poll_proceed(cx));
        let polled = self.poll_ready_entries(Some(cx.waker()));
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    /// Polls the entries on the ready list until one has finished. With `owner`, the waker
    /// is kept to be woken by the next entry that becomes ready.
    fn poll_ready_entries(&mut self, owner: Option<&Waker>) -> Poll<Option<Result<T, JoinError>>> {
        crate::runtime::coop::with_unconstrained(|| self.poll_ready_entries_unconstrained(owner))
    }

    fn poll_ready_entries_unconstrained(
        &mut self,
        owner: Option<&Waker>,
    ) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.len == 0 {
                return Poll::Ready(None);
            }
            let next = {
                let mut ready = self.ready.lock();
                let next = ready.slots.pop();
                if next.is_none() {
                    if let Some(owner) = owner {
                        // Stored under the same lock an entry's wake takes: no wake is lost
                        // between finding the list empty and going to sleep.
                        if !ready.waker.as_ref().is_some_and(|w| w.will_wake(owner)) {
                            ready.waker = Some(owner.clone());
                        }
                    }
                }
                next
            };
            let Some((slot, generation)) = next else {
                return Poll::Pending;
            };
            let Some(Some(entry)) = self.entries.get_mut(slot) else {
                continue;
            };
            if entry.waker_state.generation != generation {
                continue;
            }
            // Cleared before the poll: a wake during or after it lists the entry again.
            entry.waker_state.queued.store(false, Ordering::Release);
            let mut cx = Context::from_waker(&entry.waker);
            if let Poll::Ready(output) = Pin::new(&mut entry.handle).poll(&mut cx) {
                self.remove(slot);
                return Poll::Ready(Some(output));
            }
        }
    }

    fn remove(&mut self, slot: usize) -> Option<Entry<T>> {
        let entry = self.entries[slot].take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(entry)
    }

    /// Aborts every task in the set. They stay in the set: [`join_next`](JoinSet::join_next)
    /// still returns each one's output, a cancellation error for those that had not finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(std::future::pending::<()>());
    /// set.abort_all();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort_all(&mut self) {
        for entry in self.entries.iter().flatten() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: the tasks run on, and their
    /// outputs are dropped when they finish.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn(async move { sender.send("still ran").unwrap() });
    /// set.detach_all();
    /// assert!(set.is_empty());
    /// drop(set);
    /// assert_eq!(receiver.recv().unwrap(), "still ran");
    /// # });
    /// ```
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.free.clear();
        self.len = 0;
        self.ready.lock().slots.clear();
    }

    /// Aborts every task, then waits until each one has finished and been removed from the
    /// set. Their outputs are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// for _ in 0..3 {
    ///     set.spawn(std::future::pending::<()>());
    /// }
    /// set.shutdown().await;
    /// assert!(set.is_empty());
    /// # });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs, in the order the tasks completed.
    ///
    /// # Panics
    ///
    /// If a task panicked, its panic is resumed here with [`std::panic::resume_unwind`];
    /// if a task was aborted, this panics with the cancellation error. Either way, the tasks
    /// still in the set are aborted as the set is dropped. Use
    /// [`join_next`](JoinSet::join_next) to handle failures one by one instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// for n in 0..5 {
    ///     set.spawn(async move { n * 2 });
    /// }
    /// let mut outputs = set.join_all().await;
    /// outputs.sort();
    /// assert_eq!(outputs, [0, 2, 4, 6, 8]);
    /// # });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len);
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(error) => match error.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(error) => panic!("a task of the `JoinSet` failed: {error}"),
                },
            }
        }
        outputs
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime as a task of this set, and returns a handle
    /// that can abort it.
    ///
    /// # Panics
    ///
    /// Panics outside a fiber runtime, like [`fiber::spawn`](crate::spawn); use
    /// [`spawn_on`](JoinSet::spawn_on) with a [`Handle`] there.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// let abort = set.spawn(std::future::pending::<()>());
    /// abort.abort();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Runs the blocking closure `f` on the current runtime's blocking pool (see
    /// [`fiber::spawn_blocking`](crate::spawn_blocking)) as a member of this set. Aborting
    /// it, or dropping the set, cancels it if it has not started; once started it runs to
    /// the end, and its output is dropped.
    ///
    /// # Panics
    ///
    /// Panics outside a fiber runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # fiber::block_on(async {
    /// let mut set = fiber::task::JoinSet::new();
    /// for n in 1..=3u64 {
    ///     set.spawn_blocking(move || n * 10);
    /// }
    /// let mut outputs = set.join_all().await;
    /// outputs.sort();
    /// assert_eq!(outputs, [10, 20, 30]);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::spawn_blocking(f))
    }

    /// Spawns `future` onto the runtime of `handle` as a task of this set.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let mut set = fiber::task::JoinSet::new();
    /// set.spawn_on(async { "on rt" }, rt.handle());
    /// let output = rt.block_on(set.join_next()).unwrap().unwrap();
    /// assert_eq!(output, "on rt");
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a `!Send` `future` on the [`LocalSet`](crate::task::LocalSet) running on this
    /// thread, as a task of this set.
    ///
    /// # Panics
    ///
    /// Panics outside a `LocalSet`, like [`spawn_local`](crate::task::spawn_local).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = fiber::Runtime::new().unwrap();
    /// let local = fiber::task::LocalSet::new();
    /// let output = local.block_on(&rt, async {
    ///     let mut set = fiber::task::JoinSet::new();
    ///     let shared = Rc::new(5);
    ///     set.spawn_local(async move { *shared + 1 });
    ///     set.join_next().await.unwrap().unwrap()
    /// });
    /// assert_eq!(output, 6);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::task::spawn_local(future))
    }

    /// Spawns a `!Send` `future` into `local`, as a task of this set. It runs when `local` is
    /// driven.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = fiber::Runtime::new().unwrap();
    /// let local = fiber::task::LocalSet::new();
    /// let mut set = fiber::task::JoinSet::new();
    /// let name = Rc::new("local");
    /// set.spawn_local_on(async move { name.len() }, &local);
    /// let output = local.block_on(&rt, set.join_next()).unwrap().unwrap();
    /// assert_eq!(output, 5);
    /// ```
    pub fn spawn_local_on<F>(&mut self, future: F, local: &crate::task::LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local.spawn_local(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
