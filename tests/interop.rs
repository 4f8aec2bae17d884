//! The ecosystem's everyday primitives on fiber's runtime: tokio's sync types, async-channel,
//! async-lock, futures' channels and streams, and tracing's `Instrument`. Each test runs its
//! tasks on two workers, not only inside one `block_on`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::watchdog;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::SinkExt;

fn two_workers() -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(2)
        .thread_name("interop-worker")
        .build()
        .unwrap()
}

#[test]
fn tokio_mpsc_carries_messages_from_many_tasks() {
    watchdog(|| {
        let rt = two_workers();
        let total = rt.block_on(async {
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<u64>(4);
            for producer in 0..8u64 {
                let sender = sender.clone();
                fiber::spawn(async move {
                    for n in 0..100 {
                        sender.send(producer * 1000 + n).await.unwrap();
                    }
                });
            }
            drop(sender);
            let consumer = fiber::spawn(async move {
                let mut total = 0;
                while let Some(value) = receiver.recv().await {
                    total += value;
                }
                total
            });
            consumer.await.unwrap()
        });
        let expected: u64 = (0..8u64)
            .flat_map(|p| (0..100).map(move |n| p * 1000 + n))
            .sum();
        assert_eq!(total, expected);
    });
}

#[test]
fn tokio_oneshot_answers_across_tasks() {
    watchdog(|| {
        let rt = two_workers();
        let answers = rt.block_on(async {
            let mut receivers = Vec::new();
            for n in 0..16u32 {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                fiber::spawn(async move {
                    fiber::time::sleep(Duration::from_millis(u64::from(n % 4))).await;
                    sender.send(n * 2).unwrap();
                });
                receivers.push(fiber::spawn(async move { receiver.await.unwrap() }));
            }
            let mut answers = Vec::new();
            for receiver in receivers {
                answers.push(receiver.await.unwrap());
            }
            answers
        });
        assert_eq!(answers, (0..16).map(|n| n * 2).collect::<Vec<_>>());
    });
}

