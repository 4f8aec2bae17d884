//! TCP sockets on fiber's I/O driver: echo, many connections, split halves, shutdown
//! semantics, errors, and the ways a wake reaches a worker parked in the driver.

mod common;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{watchdog, watchdog_for};
use fiber::net::{TcpListener, TcpStream};
use futures::{AsyncReadExt, AsyncWriteExt};

fn runtime(workers: usize) -> fiber::Runtime {
    fiber::Builder::new()
        .worker_threads(workers)
        .build()
        .expect("a runtime")
}

/// Echoes every byte back on each accepted connection, each on its own task.
async fn echo_server(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(fiber::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            futures::io::copy(&mut reader, &mut writer).await
        }));
    }
}

#[test]
fn echo_returns_every_byte() {
    watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let server = fiber::spawn(echo_server(listener));
            let stream = TcpStream::connect(address).await?;
            let message: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
            let (write, read) = fiber::join!(
                async {
                    (&stream).write_all(&message).await?;
                    stream.shutdown(Shutdown::Write)
                },
                async {
                    let mut echoed = Vec::new();
                    (&stream).read_to_end(&mut echoed).await?;
                    Ok::<_, io::Error>(echoed)
                }
            );
            write?;
            assert_eq!(read?, message);
            server.abort();
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn many_concurrent_connections_are_served() {
    watchdog_for(Duration::from_secs(30), || {
        let rt = runtime(4);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let server = fiber::spawn(echo_server(listener));
            let clients: Vec<_> = (0..200u32)
                .map(|client| {
                    fiber::spawn(async move {
                        let mut stream = TcpStream::connect(address).await?;
                        for round in 0..10u32 {
                            let sent = (client * 1000 + round).to_be_bytes();
                            stream.write_all(&sent).await?;
                            let mut echoed = [0; 4];
                            stream.read_exact(&mut echoed).await?;
                            assert_eq!(echoed, sent);
                        }
                        Ok::<(), io::Error>(())
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap()?;
            }
            server.abort();
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn split_halves_work_on_separate_tasks() {
    watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let server = fiber::spawn(echo_server(listener));
            let (mut reader, mut writer) = TcpStream::connect(address).await?.into_split();
            assert_eq!(reader.peer_addr()?, address);
            assert_eq!(writer.local_addr()?, reader.local_addr()?);
            let writing = fiber::spawn(async move {
                for chunk in 0..100u8 {
                    writer.write_all(&[chunk; 100]).await?;
                }
                Ok::<_, io::Error>(())
                // Dropping the write half here shuts down the write side: the echo server
                // sees end-of-file, finishes, and closes its side.
            });
            let reading = fiber::spawn(async move {
                let mut echoed = Vec::new();
                reader.read_to_end(&mut echoed).await?;
                Ok::<_, io::Error>(echoed)
            });
            writing.await.unwrap()?;
            let echoed = reading.await.unwrap()?;
            let expected: Vec<u8> = (0..100u8).flat_map(|chunk| [chunk; 100]).collect();
            assert_eq!(echoed, expected);
            server.abort();
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn closing_shuts_down_the_write_side_only() {
    watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut client = TcpStream::connect(listener.local_addr()?).await?;
            let (mut server, _) = listener.accept().await?;
            client.write_all(b"request").await?;
            client.close().await?;
            // The server reads the request and then end-of-file ...
            let mut request = Vec::new();
            server.read_to_end(&mut request).await?;
            assert_eq!(request, b"request");
            // ... and can still answer: the client's read side is open.
            server.write_all(b"response").await?;
            drop(server);
            let mut response = Vec::new();
            client.read_to_end(&mut response).await?;
            assert_eq!(response, b"response");
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    watchdog(|| {
        let rt = runtime(1);
        // Bind, learn the port, close: nothing listens there any more.
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = rt.block_on(TcpStream::connect(address)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn bind_to_a_used_address_fails() {
    watchdog(|| {
        let rt = runtime(1);
        rt.block_on(async {
            let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let error = TcpListener::bind(first.local_addr().unwrap())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        });
    });
}

#[test]
fn try_read_would_block_until_data_arrives() {
    watchdog(|| {
        let rt = runtime(1);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            let mut buffer = [0; 16];
            assert_eq!(
                server.try_read(&mut buffer).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            client.writable().await?;
            assert_eq!(client.try_write(b"data")?, 4);
            let mut received = 0;
            while received < 4 {
                server.readable().await?;
                match server.try_read(&mut buffer[received..]) {
                    Ok(n) => received += n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Err(error),
                }
            }
            assert_eq!(&buffer[..4], b"data");
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn socket_used_after_its_runtime_is_dropped_returns_an_error() {
    watchdog(|| {
        let rt = runtime(1);
        let (listener, client, server) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            (listener, client, server)
        });
        drop(rt);
        // Polled by another executor: the runtime's driver is gone, so these must fail
        // rather than wait for ever.
        let accept = futures::executor::block_on(listener.accept());
        assert!(accept.is_err());
        let mut buffer = [0; 4];
        let read = futures::executor::block_on((&server).read(&mut buffer));
        assert!(read.unwrap_err().to_string().contains("shut down"));
        drop(client);
    });
}

#[test]
fn pending_read_is_woken_with_an_error_when_the_runtime_shuts_down() {
    watchdog(|| {
        let rt = runtime(1);
        let (client, server) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            (client, listener.accept().await.unwrap().0)
        });
        let (started, waiting) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            futures::executor::block_on(async {
                let mut buffer = [0; 4];
                let mut server = &server;
                let read = server.read(&mut buffer);
                futures::pin_mut!(read);
                // Register the wait, then tell the main thread to drop the runtime.
                assert!(futures::poll!(read.as_mut()).is_pending());
                started.send(()).unwrap();
                read.await
            })
        });
        waiting.recv().unwrap();
        drop(rt);
        assert!(reader.join().unwrap().is_err());
        drop(client);
    });
}

#[test]
fn idle_runtime_is_woken_by_readiness() {
    watchdog(|| {
        // One worker; the only task waits in accept, so the worker parks (in the driver).
        let rt = runtime(1);
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicBool::new(false));
        let flag = accepted.clone();
        let (done, finished) = mpsc::channel();
        drop(rt.spawn(async move {
            let accepted = listener.accept().await;
            flag.store(accepted.is_ok(), Ordering::SeqCst);
            let _ = done.send(());
        }));
        // Let the worker run out of work and park.
        while rt.metrics().worker_park_count(0) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let client = std::thread::spawn(move || std::net::TcpStream::connect(address))
            .join()
            .unwrap()
            .unwrap();
        finished.recv().unwrap();
        assert!(accepted.load(Ordering::SeqCst));
        drop(client);
    });
}

#[test]
fn remote_spawn_reaches_a_worker_parked_in_the_driver() {
    watchdog(|| {
        let rt = runtime(1);
        // A registered socket makes the idle worker park in the driver's poll.
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        assert_eq!(rt.metrics().io_registrations(), 1);
        // Give the worker time to run out of work and park (in the driver: a socket is
        // registered).
        std::thread::sleep(Duration::from_millis(20));
        for _ in 0..100 {
            let parks = rt.metrics().worker_park_count(0);
            let handle = rt.handle().clone();
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || {
                drop(handle.spawn(async move { sender.send(()).unwrap() }));
            })
            .join()
            .unwrap();
            receiver.recv().unwrap();
            // Having run the task, the worker parks again before the next spawn.
            while rt.metrics().worker_park_count(0) == parks {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        drop(listener);
    });
}

#[test]
fn busy_workers_still_serve_sockets() {
    watchdog_for(Duration::from_secs(30), || {
        let rt = runtime(2);
        let stop = Arc::new(AtomicBool::new(false));
        // Tasks that never let a worker go idle: each yields and requeues itself for ever.
        for _ in 0..8 {
            let stop = stop.clone();
            drop(rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    fiber::yield_now().await;
                }
            }));
        }
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address: SocketAddr = listener.local_addr()?;
            let server = fiber::spawn(echo_server(listener));
            let client = fiber::spawn(async move {
                let mut stream = TcpStream::connect(address).await?;
                for round in 0..50u8 {
                    stream.write_all(&[round; 8]).await?;
                    let mut echoed = [0; 8];
                    stream.read_exact(&mut echoed).await?;
                    assert_eq!(echoed, [round; 8]);
                }
                Ok::<(), io::Error>(())
            });
            client.await.unwrap()?;
            server.abort();
            Ok::<(), io::Error>(())
        })
        .unwrap();
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn ten_thousand_connections_leave_no_registration_behind() {
    watchdog_for(Duration::from_secs(60), || {
        let rt = runtime(2);
        let metrics = rt.metrics();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let server = fiber::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await?;
                    drop(stream);
                }
                #[allow(unreachable_code)]
                Ok::<(), io::Error>(())
            });
            let clients: Vec<_> = (0..16)
                .map(|_| {
                    fiber::spawn(async move {
                        for _ in 0..625 {
                            let mut stream = TcpStream::connect(address).await?;
                            // Wait for the server's close, so that its side is gone too.
                            let mut rest = Vec::new();
                            let _ = stream.read_to_end(&mut rest).await;
                        }
                        Ok::<(), io::Error>(())
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap()?;
            }
            server.abort();
            let _ = server.await;
            Ok::<(), io::Error>(())
        })
        .unwrap();
        assert_eq!(metrics.io_registrations(), 0);
    });
}

#[test]
fn sockets_made_outside_a_runtime_use_the_global_one() {
    watchdog(|| {
        futures::executor::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let (accepted, connected) =
                futures::join!(listener.accept(), TcpStream::connect(address));
            let (mut server, _) = accepted?;
            let mut client = connected?;
            client.write_all(b"outside").await?;
            let mut buffer = [0; 7];
            server.read_exact(&mut buffer).await?;
            assert_eq!(&buffer, b"outside");
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[test]
fn nodelay_and_addresses_are_reported() {
    watchdog(|| {
        let rt = runtime(1);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, peer) = listener.accept().await?;
            client.set_nodelay(true)?;
            assert!(client.nodelay()?);
            assert_eq!(peer, client.local_addr()?);
            assert_eq!(server.peer_addr()?, client.local_addr()?);
            assert_eq!(client.peer_addr()?, listener.local_addr()?);
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}

#[cfg(feature = "tokio-io")]
#[test]
fn streams_implement_tokio_io_traits() {
    // Called by path: futures' extension traits are in scope too.
    watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            let (mut reader, mut writer) = server.into_split();
            tokio::io::AsyncWriteExt::write_all(&mut client, b"tokio traits").await?;
            tokio::io::AsyncWriteExt::shutdown(&mut client).await?;
            let mut request = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut request).await?;
            assert_eq!(request, b"tokio traits");
            tokio::io::AsyncWriteExt::write_all(&mut writer, b"answer").await?;
            drop(writer);
            let mut answer = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut client, &mut answer).await?;
            assert_eq!(answer, b"answer");
            Ok::<(), io::Error>(())
        })
        .unwrap();
    });
}
