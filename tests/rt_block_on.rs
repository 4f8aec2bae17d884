//! `block_on`: on the calling thread, in the runtime's context, and never nested.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use common::{on_each_runtime, watchdog};

#[test]
fn block_on_polls_on_the_calling_thread() {
    on_each_runtime(|rt| {
        let caller = std::thread::current().id();
        let polled_on = rt.block_on(async { std::thread::current().id() });
        assert_eq!(polled_on, caller);
    });
}

#[test]
fn block_on_drives_futures_woken_from_other_threads() {
    on_each_runtime(|rt| {
        let (sender, receiver) = futures::channel::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            sender.send(5).unwrap();
        });
        assert_eq!(rt.block_on(receiver).unwrap(), 5);
    });
}

#[test]
fn handle_current_finds_the_runtime_inside_block_on_and_on_workers() {
    on_each_runtime(|rt| {
        assert!(fiber::Handle::try_current().is_err());
        rt.block_on(async {
            let inside = fiber::Handle::current();
            let on_worker = fiber::spawn(async { fiber::Handle::try_current().is_ok() });
            assert!(on_worker.await.unwrap());
            drop(inside);
        });
        assert!(fiber::Handle::try_current().is_err());
    });
}

#[test]
fn enter_makes_spawn_work_without_blocking() {
    on_each_runtime(|rt| {
        let handle = {
            let _guard = rt.enter();
            fiber::spawn(async { 9 })
        };
        assert!(fiber::Handle::try_current().is_err());
        assert_eq!(rt.block_on(handle).unwrap(), 9);
    });
}

#[test]
#[should_panic(expected = "cannot call `block_on` from inside a fiber runtime")]
fn nested_block_on_panics_with_a_clear_message() {
    let rt = fiber::Runtime::new().unwrap();
    rt.block_on(async { rt.block_on(async {}) });
}

#[test]
#[should_panic(expected = "cannot call `block_on` from inside a fiber runtime")]
fn global_block_on_inside_a_runtime_block_on_panics() {
    let rt = fiber::Runtime::new().unwrap();
    rt.block_on(async { fiber::block_on(async {}) });
}

#[test]
fn block_on_on_a_worker_thread_panics_inside_the_task() {
    on_each_runtime(|rt| {
        let handle = rt.handle().clone();
        let error = rt
            .block_on(rt.spawn(async move { handle.block_on(async {}) }))
            .unwrap_err();
        assert!(error.is_panic());
        assert!(
            error.to_string().contains("cannot call `block_on`"),
            "{error}"
        );
    });
}

#[test]
fn the_context_is_restored_after_a_panicking_block_on() {
    let rt = fiber::Runtime::new().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("inside") })
    }));
    assert!(result.is_err());
    assert!(fiber::Handle::try_current().is_err());
    assert_eq!(rt.block_on(async { 1 }), 1);
}

#[test]
#[should_panic(expected = "`fiber::spawn` called outside a fiber runtime")]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    drop(fiber::spawn(async {}));
}

#[test]
#[should_panic(expected = "`Handle::current` failed")]
fn handle_current_outside_a_runtime_panics_naming_the_cause() {
    let _ = fiber::Handle::current();
}

