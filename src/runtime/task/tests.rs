//! Model tests of the task state machine, with a minimal scheduler.
//!
//! Under `--cfg loom` each test is explored by loom over every interleaving (up to the
//! preemption bound) with leak checking; otherwise each runs once on real threads, which is
//! how Miri checks the unsafe code of the task module.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Wake, Waker};

use super::list::OwnedTasks;
use super::{new_task, Header, JoinError, JoinHandle, Notified, Schedule, Task};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;

#[cfg(loom)]
use loom::{sync::Arc, thread};
#[cfg(not(loom))]
use std::{sync::Arc, thread};

use crate::loom::model;

/// A FIFO queue plus an owner list: the smallest scheduler a task can run on.
struct Queue {
    tasks: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
    /// Set by [`HeldYield`] during a poll: requeue the task held, as a worker does after
    /// fiber's `yield_now`.
    held_yield: AtomicUsize,
}

#[derive(Clone)]
struct TestScheduler(Arc<Queue>);

impl Schedule for TestScheduler {
    fn schedule(&self, task: Notified) {
        self.0.tasks.lock().unwrap().push_back(task);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    unsafe fn requeue_yielded(this: NonNull<Self>, task: NonNull<Header>) -> bool {
        // SAFETY: the caller keeps the task, and the scheduler in it, alive until queued.
        let queue = unsafe { this.as_ref() }.0.clone();
        if queue.held_yield.swap(0, Ordering::SeqCst) == 0 {
            return false;
        }
        queue.tasks.lock().unwrap().push_back(Notified::held(task));
        true
    }

    fn release(&self, task: NonNull<Header>) -> Option<Task> {
        self.0.owned.remove(task)
    }
}

/// Yields once the way fiber's `yield_now` does on a worker: asks the scheduler to requeue
/// the task holding `RUNNING`, and returns `Pending` without waking anyone.
struct HeldYield {
    queue: Arc<Queue>,
    yielded: bool,
}

impl Future for HeldYield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        self.queue.held_yield.store(1, Ordering::SeqCst);
        Poll::Pending
    }
}

impl TestScheduler {
    fn new() -> TestScheduler {
        TestScheduler(Arc::new(Queue {
            tasks: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
            held_yield: AtomicUsize::new(0),
        }))
    }

    fn held_yield(&self) -> HeldYield {
        HeldYield {
            queue: self.0.clone(),
            yielded: false,
        }
    }

    /// Whether the task at the front of the queue is held, and still `RUNNING`.
    fn front_is_held_and_running(&self) -> bool {
        let tasks = self.0.tasks.lock().unwrap();
        let front = tasks.front().expect("a queued task");
        // SAFETY: the queued `Notified` keeps the task alive while the lock is held.
        let state = unsafe { front.header_ptr().as_ref() }.state.load();
        front.is_held() && state.is_running()
    }

