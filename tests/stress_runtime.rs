//! Stress: many tasks, many wakes, many shutdowns. Each test is bounded and has a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{watchdog_for, DropCounter};
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};

const LIMIT: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn fifty_chains_of_two_hundred_tasks_forward_tokens_through_bounded_channels() {
    watchdog_for(LIMIT, || {
        const CHAINS: usize = 50;
        const LENGTH: usize = 200;
        const CYCLES: usize = 5;
        for _repeat in 0..2 {
            let rt = runtime(4);
            let total = rt.block_on(async {
                let mut ends = Vec::new();
                for _ in 0..CHAINS {
                    let (first_tx, mut previous) = mpsc::channel::<usize>(1);
                    for _ in 0..LENGTH {
                        let (mut next_tx, next_rx) = mpsc::channel::<usize>(1);
                        let mut input = previous;
                        drop(fiber::spawn(async move {
                            while let Some(token) = input.next().await {
                                if next_tx.send(token + 1).await.is_err() {
                                    break;
                                }
                            }
                        }));
                        previous = next_rx;
                    }
                    ends.push((first_tx, previous));
                }
                let mut total = 0;
                for cycle in 0..CYCLES {
                    for (first, _) in ends.iter_mut() {
                        first.send(cycle).await.unwrap();
                    }
                    for (_, last) in ends.iter_mut() {
                        let token = last.next().await.unwrap();
                        assert_eq!(token, cycle + LENGTH);
                        total += 1;
                    }
                }
                total
            });
            assert_eq!(total, CHAINS * CYCLES);
            drop(rt);
        }
    });
}

#[test]
fn a_hundred_thousand_tasks_woken_from_four_threads_at_once_all_finish() {
    watchdog_for(LIMIT, || {
        const TASKS: usize = 100_000;
        let rt = runtime(4);
        let mut senders = Vec::with_capacity(TASKS);
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (sender, receiver) = oneshot::channel::<usize>();
                senders.push(sender);
                rt.spawn(async move { receiver.await.unwrap() == i })
            })
            .collect();
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let mut chunks: Vec<Vec<(usize, oneshot::Sender<usize>)>> =
            (0..4).map(|_| Vec::new()).collect();
        for (i, sender) in senders.into_iter().enumerate() {
            chunks[i % 4].push((i, sender));
        }
        let threads: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    for (i, sender) in chunk {
                        sender.send(i).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let correct = rt.block_on(async {
            let mut correct = 0;
            for handle in handles {
                correct += usize::from(handle.await.unwrap());
            }
            correct
        });
        assert_eq!(correct, TASKS);
    });
}

#[test]
fn ten_thousand_waiting_tasks_are_dropped_once_while_a_thread_sends_to_them_during_shutdown() {
    watchdog_for(LIMIT, || {
        for _repeat in 0..5 {
            const TASKS: usize = 10_000;
            let rt = runtime(4);
            let counter = DropCounter::new();
            let received = Arc::new(AtomicUsize::new(0));
            let mut senders = Vec::with_capacity(TASKS);
            for _ in 0..TASKS {
                let (sender, receiver) = oneshot::channel::<()>();
                senders.push(sender);
                let (guard, received) = (counter.guard(), received.clone());
                drop(rt.spawn(async move {
                    let _guard = guard;
                    if receiver.await.is_ok() {
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            }
            let sender_thread = std::thread::spawn(move || {
                for sender in senders {
                    let _ = sender.send(());
                }
            });
            drop(rt);
            sender_thread.join().unwrap();
            assert_eq!(counter.count(), TASKS, "every future dropped exactly once");
            assert!(received.load(Ordering::SeqCst) <= TASKS);
        }
    });
}

#[test]
fn ping_pong_saturating_one_worker_still_lets_a_yielding_task_finish() {
    watchdog_for(LIMIT, || {
        let rt = runtime(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut pairs = Vec::new();
        for _ in 0..4 {
            let (mut ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
            let (mut pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
            let stop = stop.clone();
            pairs.push(rt.spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    ping_tx.send(n).await.unwrap();
                    n = pong_rx.next().await.unwrap();
                }
            }));
            pairs.push(rt.spawn(async move {
                while let Some(n) = ping_rx.next().await {
                    if pong_tx.send(n + 1).await.is_err() {
                        break;
                    }
                }
            }));
        }
        let yielder = rt.spawn(async {
            for _ in 0..1000 {
                fiber::yield_now().await;
            }
            "finished"
        });
        assert_eq!(rt.block_on(yielder).unwrap(), "finished");
        stop.store(true, Ordering::Relaxed);
        drop(rt);
    });
}

#[test]
fn a_runtime_created_and_dropped_a_thousand_times_leaves_nothing_behind() {
    watchdog_for(LIMIT, || {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter::new();
        let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::new()));
        for round in 0..1000 {
            let (s, t) = (started.clone(), stopped.clone());
            let rt = fiber::Builder::new()
                .worker_threads(1 + round % 3)
                .on_thread_start(move || {
                    s.fetch_add(1, Ordering::SeqCst);
                })
                .on_thread_stop(move || {
                    t.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap();
            for _ in 0..3 {
                let (guard, wakers) = (counter.guard(), wakers.clone());
                drop(rt.spawn(std::future::poll_fn(move |cx| {
                    let _ = &guard;
                    wakers.lock().unwrap().push(cx.waker().clone());
                    Poll::<()>::Pending
                })));
            }
            drop(rt);
            wakers.lock().unwrap().clear();
        }
        assert_eq!(
            started.load(Ordering::SeqCst),
            stopped.load(Ordering::SeqCst)
        );
        assert_eq!(
            started.load(Ordering::SeqCst),
            (0..1000).map(|r| 1 + r % 3).sum()
        );
        assert_eq!(counter.count(), 3000);
    });
}
