//! `join_all` and `try_join_all`.

mod common;

use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{on_each_runtime, poll_once, run, watchdog, yield_now, DropCounter, DropFlag};
use fiber::{join_all, try_join_all};
use futures::future::FusedFuture;

#[test]
fn outputs_come_in_collection_order_whatever_order_the_futures_finish_in() {
    let outputs = run(|| {
        join_all((0..20u64).map(|index| async move {
            // Later futures finish first.
            for _ in 0..(20 - index) {
                yield_now().await;
            }
            index * 10
        }))
    });
    assert_eq!(
        outputs,
        (0..20u64).map(|index| index * 10).collect::<Vec<_>>()
    );
}

#[test]
fn an_empty_collection_completes_at_once() {
    let mut all = join_all(Vec::<std::future::Ready<u8>>::new());
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Ready(Vec::new()));
    assert!(all.is_terminated());
    let mut all = try_join_all(Vec::<std::future::Ready<Result<u8, ()>>>::new());
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Ready(Ok(Vec::new())));
}

#[test]
fn nothing_runs_before_the_first_poll() {
    let polled = Arc::new(AtomicBool::new(false));
    let all = {
        let polled = polled.clone();
        join_all([async move { polled.store(true, Ordering::SeqCst) }])
    };
    assert!(!polled.load(Ordering::SeqCst));
    drop(all);
    assert!(!polled.load(Ordering::SeqCst));
}

#[test]
fn a_hundred_thousand_futures_that_yield_once_complete_in_block_on() {
    let outputs = watchdog(|| {
        fiber::block_on(join_all((0..100_000).map(|index| async move {
            fiber::yield_now().await;
            index
        })))
    });
    assert_eq!(outputs.len(), 100_000);
    assert!(outputs
        .iter()
        .enumerate()
        .all(|(index, &output)| index == output));
}

#[test]
fn children_woken_by_other_tasks_and_timers_complete_on_a_runtime() {
    on_each_runtime(|rt| {
        let handles: Vec<_> = (0..64u64)
            .map(|index| rt.spawn(async move { index * 2 }))
            .collect();
        let outputs = rt.block_on(async move {
            let sleeps = join_all((0..16u64).map(|index| async move {
                fiber::time::sleep(Duration::from_millis(index % 4)).await;
                index
            }));
            let (joined, slept) = fiber::join!(join_all(handles), sleeps);
            (joined, slept)
        });
        let joined: Vec<u64> = outputs.0.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            joined,
            (0..64u64).map(|index| index * 2).collect::<Vec<_>>()
        );
        assert_eq!(outputs.1, (0..16u64).collect::<Vec<_>>());
    });
}

#[test]
fn a_child_that_keeps_waking_itself_does_not_starve_the_others() {
    on_each_runtime(|rt| {
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            Box::pin(async move {
                let mut spins = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    fiber::yield_now().await;
                    spins += 1;
                }
                spins
            }) as Pin<Box<dyn Future<Output = u64> + Send>>
        };
        let stopper = Box::pin(async move {
            for _ in 0..100 {
                fiber::yield_now().await;
            }
            stop.store(true, Ordering::SeqCst);
            0
        });
        let outputs = rt.block_on(rt.spawn(join_all([spinner, stopper]))).unwrap();
        assert!(outputs[0] >= 100, "the spinner ran alongside: {outputs:?}");
        assert_eq!(outputs[1], 0);
    });
}

#[test]
fn dropping_an_unfinished_join_all_drops_every_future_once() {
    let drops = DropCounter::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut all = join_all((0..10).map(|index| {
        let guard = drops.guard();
        let finished = finished.clone();
        async move {
            let _guard = guard;
            if index % 2 == 0 {
                pending::<()>().await;
            }
            finished.fetch_add(1, Ordering::SeqCst);
        }
    }));
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Pending);
    assert_eq!(finished.load(Ordering::SeqCst), 5);
    assert_eq!(
        drops.count(),
        5,
        "finished futures are dropped as they finish"
    );
    drop(all);
    assert_eq!(drops.count(), 10);
}

