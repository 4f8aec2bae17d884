//! `LocalSet` and `spawn_local`: `!Send` futures on the thread that owns the set.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{watchdog, DropCounter};
use fiber::task::{spawn_local, JoinHandle, LocalSet};
use futures::channel::oneshot;

fn runtime() -> fiber::Runtime {
    fiber::Builder::new().worker_threads(2).build().unwrap()
}

#[test]
fn a_future_holding_an_rc_runs_on_the_owner_thread() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let owner = std::thread::current().id();
        let shared = Rc::new(RefCell::new(Vec::new()));
        let task = local.spawn_local({
            let shared = Rc::clone(&shared);
            async move {
                for n in 0..3 {
                    fiber::yield_now().await;
                    fiber::time::sleep(Duration::from_millis(1)).await;
                    assert_eq!(std::thread::current().id(), owner);
                    shared.borrow_mut().push(n);
                }
                Rc::strong_count(&shared)
            }
        });
        let count = local.block_on(&rt, task).unwrap();
        assert_eq!(count, 2);
        assert_eq!(*shared.borrow(), [0, 1, 2]);
    });
}

#[test]
fn spawn_local_inside_run_until_spawns_into_the_set() {
    watchdog(|| {
        let local = LocalSet::new();
        let total = fiber::block_on(local.run_until(async {
            let counter = Rc::new(Cell::new(0));
            let handles: Vec<JoinHandle<()>> = (0..10)
                .map(|_| {
                    let counter = Rc::clone(&counter);
                    spawn_local(async move {
                        fiber::yield_now().await;
                        counter.set(counter.get() + 1);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            counter.get()
        }));
        assert_eq!(total, 10);
    });
}

#[test]
fn a_wake_from_another_thread_runs_the_task() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let (sender, receiver) = oneshot::channel::<u32>();
        let not_send = Rc::new(5);
        let task = local.spawn_local(async move { receiver.await.unwrap() + *not_send });
        let waker_thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send(10).unwrap();
        });
        assert_eq!(local.block_on(&rt, task).unwrap(), 15);
        waker_thread.join().unwrap();
    });
}

#[test]
fn a_task_woken_by_a_runtime_task_runs_on_the_owner() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let owner = std::thread::current().id();
        let output = local.block_on(&rt, async move {
            let (sender, receiver) = oneshot::channel::<&str>();
            let local_task = spawn_local(async move {
                let message = receiver.await.unwrap();
                (std::thread::current().id(), Rc::new(message))
            });
            fiber::spawn(async move {
                fiber::time::sleep(Duration::from_millis(5)).await;
                sender.send("from a worker").unwrap();
            });
            local_task.await.unwrap()
        });
        assert_eq!(output.0, owner);
        assert_eq!(*output.1, "from a worker");
    });
}

#[test]
fn dropping_the_set_drops_each_unfinished_task_once() {
    watchdog(|| {
        let rt = runtime();
        let drops = DropCounter::new();
        let local = LocalSet::new();
        let mut handles = Vec::new();
        for _ in 0..5 {
            let guard = drops.guard();
            let not_send = Rc::new(());
            handles.push(local.spawn_local(async move {
                let _guard = guard;
                let _not_send = not_send;
                std::future::pending::<()>().await;
            }));
        }
        // Some have been polled (idle), others never ran (still queued).
        let guard = drops.guard();
        handles.push(local.spawn_local(async move {
            let _guard = guard;
        }));
        local.block_on(&rt, fiber::yield_now());
        for _ in 0..3 {
            let guard = drops.guard();
            handles.push(local.spawn_local(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }));
        }
        assert_eq!(
            drops.count(),
            1,
            "only the finished task dropped its future"
        );
        drop(local);
        assert_eq!(
            drops.count(),
            9,
            "every future dropped once, by the drop of the set"
        );
        let finished = handles.remove(5);
        assert!(rt.block_on(finished).is_ok());
        for handle in handles {
            assert!(rt.block_on(handle).unwrap_err().is_cancelled());
        }
    });
}

#[test]
#[should_panic(expected = "`spawn_local` called outside a `LocalSet`")]
fn spawn_local_outside_a_set_panics_with_a_clear_message() {
    drop(spawn_local(async {}));
}

#[test]
fn spawn_local_outside_a_set_panics_inside_a_runtime_too() {
    let panic = watchdog(|| {
        let rt = runtime();
        let task = rt.spawn(async {
            drop(spawn_local(async {}));
        });
        rt.block_on(task).unwrap_err().into_panic()
    });
    let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("outside a `LocalSet`"), "{message}");
}

