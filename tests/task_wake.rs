//! Waking: a task is never polled by two threads at once, and wakes after completion are
//! no-ops.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use common::on_each_runtime;

#[test]
fn no_task_is_polled_twice_at_once_under_10k_concurrent_wakes() {
    on_each_runtime(|rt| {
        const TASKS: usize = 8;
        const WAKES_PER_THREAD: usize = 10_000;
        let wakers: Arc<Mutex<Vec<Option<Waker>>>> = Arc::new(Mutex::new(vec![None; TASKS]));
        let finish = Arc::new(AtomicBool::new(false));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|index| {
                let (wakers, finish, overlaps) = (wakers.clone(), finish.clone(), overlaps.clone());
                let in_poll = AtomicBool::new(false);
                rt.spawn(std::future::poll_fn(move |cx| {
                    if in_poll.swap(true, Ordering::SeqCst) {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    wakers.lock().unwrap()[index] = Some(cx.waker().clone());
                    std::hint::spin_loop();
                    in_poll.store(false, Ordering::SeqCst);
                    if finish.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }))
            })
            .collect();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let wakers = wakers.clone();
                std::thread::spawn(move || {
                    for i in 0..WAKES_PER_THREAD {
                        let waker = wakers.lock().unwrap()[i % TASKS].clone();
                        if let Some(waker) = waker {
                            if i % 2 == 0 {
                                waker.wake();
                            } else {
                                waker.wake_by_ref();
                            }
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        finish.store(true, Ordering::SeqCst);
        for waker in wakers.lock().unwrap().iter().flatten() {
            waker.wake_by_ref();
        }
        for handle in handles {
            rt.block_on(handle).unwrap();
        }
        assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn wakes_during_a_poll_requeue_the_task_once_after_the_poll() {
    on_each_runtime(|rt| {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let handle = rt.spawn(std::future::poll_fn(move |cx| {
            let poll = counted.fetch_add(1, Ordering::SeqCst) + 1;
            if poll == 1 {
                // Three wakes while running: exactly one more poll follows.
                cx.waker().wake_by_ref();
                cx.waker().wake_by_ref();
                let by_value = cx.waker().clone();
                by_value.wake();
                return Poll::Pending;
            }
            Poll::Ready(poll)
        }));
        assert_eq!(rt.block_on(handle).unwrap(), 2);
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn waking_a_finished_task_does_nothing() {
    on_each_runtime(|rt| {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let (s, p) = (slot.clone(), polls.clone());
        let handle = rt.spawn(std::future::poll_fn(move |cx| {
            p.fetch_add(1, Ordering::SeqCst);
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        }));
        rt.block_on(handle).unwrap();
        let waker = slot.lock().unwrap().take().unwrap();
        for _ in 0..100 {
            waker.wake_by_ref();
        }
        waker.wake();
        // A spawned probe runs after anything the wakes could have queued.
        rt.block_on(rt.spawn(async {})).unwrap();
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_waker_outliving_its_task_and_runtime_stays_valid() {
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let rt = fiber::Runtime::new().unwrap();
    let s = slot.clone();
    rt.block_on(rt.spawn(std::future::poll_fn(move |cx| {
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(())
    })))
    .unwrap();
    drop(rt);
    let waker = slot.lock().unwrap().take().unwrap();
    let clone = waker.clone();
    assert!(clone.will_wake(&waker));
    clone.wake();
    waker.wake_by_ref();
    drop(waker);
}