#[test]
fn try_join_all_returns_every_value_when_all_succeed() {
    let values = run(|| {
        try_join_all((1..=5u32).map(|n| async move {
            yield_now().await;
            Ok::<_, String>(n * n)
        }))
    });
    assert_eq!(values, Ok(vec![1, 4, 9, 16, 25]));
}

#[test]
fn try_join_all_drops_the_other_futures_before_returning_the_first_error() {
    let others = DropFlag::new();
    let result = run({
        let others = others.clone();
        move || async move {
            let failing = Box::pin(async {
                yield_now().await;
                Err::<u8, &str>("broken")
            }) as Pin<Box<dyn Future<Output = Result<u8, &str>> + Send>>;
            let waiting = {
                let guard = others.guard();
                Box::pin(async move {
                    let _guard = guard;
                    pending::<Result<u8, &str>>().await
                })
            };
            let result = try_join_all([waiting, failing]).await;
            (result, others.is_set())
        }
    });
    assert_eq!(result, (Err("broken"), true));
}

#[test]
#[should_panic(expected = "`JoinAll` polled after completion")]
fn polling_after_completion_panics() {
    let mut all = join_all([ready(1)]);
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Ready(vec![1]));
    let _ = poll_once(Pin::new(&mut all));
}

#[test]
fn a_waker_kept_after_completion_is_harmless() {
    let kept = Arc::new(std::sync::Mutex::new(None));
    let mut all = join_all([{
        let kept = kept.clone();
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            *kept.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(3)
        })
    }]);
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Ready(vec![3]));
    drop(all);
    let waker = kept.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    waker.wake();
}

#[test]
fn join_all_is_send_and_debug() {
    fn is_send<T: Send>(_: &T) {}
    let all = join_all([ready(1u8), ready(2)]);
    is_send(&all);
    let text = format!("{all:?}");
    assert!(
        text.contains("JoinAll") && text.contains("len: 2"),
        "{text}"
    );
}

#[test]
fn a_caught_panic_in_one_child_loses_no_wake_up_of_the_others() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let wakers: Arc<std::sync::Mutex<Vec<Option<std::task::Waker>>>> =
        Arc::new(std::sync::Mutex::new(vec![None, None]));
    let ready = Arc::new(AtomicBool::new(false));
    let children = (0..2).map(|index| {
        let wakers = wakers.clone();
        let ready = ready.clone();
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            if ready.load(Ordering::SeqCst) {
                if index == 0 {
                    panic!("child 0 fails");
                }
                return Poll::Ready(index);
            }
            wakers.lock().unwrap()[index] = Some(cx.waker().clone());
            Poll::Pending
        })
    });
    let mut all = join_all(children);
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Pending);
    ready.store(true, Ordering::SeqCst);
    for waker in wakers.lock().unwrap().iter_mut() {
        waker.take().unwrap().wake();
    }
    let panicked = catch_unwind(AssertUnwindSafe(|| poll_once(Pin::new(&mut all))));
    assert!(panicked.is_err(), "child 0 panics");
    // Child 1 was woken in the same round as child 0: it is still polled, and completes.
    ready.store(false, Ordering::SeqCst);
    assert_eq!(poll_once(Pin::new(&mut all)), Poll::Pending);
    assert!(
        wakers.lock().unwrap()[1].is_some(),
        "child 1 was polled again after the caught panic"
    );
}

#[test]
fn a_finished_join_all_lets_go_of_the_parent_waker() {
    struct Parent;
    impl std::task::Wake for Parent {
        fn wake(self: Arc<Self>) {}
    }
    let kept = Arc::new(std::sync::Mutex::new(None));
    let parent = Arc::new(Parent);
    let parent_waker = std::task::Waker::from(parent.clone());
    let mut all = join_all([{
        let kept = kept.clone();
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            *kept.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        })
    }]);
    let polled = Pin::new(&mut all).poll(&mut Context::from_waker(&parent_waker));
    assert_eq!(polled, Poll::Ready(vec![()]));
    drop(all);
    drop(parent_waker);
    // The child's waker outlives the `JoinAll`; it must not hold the parent's.
    assert!(kept.lock().unwrap().is_some());
    assert_eq!(Arc::strong_count(&parent), 1);
}