#[test]
fn global_block_on_runs_spawned_tasks() {
    watchdog(|| {
        let sum = fiber::block_on(async {
            let handles: Vec<_> = (0..100u64)
                .map(|i| fiber::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 4950);
    });
}

#[test]
fn yield_now_returns_pending_once_under_any_executor() {
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    futures::executor::block_on(async move {
        let mut yield_once = std::pin::pin!(fiber::yield_now());
        std::future::poll_fn(|cx| {
            counted.fetch_add(1, Ordering::SeqCst);
            yield_once.as_mut().poll(cx)
        })
        .await;
    });
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[test]
#[should_panic(expected = "at least one worker thread")]
fn zero_worker_threads_panics_clearly() {
    fiber::Builder::new().worker_threads(0);
}

#[test]
fn builder_names_threads_and_runs_hooks_once_per_worker() {
    watchdog(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let (s, t) = (started.clone(), stopped.clone());
        let rt = fiber::Builder::new()
            .worker_threads(4)
            .thread_name("fiber-test-worker")
            .on_thread_start(move || {
                assert_eq!(std::thread::current().name(), Some("fiber-test-worker"));
                s.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                t.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let name = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("fiber-test-worker"));
        drop(rt);
        assert_eq!(started.load(Ordering::SeqCst), 4);
        assert_eq!(stopped.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn a_forgotten_enter_guard_leaves_a_valid_context() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        std::mem::forget(rt.enter());
        drop(rt);
        // The context still names the (now shut down) runtime, safely.
        let handle = fiber::Handle::try_current().expect("the leaked context");
        let task = handle.spawn(async {});
        assert!(futures::executor::block_on(task)
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn enter_guards_dropped_out_of_order_stay_memory_safe() {
    watchdog(|| {
        let first = fiber::Runtime::new().unwrap();
        let second = fiber::Runtime::new().unwrap();
        let guard_one = first.enter();
        let guard_two = second.enter();
        drop(guard_one);
        drop(guard_two);
        drop(first);
        // The context points at `first` again, which the context keeps alive.
        let handle = fiber::Handle::try_current().expect("a context");
        assert!(futures::executor::block_on(handle.spawn(async {}))
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn an_enter_guard_made_inside_block_on_and_kept_after_it_stays_memory_safe() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let other = fiber::Runtime::new().unwrap();
        let guard = rt.block_on(async { other.enter() });
        // The `block_on` left the context as it found it, and the guard outlives it: dropping
        // it now puts back what was current when it was made (nothing, as `rt` was only lent
        // to the context), and never a runtime that may be gone.
        assert!(fiber::Handle::try_current().is_err());
        drop(rt);
        drop(guard);
        assert!(fiber::Handle::try_current().is_err());
        assert_eq!(
            other
                .block_on(async { fiber::spawn(async { 7 }).await })
                .unwrap(),
            7
        );
    });
}

#[test]
fn an_enter_guard_forgotten_inside_block_on_is_cleared_when_it_returns() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let other = fiber::Runtime::new().unwrap();
        let workers = rt.block_on(async {
            std::mem::forget(other.enter());
            fiber::spawn(async { fiber::Handle::current().metrics().num_workers() }).await
        });
        assert_eq!(workers.unwrap(), other.metrics().num_workers());
        assert!(fiber::Handle::try_current().is_err());
        // `rt` still works after its context was replaced under it.
        assert_eq!(
            rt.block_on(async { fiber::spawn(async { 7 }).await })
                .unwrap(),
            7
        );
    });
}

#[test]
fn self_wakes_and_wakes_from_another_thread_mix_in_one_block_on() {
    use futures::channel::mpsc;
    use futures::{SinkExt, StreamExt};

    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let (mut to_echo, mut requests) = mpsc::channel::<u32>(1);
        let (mut replies_in, mut replies) = mpsc::channel::<u32>(1);
        let echo = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                while let Some(value) = requests.next().await {
                    replies_in.send(value + 1).await.unwrap();
                }
            })
        });
        let yields = Arc::new(AtomicUsize::new(0));
        let counted = yields.clone();
        let (sum, ()) = rt.block_on(futures::future::join(
            async move {
                let mut sum = 0;
                for value in 0..300 {
                    to_echo.send(value).await.unwrap();
                    sum += replies.next().await.unwrap();
                }
                sum
            },
            async move {
                for _ in 0..3_000 {
                    fiber::yield_now().await;
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            },
        ));
        echo.join().unwrap();
        assert_eq!(sum, (1..=300).sum::<u32>());
        assert_eq!(yields.load(Ordering::Relaxed), 3_000);
    });
}

#[test]
fn a_waker_kept_past_its_block_on_wakes_harmlessly() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let kept = rt.block_on(std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        // Between `block_on`s: no future of this thread is being polled.
        kept.wake_by_ref();
        // During a later `block_on` on the same thread, which must still park and be woken
        // by a task on a worker.
        let answer = rt.block_on(async {
            kept.wake_by_ref();
            fiber::spawn(async {
                std::thread::sleep(std::time::Duration::from_millis(20));
                42
            })
            .await
        });
        assert_eq!(answer.unwrap(), 42);
        // And from another thread, once that `block_on` is over.
        std::thread::spawn(move || kept.wake()).join().unwrap();
        assert_eq!(
            rt.block_on(async { fiber::spawn(async { 1 }).await })
                .unwrap(),
            1
        );
    });
}

