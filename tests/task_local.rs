//! `task_local!`: values scoped to a task, across workers and combinators.

mod common;

use std::cell::RefCell;
use std::time::Duration;

use common::{on_each_runtime, watchdog, DropCounter};
use fiber::task::{AccessError, JoinSet};

fiber::task_local! {
    static REQUEST: u32;
    /// Attributes and doc comments are kept.
    #[allow(dead_code)]
    pub static NAME: String;
    static LOG: RefCell<Vec<&'static str>>
}

fiber::task_local! {
    static SINGLE: u8;
}

#[test]
fn the_value_follows_the_task_across_workers() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for id in 0..32u32 {
                set.spawn(REQUEST.scope(id, async move {
                    for _ in 0..10 {
                        fiber::yield_now().await;
                        fiber::time::sleep(Duration::from_micros(50)).await;
                        assert_eq!(REQUEST.get(), id, "each task keeps its own value");
                    }
                    REQUEST.get()
                }));
            }
            let mut ids = set.join_all().await;
            ids.sort();
            assert_eq!(ids, (0..32).collect::<Vec<_>>());
        });
    });
}

#[test]
fn futures_in_one_join_see_their_own_values() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let (a, b) = fiber::join!(
                REQUEST.scope(1, async {
                    fiber::yield_now().await;
                    REQUEST.get()
                }),
                REQUEST.scope(2, async {
                    fiber::yield_now().await;
                    REQUEST.get()
                }),
            );
            assert_eq!((a, b), (1, 2));
        });
    });
}

#[test]
fn select_branches_see_their_own_values() {
    on_each_runtime(|rt| {
        rt.block_on(async {
            let seen = fiber::select! {
                value = REQUEST.scope(10, async {
                    fiber::time::sleep(Duration::from_millis(5)).await;
                    REQUEST.get()
                }) => value,
                _ = REQUEST.scope(20, std::future::pending::<()>()) => unreachable!(),
            };
            assert_eq!(seen, 10);
            assert!(
                REQUEST.try_with(|value| *value).is_err(),
                "gone after the scope"
            );
        });
    });
}

#[test]
fn scopes_nest_and_restore_the_outer_value() {
    watchdog(|| {
        fiber::block_on(REQUEST.scope(1, async {
            assert_eq!(REQUEST.get(), 1);
            let inner = REQUEST.scope(2, async {
                fiber::yield_now().await;
                REQUEST.get()
            });
            assert_eq!(inner.await, 2);
            assert_eq!(REQUEST.get(), 1, "the outer value is back");
        }));
    });
}

#[test]
fn sync_scope_sets_the_value_for_a_closure() {
    let doubled = REQUEST.sync_scope(21, || REQUEST.with(|value| value * 2));
    assert_eq!(doubled, 42);
    assert!(REQUEST.try_with(|_| ()).is_err());
}

#[test]
fn try_with_outside_a_scope_returns_an_access_error() {
    let error: AccessError = NAME.try_with(|name| name.len()).unwrap_err();
    assert!(error.to_string().contains("outside"));
}

#[test]
#[should_panic(expected = "outside any scope of its key")]
fn with_outside_a_scope_panics_with_a_clear_message() {
    SINGLE.with(|_| ());
}

#[test]
fn with_borrows_non_copy_values() {
    let total = NAME.sync_scope("fiber".to_string(), || {
        LOG.sync_scope(RefCell::new(Vec::new()), || {
            LOG.with(|log| log.borrow_mut().push("a"));
            LOG.with(|log| log.borrow_mut().push("b"));
            NAME.with(|name| name.len()) + LOG.with(|log| log.borrow().len())
        })
    });
    assert_eq!(total, 7);
    assert_eq!(NAME.sync_scope("x".into(), || NAME.get()), "x");
}

#[test]
fn the_value_is_visible_to_destructors_of_a_cancelled_future() {
    struct ReadsOnDrop(std::sync::mpsc::Sender<Option<u32>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(REQUEST.try_with(|value| *value).ok());
        }
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    watchdog(move || {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        let (started, started_rx) = futures::channel::oneshot::channel::<()>();
        let task = rt.spawn(REQUEST.scope(99, async move {
            let _reads = ReadsOnDrop(sender);
            started.send(()).unwrap();
            std::future::pending::<()>().await;
        }));
        rt.block_on(started_rx).unwrap();
        task.abort();
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
    });
    assert_eq!(receiver.recv().unwrap(), Some(99));
}

#[test]
fn the_value_is_dropped_with_the_scope() {
    fiber::task_local! {
        static GUARD: common::CountOnDrop;
    }
    let drops = DropCounter::new();
    watchdog({
        let drops = drops.clone();
        move || {
            let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
            rt.block_on(GUARD.scope(drops.guard(), async {
                assert!(GUARD.try_with(|_| ()).is_ok());
            }));
        }
    });
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_panic_inside_the_scope_leaves_the_slot_empty() {
    let result = std::panic::catch_unwind(|| {
        REQUEST.sync_scope(5, || panic!("inside the scope"));
    });
    assert!(result.is_err());
    assert!(
        REQUEST.try_with(|_| ()).is_err(),
        "the value did not leak out"
    );
}