    #[track_caller]
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = new_task(future, self.clone());
        match self.0.owned.bind(task) {
            Ok(()) => self.schedule(notified),
            Err(task) => {
                drop(notified);
                assert!(task.shutdown(), "a task refused by a closed list is idle");
            }
        }
        join
    }

    /// Runs the next queued task; false when the queue is empty.
    fn run_one(&self) -> bool {
        let task = self.0.tasks.lock().unwrap().pop_front();
        match task {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    fn run_until_idle(&self) {
        while self.run_one() {}
    }

    /// What a runtime's shutdown does: the stopping worker hands held entries back (they
    /// give up `RUNNING`), the owner list's pass cancels every unfinished task, and then the
    /// queue's references go.
    fn shutdown(&self) {
        self.shutdown_leaving_behind(&[]);
    }

    /// A shutdown that does not wait for the tasks at these addresses (polls left behind,
    /// blocked in place, as a shutdown with a timeout does).
    fn shutdown_leaving_behind(&self, abandoned: &[usize]) {
        let drained: Vec<Notified> = self
            .0
            .tasks
            .lock()
            .unwrap()
            .drain(..)
            .map(Notified::into_unheld)
            .collect();
        self.0.owned.close_and_cancel_all(abandoned);
        drop(drained);
    }
}

/// Counts drops of its guards.
#[derive(Clone)]
struct DropCounter(Arc<AtomicUsize>);

struct CountOnDrop(Arc<AtomicUsize>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl DropCounter {
    fn new() -> DropCounter {
        DropCounter(Arc::new(AtomicUsize::new(0)))
    }
    fn guard(&self) -> CountOnDrop {
        CountOnDrop(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A waker that records whether it was woken (std types: it is the test's, not the task's).
#[derive(Default)]
struct Flag(std::sync::atomic::AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn flag_waker() -> (std::sync::Arc<Flag>, Waker) {
    let flag = std::sync::Arc::new(Flag::default());
    (flag.clone(), Waker::from(flag))
}

/// Polls a join handle once with a throwaway waker.
fn poll_join<T>(handle: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    let (_, waker) = flag_waker();
    Pin::new(handle).poll(&mut Context::from_waker(&waker))
}

/// A future that stores its waker in `slot` and stays pending until `ready` is non-zero.
fn wait_for(
    ready: Arc<AtomicUsize>,
    slot: Arc<Mutex<Option<Waker>>>,
) -> impl Future<Output = usize> + Send {
    std::future::poll_fn(move |cx| {
        let value = ready.load(Ordering::SeqCst);
        if value != 0 {
            return Poll::Ready(value);
        }
        *slot.lock().unwrap() = Some(cx.waker().clone());
        // A wake may have landed between the load and storing the waker.
        match ready.load(Ordering::SeqCst) {
            0 => Poll::Pending,
            value => Poll::Ready(value),
        }
    })
}

/// On another thread: sets `ready` to `value`, then wakes the waker stored in `slot`, if any
/// (the other half of [`wait_for`]).
fn release_from_thread(
    ready: Arc<AtomicUsize>,
    value: usize,
    slot: Arc<Mutex<Option<Waker>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        ready.store(value, Ordering::SeqCst);
        let waker = slot.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    })
}

#[test]
fn wake_racing_poll_is_never_lost() {
    model(|| {
        let scheduler = TestScheduler::new();
        let ready = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Mutex::new(None));
        let waiting = wait_for(ready.clone(), slot.clone());
        // The first two polls wake the task themselves, so the other thread's wake can land
        // before, during or after any of the three polls.
        let mut self_wakes = 2;
        let mut handle = scheduler.spawn(async move {
            let mut waiting = std::pin::pin!(waiting);
            std::future::poll_fn(|cx| {
                let polled = waiting.as_mut().poll(cx);
                if polled.is_pending() && self_wakes > 0 {
                    self_wakes -= 1;
                    cx.waker().wake_by_ref();
                }
                polled
            })
            .await
        });
        scheduler.run_one();

        let waker_thread = release_from_thread(ready, 7, slot);
        scheduler.run_until_idle();
        waker_thread.join().unwrap();
        scheduler.run_until_idle();

        assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(7));
        scheduler.shutdown();
    });
}

#[test]
fn wake_racing_completion_frees_the_task_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        let slot = Arc::new(Mutex::new(None));
        let inner = slot.clone();
        let mut first = true;
        let handle = scheduler.spawn(std::future::poll_fn(move |cx| {
            if std::mem::take(&mut first) {
                *inner.lock().unwrap() = Some(cx.waker().clone());
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(())
        }));
        drop(handle);
        scheduler.run_one();
        let waker = slot.lock().unwrap().take().unwrap();
        let waker_thread = thread::spawn(move || waker.wake());
        scheduler.run_until_idle();
        waker_thread.join().unwrap();
        scheduler.run_until_idle();
        scheduler.shutdown();
    });
}

#[test]
fn abort_racing_completion_drops_the_future_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move {
            let _guard = guard;
            5
        });
        let aborter = {
            let abort = handle.abort_handle();
            thread::spawn(move || abort.abort())
        };
        scheduler.run_until_idle();
        aborter.join().unwrap();
        scheduler.run_until_idle();
        match poll_join(&mut handle) {
            Poll::Ready(Ok(5)) => {}
            Poll::Ready(Err(error)) => assert!(error.is_cancelled()),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(drops.count(), 1);
        scheduler.shutdown();
    });
}

#[test]
fn join_handle_dropped_while_the_task_completes_drops_the_output_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move { guard });
        // Register a join waker first, so the completion has one to wake.
        let (woken, waker) = flag_waker();
        assert!(Pin::new(&mut handle)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let dropper = thread::spawn(move || drop(handle));
        scheduler.run_until_idle();
        dropper.join().unwrap();
        assert_eq!(drops.count(), 1);
        let _ = woken;
        scheduler.shutdown();
    });
}

