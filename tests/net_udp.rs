//! UDP sockets on fiber's I/O driver.

mod common;

use std::io;
use std::sync::Arc;

use common::watchdog;
use fiber::net::UdpSocket;

fn runtime() -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(2)
        .build()
        .expect("a runtime")
}

#[test]
fn send_to_and_recv_from_exchange_datagrams() {
    watchdog(|| {
        runtime()
            .block_on(async {
                let a = UdpSocket::bind("127.0.0.1:0").await?;
                let b = UdpSocket::bind("127.0.0.1:0").await?;
                assert_eq!(a.send_to(b"first", b.local_addr()?).await?, 5);
                let mut buffer = [0; 32];
                let (n, from) = b.recv_from(&mut buffer).await?;
                assert_eq!((&buffer[..n], from), (&b"first"[..], a.local_addr()?));
                b.send_to(b"reply", from).await?;
                let (n, from) = a.recv_from(&mut buffer).await?;
                assert_eq!((&buffer[..n], from), (&b"reply"[..], b.local_addr()?));
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn connected_sockets_send_and_recv() {
    watchdog(|| {
        runtime()
            .block_on(async {
                let a = UdpSocket::bind("127.0.0.1:0").await?;
                let b = UdpSocket::bind("127.0.0.1:0").await?;
                a.connect(b.local_addr()?).await?;
                b.connect(a.local_addr()?).await?;
                assert_eq!(a.peer_addr()?, b.local_addr()?);
                for round in 0..100u32 {
                    a.send(&round.to_be_bytes()).await?;
                    let mut buffer = [0; 4];
                    assert_eq!(b.recv(&mut buffer).await?, 4);
                    assert_eq!(u32::from_be_bytes(buffer), round);
                }
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn recv_waits_for_a_datagram_sent_later_by_another_task() {
    watchdog(|| {
        runtime()
            .block_on(async {
                let receiver = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
                let address = receiver.local_addr()?;
                let waiting = fiber::spawn({
                    let receiver = receiver.clone();
                    async move {
                        let mut buffer = [0; 8];
                        let (n, _) = receiver.recv_from(&mut buffer).await?;
                        Ok::<_, io::Error>(buffer[..n].to_vec())
                    }
                });
                fiber::time::sleep(std::time::Duration::from_millis(20)).await;
                let sender = UdpSocket::bind("127.0.0.1:0").await?;
                sender.send_to(b"late", address).await?;
                assert_eq!(waiting.await.unwrap()?, b"late");
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn try_recv_from_would_block_on_an_empty_queue() {
    watchdog(|| {
        runtime()
            .block_on(async {
                let socket = UdpSocket::bind("127.0.0.1:0").await?;
                let error = socket.try_recv_from(&mut [0; 4]).unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                socket.writable().await?;
                socket.try_send_to(b"self", socket.local_addr()?)?;
                socket.readable().await?;
                let mut buffer = [0; 4];
                assert_eq!(socket.try_recv_from(&mut buffer)?.0, 4);
                Ok::<(), io::Error>(())
            })
            .unwrap();
    });
}

#[test]
fn send_on_an_unconnected_socket_is_an_error() {
    watchdog(|| {
        runtime().block_on(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            assert!(socket.send(b"nowhere").await.is_err());
            assert!(socket.peer_addr().is_err());
        });
    });
}

#[test]
fn dropping_sockets_deregisters_them() {
    watchdog(|| {
        let rt = runtime();
        let sockets: Vec<_> = (0..50)
            .map(|_| rt.block_on(UdpSocket::bind("127.0.0.1:0")).unwrap())
            .collect();
        assert_eq!(rt.metrics().io_registrations(), 50);
        drop(sockets);
        assert_eq!(rt.metrics().io_registrations(), 0);
    });
}
