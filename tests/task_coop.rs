//! The cooperative budget: a task that finds fiber's resources ready again and again yields
//! to the other tasks of its worker; `unconstrained` opts out; other executors see no budget.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::time::sleep;

fn one_worker() -> fiber::Runtime {
    fiber::Builder::new().worker_threads(1).build().unwrap()
}

/// Polls `future` to completion, counting its polls: the number of times the task went
/// back to its executor in between, plus one.
async fn count_polls<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = pin!(future);
    let mut polls = 0;
    let output = std::future::poll_fn(|cx| {
        polls += 1;
        future.as_mut().poll(cx)
    })
    .await;
    (output, polls)
}

/// Ready sleeps awaited in a row: far more than one budget.
const READY_AWAITS: usize = 4096;
/// The budget of one poll, as documented.
const BUDGET: usize = 128;

async fn await_ready_sleeps(count: usize) {
    for _ in 0..count {
        sleep(Duration::ZERO).await;
    }
}

#[test]
fn a_task_looping_over_ready_sleeps_lets_a_timer_task_on_its_worker_run() {
    watchdog(|| {
        let rt = one_worker();
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = rt.spawn({
            let stop = stop.clone();
            async move {
                while !stop.load(Ordering::Relaxed) {
                    sleep(Duration::ZERO).await;
                }
            }
        });
        let sleeper = rt.spawn(async {
            let start = Instant::now();
            sleep(Duration::from_millis(10)).await;
            start.elapsed()
        });
        let slept = rt.block_on(sleeper).unwrap();
        stop.store(true, Ordering::Relaxed);
        rt.block_on(spinner).unwrap();
        assert!(slept >= Duration::from_millis(10));
        // Generous: the point is that it completes at all while the spinner runs.
        assert!(
            slept < Duration::from_millis(500),
            "the 10 ms sleep took {slept:?}"
        );
    });
}

#[test]
fn a_task_awaiting_finished_join_handles_yields_to_the_other_tasks_of_its_worker() {
    watchdog(|| {
        let rt = one_worker();
        let handles: Vec<_> = (0..READY_AWAITS).map(|_| rt.spawn(async {})).collect();
        while !handles.iter().all(fiber::JoinHandle::is_finished) {
            std::thread::yield_now();
        }
        // Counts its own turns on the worker while the other task joins.
        let turns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = rt.spawn({
            let (turns, stop) = (turns.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    turns.fetch_add(1, Ordering::Relaxed);
                    fiber::yield_now().await;
                }
            }
        });
        let joiner = rt.spawn({
            let turns = turns.clone();
            async move {
                let before = turns.load(Ordering::Relaxed);
                for handle in handles {
                    handle.await.unwrap();
                }
                turns.load(Ordering::Relaxed) - before
            }
        });
        let ticker_turns = rt.block_on(joiner).unwrap();
        stop.store(true, Ordering::Relaxed);
        rt.block_on(ticker).unwrap();
        // One turn per spent budget; without the budget the joiner finishes in one poll
        // and the ticker gets none.
        assert!(
            ticker_turns >= READY_AWAITS / BUDGET - 2,
            "the ticker ran {ticker_turns} times while {READY_AWAITS} ready handles were joined"
        );
    });
}

#[test]
fn a_spawned_task_yields_once_per_budget_of_ready_sleeps() {
    watchdog(|| {
        let rt = one_worker();
        let ((), polls) = rt
            .block_on(rt.spawn(count_polls(await_ready_sleeps(READY_AWAITS))))
            .unwrap();
        assert!(polls >= READY_AWAITS / BUDGET, "{polls} polls");
        assert!(polls <= READY_AWAITS / BUDGET + 1, "{polls} polls");
    });
}

#[test]
fn block_on_gives_each_poll_of_its_future_a_budget() {
    watchdog(|| {
        let rt = one_worker();
        let ((), polls) = rt.block_on(count_polls(await_ready_sleeps(READY_AWAITS)));
        assert!(polls >= READY_AWAITS / BUDGET, "{polls} polls");
    });
}

#[test]
fn unconstrained_runs_ready_sleeps_without_yielding() {
    watchdog(|| {
        let rt = one_worker();
        let ((), polls) = rt
            .block_on(
                rt.spawn(count_polls(fiber::task::unconstrained(await_ready_sleeps(
                    READY_AWAITS,
                )))),
            )
            .unwrap();
        assert_eq!(polls, 1);
        let ((), polls) = rt.block_on(count_polls(fiber::task::unconstrained(await_ready_sleeps(
            READY_AWAITS,
        ))));
        assert_eq!(polls, 1);
    });
}

#[test]
fn other_executors_have_no_budget() {
    let ((), polls) = common::run(|| count_polls(await_ready_sleeps(READY_AWAITS)));
    assert_eq!(polls, 1);
}

#[test]
fn a_timeout_fires_even_when_its_future_spends_every_budget() {
    watchdog(|| {
        let rt = one_worker();
        let result = rt.block_on(rt.spawn(fiber::time::timeout(
            Duration::from_millis(20),
            async {
                loop {
                    sleep(Duration::ZERO).await;
                }
            },
        )));
        assert!(result.unwrap().is_err(), "the endless loop timed out");
    });
}

#[test]
fn the_budget_of_a_pending_resource_is_given_back() {
    watchdog(|| {
        let rt = one_worker();
        // Polling a far-off sleep is not progress: interleaving many such polls with the
        // ready sleeps must not make the task yield any sooner.
        let ((), polls) = rt.block_on(count_polls(async {
            let mut far = pin!(sleep(Duration::from_secs(3600)));
            for _ in 0..BUDGET - 1 {
                let pending =
                    std::future::poll_fn(|cx| Poll::Ready(far.as_mut().poll(cx).is_pending()))
                        .await;
                assert!(pending);
                sleep(Duration::ZERO).await;
            }
        }));
        assert_eq!(polls, 1);
    });
}

/// A socket with data always waiting takes from the budget too: a task reading it a byte at a
/// time, never seeing `Pending` (a writer keeps the socket full), still lets a sleep on the
/// same (only) worker finish; the reader stops once that sleep is over.
#[test]
fn a_task_reading_an_always_ready_socket_yields_to_a_timer() {
    use futures::io::AsyncReadExt;
    use std::io::Write;

    /// Far more one-byte reads than the reader makes in a few seconds.
    const GIVE_UP_AFTER: usize = 1 << 30;
    watchdog(|| {
        let rt = one_worker();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            let chunk = vec![7u8; 1 << 16];
            // Until the reader hangs up.
            while peer.write_all(&chunk).is_ok() {}
        });
        let stop = Arc::new(AtomicBool::new(false));
        let reader_stop = stop.clone();
        let reader = rt.spawn(async move {
            let mut stream = fiber::net::TcpStream::connect(address).await.unwrap();
            let mut byte = [0u8; 1];
            let mut read = 0;
            while !reader_stop.load(Ordering::Relaxed) && read < GIVE_UP_AFTER {
                read += stream.read(&mut byte).await.unwrap();
            }
            read
        });
        rt.block_on(async {
            // Lets the reader start, then sleeps on the worker the reader holds.
            sleep(Duration::from_millis(20)).await;
            rt.spawn(sleep(Duration::from_millis(10))).await.unwrap();
        });
        stop.store(true, Ordering::Relaxed);
        let read = rt.block_on(reader).unwrap();
        drop(rt);
        writer.join().unwrap();
        assert!(
            read < GIVE_UP_AFTER,
            "the timer's task only ran once the reader gave up"
        );
    });
}
