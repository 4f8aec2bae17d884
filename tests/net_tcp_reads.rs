//! TCP reads that fill their buffer exactly: the readiness a read leaves behind must neither
//! hide data still queued nor miss data that arrives later.

mod common;

use std::io::{self, Write};
use std::time::Duration;

use common::watchdog;
use fiber::net::{TcpListener, TcpStream};
use futures::{AsyncReadExt, AsyncWriteExt};

fn runtime(workers: usize) -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(workers)
        .build()
        .expect("a runtime")
}

#[test]
fn exact_reads_see_the_rest_of_a_queued_burst_and_then_wait_for_new_data() {
    watchdog(|| {
        let rt = runtime(2);
        let peer_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = peer_listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut peer, _) = peer_listener.accept().unwrap();
            // One message, which the reader reads and then waits after (by then its reads
            // report the receive queue, on Linux); then three in one burst; then, once the
            // reader has drained them and waits again, a last one.
            peer.write_all(&[1; 64]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            peer.write_all(&[2; 192]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            peer.write_all(&[3; 64]).unwrap();
            peer
        });
        rt.block_on(async {
            let mut stream = TcpStream::connect(address).await?;
            let mut message = [0; 64];
            for expected in [1, 2, 2, 2, 3] {
                stream.read_exact(&mut message).await?;
                assert_eq!(message, [expected; 64]);
            }
            Ok::<(), io::Error>(())
        })
        .unwrap();
        drop(peer.join().unwrap());
    });
}

#[test]
fn fixed_size_request_response_runs_to_the_end() {
    watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let server = fiber::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let mut message = [0; 64];
                while stream.read_exact(&mut message).await.is_ok() {
                    stream.write_all(&message).await?;
                }
                Ok::<(), io::Error>(())
            });
            let mut stream = TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            let mut echo = [0; 64];
            for round in 0..2_000u32 {
                let message = [round as u8; 64];
                stream.write_all(&message).await?;
                stream.read_exact(&mut echo).await?;
                assert_eq!(echo, message, "round {round}");
            }
            drop(stream);
            server.await.unwrap()
        })
        .unwrap();
    });
}