#[test]
fn block_on_works_in_a_thread_local_destructor() {
    struct BlockOnWhenDropped(std::sync::mpsc::Sender<u32>);

    impl Drop for BlockOnWhenDropped {
        fn drop(&mut self) {
            // The thread's own parker may already be gone by now.
            let value = fiber::block_on(async { fiber::spawn(async { 9 }).await.unwrap() });
            let _ = self.0.send(value);
        }
    }

    thread_local! {
        static ON_EXIT: std::cell::RefCell<Option<BlockOnWhenDropped>> =
            const { std::cell::RefCell::new(None) };
    }

    watchdog(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Registered before the thread's parker, so destroyed after it where
            // destructors run last-registered first.
            ON_EXIT.with(|slot| *slot.borrow_mut() = Some(BlockOnWhenDropped(sender)));
            assert_eq!(
                fiber::block_on(async { fiber::spawn(async { 1 }).await.unwrap() }),
                1
            );
        })
        .join()
        .unwrap();
        assert_eq!(receiver.recv().unwrap(), 9);
    });
}

#[test]
fn a_waker_outliving_its_thread_wakes_the_next_thread_harmlessly() {
    watchdog(|| {
        let rt = Arc::new(fiber::Runtime::new().unwrap());
        let first = rt.clone();
        // A `block_on` waker kept after its thread exited; the thread's parker may go on to
        // serve the next thread that blocks (this one, unless another test's takes it).
        let stale = std::thread::spawn(move || {
            first.block_on(std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())))
        })
        .join()
        .unwrap();
        let second = rt.clone();
        let waker_for_stale = stale.clone();
        let polls = std::thread::spawn(move || {
            let (sender, receiver) = futures::channel::oneshot::channel::<u32>();
            let polls = Arc::new(AtomicUsize::new(0));
            let counted = polls.clone();
            let mut receiver = Some(receiver);
            let value = second.block_on(async move {
                let handle = fiber::spawn(async move {
                    // Wake through the stale waker while the receiver waits, then send.
                    waker_for_stale.wake_by_ref();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    waker_for_stale.wake();
                    sender.send(5).unwrap();
                });
                let value = std::future::poll_fn(|cx| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    std::pin::Pin::new(receiver.as_mut().unwrap()).poll(cx)
                })
                .await
                .unwrap();
                handle.await.unwrap();
                value
            });
            assert_eq!(value, 5);
            polls.load(Ordering::SeqCst)
        })
        .join()
        .unwrap();
        // The first poll and the real wake's, plus a few at most for the stale wakes (and
        // for any wake a reused parker still carried): never a busy loop.
        assert!((2..=8).contains(&polls), "polled {polls} times");
        drop(stale);
    });
}

#[test]
fn a_ready_block_on_has_the_runtime_context_for_spawn_and_handle_current() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        let mut handles = Vec::new();
        for i in 0..100u64 {
            // Each of these completes in its first poll, which must run inside the context.
            assert_eq!(rt.block_on(std::future::ready(i)), i);
            handles.push(rt.block_on(spawn_in_first_poll(i)));
            handles.push(rt.block_on(spawn_in_first_poll(i * 2)));
            let found = rt.block_on(async { fiber::Handle::try_current().is_ok() });
            assert!(found, "Handle::current failed inside a ready block_on");
        }
        let sum: u64 = rt.block_on(async {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 3 * 4950);
        assert!(
            fiber::Handle::try_current().is_err(),
            "the context leaked out"
        );
        let global = fiber::block_on(spawn_in_first_poll(5));
        assert_eq!(fiber::block_on(global).unwrap(), 5);
    });
}