/// Polls `handle` (of a task that returns 3) with a new flag waker: `None` if it was ready
/// with 3, else the flag and the handle, to check that the waker fires.
fn poll_join_with_fresh_waker(
    mut handle: JoinHandle<i32>,
) -> Option<(std::sync::Arc<Flag>, JoinHandle<i32>)> {
    let (woken, waker) = flag_waker();
    match Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(result) => {
            assert_eq!(result.unwrap(), 3);
            None
        }
        Poll::Pending => Some((woken, handle)),
    }
}

#[test]
fn join_waker_registered_while_the_task_completes_is_woken_or_sees_the_output() {
    model(|| {
        let scheduler = TestScheduler::new();
        let handle = scheduler.spawn(async { 3 });
        let joiner = thread::spawn(move || poll_join_with_fresh_waker(handle));
        scheduler.run_until_idle();
        if let Some((woken, mut handle)) = joiner.join().unwrap() {
            assert!(woken.0.load(std::sync::atomic::Ordering::SeqCst));
            assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(3));
        }
        scheduler.shutdown();
    });
}

#[test]
fn join_waker_replaced_while_the_task_completes_wakes_the_new_one_or_sees_the_output() {
    model(|| {
        let scheduler = TestScheduler::new();
        let mut handle = scheduler.spawn(async { 3 });
        let (first, first_waker) = flag_waker();
        assert!(Pin::new(&mut handle)
            .poll(&mut Context::from_waker(&first_waker))
            .is_pending());
        let joiner = thread::spawn(move || poll_join_with_fresh_waker(handle));
        scheduler.run_until_idle();
        let replaced = joiner.join().unwrap();
        if let Some((woken, mut handle)) = replaced {
            assert!(woken.0.load(std::sync::atomic::Ordering::SeqCst));
            assert!(!first.0.load(std::sync::atomic::Ordering::SeqCst));
            assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(3));
        }
        scheduler.shutdown();
    });
}

#[test]
fn the_last_waker_dropped_frees_the_task() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let slot = Arc::new(Mutex::new(None));
        let inner = slot.clone();
        drop(scheduler.spawn(std::future::poll_fn(move |cx| {
            let _ = &guard;
            *inner.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })));
        scheduler.run_until_idle();
        let waker = slot.lock().unwrap().take().unwrap();
        let clone = waker.clone();
        // Shutdown drops the future; the wakers keep the allocation until both go.
        scheduler.shutdown();
        assert_eq!(drops.count(), 1);
        let other = thread::spawn(move || drop(clone));
        drop(waker);
        other.join().unwrap();
    });
}

#[test]
fn shutdown_racing_a_wake_drops_the_future_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let ready = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Mutex::new(None));
        let mut handle = scheduler.spawn({
            let wait = wait_for(ready.clone(), slot.clone());
            async move {
                let _guard = guard;
                wait.await
            }
        });
        scheduler.run_one();
        let waker_thread = release_from_thread(ready, 1, slot);
        scheduler.shutdown();
        waker_thread.join().unwrap();
        // A wake that landed after the shutdown's drain left a `Notified` behind.
        scheduler.shutdown();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

/// A shutdown that leaves a poll behind (its thread blocked in place) marks the task
/// cancelled without waiting for it: whichever way the poll and the shutdown interleave, the
/// future is dropped once, by the shutdown or by the poller when its poll returns.
#[test]
fn a_shutdown_leaving_a_poll_behind_drops_the_future_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        let polled = handle.task_address();
        let poller = {
            let scheduler = scheduler.clone();
            thread::spawn(move || {
                scheduler.run_one();
            })
        };
        scheduler.shutdown_leaving_behind(&[polled]);
        poller.join().unwrap();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

#[test]
fn two_workers_run_nested_spawns_to_completion() {
    model(|| {
        let scheduler = TestScheduler::new();
        let inner = scheduler.clone();
        let mut handle = scheduler.spawn(async move {
            let child = inner.spawn(async { 20 });
            child.await.unwrap() + 1
        });
        let other = {
            let scheduler = scheduler.clone();
            thread::spawn(move || scheduler.run_until_idle())
        };
        scheduler.run_until_idle();
        other.join().unwrap();
        scheduler.run_until_idle();
        assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(21));
        scheduler.shutdown();
    });
}

