//! Timers on a runtime with sockets registered, where a worker may sit in the OS poll: a
//! sleep completes on time whichever thread waits on it and however busy the worker that
//! last polled the OS is.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use fiber::net::UdpSocket;
use fiber::time::sleep;

/// Far more than any of these sleeps should take, far less than the stalls they sit beside.
const GENEROUS: Duration = Duration::from_millis(200);

#[test]
fn a_sleep_inside_block_in_place_on_a_one_worker_runtime_with_a_socket_completes() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let _socket = rt.block_on(UdpSocket::bind("127.0.0.1:0")).unwrap();
        // Let the worker park in the OS poll a few times first.
        for _ in 0..3 {
            rt.block_on(rt.spawn(sleep(Duration::from_millis(5))))
                .unwrap();
        }
        let (sender, took) = mpsc::channel();
        rt.spawn(async move {
            let elapsed = fiber::block_in_place(|| {
                let start = Instant::now();
                futures::executor::block_on(sleep(Duration::from_millis(20)));
                start.elapsed()
            });
            sender.send(elapsed).unwrap();
        });
        let elapsed = took.recv().unwrap();
        assert!(elapsed < GENEROUS, "a 20 ms sleep took {elapsed:?}");
    });
}

#[test]
fn a_sleep_completes_while_the_worker_that_polled_the_os_is_stuck() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
        let _socket = rt.block_on(UdpSocket::bind("127.0.0.1:0")).unwrap();
        let (start_blocking, blocking) = futures::channel::oneshot::channel::<()>();
        let mut start_blocking = Some(start_blocking);
        let stuck = rt.spawn(async move {
            blocking.await.unwrap();
            thread::sleep(Duration::from_millis(500));
        });
        thread::sleep(Duration::from_millis(50));
        let ticker = rt.spawn(async move {
            let mut worst = Duration::ZERO;
            for round in 0..40 {
                let start = Instant::now();
                sleep(Duration::from_millis(5)).await;
                worst = worst.max(start.elapsed());
                if round == 10 {
                    start_blocking.take().unwrap().send(()).unwrap();
                }
            }
            worst
        });
        let worst = rt.block_on(ticker).unwrap();
        rt.block_on(stuck).unwrap();
        assert!(worst < GENEROUS, "a 5 ms sleep took {worst:?}");
    });
}
