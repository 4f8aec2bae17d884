//! [`LocalSet`]: tasks whose futures are not `Send`, run on the thread that owns the set.
//!
//! A local task is the same task as a spawned one (same cell, same state word, same
//! [`JoinHandle`]); only its scheduler differs. That scheduler is a queue owned by the set:
//! wakers, which are `Send` and may be woken on any thread, push to it and wake whoever
//! drives the set ([`LocalSet::run_until`] or [`LocalSet::block_on`]); only the set's own
//! thread takes tasks out of it to poll them. An abort from another thread cannot drop an
//! idle task's future where it is, so the task goes to the queue and the owner drops it (see
//! `new_local_task` in the task module for the whole argument).
//!
//! # Shutdown
//!
//! Dropping the set closes its queue and its owner list, then cancels every unfinished task
//! on the set's thread. A task that another thread's abort holds at that moment is on its
//! way to the queue; the drop runs the queue until every such task has been handed over
//! and cancelled. Wakes that arrive after the close are dropped, as there is nothing left to
//! run.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use pin_project_lite::pin_project;

use crate::runtime::task::list::OwnedTasks;
use crate::runtime::task::{new_local_task, Header, Notified, Schedule, Task};
use crate::runtime::{JoinHandle, Runtime};

/// How many tasks one poll of [`RunUntil`] runs before it gives the thread back to its
/// executor, so that the future it drives (and whatever else that executor runs) is not
/// starved by tasks that keep waking each other.
const TASKS_PER_POLL: usize = 61;

thread_local! {
    /// The set being driven on this thread, for [`spawn_local`].
    static CURRENT: RefCell<Option<Arc<SetShared>>> = const { RefCell::new(None) };
    /// This thread's id, cached so that it is cheap, and available (or cleanly not) while
    /// thread-locals are being destroyed.
    static THREAD_ID: ThreadId = thread::current().id();
}

/// A set of tasks that run on the thread that owns it, so their futures need not be `Send`.
///
/// Spawn into it with [`spawn_local`](LocalSet::spawn_local), or, from code that runs inside
/// it, with the free function [`fiber::task::spawn_local`](spawn_local). Its tasks run while
/// the set is driven by [`run_until`](LocalSet::run_until) or
/// [`block_on`](LocalSet::block_on), inside the runtime context of whoever drives it, so
/// they can use fiber's timers and spawn `Send` tasks onto the runtime. Dropping the set
/// drops every unfinished task's future (their handles resolve cancelled).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = fiber::Runtime::new().unwrap();
/// let local = fiber::task::LocalSet::new();
/// let shared = Rc::new("not Send");
/// let task = local.spawn_local({
///     let shared = Rc::clone(&shared);
///     async move { shared.len() }
/// });
/// assert_eq!(local.block_on(&rt, task).unwrap(), 8);
/// ```
pub struct LocalSet {
    shared: Arc<SetShared>,
    /// Pins the set to its thread (`!Send`, `!Sync`): its tasks run where it is.
    _not_send: PhantomData<*const ()>,
}

/// The part of a set that its tasks (through their wakers, on any thread) reach.
struct SetShared {
    owner: ThreadId,
    queue: Mutex<Queue>,
    /// Every unfinished task, so that dropping the set can cancel them.
    owned: OwnedTasks,
}

struct Queue {
    tasks: VecDeque<Notified>,
    /// Whoever drives the set, to be woken when a task is queued.
    waker: Option<Waker>,
    /// Set when the set is dropped; see the module's "Shutdown".
    closed: bool,
}

impl SetShared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // No code that can panic runs under the lock, so a poisoned queue is consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pop(&self) -> Option<Notified> {
        self.lock().tasks.pop_front()
    }

    fn push(&self, task: Notified) {
        let mut queue = self.lock();
        if queue.closed && !task.is_held() {
            // Every task was cancelled: the entry can only lead to a finished task, and its
            // reference is released outside the lock. A held entry is still owed its
            // cancellation, which the dropping set is waiting to run.
            drop(queue);
            drop(task);
            return;
        }
        queue.tasks.push_back(task);
        let waker = queue.waker.take();
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn is_owner_thread(&self) -> bool {
        THREAD_ID.try_with(|id| *id == self.owner).unwrap_or(false)
    }

    /// Spawns `future` into this set. The caller is on the owner thread.
    #[track_caller]
    fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        debug_assert!(self.is_owner_thread());
        // SAFETY: `LocalScheduler` keeps the contract of `new_local_task`: the set (which
        // alone takes entries out of the queue) runs them on its own thread, as it is
        // `!Send`; `may_drop_future_here` is false on any other thread; held entries are
        // never dropped by the queue but run by the set, even while it is being dropped;
        // and the set's drop cancels every task in its owner list on its own thread.
        let (task, notified, join) =
            unsafe { new_local_task(future, LocalScheduler(Arc::clone(self))) };
        match self.owned.bind(task) {
            Ok(()) => self.push(notified),
            Err(task) => {
                // The set is being dropped (a destructor spawned): cancel at once, here on
                // the owner thread.
                drop(notified);
                let _ = task.shutdown();
            }
        }
        join
    }
}

