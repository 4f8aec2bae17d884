//! `fiber::io::Async`: any descriptor made async by fiber's driver.
#![cfg(unix)]

mod common;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::watchdog;
use fiber::io::Async;
use futures::{AsyncReadExt, AsyncWriteExt};

fn runtime(workers: usize) -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(workers)
        .build()
        .expect("a runtime")
}

#[test]
fn read_with_waits_for_data_written_later() {
    watchdog(|| {
        let rt = runtime(1);
        rt.block_on(async {
            let (a, mut b) = UnixStream::pair()?;
            let a = Async::new(a)?;
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                b.write_all(b"later")
            });
            let mut buffer = [0; 5];
            let mut filled = 0;
            while filled < 5 {
                filled += a
                    .read_with(|mut stream| stream.read(&mut buffer[filled..]))
                    .await?;
            }
            assert_eq!(&buffer, b"later");
            writer.join().unwrap()
        })
        .unwrap();
    });
}

#[test]
fn new_makes_the_source_non_blocking() {
    watchdog(|| {
        let rt = runtime(1);
        let _guard = rt.enter();
        let (a, _b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let mut buffer = [0; 1];
        let error = a.get_mut().read(&mut buffer).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    });
}

#[test]
fn async_read_and_write_traits_move_data() {
    watchdog(|| {
        runtime(2)
            .block_on(async {
                let (a, b) = UnixStream::pair()?;
                let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
                let data = vec![42u8; 300_000];
                let (written, read) = fiber::join!(
                    async {
                        a.write_all(&data).await?;
                        a.get_ref().shutdown(std::net::Shutdown::Write)
                    },
                    async {
                        let mut received = Vec::new();
                        b.read_to_end(&mut received).await?;
                        Ok::<_, io::Error>(received)
                    }
                );
                written?;
                assert_eq!(read?, data);
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn into_inner_deregisters_the_source() {
    watchdog(|| {
        let rt = runtime(1);
        let _guard = rt.enter();
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        assert_eq!(rt.metrics().io_registrations(), 1);
        let a: UnixStream = a.into_inner().unwrap();
        assert_eq!(rt.metrics().io_registrations(), 0);
        drop(a);
    });
}

#[test]
fn dropping_a_source_while_a_task_waits_on_it_leaks_nothing() {
    watchdog(|| {
        let rt = runtime(1);
        let (a, b) = UnixStream::pair().unwrap();
        let waiting = {
            let _guard = rt.enter();
            let a = Async::new(a).unwrap();
            rt.spawn(async move {
                // Waits for ever: nothing is written before the abort.
                let _ = a.readable().await;
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(rt.metrics().io_registrations(), 1);
        waiting.abort();
        assert!(rt.block_on(waiting).unwrap_err().is_cancelled());
        assert_eq!(rt.metrics().io_registrations(), 0);
        drop(b);
    });
}

#[test]
fn readable_fails_after_the_runtime_shuts_down() {
    watchdog(|| {
        let rt = runtime(1);
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = {
            let _guard = rt.enter();
            Async::new(a).unwrap()
        };
        drop(rt);
        b.write_all(b"x").unwrap();
        let result = futures::executor::block_on(a.readable());
        assert!(result.is_err());
    });
}