#[test]
fn tokio_mutex_and_rwlock_serialise_writers() {
    watchdog(|| {
        let rt = two_workers();
        let (count, snapshot) = rt.block_on(async {
            let counter = Arc::new(tokio::sync::Mutex::new(0u32));
            let table = Arc::new(tokio::sync::RwLock::new(Vec::new()));
            let mut tasks = Vec::new();
            for id in 0..8u32 {
                let counter = Arc::clone(&counter);
                let table = Arc::clone(&table);
                tasks.push(fiber::spawn(async move {
                    for _ in 0..50 {
                        let mut guard = counter.lock().await;
                        let seen = *guard;
                        // A yield while holding the lock: another task must not get in.
                        fiber::yield_now().await;
                        *guard = seen + 1;
                    }
                    table.write().await.push(id);
                    let readers = table.read().await;
                    assert!(readers.contains(&id));
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            let count = *counter.lock().await;
            let mut snapshot = table.read().await.clone();
            snapshot.sort();
            (count, snapshot)
        });
        assert_eq!(count, 400);
        assert_eq!(snapshot, (0..8).collect::<Vec<_>>());
    });
}

#[test]
fn tokio_semaphore_bounds_concurrency() {
    watchdog(|| {
        let rt = two_workers();
        let peak = rt.block_on(async {
            let permits = Arc::new(tokio::sync::Semaphore::new(3));
            let inside = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..20 {
                let (permits, inside, peak) = (permits.clone(), inside.clone(), peak.clone());
                tasks.push(fiber::spawn(async move {
                    let _permit = permits.acquire().await.unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    fiber::time::sleep(Duration::from_millis(1)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            peak.load(Ordering::SeqCst)
        });
        assert!((1..=3).contains(&peak), "at most three at once, saw {peak}");
    });
}

#[test]
fn tokio_notify_wakes_a_waiting_task() {
    watchdog(|| {
        let rt = two_workers();
        rt.block_on(async {
            let notify = Arc::new(tokio::sync::Notify::new());
            let ready = Arc::new(AtomicUsize::new(0));
            let waiter = fiber::spawn({
                let (notify, ready) = (notify.clone(), ready.clone());
                async move {
                    notify.notified().await;
                    ready.load(Ordering::SeqCst)
                }
            });
            fiber::spawn(async move {
                fiber::time::sleep(Duration::from_millis(5)).await;
                ready.store(7, Ordering::SeqCst);
                notify.notify_one();
            });
            assert_eq!(waiter.await.unwrap(), 7);
        });
    });
}

#[test]
fn tokio_watch_and_broadcast_reach_every_receiver() {
    watchdog(|| {
        let rt = two_workers();
        rt.block_on(async {
            let (watch_tx, watch_rx) = tokio::sync::watch::channel(0u32);
            let (broadcast_tx, _) = tokio::sync::broadcast::channel::<u32>(16);
            let mut listeners = Vec::new();
            for _ in 0..3 {
                let mut watch_rx = watch_rx.clone();
                let mut broadcast_rx = broadcast_tx.subscribe();
                listeners.push(fiber::spawn(async move {
                    let mut received = Vec::new();
                    while let Ok(value) = broadcast_rx.recv().await {
                        received.push(value);
                    }
                    while *watch_rx.borrow_and_update() != 10 {
                        watch_rx.changed().await.unwrap();
                    }
                    received
                }));
            }
            fiber::spawn(async move {
                for n in 1..=10 {
                    broadcast_tx.send(n).unwrap();
                    watch_tx.send(n).unwrap();
                    fiber::yield_now().await;
                }
            })
            .await
            .unwrap();
            for listener in listeners {
                assert_eq!(listener.await.unwrap(), (1..=10).collect::<Vec<_>>());
            }
        });
    });
}

#[test]
fn async_channel_spreads_work_over_consumers() {
    watchdog(|| {
        let rt = two_workers();
        let (sum, count) = rt.block_on(async {
            let (sender, receiver) = async_channel::bounded::<u64>(8);
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let receiver = receiver.clone();
                    fiber::spawn(async move {
                        let (mut sum, mut count) = (0, 0);
                        while let Ok(value) = receiver.recv().await {
                            sum += value;
                            count += 1;
                        }
                        (sum, count)
                    })
                })
                .collect();
            fiber::spawn(async move {
                for n in 0..1000 {
                    sender.send(n).await.unwrap();
                }
            });
            let mut totals = (0, 0);
            for consumer in consumers {
                let (sum, count) = consumer.await.unwrap();
                totals = (totals.0 + sum, totals.1 + count);
            }
            totals
        });
        assert_eq!((sum, count), ((0..1000).sum(), 1000));
    });
}

#[test]
fn async_lock_mutex_rwlock_semaphore_and_barrier() {
    watchdog(|| {
        let rt = two_workers();
        rt.block_on(async {
            let counter = Arc::new(async_lock::Mutex::new(0u32));
            let log = Arc::new(async_lock::RwLock::new(Vec::new()));
            let permits = Arc::new(async_lock::Semaphore::new(2));
            let barrier = Arc::new(async_lock::Barrier::new(6));
            let mut tasks = Vec::new();
            for id in 0..6u32 {
                let (counter, log) = (counter.clone(), log.clone());
                let (permits, barrier) = (permits.clone(), barrier.clone());
                tasks.push(fiber::spawn(async move {
                    {
                        let _permit = permits.acquire().await;
                        let mut guard = counter.lock().await;
                        fiber::yield_now().await;
                        *guard += 1;
                    }
                    log.write().await.push(id);
                    // Nobody passes before all six have written.
                    barrier.wait().await;
                    log.read().await.len()
                }));
            }
            for task in tasks {
                assert_eq!(task.await.unwrap(), 6);
            }
            assert_eq!(*counter.lock().await, 6);
        });
    });
}

#[test]
fn futures_channels_work_between_tasks() {
    watchdog(|| {
        let rt = two_workers();
        let (received, answer) = rt.block_on(async {
            let (mut sender, receiver) = futures::channel::mpsc::channel::<u32>(2);
            let (answer_tx, answer_rx) = futures::channel::oneshot::channel::<u32>();
            let consumer = fiber::spawn(async move {
                let received: Vec<u32> = receiver.collect().await;
                answer_tx.send(received.iter().sum()).unwrap();
                received
            });
            fiber::spawn(async move {
                for n in 0..20 {
                    sender.send(n).await.unwrap();
                }
            });
            let answer = answer_rx.await.unwrap();
            (consumer.await.unwrap(), answer)
        });
        assert_eq!(received, (0..20).collect::<Vec<_>>());
        assert_eq!(answer, (0..20).sum());
    });
}

#[test]
fn futures_unordered_and_buffer_unordered_drive_spawned_work() {
    watchdog(|| {
        let rt = two_workers();
        let (from_handles, buffered) = rt.block_on(async {
            let handles: FuturesUnordered<_> = (0..10u64)
                .map(|n| {
                    fiber::spawn(async move {
                        fiber::time::sleep(Duration::from_millis(10 - n)).await;
                        n
                    })
                })
                .collect();
            let mut from_handles: Vec<u64> = handles.map(|result| result.unwrap()).collect().await;
            from_handles.sort();

            let in_flight = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let mut buffered: Vec<u64> = futures::stream::iter(0..12u64)
                .map(|n| {
                    let (in_flight, peak) = (in_flight.clone(), peak.clone());
                    async move {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let output = fiber::spawn(async move {
                            fiber::time::sleep(Duration::from_millis(2)).await;
                            n * n
                        })
                        .await
                        .unwrap();
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        output
                    }
                })
                .buffer_unordered(3)
                .collect()
                .await;
            buffered.sort();
            assert!(peak.load(Ordering::SeqCst) <= 3);
            (from_handles, buffered)
        });
        assert_eq!(from_handles, (0..10).collect::<Vec<_>>());
        assert_eq!(buffered, (0..12).map(|n| n * n).collect::<Vec<_>>());
    });
}

/// What happened (`enter NAME` or `event NAME`), and the name of the thread it happened on.
type Entry = (String, Option<String>);

/// A subscriber that records, with the name of the thread, every span entered and every
/// event.
#[derive(Clone, Default)]
struct Recorder {
    next_id: Arc<AtomicU64>,
    names: Arc<Mutex<HashMap<u64, &'static str>>>,
    log: Arc<Mutex<Vec<Entry>>>,
}

impl Recorder {
    fn record(&self, what: String) {
        let thread = std::thread::current().name().map(str::to_owned);
        self.log.lock().unwrap().push((what, thread));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::Id {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.names
            .lock()
            .unwrap()
            .insert(id, span.metadata().name());
        tracing::Id::from_u64(id)
    }

    fn record(&self, _: &tracing::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::Id, _: &tracing::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        self.record(format!("event {}", event.metadata().name()));
    }

    fn enter(&self, span: &tracing::Id) {
        let name = self.names.lock().unwrap()[&span.into_u64()];
        self.record(format!("enter {name}"));
    }

    fn exit(&self, _: &tracing::Id) {}
}

#[test]
fn tracing_instrument_enters_the_span_on_the_worker() {
    use tracing::instrument::{Instrument, WithSubscriber};

    let recorder = Recorder::default();
    let log = Arc::clone(&recorder.log);
    watchdog(move || {
        let rt = two_workers();
        let dispatch = tracing::Dispatch::new(recorder);
        let tasks: Vec<_> = (0..4)
            .map(|n| {
                let span =
                    tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("job", n));
                let work = async move {
                    fiber::yield_now().await;
                    fiber::time::sleep(Duration::from_millis(1)).await;
                    tracing::info!(n, "inside the job");
                };
                rt.spawn(work.instrument(span).with_subscriber(dispatch.clone()))
            })
            .collect();
        for task in tasks {
            rt.block_on(task).unwrap();
        }
    });
    let log = log.lock().unwrap();
    let on_worker =
        |(_, thread): &&(String, Option<String>)| thread.as_deref() == Some("interop-worker");
    let enters: Vec<_> = log.iter().filter(|(what, _)| what == "enter job").collect();
    // Each of the four tasks is polled at least three times (two yields), each poll inside
    // its span.
    assert!(enters.len() >= 12, "{log:?}");
    assert!(enters.iter().all(on_worker), "{log:?}");
    let events: Vec<_> = log
        .iter()
        .filter(|(what, _)| what.starts_with("event"))
        .collect();
    assert_eq!(events.len(), 4, "{log:?}");
    assert!(events.iter().all(on_worker), "{log:?}");
}