/// The scheduler stored in each local task.
struct LocalScheduler(Arc<SetShared>);

impl Schedule for LocalScheduler {
    fn schedule(&self, task: Notified) {
        self.0.push(task);
    }

    fn yield_now(&self, task: Notified) {
        self.0.push(task);
    }

    fn release(&self, task: NonNull<Header>) -> Option<Task> {
        self.0.owned.remove(task)
    }

    fn may_drop_future_here(&self) -> bool {
        self.0.is_owner_thread()
    }
}

/// Makes `shared` the set that [`spawn_local`] finds, until dropped.
struct EnterGuard {
    previous: Option<Arc<SetShared>>,
}

impl EnterGuard {
    fn enter(shared: &Arc<SetShared>) -> EnterGuard {
        let previous = CURRENT.with(|current| current.replace(Some(Arc::clone(shared))));
        EnterGuard { previous }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The set entered last is left last: `previous` is what was current before it.
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

impl LocalSet {
    /// Creates an empty set, owned by the calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let local = fiber::task::LocalSet::new();
    /// let rt = fiber::Runtime::new().unwrap();
    /// assert_eq!(local.block_on(&rt, async { 1 }), 1);
    /// ```
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new(SetShared {
                owner: thread::current().id(),
                queue: Mutex::new(Queue {
                    tasks: VecDeque::new(),
                    waker: None,
                    closed: false,
                }),
                owned: OwnedTasks::new(1),
            }),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` future into this set. It runs when the set is driven by
    /// [`run_until`](LocalSet::run_until) or [`block_on`](LocalSet::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let rt = fiber::Runtime::new().unwrap();
    /// let local = fiber::task::LocalSet::new();
    /// let counter = Rc::new(Cell::new(0));
    /// for _ in 0..3 {
    ///     let counter = Rc::clone(&counter);
    ///     local.spawn_local(async move { counter.set(counter.get() + 1) });
    /// }
    /// local.block_on(&rt, async {
    ///     while counter.get() < 3 {
    ///         fiber::yield_now().await;
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn(future)
    }

    /// Runs `future` and the set's tasks on this thread until `future` completes, and
    /// returns its output. Tasks still unfinished then stay in the set, to run the next time
    /// it is driven (or be dropped with it).
    ///
    /// Inside, [`spawn_local`] spawns into this set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let local = fiber::task::LocalSet::new();
    /// let output = fiber::block_on(local.run_until(async {
    ///     let name = Rc::new(String::from("local"));
    ///     let task = fiber::task::spawn_local(async move { name.len() });
    ///     task.await.unwrap()
    /// }));
    /// assert_eq!(output, 5);
    /// ```
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil {
            local: self,
            future,
        }
    }

    /// Runs `future` and the set's tasks on this thread, inside `runtime`'s context, until
    /// `future` completes: [`Runtime::block_on`] of [`run_until`](LocalSet::run_until).
    ///
    /// # Panics
    ///
    /// Panics where `Runtime::block_on` does: inside a runtime (a worker thread, or another
    /// `block_on`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let local = fiber::task::LocalSet::new();
    /// let doubled = local.block_on(&rt, async {
    ///     fiber::task::spawn_local(async { 21 * 2 }).await.unwrap()
    /// });
    /// assert_eq!(doubled, 42);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, runtime: &Runtime, future: F) -> F::Output {
        runtime.block_on(self.run_until(future))
    }

    /// Runs queued tasks, at most [`TASKS_PER_POLL`] of them. Returns true if some are still
    /// queued.
    fn run_tasks(&self) -> bool {
        for _ in 0..TASKS_PER_POLL {
            match self.shared.pop() {
                // The set is `!Send`, so this is the owner thread, where the task's future
                // belongs.
                Some(task) => {
                    // Local tasks are not timed: the spawn site the poll hands back is unused.
                    let _ = crate::runtime::coop::budget(|| task.run());
                }
                None => return false,
            }
        }
        !self.shared.lock().tasks.is_empty()
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.shared.owned.len())
            .field("queued", &self.shared.lock().tasks.len())
            .finish()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Destructors of the tasks' futures may call `spawn_local`: they find the closed set
        // and get a cancelled task, rather than a panic.
        let _enter = EnterGuard::enter(&self.shared);
        self.shared.lock().closed = true;
        let tasks = self.shared.owned.close_and_take_all();
        for task in &tasks {
            // Drops the future of every idle or queued task, here on the owner thread; the
            // loop below deals with the others.
            let _ = task.shutdown();
        }
        // What `shutdown` could not take is held by an abort on another thread, which is
        // about to queue it; the queue's other entries lead to finished tasks.
        loop {
            while let Some(task) = self.shared.pop() {
                task.run();
            }
            if tasks.iter().all(Task::is_complete) {
                break;
            }
            thread::yield_now();
        }
        // The queue is empty now: plain entries stopped coming with the close, and held ones
        // with the last task's completion. Were one left, it would keep this set's `SetShared`
        // alive through its task forever; it is released here, on the owner thread, in case.
        drop(tasks);
        let leftover = std::mem::take(&mut self.shared.lock().tasks);
        debug_assert!(leftover.is_empty(), "a dropped LocalSet kept queued tasks");
        drop(leftover);
    }
}