#[test]
fn a_panicking_poll_completes_the_task_with_the_panic() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move {
            let _guard = guard;
            panic!("inside the task");
        });
        scheduler.run_until_idle();
        assert_eq!(drops.count(), 1);
        match poll_join(&mut handle) {
            Poll::Ready(Err(error)) => assert!(error.is_panic()),
            other => panic!("unexpected {other:?}"),
        }
        scheduler.shutdown();
    });
}

#[test]
fn abort_of_an_idle_task_drops_the_future_on_the_spot() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        scheduler.run_until_idle();
        handle.abort();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
        scheduler.shutdown();
    });
}

/// An `abort` from another thread drops an idle task's future there, holding `RUNNING`,
/// while the runtime shuts down: the shutdown must not return before that drop is done
/// (`Runtime`'s drop promises every future is gone when it returns).
#[test]
fn shutdown_waits_for_a_future_dropped_by_an_abort_elsewhere() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let handle = scheduler.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        scheduler.run_until_idle();
        let aborter = thread::spawn(move || {
            handle.abort();
            drop(handle);
        });
        scheduler.shutdown();
        assert_eq!(
            drops.count(),
            1,
            "shutdown returned before the future was dropped"
        );
        aborter.join().unwrap();
    });
}

#[test]
fn spawning_after_shutdown_cancels_at_once() {
    model(|| {
        let scheduler = TestScheduler::new();
        scheduler.shutdown();
        let drops = DropCounter::new();
        let guard = drops.guard();
        let mut handle = scheduler.spawn(async move {
            let _guard = guard;
        });
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

#[test]
fn an_output_is_dropped_once_whether_taken_left_unread_or_detached() {
    model(|| {
        let scheduler = TestScheduler::new();
        let drops = DropCounter::new();

        // Taken by the handle: dropped by whoever took it, not again with the handle.
        let guard = drops.guard();
        let mut taken = scheduler.spawn(async move { guard });
        scheduler.run_until_idle();
        let Poll::Ready(Ok(output)) = poll_join(&mut taken) else {
            panic!("the task finished");
        };
        drop(output);
        drop(taken);
        assert_eq!(drops.count(), 1);

        // Never read: dropped with the handle.
        let guard = drops.guard();
        let unread = scheduler.spawn(async move { guard });
        scheduler.run_until_idle();
        assert_eq!(drops.count(), 1);
        drop(unread);
        assert_eq!(drops.count(), 2);

        // Detached before it ran: dropped on completion.
        let guard = drops.guard();
        drop(scheduler.spawn(async move { guard }));
        scheduler.run_until_idle();
        assert_eq!(drops.count(), 3);
        scheduler.shutdown();
    });
}

#[test]
fn a_join_handle_polled_with_another_waker_wakes_only_the_last_one() {
    model(|| {
        let scheduler = TestScheduler::new();
        let ready = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Mutex::new(None));
        let mut handle = scheduler.spawn(wait_for(ready.clone(), slot.clone()));
        scheduler.run_until_idle();
        let (first, first_waker) = flag_waker();
        let (second, second_waker) = flag_waker();
        for waker in [&first_waker, &first_waker, &second_waker] {
            let poll = Pin::new(&mut handle).poll(&mut Context::from_waker(waker));
            assert!(poll.is_pending());
        }
        release_from_thread(ready, 7, slot).join().unwrap();
        scheduler.run_until_idle();
        let woken = |flag: &Flag| flag.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(!woken(&first) && woken(&second));
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Ok(7))));
        drop(handle);
        scheduler.shutdown();
    });
}

/// Spawns `count` tasks that wait forever, each holding a guard of `drops`, and polls them.
#[cfg(not(loom))]
fn spawn_waiting(
    scheduler: &TestScheduler,
    drops: &DropCounter,
    count: usize,
) -> Vec<JoinHandle<()>> {
    let handles = (0..count)
        .map(|_| {
            let guard = drops.guard();
            scheduler.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
        })
        .collect();
    scheduler.run_until_idle();
    handles
}

