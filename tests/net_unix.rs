//! Unix domain sockets on fiber's I/O driver.
#![cfg(unix)]

mod common;

use std::io;
use std::path::PathBuf;

use common::watchdog;
use fiber::net::{UnixListener, UnixStream};
use futures::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(2)
        .build()
        .expect("a runtime")
}

/// A socket path of the test's own, removed when dropped.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let path = std::env::temp_dir().join(format!("fiber-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn listener_accepts_and_echoes() {
    watchdog(|| {
        let path = SocketPath::new("echo");
        let rt = runtime();
        let listener = rt.block_on(async { UnixListener::bind(&path.0) }).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.0.as_path())
        );
        rt.block_on(async {
            let server = fiber::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let mut received = Vec::new();
                stream.read_to_end(&mut received).await?;
                stream.write_all(&received).await?;
                Ok::<_, io::Error>(())
            });
            let mut client = UnixStream::connect(&path.0).await?;
            client.write_all(b"over unix").await?;
            client.close().await?;
            let mut echoed = Vec::new();
            client.read_to_end(&mut echoed).await?;
            assert_eq!(echoed, b"over unix");
            server.await.unwrap()
        })
        .unwrap();
    });
}

#[test]
fn pair_carries_data_both_ways() {
    watchdog(|| {
        runtime()
            .block_on(async {
                let (mut a, mut b) = UnixStream::pair()?;
                let big = vec![7u8; 1 << 20];
                let (written, read) = fiber::join!(
                    async {
                        a.write_all(&big).await?;
                        a.shutdown(std::net::Shutdown::Write)
                    },
                    async {
                        let mut received = Vec::new();
                        b.read_to_end(&mut received).await?;
                        Ok::<_, io::Error>(received)
                    }
                );
                written?;
                assert_eq!(read?, big);
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn connect_without_a_listener_fails() {
    watchdog(|| {
        let path = SocketPath::new("missing");
        let error = runtime()
            .block_on(UnixStream::connect(&path.0))
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn binding_an_existing_path_fails() {
    watchdog(|| {
        let path = SocketPath::new("twice");
        let rt = runtime();
        let _first = rt.block_on(async { UnixListener::bind(&path.0) }).unwrap();
        let error = rt
            .block_on(async { UnixListener::bind(&path.0) })
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    });
}
