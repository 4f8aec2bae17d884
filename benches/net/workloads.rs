//! The network workloads, each written once for every executor and socket library: server and
//! clients share one runtime and talk over loopback TCP.

use std::sync::Arc;

use crate::executors::{Executor, Join};
use crate::sockets::Sockets;

/// `tcp_rr`: connections, round trips on each, bytes per message.
const RR_CONNECTIONS: usize = 64;
const RR_ROUND_TRIPS: usize = 500;
const RR_MESSAGE: usize = 64;

/// `tcp_connect`: connections in all, clients opening them one after another, bytes echoed.
const CONNECTIONS: usize = 2_000;
const CONNECT_CLIENTS: usize = 16;
const CONNECT_MESSAGE: usize = 8;

/// `tcp_stream`: bytes sent over one connection, and the size of each write and read.
pub const STREAM_BYTES: usize = 256 << 20;
const STREAM_CHUNK: usize = 64 << 10;

/// What one round does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// 64 connections, each doing 500 round trips of 64 bytes (write, then read the echo).
    RoundTrips,
    /// 2,000 connections, opened by 16 clients one after another, each echoing 8 bytes.
    Connects,
    /// One connection carrying 256 MiB one way.
    Stream,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::RoundTrips, Workload::Connects, Workload::Stream];

    pub fn name(self) -> &'static str {
        match self {
            Workload::RoundTrips => "tcp_rr",
            Workload::Connects => "tcp_connect",
            Workload::Stream => "tcp_stream",
        }
    }

    /// One round of this workload, as a future to run on `executor`.
    pub fn round<E: Executor, S: Sockets>(
        self,
        executor: Arc<E>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        match self {
            Workload::RoundTrips => Box::pin(tcp_rr::<E, S>(executor)),
            Workload::Connects => Box::pin(tcp_connect::<E, S>(executor)),
            Workload::Stream => Box::pin(tcp_stream::<E, S>(executor)),
        }
    }
}

/// Waits for every task of `tasks`.
async fn join_all(tasks: Vec<Join>) {
    for task in tasks {
        task.await;
    }
}

/// Accepts `connections` connections on a fresh listener and serves each on a task of its
/// own with `serve`; returns the listener's address and a join for the accept loop, which
/// finishes once every connection's task has.
async fn server<E, S, F, Fut>(
    executor: Arc<E>,
    connections: usize,
    serve: F,
) -> (std::net::SocketAddr, Join)
where
    E: Executor,
    S: Sockets,
    F: Fn(S::Stream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = S::bind().await;
    let address = S::address(&listener);
    let spawner = executor.clone();
    let accepting = executor.spawn(async move {
        let mut served = Vec::with_capacity(connections);
        for _ in 0..connections {
            let stream = S::accept(&listener).await;
            served.push(spawner.spawn(serve(stream)));
        }
        join_all(served).await;
    });
    (address, accepting)
}

async fn tcp_rr<E: Executor, S: Sockets>(executor: Arc<E>) {
    let (address, server) =
        server::<E, S, _, _>(executor.clone(), RR_CONNECTIONS, |mut stream| async move {
            let mut message = [0; RR_MESSAGE];
            while S::read_exact(&mut stream, &mut message).await {
                S::write_all(&mut stream, &message).await;
            }
        })
        .await;
    let clients = (0..RR_CONNECTIONS)
        .map(|client| {
            executor.spawn(async move {
                let mut stream = S::connect(address).await;
                let message = [client as u8; RR_MESSAGE];
                let mut echo = [0; RR_MESSAGE];
                for _ in 0..RR_ROUND_TRIPS {
                    S::write_all(&mut stream, &message).await;
                    assert!(
                        S::read_exact(&mut stream, &mut echo).await,
                        "the server hung up"
                    );
                    assert_eq!(echo, message, "the echo differs");
                }
            })
        })
        .collect();
    join_all(clients).await;
    server.await;
}

async fn tcp_connect<E: Executor, S: Sockets>(executor: Arc<E>) {
    let (address, server) =
        server::<E, S, _, _>(executor.clone(), CONNECTIONS, |mut stream| async move {
            let mut message = [0; CONNECT_MESSAGE];
            assert!(
                S::read_exact(&mut stream, &mut message).await,
                "the client hung up"
            );
            S::write_all(&mut stream, &message).await;
        })
        .await;
    let clients = (0..CONNECT_CLIENTS)
        .map(|client| {
            executor.spawn(async move {
                for _ in 0..CONNECTIONS / CONNECT_CLIENTS {
                    let mut stream = S::connect(address).await;
                    let message = [client as u8; CONNECT_MESSAGE];
                    let mut echo = [0; CONNECT_MESSAGE];
                    S::write_all(&mut stream, &message).await;
                    assert!(
                        S::read_exact(&mut stream, &mut echo).await,
                        "the server hung up"
                    );
                    assert_eq!(echo, message, "the echo differs");
                }
            })
        })
        .collect();
    join_all(clients).await;
    server.await;
}

async fn tcp_stream<E: Executor, S: Sockets>(executor: Arc<E>) {
    let (address, server) = server::<E, S, _, _>(executor.clone(), 1, |mut stream| async move {
        let mut chunk = vec![0; STREAM_CHUNK];
        let mut received = 0;
        while received < STREAM_BYTES {
            let read = S::read(&mut stream, &mut chunk).await;
            assert_ne!(read, 0, "the stream ended after {received} bytes");
            received += read;
        }
        // The sender's clock stops when everything has arrived, not when it left.
        S::write_all(&mut stream, &[1]).await;
    })
    .await;
    let sender = executor.spawn(async move {
        let mut stream = S::connect(address).await;
        let chunk = vec![7; STREAM_CHUNK];
        for _ in 0..STREAM_BYTES / STREAM_CHUNK {
            S::write_all(&mut stream, &chunk).await;
        }
        let mut received = [0];
        assert!(
            S::read_exact(&mut stream, &mut received).await,
            "no acknowledgement"
        );
    });
    sender.await;
    server.await;
}