// Several chunks of the owner list's slab, completed out of order: every slot freed is found
// again, taken by one task at a time, and nothing is left for the shutdown to miss.
#[cfg(not(loom))]
#[test]
fn the_owner_list_reuses_freed_slots_and_its_shutdown_finds_every_task() {
    let scheduler = TestScheduler::new();
    let drops = DropCounter::new();
    let first = spawn_waiting(&scheduler, &drops, 700);
    assert_eq!(scheduler.0.owned.len(), 700);
    for handle in first.iter().step_by(2) {
        handle.abort();
    }
    assert_eq!((scheduler.0.owned.len(), drops.count()), (350, 350));

    let second = spawn_waiting(&scheduler, &drops, 400);
    assert_eq!(scheduler.0.owned.len(), 750);
    for handle in first.iter().chain(&second) {
        handle.abort();
    }
    assert_eq!((scheduler.0.owned.len(), drops.count()), (0, 1100));

    // Emptied, the list starts over.
    let third = spawn_waiting(&scheduler, &drops, 300);
    assert_eq!(scheduler.0.owned.len(), 300);
    third[299].abort();
    scheduler.shutdown();
    assert_eq!((scheduler.0.owned.len(), drops.count()), (0, 1400));
    for handle in first.into_iter().chain(second).chain(third) {
        let mut handle = handle;
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    }
}

#[cfg(not(loom))]
#[test]
#[should_panic(expected = "`JoinHandle` polled after it returned `Poll::Ready`")]
fn a_join_handle_polled_after_its_output_panics() {
    let scheduler = TestScheduler::new();
    let mut handle = scheduler.spawn(async { 1 });
    scheduler.run_until_idle();
    assert!(matches!(poll_join(&mut handle), Poll::Ready(Ok(1))));
    let _ = poll_join(&mut handle);
}

#[test]
fn a_poll_returns_the_spawn_site_and_a_cancellation_none() {
    model(|| {
        let scheduler = TestScheduler::new();
        let line = line!() + 1;
        let pending = scheduler.spawn(std::future::pending::<()>());
        let task = scheduler.0.tasks.lock().unwrap().pop_front().unwrap();
        let spawned_at = task.run().expect("the future was polled");
        assert_eq!((spawned_at.file(), spawned_at.line()), (file!(), line));

        let aborted = scheduler.spawn(async {});
        aborted.abort();
        let task = scheduler.0.tasks.lock().unwrap().pop_front().unwrap();
        assert!(task.run().is_none(), "a cancellation polls no future");
        drop((pending, aborted));
        scheduler.shutdown();
    });
}

#[test]
fn a_held_yield_keeps_running_through_the_queue_and_polls_again() {
    model(|| {
        let scheduler = TestScheduler::new();
        let inner = scheduler.clone();
        let mut handle = scheduler.spawn(async move {
            for _ in 0..3 {
                inner.held_yield().await;
            }
            7
        });
        assert!(scheduler.run_one());
        assert!(scheduler.front_is_held_and_running());
        scheduler.run_until_idle();
        assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(7));
        scheduler.shutdown();
    });
}

