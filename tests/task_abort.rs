//! Cancellation: `abort`, detaching, and panicking destructors.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{on_each_runtime, DropCounter, DropFlag};
use futures::channel::oneshot;

#[test]
fn abort_from_another_thread_drops_the_future_before_the_handle_resolves() {
    on_each_runtime(|rt| {
        let dropped = DropFlag::new();
        let guard = dropped.guard();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let handle = rt.spawn(async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        rt.block_on(started_rx).unwrap();
        let handle = Arc::new(handle);
        let aborter = handle.clone();
        std::thread::spawn(move || aborter.abort()).join().unwrap();
        let handle = Arc::into_inner(handle).unwrap();
        let flag = dropped.clone();
        let error = rt
            .block_on(async move {
                let result = handle.await;
                assert!(
                    flag.is_set(),
                    "the future was dropped before the handle resolved"
                );
                result
            })
            .unwrap_err();
        assert!(error.is_cancelled());
        assert!(!error.is_panic());
        assert_eq!(error.to_string(), "task was cancelled");
    });
}

#[test]
fn abort_of_an_idle_task_drops_its_future_on_the_aborting_thread() {
    on_each_runtime(|rt| {
        struct RecordThread(Arc<Mutex<Option<std::thread::ThreadId>>>);
        impl Drop for RecordThread {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = Some(std::thread::current().id());
            }
        }
        let dropped_on = Arc::new(Mutex::new(None));
        let recorder = RecordThread(dropped_on.clone());
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let handle = rt.spawn(async move {
            let _recorder = recorder;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        rt.block_on(started_rx).unwrap();
        // Give the worker time to finish the poll that sent the message, so the task is idle.
        std::thread::sleep(Duration::from_millis(100));
        handle.abort();
        assert_eq!(
            *dropped_on.lock().unwrap(),
            Some(std::thread::current().id()),
            "an idle task's future is dropped by `abort` itself"
        );
        assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    });
}

#[test]
fn abort_then_drop_handle_frees_the_task() {
    on_each_runtime(|rt| {
        let resource = Arc::new(());
        let held = resource.clone();
        let handle = rt.spawn(async move {
            let _held = held;
            std::future::pending::<()>().await;
        });
        handle.abort();
        drop(handle);
        // The cancellation happens here or on a worker, promptly.
        while Arc::strong_count(&resource) != 1 {
            std::thread::yield_now();
        }
        while rt.metrics().num_alive_tasks() != 0 {
            std::thread::yield_now();
        }
    });
}

#[test]
fn aborting_a_finished_task_keeps_its_output() {
    on_each_runtime(|rt| {
        let handle = rt.spawn(async { 5 });
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        handle.abort();
        assert_eq!(rt.block_on(handle).unwrap(), 5);
    });
}

#[test]
fn a_task_aborting_itself_is_cancelled_after_its_poll() {
    on_each_runtime(|rt| {
        let (abort_tx, abort_rx) = oneshot::channel::<fiber::AbortHandle>();
        let reached_end = Arc::new(AtomicBool::new(false));
        let flag = reached_end.clone();
        let handle = rt.spawn(async move {
            abort_rx.await.unwrap().abort();
            fiber::yield_now().await;
            flag.store(true, Ordering::SeqCst);
        });
        abort_tx.send(handle.abort_handle()).unwrap();
        assert!(rt.block_on(handle).unwrap_err().is_cancelled());
        assert!(
            !reached_end.load(Ordering::SeqCst),
            "a cancelled task was polled again"
        );
    });
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    on_each_runtime(|rt| {
        let (sender, receiver) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        drop(rt.spawn(async move {
            go_rx.await.unwrap();
            sender.send(7).unwrap();
        }));
        go_tx.send(()).unwrap();
        assert_eq!(receiver.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
    });
}

#[test]
fn an_aborted_future_whose_drop_panics_does_not_take_the_runtime_down() {
    on_each_runtime(|rt| {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("destructor panicked");
            }
        }
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let handle = rt.spawn(async move {
            let _bomb = PanicOnDrop;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        rt.block_on(started_rx).unwrap();
        handle.abort();
        let error = rt.block_on(handle).unwrap_err();
        assert!(error.is_panic(), "{error:?}");
        assert!(error.to_string().contains("destructor panicked"));
        // Every worker still runs tasks.
        let handles: Vec<_> = (0..16).map(|i| rt.spawn(async move { i })).collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(rt.block_on(handle).unwrap(), i);
        }
    });
}

#[test]
fn a_task_waking_itself_every_poll_completes_and_its_stale_waker_is_harmless() {
    on_each_runtime(|rt| {
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let (p, w, d) = (polls.clone(), waker_slot.clone(), done.clone());
        let handle = rt.spawn(std::future::poll_fn(move |cx| {
            p.fetch_add(1, Ordering::SeqCst);
            if d.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            // Wake ourselves several times during the poll: one re-queue must follow.
            for _ in 0..5 {
                cx.waker().wake_by_ref();
            }
            *w.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }));
        while polls.load(Ordering::SeqCst) < 3 {
            std::thread::yield_now();
        }
        done.store(true, Ordering::SeqCst);
        rt.block_on(handle).unwrap();
        // After completion, stored wakers are harmless.
        let waker = waker_slot.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

#[test]
fn dropped_counter_sees_each_aborted_future_once() {
    on_each_runtime(|rt| {
        let counter = DropCounter::new();
        let handles: Vec<_> = (0..200)
            .map(|_| {
                let guard = counter.guard();
                rt.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                })
            })
            .collect();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            assert!(rt.block_on(handle).unwrap_err().is_cancelled());
        }
        assert_eq!(counter.count(), 200);
    });
}