pin_project! {
    /// Future for the [`run_until`](LocalSet::run_until) method.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct RunUntil<'a, F> {
        local: &'a LocalSet,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let local = *this.local;
        let _enter = EnterGuard::enter(&local.shared);
        {
            // Registered before the queue is looked at: a task queued after that wakes us.
            let mut queue = local.shared.lock();
            if !queue
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                queue.waker = Some(cx.waker().clone());
            }
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(output);
        }
        if local.run_tasks() {
            // More work is queued: come back after the executor had its turn.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Spawns a `!Send` future into the [`LocalSet`] being driven on this thread, and returns
/// its [`JoinHandle`] (the same type `spawn` returns).
///
/// # Panics
///
/// Panics when no `LocalSet` is being driven on this thread: call it from code inside
/// [`LocalSet::run_until`] or [`LocalSet::block_on`], or from one of the set's tasks, or
/// spawn with [`LocalSet::spawn_local`].
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = fiber::Runtime::new().unwrap();
/// let local = fiber::task::LocalSet::new();
/// let output = local.block_on(&rt, async {
///     let shared = Rc::new(10);
///     let inner = Rc::clone(&shared);
///     let task = fiber::task::spawn_local(async move { *inner + 1 });
///     task.await.unwrap() + *shared
/// });
/// assert_eq!(output, 21);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let current = CURRENT.with(|current| current.borrow().clone());
    match current {
        Some(shared) => shared.spawn(future),
        None => panic!(
            "`spawn_local` called outside a `LocalSet`: call it from code driven by \
             `LocalSet::run_until` or `LocalSet::block_on` (or from one of its tasks), or \
             spawn with `LocalSet::spawn_local`"
        ),
    }
}

/// Also run under Miri (`scripts/miri`): the paths where a local task's references meet
/// other threads. (Not under loom, whose types only work inside a model.)
#[cfg(all(test, not(loom)))]
mod tests {
    use std::rc::Rc;
    use std::sync::mpsc;
    use std::task::{Context, Poll, Waker};

    use super::LocalSet;

    /// A future that hands its waker to `wakers` at each of its first `rounds` polls, and
    /// completes at the next.
    fn wait_for_wake(
        wakers: mpsc::Sender<Waker>,
        rounds: usize,
    ) -> impl std::future::Future<Output = ()> {
        let mut polls = 0;
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            polls += 1;
            if polls > rounds {
                return Poll::Ready(());
            }
            wakers.send(cx.waker().clone()).unwrap();
            Poll::Pending
        })
    }

    #[test]
    fn local_tasks_woken_from_another_thread_finish_on_the_owner() {
        let local = LocalSet::new();
        let (wakers, waker_rx) = mpsc::channel();
        let not_send = Rc::new(3);
        let task = local.spawn_local({
            let not_send = Rc::clone(&not_send);
            async move {
                wait_for_wake(wakers, 2).await;
                *not_send * 2
            }
        });
        let waker_thread = std::thread::spawn(move || {
            for waker in waker_rx {
                waker.wake();
            }
        });
        let output = futures::executor::block_on(local.run_until(task)).unwrap();
        assert_eq!(output, 6);
        waker_thread.join().unwrap();
    }

    #[test]
    fn an_abort_from_another_thread_is_carried_out_by_the_owner() {
        let local = LocalSet::new();
        let dropped = Rc::new(std::cell::Cell::new(false));
        struct SetOnDrop(Rc<std::cell::Cell<bool>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let guard = SetOnDrop(Rc::clone(&dropped));
        let task = local.spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        // One poll of the set runs the task once, after which it is idle.
        futures::executor::block_on(local.run_until(async {}));
        let abort = task.abort_handle();
        std::thread::spawn(move || abort.abort()).join().unwrap();
        let error = futures::executor::block_on(local.run_until(task)).unwrap_err();
        assert!(error.is_cancelled());
        assert!(dropped.get());
    }

    #[test]
    fn dropping_the_set_cancels_idle_and_queued_tasks_while_wakers_live_elsewhere() {
        let local = LocalSet::new();
        let (wakers, waker_rx) = mpsc::channel();
        let idle = local.spawn_local(wait_for_wake(wakers, usize::MAX));
        // Run the set until the idle task has handed out its waker.
        let waker = futures::executor::block_on(local.run_until(async {
            loop {
                if let Ok(waker) = waker_rx.try_recv() {
                    break waker;
                }
                crate::yield_now().await;
            }
        }));
        let queued = local.spawn_local(async { Rc::new(1) });
        drop(local);
        // The waker outlives the set and its wakes go nowhere.
        std::thread::spawn(move || waker.wake()).join().unwrap();
        assert!(futures::executor::block_on(idle)
            .unwrap_err()
            .is_cancelled());
        assert!(futures::executor::block_on(queued)
            .unwrap_err()
            .is_cancelled());
    }
}