#[test]
fn a_wake_while_held_is_not_lost() {
    model(|| {
        let scheduler = TestScheduler::new();
        let inner = scheduler.clone();
        let ready = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let mut handle = scheduler.spawn({
            let (ready, slot) = (ready.clone(), slot.clone());
            async move {
                // The waker is out before the held yield, so the wake may land while the
                // task sits in the queue holding RUNNING, during the next poll, or after it.
                std::future::poll_fn(|cx| {
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                inner.held_yield().await;
                std::future::poll_fn(|_| match ready.load(Ordering::SeqCst) {
                    0 => Poll::Pending,
                    value => Poll::Ready(value),
                })
                .await
            }
        });
        assert!(scheduler.run_one());
        let waker_thread = release_from_thread(ready, 5, slot);
        scheduler.run_until_idle();
        waker_thread.join().unwrap();
        scheduler.run_until_idle();
        assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(5));
        scheduler.shutdown();
    });
}

/// A task that yields held forever, polled once: it sits in the queue holding `RUNNING`.
fn spawn_held_forever() -> (TestScheduler, DropCounter, JoinHandle<()>) {
    let scheduler = TestScheduler::new();
    let inner = scheduler.clone();
    let drops = DropCounter::new();
    let guard = drops.guard();
    let handle = scheduler.spawn(async move {
        let _guard = guard;
        loop {
            inner.held_yield().await;
        }
    });
    assert!(scheduler.run_one());
    assert!(scheduler.front_is_held_and_running());
    (scheduler, drops, handle)
}

#[test]
fn abort_of_a_held_task_cancels_it_at_its_next_run() {
    model(|| {
        let (scheduler, drops, mut handle) = spawn_held_forever();
        let abort = handle.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        // Runs until the abort is seen: the task yields held until then.
        while drops.count() == 0 {
            assert!(scheduler.run_one(), "a held task is always queued");
            thread::yield_now();
        }
        aborter.join().unwrap();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
        assert!(!scheduler.run_one());
        scheduler.shutdown();
    });
}

#[test]
fn a_held_task_dropped_by_the_shutdown_drops_its_future_once() {
    model(|| {
        let (scheduler, drops, mut handle) = spawn_held_forever();
        // The held entry gives `RUNNING` back, and the owner list's pass cancels the task.
        scheduler.shutdown();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

#[test]
fn a_held_task_handed_back_by_a_stopping_worker_is_cancelled_by_the_shutdown() {
    model(|| {
        let (scheduler, drops, mut handle) = spawn_held_forever();
        // A waker taken out during the first poll races the hand-back.
        let held = scheduler.0.tasks.lock().unwrap().pop_front().unwrap();
        // SAFETY: the queued `Notified` keeps the task alive while we clone its waker.
        let waker = unsafe { super::waker::waker_ref(held.header_ptr()) }.clone();
        let waker_thread = thread::spawn(move || waker.wake());
        // What a stopping worker does with its queue.
        drop(held.into_unheld());
        waker_thread.join().unwrap();
        assert_eq!(drops.count(), 0, "handing back does not drop the future");
        scheduler.shutdown();
        assert_eq!(drops.count(), 1);
        assert!(matches!(poll_join(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

/// Regression tests (caught by Miri) for tasks that another thread completes and frees while
/// the call that handed them over is still running:
///
/// - a wake by value hands the task on while `schedule(&self)`, whose `&self` lives inside
///   the task, still runs: the waker's own reference must keep the task alive until then;
/// - a yield queues the task with the poller's own reference (no extra one) through
///   `requeue_woken`, which must read what it needs first; the harness must not touch the task
///   afterwards either.
#[cfg(not(loom))]
mod handoff {
    use std::ptr::NonNull;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::task::{Poll, Waker};
    use std::thread::JoinHandle;

    use super::super::list::OwnedTasks;
    use super::super::{new_task, Header, Notified, Schedule, Task};

    struct Inner {
        to_runner: Mutex<mpsc::Sender<Notified>>,
        done: Mutex<mpsc::Receiver<()>>,
        owned: OwnedTasks,
    }

    /// Hands every task to a runner thread, as `push_remote` or a thief would, and waits
    /// until that thread has run it (a worker may be that fast).
    #[derive(Clone)]
    struct HandOff(Arc<Inner>);

    impl Inner {
        fn wait_until_run(&self) {
            self.done
                .lock()
                .unwrap()
                .recv()
                .expect("the runner ran the task");
        }
    }

    impl Schedule for HandOff {
        fn schedule(&self, task: Notified) {
            self.0.to_runner.lock().unwrap().send(task).unwrap();
            // `&self` is still live and read here, after the hand-off.
            self.0.clone().wait_until_run();
        }
        fn yield_now(&self, _task: Notified) {
            unreachable!("`requeue_woken` queues every yield");
        }
        unsafe fn requeue_woken(this: NonNull<Self>, task: Notified) -> Option<Notified> {
            // What a worker does: read the scheduler first, then queue the task.
            // SAFETY: the task, and `*this` in it, is alive until it is sent below.
            let inner = unsafe { this.as_ref() }.0.clone();
            inner.to_runner.lock().unwrap().send(task).unwrap();
            inner.wait_until_run();
            None
        }
        fn release(&self, task: NonNull<Header>) -> Option<Task> {
            self.0.owned.remove(task)
        }
    }

    /// Binds a detached task running `future` to a fresh `HandOff`, and starts the runner
    /// thread, which runs one handed-off task (completing and freeing it).
    fn detached_task(
        future: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (Notified, JoinHandle<()>) {
        let (to_runner, handed_off) = mpsc::channel::<Notified>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let scheduler = HandOff(Arc::new(Inner {
            to_runner: Mutex::new(to_runner),
            done: Mutex::new(done_rx),
            owned: OwnedTasks::new(1),
        }));
        let (task, notified, join) = new_task(future, scheduler.clone());
        scheduler.0.owned.bind(task).ok().unwrap();
        drop(join); // detached: completing frees the task
        let runner = std::thread::spawn(move || {
            handed_off.recv().unwrap().run();
            done_tx.send(()).unwrap();
        });
        (notified, runner)
    }

    #[test]
    fn a_task_completed_elsewhere_during_schedule_outlives_the_call() {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let slot2 = slot.clone();
        let mut first = true;
        let (notified, runner) = detached_task(std::future::poll_fn(move |cx| {
            if first {
                first = false;
                *slot2.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }));
        notified.run(); // first poll: Pending, waker stored
        let waker = slot.lock().unwrap().take().unwrap();
        waker.wake(); // by value: Submit moves the waker's only reference into the Notified
        runner.join().unwrap();
    }

    #[test]
    fn a_yielded_task_freed_by_a_thief_is_not_touched_again() {
        let mut yielded = false;
        let (notified, runner) = detached_task(std::future::poll_fn(move |cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }));
        notified.run(); // yields; the runner finishes the task inside `requeue_woken`
        runner.join().unwrap();
    }
}

/// The real runtime on real threads: the yield path (`Handle::requeue_woken`) with stealing
/// between two workers. Small enough for Miri, which runs it in a second pass with Tree
/// Borrows (see `scripts/miri`): crossbeam-deque's epoch collector is not Stacked Borrows clean.
#[cfg(not(loom))]
mod whole_runtime {
    #[test]
    fn tasks_that_yield_on_two_workers_complete() {
        let rt = crate::Builder::new().worker_threads(2).build().unwrap();
        let handles: Vec<_> = (0..4u32)
            .map(|index| {
                rt.spawn(async move {
                    for _ in 0..10 {
                        crate::yield_now().await;
                    }
                    index
                })
            })
            .collect();
        let outputs: Vec<u32> = rt.block_on(async {
            let mut outputs = Vec::new();
            for handle in handles {
                outputs.push(handle.await.unwrap());
            }
            outputs
        });
        assert_eq!(outputs, [0, 1, 2, 3]);
    }

    /// An enter guard made inside a `block_on` and dropped after it returned (and after the
    /// `block_on`'s runtime was dropped): the `block_on` leaves the context as it found it,
    /// and dropping the guard later puts back what was current when the guard was made,
    /// which is never the runtime the `block_on` lent to the context (only lent, never saved).
    #[test]
    fn an_enter_guard_that_outlives_block_on_never_puts_back_its_runtime() {
        // On a thread of its own, with a watchdog: a context pointing at freed memory may
        // hang rather than crash outside Miri.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let first = crate::Builder::new().worker_threads(1).build().unwrap();
            let second = crate::Builder::new().worker_threads(2).build().unwrap();
            let guard = first.block_on(async {
                assert!(crate::Handle::try_current().is_ok());
                second.enter()
            });
            assert!(crate::Handle::try_current().is_err());
            drop(first);
            drop(guard);
            assert!(crate::Handle::try_current().is_err());
            // The `block_on`'s mark went with it: blocking is allowed again.
            done.send(second.block_on(async { crate::spawn(async { 7 }).await.unwrap() }))
                .unwrap();
        });
        let output = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the test body finishes (a panic in it, or a hang, ends up here)");
        assert_eq!(output, 7);
    }
}

/// An abandoned worker coming back pops a held entry of its queue just before the
/// shutdown's `release_queue_of_abandoned` looks (so the shutdown never sees it), and gives
/// its `RUNNING` back only after the shutdown's pass over the owner list marked it
/// cancelled and began waiting for it.
#[cfg(not(loom))]
#[test]
fn a_held_entry_handed_back_after_the_shutdowns_pass_is_cancelled_not_waited_for() {
    let (scheduler, drops, _handle) = spawn_held_forever();
    // The returning worker's `core.local.pop()`.
    let held = scheduler.0.tasks.lock().unwrap().pop_front().unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let shutdown = {
        let scheduler = scheduler.clone();
        std::thread::spawn(move || {
            scheduler.0.owned.close_and_cancel_all(&[]);
            let _ = done.send(());
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The returning worker's `drop(task.into_unheld())`.
    drop(held.into_unheld());
    let result = finished.recv_timeout(std::time::Duration::from_secs(2));
    assert!(
        result.is_ok(),
        "the shutdown waits forever for a task nobody holds; drops = {}",
        drops.count()
    );
    shutdown.join().unwrap();
    assert_eq!(drops.count(), 1);
}