#[test]
fn a_local_task_spawns_nested_local_tasks() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let outer = local.spawn_local({
            let log = Rc::clone(&log);
            async move {
                log.borrow_mut().push("outer");
                let inner = spawn_local({
                    let log = Rc::clone(&log);
                    async move {
                        log.borrow_mut().push("inner");
                        let innermost = spawn_local({
                            let log = Rc::clone(&log);
                            async move { log.borrow_mut().push("innermost") }
                        });
                        innermost.await.unwrap();
                        3
                    }
                });
                inner.await.unwrap() + 1
            }
        });
        assert_eq!(local.block_on(&rt, outer).unwrap(), 4);
        assert_eq!(*log.borrow(), ["outer", "inner", "innermost"]);
    });
}

#[test]
fn an_abort_from_another_thread_drops_the_future_on_the_owner() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let owner = std::thread::current().id();
        let dropped_on = Arc::new(std::sync::Mutex::new(None));
        struct RecordThread(Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>);
        impl Drop for RecordThread {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = Some(std::thread::current().id());
            }
        }
        let record = RecordThread(Arc::clone(&dropped_on));
        let task = local.spawn_local(async move {
            let _record = record;
            let _not_send = Rc::new(());
            std::future::pending::<()>().await;
        });
        // Let the task run once so that it is idle, then abort it from elsewhere.
        local.block_on(&rt, fiber::yield_now());
        let abort = task.abort_handle();
        std::thread::spawn(move || abort.abort()).join().unwrap();
        assert!(
            dropped_on.lock().unwrap().is_none(),
            "not dropped off its thread"
        );
        let error = local.block_on(&rt, task).unwrap_err();
        assert!(error.is_cancelled());
        assert_eq!(*dropped_on.lock().unwrap(), Some(owner));
    });
}

#[test]
fn a_join_handle_sent_away_can_await_the_output() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let (handles, handle_rx) = mpsc::channel();
        let (release, released) = oneshot::channel::<()>();
        let task = local.spawn_local(async move {
            let not_send = Rc::new(41);
            released.await.unwrap();
            *not_send + 1
        });
        handles.send(task).unwrap();
        let awaiter = std::thread::spawn(move || {
            let handle = handle_rx.recv().unwrap();
            futures::executor::block_on(handle).unwrap()
        });
        local.block_on(&rt, async move {
            release.send(()).unwrap();
            // The task ends on this thread while the handle is awaited on the other.
            while !awaiter.is_finished() {
                fiber::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(awaiter.join().unwrap(), 42);
        });
    });
}

#[test]
fn unfinished_tasks_keep_their_place_between_runs() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let steps = Rc::new(Cell::new(0));
        let (release, released) = oneshot::channel::<()>();
        let task = local.spawn_local({
            let steps = Rc::clone(&steps);
            async move {
                steps.set(steps.get() + 1);
                released.await.unwrap();
                steps.set(steps.get() + 1);
            }
        });
        local.block_on(&rt, fiber::yield_now());
        assert_eq!(steps.get(), 1);
        release.send(()).unwrap();
        local.block_on(&rt, task).unwrap();
        assert_eq!(steps.get(), 2);
    });
}

#[test]
fn a_panicking_local_task_reports_the_panic() {
    watchdog(|| {
        let rt = runtime();
        let local = LocalSet::new();
        let task = local.spawn_local(async {
            let _not_send = Rc::new(());
            panic!("local failure");
        });
        let error = local.block_on(&rt, task).unwrap_err();
        assert!(error.is_panic());
        assert!(error.to_string().contains("local failure"));
        // The set goes on after the panic.
        assert_eq!(
            local.block_on(&rt, local.spawn_local(async { 1 })).unwrap(),
            1
        );
    });
}

#[test]
fn an_abort_racing_the_drop_of_the_set_still_drops_on_the_owner() {
    watchdog(|| {
        let owner = std::thread::current().id();
        for _ in 0..200 {
            let local = LocalSet::new();
            let dropped_on = Arc::new(std::sync::Mutex::new(Vec::new()));
            struct RecordThread(Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>);
            impl Drop for RecordThread {
                fn drop(&mut self) {
                    self.0.lock().unwrap().push(std::thread::current().id());
                }
            }
            let record = RecordThread(Arc::clone(&dropped_on));
            let task = local.spawn_local(async move {
                let _record = record;
                let _not_send = Rc::new(());
                std::future::pending::<()>().await;
            });
            futures::executor::block_on(local.run_until(async {}));
            let abort = task.abort_handle();
            let start = Arc::new(std::sync::Barrier::new(2));
            let aborter = std::thread::spawn({
                let start = Arc::clone(&start);
                move || {
                    start.wait();
                    abort.abort();
                }
            });
            start.wait();
            drop(local);
            aborter.join().unwrap();
            assert_eq!(
                *dropped_on.lock().unwrap(),
                [owner],
                "dropped once, on the owner"
            );
            assert!(futures::executor::block_on(task)
                .unwrap_err()
                .is_cancelled());
        }
    });
}