/// A future that spawns a task returning `value` and completes in its first poll.
fn spawn_in_first_poll(value: u64) -> impl Future<Output = fiber::JoinHandle<u64>> {
    let mut value = Some(value);
    std::future::poll_fn(move |_| {
        let value = value.take().expect("polled after completion");
        Poll::Ready(fiber::spawn(async move { value }))
    })
}

#[test]
fn a_wake_from_another_thread_during_the_first_poll_is_not_lost() {
    watchdog(|| {
        let rt = fiber::Runtime::new().unwrap();
        for _ in 0..200 {
            let mut polls = 0;
            let output = rt.block_on(std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    // Woken by another thread while this first poll still runs.
                    let waker = cx.waker().clone();
                    std::thread::spawn(move || waker.wake()).join().unwrap();
                    return Poll::Pending;
                }
                Poll::Ready(polls)
            }));
            assert_eq!(output, 2);
        }
    });
}

/// A task that runs on the thread that took over a worker blocked in `block_in_place` runs on
/// a worker too: `block_on` there panics as on any worker, rather than stall the queue of the
/// core it holds.
#[test]
fn block_on_in_a_task_on_a_lent_worker_core_panics() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (entered, inside) = std::sync::mpsc::channel::<()>();
        let blocker = rt.spawn(async move {
            fiber::block_in_place(move || {
                entered.send(()).unwrap();
                released.recv().unwrap();
            })
        });
        inside.recv().unwrap();
        // The only worker's core is lent: this task runs on the thread that borrowed it.
        let outcome = rt
            .block_on(rt.spawn(async {
                let handle = fiber::Handle::current();
                let nested = std::panic::AssertUnwindSafe(|| handle.block_on(async { 1 }));
                std::panic::catch_unwind(nested).map_err(|payload| {
                    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
                    message.to_string()
                })
            }))
            .unwrap();
        release.send(()).unwrap();
        rt.block_on(blocker).unwrap();
        let message = outcome.expect_err("block_on ran on a worker's core");
        assert!(message.contains("cannot call `block_on`"), "{message}");
    });
}

/// Once a `block_in_place` closure has returned, the rest of the task's poll runs on a worker
/// again, where `block_on` panics, even before the worker loop takes its core back.
#[test]
fn block_on_after_block_in_place_in_the_same_poll_panics() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let outcome = rt
            .block_on(rt.spawn(async {
                let inside = fiber::block_in_place(|| {
                    fiber::Handle::current().block_on(async { fiber::spawn(async { 2 }).await })
                });
                let handle = fiber::Handle::current();
                let after = std::panic::AssertUnwindSafe(|| handle.block_on(async { 1 }));
                (inside.unwrap(), std::panic::catch_unwind(after).is_err())
            }))
            .unwrap();
        assert_eq!(
            outcome,
            (2, true),
            "block_on ran on a worker after block_in_place"
        );
    });
}

/// A second `block_in_place` in one poll (the core already lent by the first) may block, and
/// call `block_on`, as the first may.
#[test]
fn a_second_block_in_place_in_one_poll_allows_block_on_inside() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let sum = rt
            .block_on(rt.spawn(async {
                let first = fiber::block_in_place(|| {
                    fiber::Handle::current().block_on(fiber::spawn(async { 1 }))
                });
                let second = fiber::block_in_place(|| {
                    fiber::Handle::current().block_on(fiber::spawn(async { 2 }))
                });
                first.unwrap() + second.unwrap()
            }))
            .unwrap();
        assert_eq!(sum, 3);
    });
}

/// A `block_in_place` nested in another's closure leaves that closure free to block: a
/// `block_on` after the nested one returns still runs.
#[test]
fn block_on_after_a_nested_block_in_place_inside_the_closure_runs() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let value = rt
            .block_on(rt.spawn(async {
                fiber::block_in_place(|| {
                    fiber::block_in_place(|| ());
                    fiber::Handle::current().block_on(fiber::spawn(async { 5 }))
                })
            }))
            .unwrap();
        assert_eq!(value.unwrap(), 5);
    });
}
